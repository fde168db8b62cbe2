// Streaming gzip and zstd with fixed, documented parameters.
#include "compress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <array>
#include <climits>

#include "rustimg/error.hpp"

namespace rustimg::layer {
namespace {

constexpr std::size_t kOutChunk = 64 * 1024;
constexpr int kGzipLevel = 6;
constexpr int kGzipOsUnknown = 0xff;
constexpr int kZstdLevel = 3;

class Gzip final : public Compressor {
 public:
  explicit Gzip(oci::ByteSink& out) : out_(out) {
    // windowBits 15 + 16 selects the gzip wrapper; memLevel 8 and the
    // default strategy are zlib's defaults, fixed here so they never drift.
    if (deflateInit2(&zs_, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error(ErrorCode::Generic, "zlib: deflateInit2 failed");
    header_.os = kGzipOsUnknown;  // time 0, no name/comment/extra, no header CRC
    if (deflateSetHeader(&zs_, &header_) != Z_OK) {
      deflateEnd(&zs_);
      throw Error(ErrorCode::Generic, "zlib: deflateSetHeader failed");
    }
  }
  ~Gzip() override { deflateEnd(&zs_); }
  Gzip(const Gzip&) = delete;
  Gzip& operator=(const Gzip&) = delete;

  using oci::ByteSink::write;
  void write(std::span<const std::byte> data) override {
    while (!data.empty()) {
      const std::size_t n = data.size() < UINT_MAX ? data.size() : UINT_MAX;
      zs_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
      zs_.avail_in = static_cast<uInt>(n);
      pump(Z_NO_FLUSH);
      data = data.subspan(n);
    }
  }

  void finish() override {
    zs_.next_in = nullptr;
    zs_.avail_in = 0;
    pump(Z_FINISH);
  }

 private:
  void pump(int flush) {
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
      zs_.avail_out = static_cast<uInt>(buf_.size());
      const int rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR) throw Error(ErrorCode::Generic, "zlib: deflate failed");
      const std::size_t produced = buf_.size() - zs_.avail_out;
      if (produced > 0) out_.write(std::span<const std::byte>(buf_.data(), produced));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) return;
    }
  }

  oci::ByteSink& out_;
  z_stream zs_{};
  gz_header header_{};
  std::array<std::byte, kOutChunk> buf_{};
};

class Zstd final : public Compressor {
 public:
  explicit Zstd(oci::ByteSink& out) : out_(out), cctx_(ZSTD_createCCtx()) {
    if (cctx_ == nullptr) throw Error(ErrorCode::Generic, "zstd: cannot create a compression context");
    set(ZSTD_c_compressionLevel, kZstdLevel);
    set(ZSTD_c_checksumFlag, 1);
    set(ZSTD_c_nbWorkers, 0);
  }
  ~Zstd() override { ZSTD_freeCCtx(cctx_); }
  Zstd(const Zstd&) = delete;
  Zstd& operator=(const Zstd&) = delete;

  using oci::ByteSink::write;
  void write(std::span<const std::byte> data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) pump(in, ZSTD_e_continue);
  }

  void finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (pump(in, ZSTD_e_end) != 0) {
    }
  }

 private:
  void set(ZSTD_cParameter p, int v) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, p, v)))
      throw Error(ErrorCode::Generic, "zstd: cannot set a compression parameter");
  }

  std::size_t pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer outb{buf_.data(), buf_.size(), 0};
    const std::size_t rc = ZSTD_compressStream2(cctx_, &outb, &in, mode);
    if (ZSTD_isError(rc)) throw Error(ErrorCode::Generic, std::string("zstd: ") + ZSTD_getErrorName(rc));
    if (outb.pos > 0) out_.write(std::span<const std::byte>(buf_.data(), outb.pos));
    return rc;
  }

  oci::ByteSink& out_;
  ZSTD_CCtx* cctx_;
  std::array<std::byte, kOutChunk> buf_{};
};

}  // namespace

std::unique_ptr<Compressor> make_gzip(oci::ByteSink& out) { return std::make_unique<Gzip>(out); }
std::unique_ptr<Compressor> make_zstd(oci::ByteSink& out) { return std::make_unique<Zstd>(out); }

}  // namespace rustimg::layer
