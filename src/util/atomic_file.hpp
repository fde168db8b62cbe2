// Files written and read safely: write a file under a temporary name in its
// final directory, then rename it into place (or use it as a scratch file);
// read a file inside a directory without being led out of it; lock a
// directory. The one temporary-file type of the core.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "rustimg/byte_sink.hpp"

namespace rustimg::util {

/// The system's temporary directory (TMPDIR, else /tmp), where private
/// scratch files and stores go. Throws Io naming TMPDIR when it is not an
/// existing directory (std::filesystem::temp_directory_path's error, which
/// would name neither).
std::filesystem::path temp_directory();

class AtomicFile final : public ByteSink {
 public:
  /// Creates "<dir>/.rustimg-tmp-XXXXXX" with `mode` (never the umask's):
  /// 0644 for what rustimg publishes, 0600 for a private scratch file.
  /// Throws Io.
  explicit AtomicFile(const std::filesystem::path& dir, ::mode_t mode = 0644);
  /// Removes the temporary file unless committed.
  ~AtomicFile() override;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  using ByteSink::write;
  void write(std::span<const std::byte> data) override;
  /// Flushes, fsyncs (unless `sync` is false: for scratch files that are
  /// made durable later, or never), closes and renames the file to `target`
  /// (replacing it).
  void commit(const std::filesystem::path& target, bool sync = true);
  /// Flushes what was written and returns the temporary file's path, so a
  /// caller can sync it together with other files (sync_files) and then
  /// commit(target, false).
  const std::filesystem::path& flushed();
  /// Fills the file, written to nowhere yet, with the content of the open
  /// file `from` (`name` in errors): a reflink (ioctl FICLONE) where the
  /// file system offers one, so the two share storage until either is
  /// written, else a copy. Never the same file. Throws Io.
  void copy_from(int from, const std::filesystem::path& name);
  /// Discards everything written so far (a scratch file being refilled).
  void truncate();

 private:
  void flush();
  int fd_ = -1;
  std::filesystem::path temp_;
  std::string buffer_;
  bool committed_ = false;
};

/// fsyncs every file, several at a time, so the file system can commit them
/// in one journal transaction rather than one after another. Throws Io
/// naming the first file that fails.
void sync_files(const std::vector<std::filesystem::path>& files);

/// Owns one open file descriptor.
class FileHandle {
 public:
  explicit FileHandle(int fd = -1) noexcept : fd_(fd) {}
  ~FileHandle();
  FileHandle(FileHandle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileHandle& operator=(FileHandle&& other) noexcept;
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

/// Opens `root`/`relative` for reading, but only as a regular file reached
/// without following a symbolic link at any step below `root` (`root` is the
/// caller's): names inside a directory rustimg was handed (an image layout)
/// cannot make it read a file elsewhere, or wait on a FIFO or a device.
/// Sets `size` to the file's size. Returns an empty handle when the file or
/// a directory on the way is missing; throws InvalidArgument naming the
/// offending path when it is a link or not a regular file (or directory on
/// the way), Io when it cannot be opened.
FileHandle open_regular_below(const std::filesystem::path& root, const std::filesystem::path& relative,
                              std::uint64_t& size);

/// A seekable input stream over `file`, which it owns. A read error sets
/// badbit.
std::unique_ptr<std::istream> file_stream(FileHandle file);

/// An exclusive lock on the directory `dir` for as long as the object lives,
/// so that one writer at a time reads, merges and replaces its files (an OCI
/// layout's index.json). Taken with flock(2) on "<dir>/.rustimg-lock", which
/// is created when missing and removed on release; waits while another
/// process holds it. Throws Io.
class DirLock {
 public:
  explicit DirLock(const std::filesystem::path& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};



}  // namespace rustimg::util
