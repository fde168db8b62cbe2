// Internal to the store module: write a file under a temporary name in its
// final directory, then rename it into place.
#pragma once

#include <filesystem>
#include <string>

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
  /// Flushes, fsyncs, closes and renames the file to `target` (replacing it).
  void commit(const std::filesystem::path& target);

 private:
  void flush();
  int fd_ = -1;
  std::filesystem::path temp_;
  std::string buffer_;
  bool committed_ = false;
};

/// Writes `content` to `target` atomically.
void write_file_atomically(const std::filesystem::path& target, std::string_view content);


}  // namespace rustimg::store
