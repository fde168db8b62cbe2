// Streaming gzip and zstd with fixed, documented parameters, compressed on
// several cores with output that does not depend on the number of cores.
//
// gzip follows the approach pigz made popular: cut the input into
// fixed-size blocks, deflate each one on its own (raw deflate, primed with
// the 32 KiB that precede it so matches may still reach back), end every
// block but the last with a sync flush (an empty stored block, so it ends on
// a byte boundary and the next block's bits can simply follow), and wrap
// the concatenation in one gzip header and trailer whose CRC-32 is combined
// from the blocks' CRCs. Each block's bytes depend only on its input, its
// dictionary and whether it is last, so any number of workers gives the
// same stream, and any gzip reader sees one ordinary member.
#include "compress.hpp"

#include <sched.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "rustimg/error.hpp"

namespace rustimg::layer {
namespace {

constexpr std::size_t kOutChunk = 64 * 1024;
constexpr int kGzipMemLevel = 8;
constexpr unsigned char kGzipOsUnknown = 0xff;
constexpr unsigned kMaxWorkers = 64;

static_assert(kGzipDictSize <= kGzipBlockSize, "a block must hold a whole dictionary");
static_assert(kGzipBlockSize < UINT_MAX, "a block must fit zlib's avail_in");

/// One block of the gzip stream: its input, the dictionary it is primed
/// with, and (once compressed) its raw deflate bytes and CRC-32.
struct Block {
  Block() : in(new std::byte[kGzipBlockSize]), dict(new std::byte[kGzipDictSize]) {}

  std::unique_ptr<std::byte[]> in;
  std::size_t in_len = 0;
  std::unique_ptr<std::byte[]> dict;
  std::size_t dict_len = 0;
  bool last = false;

  std::vector<std::byte> out;  // grows to the largest block seen, then reused
  std::size_t out_len = 0;
  uLong crc = 0;
  std::exception_ptr error;
  bool done = false;  // guarded by the pool's mutex
};

/// A raw deflate stream, reset for every block.
class Deflater {
 public:
  explicit Deflater(int level) : level_(level) {}
  ~Deflater() {
    if (ready_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  void compress(Block& b) {
    if (!ready_) {
      // windowBits -15: raw deflate with a 32 KiB window (the gzip wrapper
      // is written by hand, once for the whole stream).
      if (deflateInit2(&zs_, level_, Z_DEFLATED, -15, kGzipMemLevel, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error(ErrorCode::Generic, "zlib: deflateInit2 failed (out of memory?)");
      ready_ = true;
    } else if (deflateReset(&zs_) != Z_OK) {
      throw Error(ErrorCode::Generic, "zlib: deflateReset failed");
    }
    if (b.dict_len > 0 &&
        deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(b.dict.get()), static_cast<uInt>(b.dict_len)) != Z_OK)
      throw Error(ErrorCode::Generic, "zlib: deflateSetDictionary failed");

    b.crc = crc32(0L, reinterpret_cast<const Bytef*>(b.in.get()), static_cast<uInt>(b.in_len));
    const std::size_t bound = b.in_len + b.in_len / 8 + 64;
    if (b.out.size() < bound) b.out.resize(bound);
    b.out_len = 0;
    zs_.next_in = reinterpret_cast<Bytef*>(b.in.get());
    zs_.avail_in = static_cast<uInt>(b.in_len);
    const int flush = b.last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      if (b.out_len == b.out.size()) b.out.resize(b.out.size() * 2);
      zs_.next_out = reinterpret_cast<Bytef*>(b.out.data() + b.out_len);
      zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(b.out.size() - b.out_len, UINT_MAX));
      const uInt avail = zs_.avail_out;
      const int rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR) throw Error(ErrorCode::Generic, "zlib: deflate failed");
      b.out_len += avail - zs_.avail_out;
      if (b.last ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) return;
    }
  }

 private:
  int level_;
  z_stream zs_{};
  bool ready_ = false;
};

void put_le32(std::array<std::byte, 8>& buf, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) buf[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xffu);
}

class Gzip final : public Compressor {
 public:
  Gzip(ByteSink& out, unsigned workers, int level)
      : out_(out),
        workers_(std::clamp(workers, 1u, kMaxWorkers)),
        max_in_flight_(2 * workers_),
        level_(level),
        inline_(level) {
    if (level < 1 || level > oci::kGzipMaxLevel)
      throw Error(ErrorCode::InvalidArgument, "gzip level " + std::to_string(level) + " is not between 1 and 9");
    cur_ = acquire();
  }

  ~Gzip() override { stop_workers(); }
  Gzip(const Gzip&) = delete;
  Gzip& operator=(const Gzip&) = delete;

  using ByteSink::write;
  void write(std::span<const std::byte> data) override {
    if (finished_) throw Error(ErrorCode::Generic, "internal error: gzip written after finish()");
    while (!data.empty()) {
      // A full block is handed over only when more data follows, so the
      // last block (the one that carries the final-block bit) is known.
      if (cur_->in_len == kGzipBlockSize) submit(false);
      const std::size_t n = std::min(kGzipBlockSize - cur_->in_len, data.size());
      std::memcpy(cur_->in.get() + cur_->in_len, data.data(), n);
      cur_->in_len += n;
      data = data.subspan(n);
    }
  }

  void finish() override {
    if (finished_) throw Error(ErrorCode::Generic, "internal error: gzip finished twice");
    finished_ = true;
    submit(true);
    while (!in_flight_.empty()) emit_front(true);
    if (!header_written_) write_header();
    std::array<std::byte, 8> trailer{};
    put_le32(trailer, 0, static_cast<std::uint32_t>(crc_));
    put_le32(trailer, 4, static_cast<std::uint32_t>(total_ & 0xffffffffu));  // ISIZE: size mod 2^32
    out_.write(std::span<const std::byte>(trailer));
    stop_workers();
  }

 private:
  std::unique_ptr<Block> acquire() {
    if (free_.empty()) return std::make_unique<Block>();
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  void release(std::unique_ptr<Block> b) {
    b->in_len = b->dict_len = 0;
    b->out_len = 0;
    b->last = b->done = false;
    b->error = nullptr;
    free_.push_back(std::move(b));
  }

  /// Hands the current block over (to a worker, or compresses it here) and
  /// starts the next one, primed with this one's tail.
  void submit(bool last) {
    std::unique_ptr<Block> b = std::move(cur_);
    b->last = last;
    if (!last) {
      cur_ = acquire();
      cur_->dict_len = std::min(b->in_len, kGzipDictSize);
      std::memcpy(cur_->dict.get(), b->in.get() + b->in_len - cur_->dict_len, cur_->dict_len);
    }
    // One worker, the only block of a small stream, or no thread could be
    // started: compress here (the bytes are the same either way).
    const bool use_workers = workers_ > 1 && !inline_only_ && !(last && threads_.empty());
    if (use_workers) {
      start_workers();
      inline_only_ = threads_.empty();  // nothing is in flight without threads
    }
    if (!use_workers || inline_only_) {
      inline_.compress(*b);
      emit(*b);
      release(std::move(b));
      return;
    }
    Block* raw = b.get();
    in_flight_.push_back(std::move(b));
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(raw);
    }
    work_.notify_one();
    // Write what is ready; wait only when too many blocks are in memory.
    while (!in_flight_.empty() && emit_front(in_flight_.size() > max_in_flight_)) {
    }
  }

  /// Writes the oldest in-flight block if it is compressed (waiting for it
  /// when `wait`); returns whether it did.
  bool emit_front(bool wait) {
    Block& b = *in_flight_.front();
    {
      std::unique_lock lock(mutex_);
      if (wait)
        done_.wait(lock, [&] { return b.done; });
      else if (!b.done)
        return false;
    }
    emit(b);
    auto owned = std::move(in_flight_.front());
    in_flight_.pop_front();
    release(std::move(owned));
    return true;
  }

  void emit(const Block& b) {
    if (b.error) std::rethrow_exception(b.error);
    if (!header_written_) write_header();
    out_.write(std::span<const std::byte>(b.out.data(), b.out_len));
    crc_ = crc32_combine(crc_, b.crc, static_cast<z_off_t>(b.in_len));
    total_ += b.in_len;
  }

  void write_header() {
    // ID1 ID2 CM=deflate FLG=0 | MTIME=0 | XFL OS=unknown. XFL as zlib sets
    // it: 2 for the slowest level, 4 for the fastest, else 0.
    const unsigned char xfl = level_ == 9 ? 2 : (level_ == 1 ? 4 : 0);
    const std::array<unsigned char, 10> h{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, kGzipOsUnknown};
    out_.write(std::as_bytes(std::span(h)));
    header_written_ = true;
  }

  void start_workers() {
    if (!threads_.empty()) return;
    threads_.reserve(workers_);
    try {
      for (unsigned i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      // Out of threads: carry on with those that started (maybe none).
    }
  }

  void stop_workers() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void work() noexcept {
    Deflater d(level_);
    for (;;) {
      Block* b = nullptr;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        b = queue_.front();
        queue_.pop_front();
      }
      try {
        d.compress(*b);
      } catch (...) {
        b->error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        b->done = true;
      }
      done_.notify_one();  // only the caller's thread waits on done_
    }
  }

  ByteSink& out_;
  const unsigned workers_;
  const std::size_t max_in_flight_;
  const int level_;
  std::unique_ptr<Block> cur_;
  std::deque<std::unique_ptr<Block>> in_flight_;  // submitted, in stream order
  std::vector<std::unique_ptr<Block>> free_;
  Deflater inline_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::uint64_t total_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
  bool inline_only_ = false;  // no worker thread could be started

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::deque<Block*> queue_;  // guarded by mutex_
  bool stopping_ = false;     // guarded by mutex_
  std::vector<std::thread> threads_;
};

class Zstd final : public Compressor {
 public:
  Zstd(ByteSink& out, unsigned workers, int level) : out_(out) {
    if (level < 1 || level > oci::kZstdMaxLevel)
      throw Error(ErrorCode::InvalidArgument, "zstd level " + std::to_string(level) + " is not between 1 and " +
                                                  std::to_string(oci::kZstdMaxLevel));
    cctx_.reset(ZSTD_createCCtx());
    if (cctx_ == nullptr) throw Error(ErrorCode::Generic, "zstd: cannot create a compression context");
    set(ZSTD_c_compressionLevel, level, "the compression level");
    set(ZSTD_c_checksumFlag, 1, "the checksum flag");
    // libzstd's multi-threaded format (nbWorkers >= 1) gives the same bytes
    // for any worker count, but not the same as single-threaded mode
    // (nbWorkers 0); so there is always at least one worker.
    const int n = static_cast<int>(std::clamp(workers, 1u, kZstdMaxWorkers));
    set(ZSTD_c_nbWorkers, n, "the worker count (is libzstd built without multi-threading?)");
  }

  using ByteSink::write;
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
  void set(ZSTD_cParameter p, int v, const char* what) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), p, v)))
      throw Error(ErrorCode::Generic, std::string("zstd: cannot set ") + what);
  }

  std::size_t pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer outb{buf_.data(), buf_.size(), 0};
    const std::size_t rc = ZSTD_compressStream2(cctx_.get(), &outb, &in, mode);
    if (ZSTD_isError(rc)) throw Error(ErrorCode::Generic, std::string("zstd: ") + ZSTD_getErrorName(rc));
    if (outb.pos > 0) out_.write(std::span<const std::byte>(buf_.data(), outb.pos));
    return rc;
  }

  struct FreeCCtx {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
  };
  ByteSink& out_;
  std::unique_ptr<ZSTD_CCtx, FreeCCtx> cctx_;
  std::array<std::byte, kOutChunk> buf_{};
};

}  // namespace

unsigned compression_workers(unsigned requested) noexcept {
  if (requested > 0) return std::min(requested, kMaxWorkers);
  unsigned n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = static_cast<unsigned>(CPU_COUNT(&set));
  if (n == 0) n = std::thread::hardware_concurrency();
  return std::clamp(n, 1u, kMaxWorkers);
}

std::unique_ptr<Compressor> make_gzip(ByteSink& out, unsigned workers, int level) {
  return std::make_unique<Gzip>(out, workers, level);
}
std::unique_ptr<Compressor> make_zstd(ByteSink& out, unsigned workers, int level) {
  return std::make_unique<Zstd>(out, workers, level);
}

}  // namespace rustimg::layer
