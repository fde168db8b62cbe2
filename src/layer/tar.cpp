// write_tar: a FileTree as a deterministic tar stream, via libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

struct ArchiveFree {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

/// Carries the sink and the first exception thrown inside the callback, so
/// it can be rethrown after libarchive unwinds.
struct CallbackState {
  ByteSink* out;
  std::exception_ptr error;
  bool abandoned = false;  ///< set on an error path: swallow the trailer libarchive writes on free
};

la_ssize_t on_write(archive*, void* client, const void* buffer, size_t length) {
  auto* state = static_cast<CallbackState*>(client);
  if (state->abandoned) return static_cast<la_ssize_t>(length);
  try {
    state->out->write(std::span(static_cast<const std::byte*>(buffer), length));
    return static_cast<la_ssize_t>(length);
  } catch (...) {
    state->error = std::current_exception();
    return -1;
  }
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

class TarWriter {
 public:
  TarWriter(ByteSink& out, std::int64_t mtime) : state_{&out, nullptr, false}, mtime_(mtime) {
    a_.reset(archive_write_new());
    if (!a_) throw Error(ErrorCode::Generic, "libarchive: out of memory");
    // "pax_restricted" writes plain USTAR headers and adds a PAX extended
    // header only for an entry whose name, link or numbers do not fit.
    check(archive_write_set_format_pax_restricted(a_.get()), "selecting the tar format");
    // No blocking: the archive ends with its two zero blocks, no padding.
    check(archive_write_set_bytes_per_block(a_.get(), 0), "setting the block size");
    check(archive_write_open2(a_.get(), &state_, nullptr, on_write, nullptr, nullptr), "opening the tar stream");
  }

  void add(const Entry& e) {
    std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
    if (!ae) throw Error(ErrorCode::Generic, "libarchive: out of memory");
    const std::string name = e.type == EntryType::Directory ? e.path + "/" : e.path;
    // Names are raw bytes. rustimg never calls setlocale(), so libarchive
    // runs in the "C" locale and writes a non-ASCII name the same way on
    // every machine (PAX path record with hdrcharset=BINARY). The *_utf8
    // setters are not usable here: libarchive 3.6 then crashes on
    // non-ASCII names in the "C" locale.
    archive_entry_copy_pathname(ae.get(), name.c_str());
    archive_entry_set_perm(ae.get(), static_cast<__LA_MODE_T>(e.mode & 07777));
    archive_entry_set_uid(ae.get(), e.uid);
    archive_entry_set_gid(ae.get(), e.gid);
    archive_entry_set_mtime(ae.get(), static_cast<time_t>(mtime_), 0);

    switch (e.type) {
      case EntryType::Directory:
        archive_entry_set_filetype(ae.get(), AE_IFDIR);
        archive_entry_set_size(ae.get(), 0);
        check(archive_write_header(a_.get(), ae.get()), "writing the header of /" + e.path);
        break;
      case EntryType::Symlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_size(ae.get(), 0);
        archive_entry_copy_symlink(ae.get(), e.link_target.c_str());
        check(archive_write_header(a_.get(), ae.get()), "writing the header of /" + e.path);
        break;
      case EntryType::File:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        if (e.content) {
          archive_entry_set_size(ae.get(), static_cast<la_int64_t>(e.content->size()));
          check(archive_write_header(a_.get(), ae.get()), "writing the header of /" + e.path);
          write_data(e.content->data(), e.content->size(), e.path);
        } else {
          copy_file(e, ae.get());
        }
        break;
    }
  }

  ~TarWriter() { state_.abandoned = !finished_; }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  void finish() {
    check(archive_write_close(a_.get()), "finishing the tar stream");
    finished_ = true;
  }

 private:
  void check(int rc, const std::string& what) {
    if (state_.error) std::rethrow_exception(state_.error);
    if (rc < ARCHIVE_WARN) {
      const char* msg = archive_error_string(a_.get());
      throw Error(ErrorCode::Io, "tar: " + what + " failed: " + (msg ? msg : "unknown libarchive error"));
    }
  }

  void write_data(const void* data, std::size_t size, const std::string& path) {
    const la_ssize_t n = archive_write_data(a_.get(), data, size);
    if (state_.error) std::rethrow_exception(state_.error);
    if (n < 0 || static_cast<std::size_t>(n) != size) check(ARCHIVE_FATAL, "writing the data of /" + path);
  }

  void copy_file(const Entry& e, archive_entry* ae) {
    const std::string src = e.source.string();
    Fd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
      throw Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                  "cannot read " + src + " (for /" + e.path + "): " + errno_text());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw Error(ErrorCode::Io, "cannot stat " + src + ": " + errno_text());
    if (!S_ISREG(st.st_mode))
      throw Error(ErrorCode::InvalidArgument, src + " (for /" + e.path + ") is not a regular file");
    archive_entry_set_size(ae, static_cast<la_int64_t>(st.st_size));
    check(archive_write_header(a_.get(), ae), "writing the header of /" + e.path);

    std::array<char, kChunk> buf;
    std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
    while (left > 0) {
      const std::size_t want = left < buf.size() ? static_cast<std::size_t>(left) : buf.size();
      const ssize_t n = ::read(fd.get(), buf.data(), want);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorCode::Io, "cannot read " + src + ": " + errno_text());
      }
      if (n == 0)
        throw Error(ErrorCode::Io, src + " shrank while it was being read; make sure nothing writes it during the build");
      write_data(buf.data(), static_cast<std::size_t>(n), e.path);
      left -= static_cast<std::uint64_t>(n);
    }
    char extra = 0;
    if (::read(fd.get(), &extra, 1) > 0)
      throw Error(ErrorCode::Io, src + " grew while it was being read; make sure nothing writes it during the build");
  }

  CallbackState state_;  // declared before a_: libarchive may call back while a_ is freed
  std::unique_ptr<archive, ArchiveFree> a_;
  std::int64_t mtime_;
  bool finished_ = false;
};

}  // namespace

void write_tar(const FileTree& tree, std::int64_t mtime, ByteSink& out) {
  TarWriter w(out, mtime);
  for (const Entry& e : tree.entries()) w.add(e);
  w.finish();
}

}  // namespace rustimg::layer
