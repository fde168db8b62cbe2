// Internal to the layer module: streaming compressors as ByteSinks.
#pragma once

#include <cstddef>
#include <memory>

#include "rustimg/oci.hpp"

namespace rustimg::layer {

/// Compresses what is written to it into `out`; finish() flushes the
/// trailer and must be called exactly once after the last write.
class Compressor : public ByteSink {
 public:
  virtual void finish() = 0;
};

/// gzip block size: the uncompressed stream is cut into blocks of this many
/// bytes, each deflated on its own (see make_gzip). A format constant: it
/// changes the output bytes, so it never depends on the machine.
inline constexpr std::size_t kGzipBlockSize = 128 * 1024;
/// Each block's dictionary: the last 32 KiB (deflate's window) of the block before.
inline constexpr std::size_t kGzipDictSize = 32 * 1024;
/// The default gzip level (zlib's default; Go's compress/gzip BestSpeed, which
/// crane and ko use, is level 1: faster, about 8-12% larger layers).
/// zstd multi-threading never uses more workers than this (memory: about
/// 20 MB per worker at level 3, so peak RSS stays well under 100 MB;
/// the output is the same for any worker count >= 1).
inline constexpr unsigned kZstdMaxWorkers = 2;

/// The number of compression workers for `requested` (0: one per CPU this
/// process may run on).
unsigned compression_workers(unsigned requested) noexcept;

/// gzip (RFC 1952), pigz-style: one member (header MTIME 0, no name, XFL
/// as zlib sets it for `level`, OS 0xff; trailer CRC-32 and ISIZE) whose
/// deflate stream is the concatenation of independently compressed
/// kGzipBlockSize blocks (zlib `level` 1..9, memLevel 8, default strategy; each block primed with the
/// previous block's last 32 KiB and ended with a sync flush, the last one
/// with the final block). Blocks are deflated on `workers` threads
/// (1: inline, no thread); the bytes never depend on `workers`. At most
/// 2 * workers + 2 blocks are in memory at once.
std::unique_ptr<Compressor> make_gzip(ByteSink& out, unsigned workers = 1, int level = oci::kGzipDefaultLevel);
/// zstd via libzstd: `level` 1..19, checksum, libzstd's multi-threaded mode with
/// min(workers, kZstdMaxWorkers) workers (always >= 1: libzstd's output
/// with 1..N workers is identical, and differs from its single-threaded mode).
std::unique_ptr<Compressor> make_zstd(ByteSink& out, unsigned workers = 1, int level = oci::kZstdDefaultLevel);

}  // namespace rustimg::layer
