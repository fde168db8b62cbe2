// Internal to the store module: write a file under a temporary name in its
// final directory, then rename it into place.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rustimg/oci.hpp"

namespace rustimg::store {

class AtomicFile final : public oci::ByteSink {
 public:
  /// Creates "<dir>/.rustimg-tmp-XXXXXX" (mode 0644). Throws Io.
  explicit AtomicFile(const std::filesystem::path& dir);
  /// Removes the temporary file unless committed.
  ~AtomicFile() override;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  using oci::ByteSink::write;
  void write(std::span<const std::byte> data) override;
  /// Flushes, fsyncs (unless `sync` is false: for scratch files that are
  /// made durable later, or never), closes and renames the file to `target`
  /// (replacing it).
  void commit(const std::filesystem::path& target, bool sync = true);
  /// Flushes what was written and returns the temporary file's path, so a
  /// caller can sync it together with other files (sync_files) and then
  /// commit(target, false).
  const std::filesystem::path& flushed();

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

/// True for a directory rustimg stages blobs in (a TempDir,
/// ".rustimg-staging-*"): its files are scratch, removed when the build
/// ends, and made durable only when published.
bool is_staging_dir(const std::filesystem::path& dir);


}  // namespace rustimg::store
