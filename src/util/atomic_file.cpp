// Atomic and scratch files, confined reads, directory locks (see atomic_file.hpp).
#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>  // FICLONE
#endif

#include <algorithm>
#include <array>
#include <streambuf>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "rustimg/error.hpp"
#include "util/parallel.hpp"

namespace rustimg::util {

std::filesystem::path temp_directory() {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) {
    const char* tmpdir = std::getenv("TMPDIR");
    throw Error(ErrorCode::Io, std::string("no temporary directory: TMPDIR=") + (tmpdir ? tmpdir : "(unset, so /tmp)") +
                                   " is not an existing directory (" + ec.message() +
                                   "); set TMPDIR to a writable directory");
  }
  return dir;
}

namespace {

constexpr std::size_t kBufferSize = 256 * 1024;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& dir, ::mode_t mode) {
  std::string tmpl = (dir / ".rustimg-tmp-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error(ErrorCode::Io, "cannot create a temporary file in " + dir.string() + ": " + errno_text());
  temp_ = buf.data();
  if (::fchmod(fd_, mode) != 0) {
    const std::string why = errno_text();
    ::close(fd_);
    fd_ = -1;
    std::filesystem::remove(temp_);
    throw Error(ErrorCode::Io, "cannot set the mode of " + temp_.string() + ": " + why);
  }
  buffer_.reserve(kBufferSize);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::flush() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::Io, "cannot write " + temp_.string() + ": " + errno_text());
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(std::span<const std::byte> data) {
  if (fd_ < 0) throw Error(ErrorCode::Generic, "internal error: write after commit to " + temp_.string());
  if (buffer_.size() + data.size() > kBufferSize) flush();
  if (data.size() >= kBufferSize) {
    buffer_.assign(reinterpret_cast<const char*>(data.data()), data.size());
    flush();
    return;
  }
  buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

void AtomicFile::commit(const std::filesystem::path& target, bool sync) {
  flush();
  if (sync && ::fsync(fd_) != 0) throw Error(ErrorCode::Io, "cannot sync " + temp_.string() + ": " + errno_text());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error(ErrorCode::Io, "cannot close " + temp_.string() + ": " + errno_text());
  if (::rename(temp_.c_str(), target.c_str()) != 0)
    throw Error(ErrorCode::Io, "cannot rename " + temp_.string() + " to " + target.string() + ": " + errno_text());
  committed_ = true;
}

void AtomicFile::truncate() {
  if (fd_ < 0) throw Error(ErrorCode::Generic, "internal error: truncate after commit of " + temp_.string());
  buffer_.clear();
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
    throw Error(ErrorCode::Io, "cannot truncate " + temp_.string() + ": " + errno_text());
}

const std::filesystem::path& AtomicFile::flushed() {
  flush();
  return temp_;
}

void AtomicFile::copy_from(int from, const std::filesystem::path& name) {
  if (fd_ < 0) throw Error(ErrorCode::Generic, "internal error: copy after commit to " + temp_.string());
  flush();
#ifdef FICLONE
  if (::ioctl(fd_, FICLONE, from) == 0) return;  // else (another file system, no reflinks): copy
#endif
  std::vector<char> buf(kBufferSize);
  for (;;) {
    const ssize_t n = ::read(from, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::Io, "cannot read " + name.string() + ": " + errno_text());
    }
    if (n == 0) return;
    write(std::as_bytes(std::span(buf.data(), static_cast<std::size_t>(n))));
  }
}

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

FileHandle& FileHandle::operator=(FileHandle&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

[[noreturn]] void refuse(const std::filesystem::path& path, mode_t mode, const std::filesystem::path& root,
                         bool want_dir) {
  throw Error(ErrorCode::InvalidArgument,
              path.string() + " is " + file_kind(mode) + ", not a " + (want_dir ? "directory" : "regular file") +
                  "; rustimg reads only what is inside " + root.string() + " and follows no link out of it: " +
                  "replace it with " +
                  (S_ISLNK(mode) ? "a copy of what it points to" : want_dir ? "a directory" : "the file itself"));
}

/// A read-only streambuf over a file descriptor, with seeking (a push may
/// re-read a blob from an offset).
class FileStreamBuf final : public std::streambuf {
 public:
  explicit FileStreamBuf(FileHandle file) : file_(std::move(file)) { setg(buf_.data(), buf_.data(), buf_.data()); }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    ssize_t n = 0;
    do {
      n = ::read(file_.get(), buf_.data(), buf_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw Error(ErrorCode::Io, std::string("read error: ") + errno_text());  // badbit
    if (n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    if ((which & std::ios_base::in) == 0) return pos_type(off_type(-1));
    int whence = SEEK_SET;
    if (dir == std::ios_base::cur) {
      whence = SEEK_CUR;
      off -= egptr() - gptr();  // the file is ahead of the reader by what is buffered
    } else if (dir == std::ios_base::end) {
      whence = SEEK_END;
    }
    const off_t at = ::lseek(file_.get(), static_cast<off_t>(off), whence);
    if (at < 0) return pos_type(off_type(-1));
    setg(buf_.data(), buf_.data(), buf_.data());
    return pos_type(static_cast<off_type>(at));
  }

  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override {
    return seekoff(off_type(pos), std::ios_base::beg, which);
  }

 private:
  FileHandle file_;
  std::array<char, 64 * 1024> buf_{};
};

class FileStream final : public std::istream {
 public:
  explicit FileStream(FileHandle file) : std::istream(nullptr), buf_(std::move(file)) { rdbuf(&buf_); }

 private:
  FileStreamBuf buf_;
};

}  // namespace

FileHandle open_regular_below(const std::filesystem::path& root, const std::filesystem::path& relative,
                              std::uint64_t& size) {
  FileHandle at(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!at) {
    if (errno == ENOENT) return FileHandle();
    throw Error(ErrorCode::Io, "cannot open " + root.string() + ": " + errno_text());
  }
  std::filesystem::path path = root;
  const std::vector<std::filesystem::path> steps(relative.begin(), relative.end());
  if (steps.empty()) throw Error(ErrorCode::Generic, "internal error: no file named below " + root.string());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string name = steps[i].string();
    path /= steps[i];
    const bool last = i + 1 == steps.size();
    if (name.empty() || name == "." || name == ".." || name == "/")
      throw Error(ErrorCode::Generic, "internal error: " + relative.string() + " is not a relative path");
    // Look before opening, so that a FIFO or a device is never opened.
    struct stat st {};
    if (::fstatat(at.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return FileHandle();
      throw Error(ErrorCode::Io, "cannot read " + path.string() + ": " + errno_text());
    }
    if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) refuse(path, st.st_mode, root, !last);
    FileHandle next(::openat(at.get(), name.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NOCTTY | O_NONBLOCK : O_DIRECTORY)));
    if (!next) {
      if (errno == ENOENT) return FileHandle();
      if (errno == ELOOP || errno == ENOTDIR) refuse(path, S_IFLNK, root, !last);
      throw Error(ErrorCode::Io, "cannot open " + path.string() + ": " + errno_text());
    }
    // What was opened may have replaced what was looked at: check it again.
    if (::fstat(next.get(), &st) != 0) throw Error(ErrorCode::Io, "cannot read " + path.string() + ": " + errno_text());
    if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) refuse(path, st.st_mode, root, !last);
    if (last) size = static_cast<std::uint64_t>(st.st_size);
    at = std::move(next);
  }
  return at;
}

std::unique_ptr<std::istream> file_stream(FileHandle file) { return std::make_unique<FileStream>(std::move(file)); }

namespace {

constexpr unsigned kMaxConcurrentSyncs = 16;

/// fsyncs one file; returns an error message, empty on success.
std::string sync_one(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + file.string() + " to sync it: " + errno_text();
  std::string error;
  if (::fsync(fd) != 0) error = "cannot sync " + file.string() + ": " + errno_text();
  ::close(fd);
  return error;
}

}  // namespace

void sync_files(const std::vector<std::filesystem::path>& files) {
  std::vector<std::string> errors(files.size());
  parallel_for(files.size(), kMaxConcurrentSyncs, [&](std::size_t i) { errors[i] = sync_one(files[i]); });
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(ErrorCode::Io, e);
}

DirLock::DirLock(const std::filesystem::path& dir) : path_(dir / ".rustimg-lock") {
  for (;;) {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EACCES) fd = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorCode::Io, "cannot open the lock file " + path_.string() + ": " + errno_text());
    int rc = 0;
    while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const std::string why = errno_text();
      ::close(fd);
      throw Error(ErrorCode::Io, "cannot lock " + path_.string() + ": " + why);
    }
    // The previous holder removes the file when it is done: a lock on a
    // file no longer under that name excludes no one, so take the new one.
    struct stat held {}, named {};
    if (::fstat(fd, &held) == 0 && ::lstat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
}

DirLock::~DirLock() {
  ::unlink(path_.c_str());  // still locked: no one else holds this file
  ::close(fd_);
}

}  // namespace rustimg::util
