// Reading images back from the sinks' formats: OCI layout, OCI archive,
// docker-archive.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>

#include "staging.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/store.hpp"
#include "util/archive_message.hpp"
#include "util/atomic_file.hpp"
#include "util/shown.hpp"

namespace rustimg::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// `dir`/`name`, a regular file inside `dir` (open_regular_below), as JSON.
json read_json_file(const fs::path& dir, const std::string& name, const std::string& what) {
  const fs::path file = dir / name;
  std::uint64_t size = 0;
  FileHandle f = open_regular_below(dir, name, size);
  if (!f) throw Error(ErrorCode::InvalidArgument, what + ": " + file.string() + " is missing");
  const auto in = file_stream(std::move(f));
  return parse_json(*in, what + ": " + file.string());
}

/// The entries of the index.json of the OCI layout `dir`.
std::vector<oci::Descriptor> layout_entries(const fs::path& dir, const std::string& source) {
  const fs::path file = dir / "index.json";
  std::uint64_t size = 0;
  FileHandle f = open_regular_below(dir, "index.json", size);
  if (!f) throw Error(ErrorCode::InvalidArgument, source + " is not an OCI image layout: " + file.string() + " is missing");
  // One byte more than an index may have, so that a larger file is refused
  // without reading it all.
  std::string bytes(static_cast<std::size_t>(std::min<std::uint64_t>(size, oci::kMaxManifestBytes + 1)), '\0');
  const auto in = file_stream(std::move(f));
  in->read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in->gcount()));
  return oci::parse_index(bytes, oci::ParseMode::Strict, source + " is not an OCI image layout: its " + file.string())
      .manifests;
}

/// The index.json entry of `dir` tagged `tag`; with no tag asked for, the
/// "latest" entry, else the only image (artifacts about images, such as
/// SBOMs, and signature images, tagged "sha256-<hex>.sig", are not images).
oci::Descriptor find_tagged(const fs::path& dir, const std::string& tag, const std::string& source) {
  const std::vector<oci::Descriptor> all = layout_entries(dir, source);
  const std::string wanted = tag.empty() ? "latest" : tag;
  std::string tags;
  const oci::Descriptor* only_image = nullptr;
  std::size_t images = 0;
  for (const auto& d : all) {
    auto it = d.annotations.find(oci::annotation::kRefName);
    const std::string name = it == d.annotations.end() ? "" : it->second;
    if (name == wanted) return d;
    if (!d.artifact_type.empty() || oci::is_referrer_tag(name)) continue;
    ++images;
    only_image = &d;
    if (!name.empty()) tags += (tags.empty() ? "" : ", ") + name;
  }
  if (tag.empty() && images == 1) return *only_image;
  throw Error(ErrorCode::NotFound, source + " has no image tagged \"" + wanted + "\"" +
                                       (tags.empty() ? std::string() : " (tags: " + tags + ")"));
}

/// A tar entry name that stays inside the extraction directory.
bool safe_name(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  for (const auto& part : fs::path(name)) if (part == "..") return false;
  return true;
}

/// Bounds on unpacking an archive: an image archive holds a few files per
/// image (blobs, index.json, manifest.json), and a compressed one expands by
/// at most kMaxExpansion (gzip's own limit is about 1032) beyond a first
/// kExpansionAllowance. A 1 KiB bzip2 file can otherwise unpack to gigabytes.
constexpr std::uint64_t kMaxArchiveEntries = 1u << 16;
constexpr std::uint64_t kMaxExpansion = 1024;
constexpr std::uint64_t kExpansionAllowance = 64u << 20;

/// Unpacks the regular files of the tar `file` into `dir`.
void unpack(const fs::path& file, const fs::path& dir, const std::string& source) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(fs::exists(file) ? ErrorCode::InvalidArgument : ErrorCode::NotFound,
                "cannot read " + source + ": " + util::archive_message(a.get()));
  std::error_code size_ec;
  const std::uint64_t file_size = fs::file_size(file, size_ec);
  const std::uint64_t max_bytes =
      std::max(kExpansionAllowance, size_ec || file_size > UINT64_MAX / kMaxExpansion ? UINT64_MAX : file_size * kMaxExpansion);
  std::uint64_t entries = 0;
  std::uint64_t written = 0;
  archive_entry* entry = nullptr;
  int rc = 0;
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
    if (++entries > kMaxArchiveEntries)
      throw Error(ErrorCode::InvalidArgument, source + " holds more than " + std::to_string(kMaxArchiveEntries) +
                                                  " entries, more than an image archive has; it is not one");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) throw Error(ErrorCode::InvalidArgument, source + " holds an entry whose name cannot be read");
    const std::string name = raw;
    if (!safe_name(name))
      throw Error(ErrorCode::InvalidArgument, source + " holds an unsafe path: " + util::shown(name));
    if (archive_entry_sparse_count(entry) > 0)
      throw Error(ErrorCode::InvalidArgument, source + ": " + util::shown(name) +
                                                  " is a sparse file, which no image archive holds");
    const fs::path target = dir / name;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw Error(ErrorCode::InvalidArgument, source + ": cannot unpack " + util::shown(name) + ": " + ec.message());
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    int r = 0;
    while ((r = archive_read_data_block(a.get(), &buf, &len, &offset)) == ARCHIVE_OK) {
      written += len;
      if (written > max_bytes)
        throw Error(ErrorCode::InvalidArgument,
                    source + " unpacks to more than " + std::to_string(max_bytes >> 20) + " MiB, over " +
                        std::to_string(kMaxExpansion) + " times its compressed size: refused as a decompression bomb; "
                        "if it is a real image archive, decompress it first and give the plain tar");
      out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(len));
    }
    if (r != ARCHIVE_EOF || !out)
      throw Error(ErrorCode::Io, "unpacking " + util::shown(name) + " from " + source + " failed: " +
                                     (r != ARCHIVE_EOF ? util::archive_message(a.get()) : "write error"));
  }
  if (rc != ARCHIVE_EOF)
    throw Error(ErrorCode::InvalidArgument, source + " is not a readable tar: " + util::archive_message(a.get()));
}

/// sha256 digest and size of a file.

/// The OCI layer media type for a layer file, from its first bytes.
std::string layer_media_type(const fs::path& file) {
  unsigned char magic[4] = {0, 0, 0, 0};
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), 4);
  if (magic[0] == 0x1f && magic[1] == 0x8b) return oci::media_type::kOciLayerGzip;
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return oci::media_type::kOciLayerZstd;
  return oci::media_type::kOciLayerTar;
}

/// Moves `file` into `blobs` under `digest`.
void adopt(const BlobStore& blobs, const fs::path& file, const std::string& digest) {
  std::error_code ec;
  fs::rename(file, blobs.path_of(digest), ec);
  if (ec) throw Error(ErrorCode::Io, "cannot move " + file.string() + " into the blob store: " + ec.message());
}

/// Makes an OCI manifest for the single image of an unpacked docker-archive.
oci::Descriptor docker_archive_image(const fs::path& dir, BlobStore& blobs, const std::string& source) {
  const json manifest = read_json_file(dir, "manifest.json", source + " is not a docker-archive");
  if (!manifest.is_array() || manifest.size() != 1)
    throw Error(ErrorCode::InvalidArgument, source + " must hold exactly one image (its manifest.json lists " +
                                                std::to_string(manifest.is_array() ? manifest.size() : 0) + ")");
  const json& entry = manifest.front();
  auto bad_entry = [&](const std::string& why) {
    throw Error(ErrorCode::InvalidArgument, source + " is not a docker-archive: its manifest.json entry " + why);
  };
  if (!entry.is_object()) bad_entry("is not an object");
  const auto config_name = entry.find("Config");
  if (config_name == entry.end() || !config_name->is_string()) bad_entry("has no \"Config\" file name");
  const auto layer_names = entry.find("Layers");
  if (layer_names != entry.end() && !layer_names->is_array()) bad_entry("has a \"Layers\" that is not an array");
  auto inside = [&](const std::string& name) {
    if (!safe_name(name)) throw Error(ErrorCode::InvalidArgument, source + " names an unsafe path: " + name);
    return dir / name;
  };
  const fs::path config_file = inside(config_name->get<std::string>());
  const auto [config_digest, config_size] = oci::sha256_file(config_file);
  adopt(blobs, config_file, config_digest);
  oci::Manifest image;  // rustimg's own OCI manifest over the archive's files
  image.config = {oci::media_type::kOciConfig, config_digest, static_cast<std::int64_t>(config_size), {}, {}, {}};
  for (const auto& name : layer_names != entry.end() ? *layer_names : json::array()) {
    if (!name.is_string()) bad_entry("has a \"Layers\" item that is not a file name");
    const fs::path layer = inside(name.get<std::string>());
    const std::string type = layer_media_type(layer);
    const auto [digest, size] = oci::sha256_file(layer);
    if (!blobs.contains(digest)) adopt(blobs, layer, digest);
    image.layers.push_back({type, digest, static_cast<std::int64_t>(size), {}, {}, {}});
  }
  const oci::Blob doc = oci::make_blob(image.to_json(), oci::media_type::kOciManifest);
  blobs.put(doc);
  return doc.descriptor;
}

}  // namespace

std::vector<Referrer> layout_referrers(const fs::path& dir, const std::string& subject_digest) {
  const std::string source = "oci:" + dir.string();
  const BlobStore blobs(dir);
  // Each artifact once (several tags may name it), counted before any is read.
  std::vector<oci::Descriptor> artifacts;
  std::set<std::string> seen;
  for (const oci::Descriptor& d : layout_entries(dir, source)) {
    if (d.artifact_type.empty() || oci::is_index_media_type(d.media_type) || !seen.insert(d.digest).second) continue;
    if (seen.size() > oci::kMaxReferrers)
      throw Error(ErrorCode::InvalidArgument, source + " lists more than " + std::to_string(oci::kMaxReferrers) +
                                                  " artifacts in index.json, more than rustimg reads");
    artifacts.push_back(d);
  }
  std::vector<Referrer> out;
  for (const oci::Descriptor& d : artifacts) {
    const std::string bytes = blobs.read_checked(d);  // bounded before anything is read; its digest checked
    oci::Manifest m = oci::parse_manifest(bytes, oci::ParseMode::Lenient, source + ": artifact " + d.digest);
    if (m.subject && m.subject->digest == subject_digest) out.push_back({d, std::move(m)});
  }
  return out;
}

std::optional<oci::Descriptor> find_layout_tag(const fs::path& dir, const std::string& tag) {
  for (const oci::Descriptor& d : layout_entries(dir, "oci:" + dir.string())) {
    const auto it = d.annotations.find(oci::annotation::kRefName);
    if (it != d.annotations.end() && it->second == tag) return d;
  }
  return std::nullopt;
}

StoredImage::StoredImage(const ImageLocation& source) {
  const std::string name = source.to_string();
  switch (source.kind) {
    case ImageLocation::Kind::OciLayout:
      if (!fs::is_directory(source.path)) throw Error(ErrorCode::NotFound, name + ": no such directory");
      top_ = find_tagged(source.path, source.tag, name);
      blobs_ = std::make_unique<BlobStore>(source.path);
      break;
    case ImageLocation::Kind::OciArchive:
      scratch_ = std::make_unique<TempDir>(util::temp_directory());
      unpack(source.path, scratch_->path(), name);
      top_ = find_tagged(scratch_->path(), source.tag, name);
      blobs_ = std::make_unique<BlobStore>(scratch_->path());
      break;
    case ImageLocation::Kind::DockerArchive:
      scratch_ = std::make_unique<TempDir>(util::temp_directory());
      unpack(source.path, scratch_->path() / "archive", name);
      blobs_ = std::make_unique<BlobStore>(scratch_->path() / "layout");
      top_ = docker_archive_image(scratch_->path() / "archive", *blobs_, name);
      break;
    case ImageLocation::Kind::Registry:
      throw Error(ErrorCode::InvalidArgument,
                  name + " is a registry, not a local image: pull it first (rustimg pull), or push from it with skopeo");
  }
  top_.annotations.erase(oci::annotation::kRefName);
  // Everything a push would send is checked before it sends anything.
  for (const oci::Descriptor& d : referenced_blobs(*blobs_, top_)) blobs_->check(d);
}

StoredImage::~StoredImage() = default;

}  // namespace rustimg::store
