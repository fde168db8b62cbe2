// TarWriter: the deterministic tar stream every layer is written as (via
// libarchive), and write_tar: a FileTree through it.
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
#include "tar_writer.hpp"
#include "util/archive_message.hpp"
#include "util/fd.hpp"

namespace rustimg::layer {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

la_ssize_t on_write(archive*, void* client, const void* buffer, size_t length) {
  auto* state = static_cast<TarWriter::State*>(client);
  if (state->abandoned) return static_cast<la_ssize_t>(length);
  try {
    state->out->write(std::span(static_cast<const std::byte*>(buffer), length));
    return static_cast<la_ssize_t>(length);
  } catch (...) {
    state->error = std::current_exception();
    return -1;
  }
}

using util::Fd;

std::string errno_text() { return std::strerror(errno); }

/// The locale of `charset`: "C", or "C.UTF-8" ("C" when the C library has
/// none). Made once, never freed: uselocale() needs them while in use.
locale_t names_locale(NamesCtype::Charset charset) {
  static const locale_t c = ::newlocale(LC_CTYPE_MASK, "C", static_cast<locale_t>(nullptr));
  static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (charset == NamesCtype::Charset::Utf8 && utf8 != static_cast<locale_t>(nullptr)) return utf8;
  // POSIX has every C library provide "C": only a failed allocation gets here.
  if (c == static_cast<locale_t>(nullptr))
    throw Error(ErrorCode::Generic, "cannot make the \"C\" locale: out of memory");
  return c;
}

/// The host file of `e` into the tar (its size read now), checking it does
/// not change size meanwhile.
void copy_file(TarWriter& w, TarHeader h, const Entry& e) {
  const std::string src = e.source.string();
  Fd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    throw Error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                "cannot read " + src + " (for /" + e.path + "): " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(ErrorCode::Io, "cannot stat " + src + ": " + errno_text());
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorCode::InvalidArgument, src + " (for /" + e.path + ") is not a regular file");
  h.size = static_cast<std::uint64_t>(st.st_size);
  w.header(h);

  std::array<char, kChunk> buf;
  std::uint64_t left = h.size;
  while (left > 0) {
    const std::size_t want = left < buf.size() ? static_cast<std::size_t>(left) : buf.size();
    const ssize_t n = ::read(fd.get(), buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::Io, "cannot read " + src + ": " + errno_text());
    }
    if (n == 0)
      throw Error(ErrorCode::Io, src + " shrank while it was being read; make sure nothing writes it during the build");
    w.data(buf.data(), static_cast<std::size_t>(n), e.path);
    left -= static_cast<std::uint64_t>(n);
  }
  char extra = 0;
  if (::read(fd.get(), &extra, 1) > 0)
    throw Error(ErrorCode::Io, src + " grew while it was being read; make sure nothing writes it during the build");
}

}  // namespace

NamesCtype::NamesCtype(Charset charset) {
  const locale_t loc = names_locale(charset);
  utf8_ = charset == Charset::Utf8 && loc != names_locale(Charset::Bytes);
  previous_ = ::uselocale(loc);
}
NamesCtype::~NamesCtype() { ::uselocale(previous_); }

void TarWriter::Free::operator()(archive* a) const noexcept { archive_write_free(a); }

TarWriter::TarWriter(ByteSink& out) : state_{&out, nullptr, false} {
  a_.reset(archive_write_new());
  if (!a_) throw Error(ErrorCode::Generic, "libarchive: out of memory");
  // "pax_restricted" writes plain USTAR headers and adds a PAX extended
  // header only for an entry whose name, link or numbers do not fit (or a
  // non-ASCII name or link: a hdrcharset=BINARY record, see header()).
  check(archive_write_set_format_pax_restricted(a_.get()), "selecting the tar format");
  // No blocking: the archive ends with its two zero blocks, no padding.
  check(archive_write_set_bytes_per_block(a_.get(), 0), "setting the block size");
  check(archive_write_open2(a_.get(), &state_, nullptr, on_write, nullptr, nullptr), "opening the tar stream");
}

TarWriter::~TarWriter() { state_.abandoned = !finished_; }

void TarWriter::header(const TarHeader& h) {
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
  if (!ae) throw Error(ErrorCode::Generic, "libarchive: out of memory");
  // Names are raw bytes, converted by libarchive as the thread's LC_CTYPE
  // says. Always "C" here, for every entry (ASCII ones too: the archive
  // keeps the charset of its first header, so a switch for non-ASCII names
  // only would still follow the process's locale): every process writes
  // the bytes rustimg always wrote, a non-ASCII name or link as is in a pax
  // record with hdrcharset=BINARY, and "C" exists in every C library. The
  // *_utf8 setters are not usable: libarchive 3.6 then crashes on
  // non-ASCII names in the "C" locale.
  const NamesCtype bytes(NamesCtype::Charset::Bytes);
  archive_entry_copy_pathname(ae.get(), h.name.c_str());
  archive_entry_set_perm(ae.get(), static_cast<__LA_MODE_T>(h.mode & 07777));
  archive_entry_set_uid(ae.get(), h.uid);
  archive_entry_set_gid(ae.get(), h.gid);
  archive_entry_set_mtime(ae.get(), static_cast<time_t>(h.mtime), 0);
  archive_entry_set_size(ae.get(), 0);
  switch (h.kind) {
    case TarHeader::Kind::Directory: archive_entry_set_filetype(ae.get(), AE_IFDIR); break;
    case TarHeader::Kind::Symlink:
      archive_entry_set_filetype(ae.get(), AE_IFLNK);
      archive_entry_copy_symlink(ae.get(), h.link.c_str());
      break;
    case TarHeader::Kind::HardLink:
      archive_entry_set_filetype(ae.get(), AE_IFREG);
      archive_entry_copy_hardlink(ae.get(), h.link.c_str());
      break;
    case TarHeader::Kind::File:
      archive_entry_set_filetype(ae.get(), AE_IFREG);
      archive_entry_set_size(ae.get(), static_cast<la_int64_t>(h.size));
      break;
  }
  check(archive_write_header(a_.get(), ae.get()), "writing the header of /" + h.name);
}

void TarWriter::data(const void* bytes, std::size_t size, const std::string& path) {
  const la_ssize_t n = archive_write_data(a_.get(), bytes, size);
  if (state_.error) std::rethrow_exception(state_.error);
  if (n < 0 || static_cast<std::size_t>(n) != size) check(ARCHIVE_FATAL, "writing the data of /" + path);
}

void TarWriter::finish() {
  check(archive_write_close(a_.get()), "finishing the tar stream");
  finished_ = true;
}

void TarWriter::check(int rc, const std::string& what) {
  if (state_.error) std::rethrow_exception(state_.error);
  if (rc < ARCHIVE_WARN) {
    throw Error(ErrorCode::Io, "tar: " + what + " failed: " + util::archive_message(a_.get()));
  }
}

void write_tar(const FileTree& tree, std::int64_t mtime, ByteSink& out) {
  TarWriter w(out);
  for (const Entry& e : tree.entries()) {
    TarHeader h;
    h.name = e.type == EntryType::Directory ? e.path + "/" : e.path;
    h.mode = e.mode;
    h.uid = e.uid;
    h.gid = e.gid;
    h.mtime = mtime;
    switch (e.type) {
      case EntryType::Directory:
        h.kind = TarHeader::Kind::Directory;
        w.header(h);
        break;
      case EntryType::Symlink:
        h.kind = TarHeader::Kind::Symlink;
        h.link = e.link_target;
        w.header(h);
        break;
      case EntryType::File:
        if (!e.content) {
          copy_file(w, std::move(h), e);
          break;
        }
        h.size = e.content->size();
        w.header(h);
        w.data(e.content->data(), e.content->size(), e.path);
        break;
    }
  }
  w.finish();
}

}  // namespace rustimg::layer
