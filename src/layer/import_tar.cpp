// import_tar: an existing tar file as a layer, checked as hostile input and
// written again by rustimg's own tar writer.
//
// One pass over the file: libarchive decompresses it (an outer reader:
// gzip/zstd filters, "raw" format), and the decompressed bytes feed a second
// libarchive reader that parses every entry (tar format, no filter). Each
// entry is checked, then re-emitted through TarWriter (name cleaned, type,
// mode, owners, mtime, link target, data) into the LayerStream. Readers of
// a layer (Go's archive/tar in containerd and Docker, GNU tar) disagree with
// libarchive on some headers (a pax GNU.sparse.name replaces the path for
// libarchive, not for Go), so the original bytes are never shipped: what is
// checked is exactly what is written. The raw extension headers libarchive
// swallows (pax global headers, GNU sparse records) are looked at in the
// decompressed stream and refused.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "layer_stream.hpp"
#include "tar_writer.hpp"
#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "util/archive_message.hpp"
#include "util/fd.hpp"
#include "util/shown.hpp"

namespace rustimg::layer {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 64 * 1024;
constexpr const char* kNameFix = "make the tar with relative names from inside one directory (tar -C DIR -cf FILE .)";
/// Bounds on names (Linux's PATH_MAX and NAME_MAX), and on the paths kept
/// for the checks: every entry's and every parent directory of it, each
/// counted with kKeptCost more bytes for its map node (so a deep name,
/// which keeps one parent per component, counts what it costs).
constexpr std::size_t kMaxName = 4096;
constexpr std::size_t kMaxComponent = 255;
constexpr std::uint64_t kMaxNameTotal = 256ull << 20;
constexpr std::uint64_t kKeptCost = 64;
/// Decompressed bytes kept behind the read position, for the extension
/// headers of the entry just read (libarchive takes at most 1 MiB for one)
/// and the zero padding after the archive's end.
constexpr std::size_t kKeep = 8u << 20;
constexpr std::size_t kBlock = 512;

struct ReadFree {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using Reader = std::unique_ptr<archive, ReadFree>;

using util::archive_message;
using util::Fd;
using util::shown;

/// The decompressed stream, handed to the entry reader in chunks. Keeps the
/// last kKeep bytes or more (`window`), for inspect() and zero_from().
struct Feed {
  archive* outer = nullptr;
  std::string name;  ///< the tar file, for errors
  std::exception_ptr error;
  std::vector<char> chunk = std::vector<char>(kChunk);
  std::size_t chunk_size = 0;    ///< bytes of `chunk` in use
  std::uint64_t offset = 0;      ///< bytes read so far (the end of `window`)
  std::string window;            ///< the bytes from window_start to offset
  std::uint64_t window_start = 0;

  /// Reads the next chunk of the decompressed stream (0 at its end), full
  /// unless the stream ends (a filter may return less: a gzip member's
  /// end). Throws rustimg::Error.
  std::size_t next() {
    chunk_size = 0;
    while (chunk_size < chunk.size()) {
      const la_ssize_t n = archive_read_data(outer, chunk.data() + chunk_size, chunk.size() - chunk_size);
      if (n < 0)
        throw Error(ErrorCode::InvalidArgument, name + " cannot be decompressed: " + archive_message(outer) +
                                                    "; give a plain, gzip- or zstd-compressed tar");
      if (n == 0) break;
      chunk_size += static_cast<std::size_t>(n);
    }
    offset += chunk_size;
    if (offset > kMaxImportBytes)
      throw Error(ErrorCode::InvalidArgument, name + " holds more than " + std::to_string(kMaxImportBytes >> 30) +
                                                  " GiB uncompressed, more than rustimg takes in one layer; split it");
    window.append(chunk.data(), chunk_size);
    if (window.size() > 2 * kKeep) {
      const std::size_t drop = window.size() - kKeep;
      window.erase(0, drop);
      window_start += drop;
    }
    return chunk_size;
  }

  /// The kept bytes [from, from + size), or nullopt when they are not all kept.
  std::optional<std::string_view> kept(std::uint64_t from, std::uint64_t size) const {
    if (from < window_start || from + size > offset) return std::nullopt;
    return std::string_view(window).substr(static_cast<std::size_t>(from - window_start), size);
  }

  /// True when every byte read from stream offset `from` is zero (false
  /// when `from` is no longer kept: it cannot be told).
  bool zero_from(std::uint64_t from) const {
    if (from >= offset) return true;
    const auto bytes = kept(from, offset - from);
    return bytes && std::all_of(bytes->begin(), bytes->end(), [](char c) { return c == 0; });
  }
};

la_ssize_t on_read(archive*, void* client, const void** buffer) {
  auto* feed = static_cast<Feed*>(client);
  try {
    const std::size_t n = feed->next();
    *buffer = feed->chunk.data();
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    feed->error = std::current_exception();
    return -1;
  }
}

/// True when the file `fd` starts as a zstd stream does: a frame's magic
/// number or a skippable frame's (what libarchive's zstd filter looks for).
bool zstd_magic(int fd) {
  unsigned char m[4] = {};
  if (::pread(fd, m, sizeof m, 0) != static_cast<ssize_t>(sizeof m)) return false;
  const std::uint32_t v = m[0] | (m[1] << 8) | (m[2] << 16) | (static_cast<std::uint32_t>(m[3]) << 24);
  return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

/// A tar header's numeric field: octal digits, or base-256 (high bit set).
/// nullopt when negative or malformed.
std::optional<std::uint64_t> tar_number(std::string_view field) {
  std::uint64_t v = 0;
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80) != 0) {
    if ((static_cast<unsigned char>(field[0]) & 0x40) != 0) return std::nullopt;  // negative
    v = static_cast<unsigned char>(field[0]) & 0x3f;
    for (std::size_t i = 1; i < field.size(); ++i) {
      if (v > (UINT64_MAX >> 8)) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    return v;
  }
  std::size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return std::nullopt;
    v = (v << 3) | static_cast<std::uint64_t>(field[i] - '0');
  }
  return v;
}

/// The keys of pax extended header records ("LEN KEY=VALUE\n" each).
std::vector<std::string_view> pax_keys(std::string_view body) {
  std::vector<std::string_view> keys;
  while (!body.empty()) {
    std::size_t len = 0;
    std::size_t i = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9' && len < body.size()) len = len * 10 + (body[i++] - '0');
    if (i == 0 || i >= body.size() || body[i] != ' ' || len <= i || len > body.size()) break;  // libarchive refuses it
    const std::string_view record = body.substr(i + 1, len - i - 1);
    keys.push_back(record.substr(0, record.find('=')));
    body.remove_prefix(len);
  }
  return keys;
}

/// `position`: the start of `entry`'s headers in the decompressed stream
/// (archive_read_header_position). Walks the extension headers before the
/// entry's own one and refuses what libarchive reads past without a trace:
/// pax global headers (applied to later entries by some readers, ignored
/// by others), GNU sparse records (a GNU.sparse.name renames the entry for
/// libarchive only), and any header type other than the POSIX entry types
/// and the name extensions walked here (libarchive silently skips a GNU
/// volume header 'V' or a Solaris ACL 'A', which other readers take as an
/// entry or not at all; other libarchive versions may skip more).
void inspect_headers(const Feed& feed, std::uint64_t position, const std::string& entry) {
  const auto refuse = [&](const std::string& why, const std::string& fix) {
    throw Error(ErrorCode::InvalidArgument, feed.name + ": entry \"" + shown(entry) + "\" " + why + "; " + fix +
                                                " (a tar taken as a layer is checked)");
  };
  for (;;) {
    const auto block = feed.kept(position, kBlock);
    if (!block)
      refuse("has extension headers longer than " + std::to_string(kKeep >> 20) + " MiB",
             "write the tar again with GNU tar or bsdtar");
    const char type = (*block)[156];
    // The entry's own header: a POSIX type ('\0' and '0'..'7'; '\0' also
    // for the zero block at the archive's end).
    if (type == '\0' || (type >= '0' && type <= '7')) return;
    if (type == 'S') refuse("is a GNU sparse file", "write the tar without --sparse");
    if (type == 'g')
      refuse("follows a pax global header, which tar readers apply differently",
             "write the tar without global headers (GNU tar: no --pax-option with \"globexthdr\"; bsdtar and "
             "GNU tar write none by default)");
    if (type != 'x' && type != 'X' && type != 'L' && type != 'K') {
      const auto u = static_cast<unsigned char>(type);
      std::string flag = u >= 0x20 && u < 0x7f ? "'" + std::string(1, type) + "'" : shown(std::string(1, type));
      if (type == 'V') flag += " (a GNU volume label)";
      if (type == 'A') flag += " (a Solaris ACL)";
      if (type == 'M') flag += " (a GNU multi-volume continuation)";
      if (type == 'D') flag += " (a GNU incremental directory)";
      refuse("has a header of type " + flag + ", which tar readers read differently",
             "write the tar again with GNU tar or bsdtar, without --label, --multi-volume, --incremental or ACLs");
    }
    const auto size = tar_number(block->substr(124, 12));
    if (!size) return;  // libarchive refused it already
    if (type == 'x' || type == 'X') {
      const auto body = feed.kept(position + kBlock, *size);
      if (!body)
        refuse("has extension headers longer than " + std::to_string(kKeep >> 20) + " MiB",
               "write the tar again with GNU tar or bsdtar");
      for (const std::string_view key : pax_keys(*body))
        if (key.starts_with("GNU.sparse."))
          refuse("has a pax \"" + std::string(key) + "\" record (a GNU sparse file), which tar readers read "
                 "differently",
                 "write the tar without --sparse");
    }
    position += kBlock + ((*size + kBlock - 1) / kBlock) * kBlock;
  }
}

/// The path inside the image of the cleaned name: "./usr/bin/x" ->
/// "usr/bin/x"; "" for the root itself.
std::string clean_name(std::string_view name, std::string& problem) {
  if (name.empty()) {
    problem = "has an empty name";
    return {};
  }
  if (name.size() > kMaxName) {
    problem = "has a name of " + std::to_string(name.size()) + " bytes, longer than " + std::to_string(kMaxName);
    return {};
  }
  if (name.front() == '/') {
    problem = "has an absolute name";
    return {};
  }
  std::string out;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(pos, end - pos);
    if (part == "..") {
      problem = "has a \"..\" component, which would reach outside the image's root";
      return {};
    }
    if (part.size() > kMaxComponent) {
      problem = "has a name component of " + std::to_string(part.size()) + " bytes, longer than " +
                std::to_string(kMaxComponent);
      return {};
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    pos = end + 1;
  }
  return out;
}

const char* kind_name(mode_t type) {
  switch (type) {
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "an entry of an unknown type";
  }
}

/// Checks each entry against the ones before it, and gives the header to
/// write for it.
class EntryChecker {
 public:
  explicit EntryChecker(std::string name) : name_(std::move(name)) {}

  /// Reads `e`'s names: hold a NamesCtype(Utf8).
  TarHeader check(archive_entry* e) {
    if (++count_ > kMaxImportEntries)
      throw Error(ErrorCode::InvalidArgument, name_ + " holds more than " + std::to_string(kMaxImportEntries) +
                                                  " entries, more than rustimg takes in one layer; split it");
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) refuse("(unnamed)", "has a name that cannot be read", kNameFix);
    const std::string name = raw;
    if (archive_entry_sparse_count(e) > 0) refuse(name, "is a sparse file", "write the tar without --sparse");
    const std::string path = clean(name, name);
    const mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);

    TarHeader h;
    h.mode = static_cast<std::uint32_t>(archive_entry_perm(e)) & 07777;
    h.uid = archive_entry_uid(e);
    h.gid = archive_entry_gid(e);
    h.mtime = archive_entry_mtime(e);
    if (h.uid < 0 || h.uid > UINT32_MAX || h.gid < 0 || h.gid > UINT32_MAX)
      refuse(name, "has an owner outside 0..4294967295", "give it a valid uid and gid");
    Kind kind;
    if (hardlink != nullptr) {
      kind = Kind::File;
      h.kind = TarHeader::Kind::HardLink;
      h.link = clean(hardlink, name);
      const auto it = kinds_.find(h.link);
      if (h.link.empty() || it == kinds_.end() || it->second != Kind::File)
        refuse(name, "is a hard link to \"" + shown(hardlink) + "\", which is not a file earlier in the tar",
               "make the tar with a tool that writes a hard link after its target (GNU tar, bsdtar)");
    } else if (type == AE_IFREG) {
      kind = Kind::File;
      h.kind = TarHeader::Kind::File;
      const la_int64_t size = archive_entry_size(e);
      if (size < 0) refuse(name, "has a negative size", "write the tar again with GNU tar or bsdtar");
      h.size = static_cast<std::uint64_t>(size);
      declared_ += h.size;
      if (declared_ > kMaxImportBytes)
        throw Error(ErrorCode::InvalidArgument, name_ + " declares more than " +
                                                    std::to_string(kMaxImportBytes >> 30) +
                                                    " GiB of file data, more than rustimg takes in one layer; split it");
    } else if (type == AE_IFDIR) {
      kind = Kind::Directory;
      h.kind = TarHeader::Kind::Directory;
    } else if (type == AE_IFLNK) {
      kind = Kind::Symlink;
      h.kind = TarHeader::Kind::Symlink;
      const char* target = archive_entry_symlink(e);
      if (target == nullptr || *target == '\0') refuse(name, "is a symlink without a target", "remove it");
      h.link = target;
      if (h.link.size() > kMaxName)
        refuse(name, "is a symlink whose target is longer than " + std::to_string(kMaxName) + " bytes", "remove it");
    } else {
      refuse(name, std::string("is ") + kind_name(type),
             "a layer from a tar holds files, directories, symlinks and hard links only: remove it");
    }
    if (path.empty()) {
      if (kind != Kind::Directory) refuse(name, "names the image's root but is not a directory", kNameFix);
      h.name = "./";
      return h;
    }
    h.name = kind == Kind::Directory ? path + "/" : path;

    // A path below a symlink of the same tar would be written through the
    // link by a naive extractor, wherever it points; its parents are
    // directories from here on (a later "a" symlink must not replace them).
    const std::string_view view(path);
    for (std::size_t slash = view.find('/'); slash != std::string_view::npos; slash = view.find('/', slash + 1)) {
      const std::string_view parent = view.substr(0, slash);
      if (const auto it = kinds_.find(parent); it == kinds_.end()) {
        keep(parent, name);
        kinds_.emplace(std::string(parent), Kind::Implied);
      } else if (it->second != Kind::Directory && it->second != Kind::Implied) {
        refuse(name, "lies below /" + shown(parent) + ", which the tar made a symlink or a file",
               "put the file at the path the symlink points to");
      }
    }
    const auto it = kinds_.find(path);
    if (it == kinds_.end()) {
      keep(path, name);
      kinds_.emplace(path, kind);
      return h;
    }
    if (kind == Kind::Directory && (it->second == Kind::Directory || it->second == Kind::Implied)) {
      it->second = Kind::Directory;
      return h;
    }
    if (it->second == Kind::Implied)
      refuse(name, "comes after entries below it, so it must be a directory",
             "keep one kind per path (a directory, or a file or symlink with nothing below it)");
    refuse(name, "appears twice in the tar", "keep one copy of each path (tar -r appends a second one)");
  }

 private:
  /// Implied: a directory only named as the parent of entries.
  enum class Kind { File, Directory, Symlink, Implied };

  std::string clean(const std::string& text, const std::string& entry) {
    std::string problem;
    std::string path = clean_name(text, problem);
    if (!problem.empty())
      refuse(entry, (text == entry ? "" : "links to \"" + shown(text) + "\", which ") + problem, kNameFix);
    return path;
  }

  /// Counts `path`, about to be kept in kinds_, against kMaxNameTotal:
  /// before this, a 4 KiB name of 2000 components kept ~4 MB of parents
  /// uncounted, and a few hundred such entries took gigabytes.
  void keep(std::string_view path, const std::string& entry) {
    names_bytes_ += path.size() + kKeptCost;
    if (names_bytes_ > kMaxNameTotal)
      refuse(entry,
             "brings the paths kept for the checks (every entry's, and each parent directory of it) over " +
                 std::to_string(kMaxNameTotal >> 20) + " MiB",
             "split the tar, or make its paths shallower");
  }

  [[noreturn]] void refuse(const std::string& entry, const std::string& why, const std::string& fix) {
    throw Error(ErrorCode::InvalidArgument, name_ + ": entry \"" + shown(entry) + "\" " + why + "; " + fix +
                                                " (a tar taken as a layer is checked)");
  }

  std::string name_;
  std::uint64_t count_ = 0;
  std::uint64_t names_bytes_ = 0;
  std::uint64_t declared_ = 0;
  std::map<std::string, Kind, std::less<>> kinds_;
};

}  // namespace

Layer import_tar(const fs::path& tar_file, const LayerOptions& options, ByteSink& out) {
  const std::string name = tar_file.string();
  // Opened without blocking (a FIFO must not make us wait), then only a
  // regular file is read.
  Fd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0)
    throw Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                "cannot read the tar " + name + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(ErrorCode::Io, "cannot stat " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::InvalidArgument, name + " is not a regular file; give a tar file");
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);

  Reader outer(archive_read_new());
  Reader inner(archive_read_new());
  if (!outer || !inner) throw Error(ErrorCode::Generic, "libarchive: out of memory");
  // Compression is told by the first bytes; anything else is read as is
  // (and then is a tar, or refused as one).
  archive_read_support_filter_gzip(outer.get());
  // A libarchive built without libzstd would read zstd through an external
  // "zstd" program (its support call says ARCHIVE_WARN): hostile input is
  // not handed to a program found on PATH. zstd is then not registered,
  // plain and gzip tars read as ever, and a zstd tar is told by its magic
  // number (zstd_magic) and refused with the fix.
  bool zstd_builtin = false;
  {
    const Reader probe(archive_read_new());
    zstd_builtin = probe && archive_read_support_filter_zstd(probe.get()) == ARCHIVE_OK;
  }
  if (zstd_builtin) archive_read_support_filter_zstd(outer.get());
  else if (zstd_magic(fd.get()))
    throw Error(ErrorCode::Unsupported, name + " is zstd-compressed, and the libarchive rustimg uses was built "
                                               "without libzstd; decompress it first (zstd -d) or give a plain "
                                               "or gzip-compressed tar");
  archive_read_support_format_raw(outer.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_fd(outer.get(), fd.get(), kChunk) != ARCHIVE_OK ||
      archive_read_next_header(outer.get(), &entry) != ARCHIVE_OK)
    throw Error(ErrorCode::InvalidArgument, "cannot read the tar " + name + ": " + archive_message(outer.get()));

  LayerStream stream(options, out);
  Feed feed;
  feed.outer = outer.get();
  feed.name = name;
  const auto rethrow = [&] {
    if (feed.error) std::rethrow_exception(feed.error);
  };

  archive_read_support_format_tar(inner.get());
  if (archive_read_open(inner.get(), &feed, nullptr, on_read, nullptr) != ARCHIVE_OK) {
    rethrow();
    throw Error(ErrorCode::InvalidArgument, name + " is not a tar archive (plain, gzip- or zstd-compressed): " +
                                                archive_message(inner.get()));
  }
  EntryChecker checker(name);
  TarWriter writer(stream);
  std::vector<char> buf(kChunk);
  for (;;) {
    TarHeader h;
    {
      const NamesCtype utf8(NamesCtype::Charset::Utf8);  // the names as every process reads them
      const int rc = archive_read_next_header(inner.get(), &entry);
      rethrow();
      if (rc == ARCHIVE_EOF) {
        // A global header may close the archive too.
        inspect_headers(feed, static_cast<std::uint64_t>(archive_read_header_position(inner.get())), "(end)");
        break;
      }
      if (rc != ARCHIVE_OK) {
        const char* at = rc == ARCHIVE_WARN ? archive_entry_pathname(entry) : nullptr;
        throw Error(ErrorCode::InvalidArgument,
                    name + " is not a readable tar archive (plain, gzip- or zstd-compressed)" +
                        (at != nullptr ? ", at entry \"" + shown(at) + "\"" : std::string()) + ": " +
                        archive_message(inner.get()) +
                        (rc == ARCHIVE_WARN && !utf8.utf8()
                             ? " (this C library has no C.UTF-8 locale, which rustimg needs to read non-ASCII pax "
                               "names; install it, or give the tar ASCII names)"
                             : std::string()));
      }
      h = checker.check(entry);
      inspect_headers(feed, static_cast<std::uint64_t>(archive_read_header_position(inner.get())), h.name);
    }
    writer.header(h);
    if (h.kind != TarHeader::Kind::File) continue;
    std::uint64_t copied = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(inner.get(), buf.data(), buf.size());
      rethrow();
      if (n < 0)
        throw Error(ErrorCode::InvalidArgument, name + ": the data of entry \"" + shown(h.name) +
                                                    "\" cannot be read: " + archive_message(inner.get()) +
                                                    "; give a complete tar");
      if (n == 0) break;
      copied += static_cast<std::uint64_t>(n);
      if (copied > h.size) break;
      writer.data(buf.data(), static_cast<std::size_t>(n), h.name);
    }
    if (copied != h.size)
      throw Error(ErrorCode::InvalidArgument, name + ": entry \"" + shown(h.name) + "\" declares " +
                                                  std::to_string(h.size) + " bytes but holds " +
                                                  std::to_string(copied) + "; give a complete tar");
  }
  writer.finish();

  // After the end-of-archive blocks: zero padding only (a second archive
  // appended to the first would be dropped without a word otherwise).
  const auto end = static_cast<std::uint64_t>(archive_filter_bytes(inner.get(), 0));
  bool zero = feed.zero_from(end);
  try {
    while (zero && feed.next() > 0) zero = feed.zero_from(feed.offset - feed.chunk_size);
  } catch (...) {
    feed.error = std::current_exception();
  }
  rethrow();
  if (!zero)
    throw Error(ErrorCode::InvalidArgument, name + " has data after the end of the tar archive; give the tar alone "
                                                   "(a second archive appended to it is not taken)");
  return stream.finish();
}

}  // namespace rustimg::layer
