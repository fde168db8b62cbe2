// The file edge of the ELF reader: maps a file and hands its bytes to the
// pure inspect().
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"

namespace rustimg::elf {

namespace {

/// A read-only view of a whole file: mmap'd when possible, else read.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(path, "cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      throw_errno(path, "cannot stat");
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw Error(ErrorCode::Io, path.string() + ": is a directory, not an ELF file");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error(ErrorCode::Io, path.string() + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        errno = e;
        throw_errno(path, "cannot map");
      }
      data_ = p;
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

 private:
  [[noreturn]] static void throw_errno(const std::filesystem::path& path, const char* what) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) throw Error(ErrorCode::NotFound, path.string() + ": no such file");
    throw Error(ErrorCode::Io, path.string() + ": " + what + ": " + std::generic_category().message(e));
  }

  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

Report inspect_file(const std::filesystem::path& path) {
  const MappedFile file(path);
  try {
    return inspect(file.bytes());
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

}  // namespace rustimg::elf
