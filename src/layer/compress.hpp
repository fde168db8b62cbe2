// Internal to the layer module: streaming compressors as ByteSinks.
#pragma once

#include <memory>

#include "rustimg/oci.hpp"

namespace rustimg::layer {

/// Compresses what is written to it into `out`; finish() flushes the
/// trailer and must be called exactly once after the last write.
class Compressor : public oci::ByteSink {
 public:
  virtual void finish() = 0;
};

/// gzip (RFC 1952) via zlib: level 6, header MTIME 0, no name, OS 0xff.
std::unique_ptr<Compressor> make_gzip(oci::ByteSink& out);
/// zstd via libzstd: level 3, checksum, single-threaded.
std::unique_ptr<Compressor> make_zstd(oci::ByteSink& out);

}  // namespace rustimg::layer
