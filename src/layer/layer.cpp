// write_layer: tar -> compressor -> sink, hashing both sides in one pass.
#include "layer_stream.hpp"
#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {

void ProgressSink::write(std::span<const std::byte> data) {
  next_.write(data);
  written_ += data.size();
  if (cb_ && written_ >= next_report_) {
    next_report_ = (written_ / kProgressInterval + 1) * kProgressInterval;
    report_progress(cb_, ProgressEvent{"layer", std::to_string(written_ >> 20) + " MiB so far", "", written_, 0});
  }
}

namespace {

std::unique_ptr<Compressor> make_compressor(const LayerOptions& options, ByteSink& out) {
  const unsigned workers = compression_workers(options.threads);
  if (options.compression == oci::Compression::Gzip)
    return make_gzip(out, workers, options.level == 0 ? oci::kGzipDefaultLevel : options.level);
  if (options.compression == oci::Compression::Zstd)
    return make_zstd(out, workers, options.level == 0 ? oci::kZstdDefaultLevel : options.level);
  return nullptr;
}

}  // namespace

std::string_view compression_suffix(oci::Compression c) noexcept {
  switch (c) {
    case oci::Compression::Gzip: return "gzip";
    case oci::Compression::Zstd: return "zstd";
    case oci::Compression::None: return "";
  }
  return "";
}

LayerStream::LayerStream(const LayerOptions& options, ByteSink& out)
    : options_(options),
      compressed_(out),
      compressor_(make_compressor(options, compressed_)),
      tar_(compressor_ ? static_cast<ByteSink&>(*compressor_) : compressed_),
      progress_(tar_, options.on_progress) {}

Layer LayerStream::finish() {
  if (compressor_) compressor_->finish();
  Layer layer;
  layer.uncompressed_size = tar_.hash.size();
  layer.diff_id = tar_.hash.finish();
  layer.descriptor.size = static_cast<std::int64_t>(compressed_.hash.size());
  layer.descriptor.digest = compressed_.hash.finish();
  layer.descriptor.media_type = oci::layer_media_type(options_.format, compression_suffix(options_.compression));
  return layer;
}

Layer write_layer(const FileTree& tree, const LayerOptions& options, ByteSink& out) {
  LayerStream stream(options, out);
  write_tar(tree, options.mtime, stream);
  return stream.finish();
}

}  // namespace rustimg::layer
