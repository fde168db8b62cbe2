#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {
namespace {

constexpr std::size_t kBufferSize = 256 * 1024;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& dir) {
  std::string tmpl = (dir / ".rustimg-tmp-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd_ = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd_ < 0) throw Error(ErrorCode::Io, "cannot create a temporary file in " + dir.string() + ": " + errno_text());
  temp_ = buf.data();
  // Readable by every user, like any other file rustimg writes (never the umask).
  if (::fchmod(fd_, 0644) != 0) {
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

const std::filesystem::path& AtomicFile::flushed() {
  flush();
  return temp_;
}

namespace {

constexpr const char* kStagingPrefix = ".rustimg-staging-";
constexpr std::size_t kMaxConcurrentSyncs = 16;

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
  for (std::size_t begin = 0; begin < files.size(); begin += kMaxConcurrentSyncs) {
    const std::size_t end = std::min(files.size(), begin + kMaxConcurrentSyncs);
    std::vector<std::thread> threads;
    threads.reserve(end - begin);  // so emplace_back never reallocates with threads running
    for (std::size_t i = begin + 1; i < end; ++i) {
      try {
        threads.emplace_back([&files, &errors, i] { errors[i] = sync_one(files[i]); });
      } catch (const std::system_error&) {
        errors[i] = sync_one(files[i]);  // no thread to spare: sync it here
      }
    }
    errors[begin] = sync_one(files[begin]);
    for (auto& t : threads) t.join();
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(ErrorCode::Io, e);
}

bool is_staging_dir(const std::filesystem::path& dir) {
  std::filesystem::path p = dir;
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string().rfind(kStagingPrefix, 0) == 0;
}

TempDir::TempDir(const std::filesystem::path& parent) {
  std::string tmpl = (parent / (std::string(kStagingPrefix) + "XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw Error(ErrorCode::Io, "cannot create a staging directory in " + parent.string() + ": " + errno_text());
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace rustimg::store
