// write_layer: tar -> compressor -> sink, hashing both sides in one pass.
#include "compress.hpp"
#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {
namespace {

/// Hashes what passes through on its way to `next`.
class HashingSink final : public ByteSink {
 public:
  explicit HashingSink(ByteSink& next) : next_(next) {}
  using ByteSink::write;
  void write(std::span<const std::byte> data) override {
    hash.write(data);
    next_.write(data);
  }
  oci::Sha256 hash;

 private:
  ByteSink& next_;
};

/// Reports progress every kProgressInterval bytes; a "stop" answer becomes
/// a Cancelled error (which libarchive's callback carries back out).
class ProgressSink final : public ByteSink {
 public:
  ProgressSink(ByteSink& next, const ProgressCallback& cb) : next_(next), cb_(cb) {}
  using ByteSink::write;
  void write(std::span<const std::byte> data) override {
    next_.write(data);
    written_ += data.size();
    if (cb_ && written_ >= next_report_) {
      next_report_ = (written_ / kProgressInterval + 1) * kProgressInterval;
      report_progress(cb_, ProgressEvent{"layer", std::to_string(written_ >> 20) + " MiB so far", "", written_, 0});
    }
  }

 private:
  ByteSink& next_;
  const ProgressCallback& cb_;
  std::uint64_t written_ = 0;
  std::uint64_t next_report_ = kProgressInterval;
};

}  // namespace

std::string_view compression_suffix(oci::Compression c) noexcept {
  switch (c) {
    case oci::Compression::Gzip: return "gzip";
    case oci::Compression::Zstd: return "zstd";
    case oci::Compression::None: return "";
  }
  return "";
}

Layer write_layer(const FileTree& tree, const LayerOptions& options, ByteSink& out) {
  // tar -> [hash: diff_id] -> compressor -> [hash: digest] -> out
  HashingSink compressed(out);
  std::unique_ptr<Compressor> compressor;
  const unsigned workers = compression_workers(options.threads);
  if (options.compression == oci::Compression::Gzip)
    compressor = make_gzip(compressed, workers, options.level == 0 ? oci::kGzipDefaultLevel : options.level);
  if (options.compression == oci::Compression::Zstd)
    compressor = make_zstd(compressed, workers, options.level == 0 ? oci::kZstdDefaultLevel : options.level);

  HashingSink tar(compressor ? static_cast<ByteSink&>(*compressor) : compressed);
  ProgressSink progress(tar, options.on_progress);
  write_tar(tree, options.mtime, progress);
  if (compressor) compressor->finish();

  Layer layer;
  layer.uncompressed_size = tar.hash.size();
  layer.diff_id = tar.hash.finish();
  layer.descriptor.size = static_cast<std::int64_t>(compressed.hash.size());
  layer.descriptor.digest = compressed.hash.finish();
  layer.descriptor.media_type = oci::layer_media_type(options.format, compression_suffix(options.compression));
  return layer;
}

}  // namespace rustimg::layer
