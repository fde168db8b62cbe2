// BlobStore: content-addressed blobs in an OCI-layout-shaped directory.
#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <system_error>

#include "staging.hpp"
#include "rustimg/error.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {

namespace fs = std::filesystem;

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ / "blobs" / "sha256", ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create " + (root_ / "blobs" / "sha256").string() + ": " + ec.message());
}

fs::path BlobStore::path_of(std::string_view digest) const {
  return root_ / "blobs" / "sha256" / oci::digest_hex(digest);
}

bool BlobStore::contains(std::string_view digest) const {
  std::error_code ec;
  return fs::is_regular_file(path_of(digest), ec);
}

void BlobStore::put(const oci::Blob& blob) {
  if (contains(blob.descriptor.digest)) return;
  auto w = begin_blob();
  w->write(blob.bytes);
  w->commit(blob.descriptor.digest);
}

namespace {

/// Blob `digest` of `blobs`, opened as open_regular_below() does. Throws
/// NotFound when it is missing.
FileHandle open_blob(const BlobStore& blobs, std::string_view digest, std::uint64_t& size) {
  FileHandle f = open_regular_below(blobs.root(), fs::path("blobs") / "sha256" / oci::digest_hex(digest), size);
  if (!f) throw Error(ErrorCode::NotFound, "blob " + std::string(digest) + " is missing from " + blobs.root().string());
  return f;
}

}  // namespace

std::unique_ptr<std::istream> BlobStore::open(std::string_view digest) const {
  std::uint64_t size = 0;
  return file_stream(open_blob(*this, digest, size));
}

std::uint64_t BlobStore::size(std::string_view digest) const {
  std::uint64_t size = 0;
  open_blob(*this, digest, size);
  return size;
}

std::string BlobStore::read(std::string_view digest) const {
  const auto in = open(digest);
  std::string out;
  std::array<char, 64 * 1024> buf;
  while (*in) {
    in->read(buf.data(), buf.size());
    out.append(buf.data(), static_cast<std::size_t>(in->gcount()));
  }
  if (in->bad()) throw Error(ErrorCode::Io, "cannot read " + path_of(digest).string());
  return out;
}

std::string BlobStore::read_document(const oci::Descriptor& d, std::uint64_t max_bytes) const {
  oci::check_document_size(d, max_bytes, "document " + d.digest);
  std::uint64_t size = 0;
  FileHandle f = open_blob(*this, d.digest, size);
  oci::Descriptor stored = d;  // what the file holds, whatever `d` claims
  stored.size = static_cast<std::int64_t>(std::min<std::uint64_t>(size, INT64_MAX));
  oci::check_document_size(stored, max_bytes, "document " + d.digest + " (" + path_of(d.digest).string() + ")");
  const auto in = file_stream(std::move(f));
  std::string out(static_cast<std::size_t>(size), '\0');
  in->read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in->bad() || static_cast<std::uint64_t>(in->gcount()) != size)
    throw Error(ErrorCode::Io, "cannot read " + path_of(d.digest).string());
  return out;
}

void BlobStore::take(const BlobStore& from, std::string_view digest, Share share) const {
  if (contains(digest)) return;
  const fs::path dst = path_of(digest);
  if (share == Share::Link) {
    std::error_code ec;
    fs::create_hard_link(from.path_of(digest), dst, ec);
    if (!ec || contains(digest)) return;
  }
  std::uint64_t size = 0;
  const FileHandle in = open_blob(from, digest, size);
  AtomicFile f(dst.parent_path());
  f.copy_from(in.get(), from.path_of(digest));
  f.commit(dst, !is_staging_dir(root_));
}

bool BlobStore::verify(std::string_view digest) const {
  try {
    const auto in = open(digest);
    return oci::sha256_stream(*in, path_of(digest).string()).digest == digest;
  } catch (const Error&) {
    return false;  // missing, not a regular file, unreadable
  }
}

namespace {

/// Throws unless the file `file` holding `size` bytes hashing to `digest` is what `d` names.
void expect_blob(const oci::Descriptor& d, const fs::path& file, std::uint64_t size, const std::string& digest) {
  if (digest != d.digest || d.size < 0 || size != static_cast<std::uint64_t>(d.size))
    throw Error(ErrorCode::InvalidArgument,
                file.string() + " does not match its name: it holds " + std::to_string(size) + " bytes hashing to " +
                    digest + ", where " + std::to_string(d.size) + " bytes hashing to " + d.digest +
                    " are expected; the image is damaged or was altered: write it again");
}

}  // namespace

void BlobStore::check(const oci::Descriptor& d) const {
  std::uint64_t size = 0;
  const fs::path file = path_of(d.digest);
  const auto in = file_stream(open_blob(*this, d.digest, size));
  expect_blob(d, file, size, oci::sha256_stream(*in, file.string()).digest);
}

std::string BlobStore::read_checked(const oci::Descriptor& d, std::uint64_t max_bytes) const {
  std::string bytes = read_document(d, max_bytes);
  expect_blob(d, path_of(d.digest), bytes.size(), oci::sha256_digest(bytes));
  return bytes;
}

void BlobStore::remove(std::string_view digest) const {
  std::error_code ec;
  fs::remove(path_of(digest), ec);
}

BlobStore::Writer::Writer(const BlobStore& store)
    : store_(store), file_(std::make_unique<AtomicFile>(store.root() / "blobs" / "sha256")) {}

BlobStore::Writer::~Writer() = default;

void BlobStore::Writer::write(std::span<const std::byte> data) { file_->write(data); }

// Blobs staged for a build are scratch: they are synced when published
// (write_oci_layout syncs them before linking them into the layout), so a
// crash can never leave a published blob name without its content.
void BlobStore::Writer::commit(std::string_view digest) {
  file_->commit(store_.path_of(digest), !is_staging_dir(store_.root()));
}

std::unique_ptr<BlobStore::Writer> BlobStore::begin_blob() const {
  return std::unique_ptr<Writer>(new Writer(*this));
}

}  // namespace rustimg::store
