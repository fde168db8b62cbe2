// BlobStore: content-addressed blobs in an OCI-layout-shaped directory.
#include <array>
#include <fstream>
#include <sstream>
#include <system_error>

#include "atomic_file.hpp"
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

std::string BlobStore::read(std::string_view digest) const {
  const fs::path p = path_of(digest);
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(ErrorCode::NotFound, "blob " + std::string(digest) + " is missing from " + root_.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BlobStore::take(const BlobStore& from, std::string_view digest) const {
  if (contains(digest)) return;
  const fs::path src = from.path_of(digest);
  const fs::path dst = path_of(digest);
  std::error_code ec;
  fs::create_hard_link(src, dst, ec);
  if (!ec || contains(digest)) return;
  std::ifstream in(src, std::ios::binary);
  if (!in) throw Error(ErrorCode::NotFound, "blob " + std::string(digest) + " is missing from " + from.root().string());
  AtomicFile f(dst.parent_path());
  std::array<char, 64 * 1024> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0) f.write(std::as_bytes(std::span(buf.data(), n)));
  }
  if (in.bad()) throw Error(ErrorCode::Io, "cannot read " + src.string());
  f.commit(dst, !is_staging_dir(root_));
}

bool BlobStore::verify(std::string_view digest) const {
  std::ifstream in(path_of(digest), std::ios::binary);
  if (!in) return false;
  oci::Sha256 hash;
  std::array<char, 256 * 1024> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0) hash.write(std::as_bytes(std::span(buf.data(), n)));
  }
  return !in.bad() && hash.finish() == digest;
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
