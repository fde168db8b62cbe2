// Internal to the layer module: the one tar writer every layer's bytes come
// from (write_tar for a FileTree, import_tar re-emitting a checked tar), and
// the locales libarchive handles names in.
#pragma once

#include <locale.h>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "rustimg/layer.hpp"

struct archive;

namespace rustimg::layer {

/// While alive, this thread's LC_CTYPE is the one asked for, whatever the
/// process set (uselocale). libarchive converts entry names between pax
/// records and the current locale's charset, and an archive keeps the
/// charset it first saw; a process that called setlocale(LC_CTYPE, "")
/// (Python does) would otherwise write and read non-ASCII names
/// differently from one that did not (C, Go), and so give another digest.
/// Hold one around every libarchive call that reads or writes names.
///  - Bytes: the "C" locale (every C library has it). The writer's: a
///    non-ASCII name goes in a pax "path" record with hdrcharset=BINARY,
///    its bytes as given, as rustimg always wrote layers.
///  - Utf8: "C.UTF-8", for reading: a pax UTF-8 name comes back as its
///    UTF-8 bytes. On a C library without C.UTF-8 the thread is put in "C"
///    instead (utf8() is false): ASCII names read the same, a non-ASCII
///    pax UTF-8 name then fails to convert (ARCHIVE_WARN).
class NamesCtype {
 public:
  enum class Charset { Bytes, Utf8 };
  explicit NamesCtype(Charset charset);
  ~NamesCtype();
  NamesCtype(const NamesCtype&) = delete;
  NamesCtype& operator=(const NamesCtype&) = delete;
  /// True when the thread is in C.UTF-8.
  bool utf8() const noexcept { return utf8_; }

 private:
  bool utf8_ = false;
  locale_t previous_;
};

/// One entry's header, as the writer puts it in the tar.
struct TarHeader {
  enum class Kind { File, Directory, Symlink, HardLink };
  std::string name;  ///< as written: "etc/x", "etc/" for a directory
  Kind kind = Kind::File;
  std::uint32_t mode = 0644;  ///< 07777 bits
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::int64_t mtime = 0;  ///< whole seconds
  std::string link;        ///< symlink target, or the hard link's (written) name
  std::uint64_t size = 0;  ///< of a file's data; 0 for the other kinds
};

/// A deterministic tar stream to a ByteSink: PAX-restricted USTAR headers
/// (a PAX record only for what does not fit), no user or group names, no
/// blocking (it ends with its two zero blocks). header(), then exactly
/// `size` bytes through data(), then the next header(); finish() once.
class TarWriter {
 public:
  explicit TarWriter(ByteSink& out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  void header(const TarHeader& h);
  /// `path` names the entry in errors.
  void data(const void* bytes, std::size_t size, const std::string& path);
  void finish();

  /// Carries the sink and the first exception thrown inside libarchive's
  /// write callback, so it can be rethrown after libarchive unwinds.
  struct State {
    ByteSink* out;
    std::exception_ptr error;
    bool abandoned = false;  ///< set on an error path: swallow the trailer libarchive writes on free
  };

 private:
  struct Free {
    void operator()(archive* a) const noexcept;
  };
  void check(int rc, const std::string& what);

  State state_;  // declared before a_: libarchive may call back while a_ is freed
  std::unique_ptr<archive, Free> a_;
  bool finished_ = false;
};

}  // namespace rustimg::layer
