// The file edge of the ELF reader: maps a file and hands its bytes to the
// pure inspect().
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>
#include <utility>

#include "rustimg/auditable.hpp"
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

std::optional<std::vector<AuditablePackage>> read_auditable_file(const std::filesystem::path& path) {
  const MappedFile file(path);
  return read_auditable_dependencies(file.bytes(), path.string());
}

NssSwitch read_nsswitch(const std::filesystem::path& path, std::string origin) {
  // A regular file or a pipe (--nsswitch <(...)); the read below is bounded either way.
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st))
    throw Error(ErrorCode::NotFound, path.string() + ": no such file (an nsswitch.conf was expected)");
  if (std::filesystem::is_directory(st))
    throw Error(ErrorCode::InvalidArgument, path.string() + ": is a directory; give the nsswitch.conf file in it");
  if (!std::filesystem::is_regular_file(st) && !std::filesystem::is_fifo(st))
    throw Error(ErrorCode::InvalidArgument,
                path.string() + ": exists but is not a regular file or a pipe; give an nsswitch.conf file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, path.string() + ": cannot read");
  std::string text(kMaxNsswitchBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxNsswitchBytes)
    throw Error(ErrorCode::InvalidArgument, path.string() + " is over " + std::to_string(kMaxNsswitchBytes / 1024) +
                                                " KiB, too big for an nsswitch.conf: give the right file");
  return {std::move(text), std::move(origin)};
}

}  // namespace rustimg::elf
