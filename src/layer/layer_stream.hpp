// Internal to the layer module: the one pipe every layer's bytes go through,
// whether the tar is written from a FileTree (write_layer) or taken from a
// file (import_tar), so both hash and compress the same way.
#pragma once

#include <memory>

#include "compress.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {

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
  void write(std::span<const std::byte> data) override;

 private:
  ByteSink& next_;
  const ProgressCallback& cb_;
  std::uint64_t written_ = 0;
  std::uint64_t next_report_ = kProgressInterval;
};

/// tar -> [hash: diff_id] -> compressor -> [hash: digest] -> `out`: write
/// the uncompressed tar, then finish() once for the layer's description.
/// `options` must outlive the stream.
class LayerStream final : public ByteSink {
 public:
  LayerStream(const LayerOptions& options, ByteSink& out);
  using ByteSink::write;
  void write(std::span<const std::byte> data) override { progress_.write(data); }
  Layer finish();

 private:
  const LayerOptions& options_;
  HashingSink compressed_;
  std::unique_ptr<Compressor> compressor_;
  HashingSink tar_;
  ProgressSink progress_;
};

}  // namespace rustimg::layer
