// The image sinks: OCI layout directory, OCI archive, docker-archive.
#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <system_error>

#include "staging.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

namespace rustimg::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kOciLayoutFile = "{\"imageLayoutVersion\":\"1.0.0\"}";

oci::Descriptor tagged(const oci::Descriptor& top, const std::string& tag) {
  oci::Descriptor d = top;
  d.annotations[oci::annotation::kRefName] = tag;
  return d;
}

/// Writes `tree` as an uncompressed deterministic tar to `file`, atomically.
void write_tar_file(const fs::path& file, const layer::FileTree& tree) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create " + dir.string() + ": " + ec.message());
  AtomicFile f(dir);
  layer::write_tar(tree, 0, f);
  f.commit(file);
}

/// rustimg's own temporary entries (".rustimg-tmp-*", ".rustimg-staging-*",
/// ".rustimg-lock").
bool is_rustimg_temp(const fs::path& p) { return p.filename().string().rfind(".rustimg-", 0) == 0; }

/// `dir` may be missing, an OCI layout, or empty (but for rustimg's own
/// temporary entries); anything else is refused so no one's files get mixed
/// into a layout.
void check_oci_layout_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::InvalidArgument, dir.string() + " exists and is not a directory; choose another oci: path");
  if (fs::exists(dir / "oci-layout", ec)) return;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!is_rustimg_temp(it->path()))
      throw Error(ErrorCode::InvalidArgument, dir.string() +
                                                  " is not empty and is not an OCI image layout (no oci-layout file); "
                                                  "choose an empty or new directory");
}

}  // namespace

void check_output_location(const ImageLocation& dest) {
  std::error_code ec;
  if (dest.kind == ImageLocation::Kind::Registry) {  // nothing on disk to check
    if (!parse_reference(dest.reference).digest.empty())
      throw Error(ErrorCode::InvalidArgument,
                  "cannot write an image to " + dest.to_string() +
                      ": the digest of an image is known only once it is built; name a tag (docker://HOST/REPO:TAG)");
    return;
  }
  if (dest.kind == ImageLocation::Kind::OciLayout) {
    check_oci_layout_dir(dest.path);
  } else if (fs::exists(dest.path, ec) && !fs::is_regular_file(dest.path, ec)) {
    throw Error(ErrorCode::InvalidArgument, dest.path.string() +
                                                " exists and is not a regular file; choose another archive path");
  }
}

std::vector<oci::Descriptor> referenced_blobs(const BlobStore& blobs, const oci::Descriptor& top) {
  const oci::FetchDocument fetch = [&](const oci::Descriptor& d) { return blobs.read_document(d); };
  std::vector<oci::Descriptor> out;
  for (oci::WalkNode& node : oci::walk(top, fetch, {}, "image " + top.digest))
    out.push_back(std::move(node.descriptor));
  return out;
}

void write_oci_layout(const fs::path& dir, const BlobStore& blobs, const oci::Descriptor& top, const std::string& tag,
                      const std::vector<oci::Descriptor>& referrers) {
  check_oci_layout_dir(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create " + dir.string() + ": " + ec.message());
  // One writer at a time, from reading index.json to renaming the new one
  // into place: writers of other tags (other processes) wait, then merge
  // with what this one wrote instead of overwriting it.
  const DirLock lock(dir);

  // A new layout gets its marker first, so that the directory is a layout
  // (which other writers accept) before anything else is in it.
  if (!fs::exists(dir / "oci-layout", ec)) {
    AtomicFile marker(dir);
    marker.write(kOciLayoutFile);
    marker.commit(dir / "oci-layout");
  }

  // Every file is made durable before its name appears in the layout, all
  // in one batch (staged blobs are written without fsync), so the file
  // system commits them at once: the blobs and the new index.json. Then the
  // names appear: blobs first (unreferenced blobs are harmless if we stop
  // there), then index.json, replaced in one rename.
  const BlobStore target(dir);
  std::vector<std::string> missing;
  std::vector<fs::path> sources;
  std::vector<oci::Descriptor> wanted = referenced_blobs(blobs, top);
  for (const oci::Descriptor& r : referrers)
    for (oci::Descriptor& d : referenced_blobs(blobs, r)) wanted.push_back(std::move(d));
  for (const oci::Descriptor& d : wanted) {
    if (target.contains(d.digest) || std::find(missing.begin(), missing.end(), d.digest) != missing.end()) continue;
    if (!blobs.contains(d.digest))
      throw Error(ErrorCode::NotFound, "blob " + d.digest + " is missing from " + blobs.root().string());
    missing.push_back(d.digest);
    sources.push_back(blobs.path_of(d.digest));
  }

  // index.json: keep other images, replace the tag.
  const fs::path index_path = dir / "index.json";
  std::optional<std::string> existing;
  if (fs::exists(index_path, ec)) {
    std::ifstream in(index_path, std::ios::binary);
    existing = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error(ErrorCode::Io, "cannot read " + index_path.string());
  }
  const std::string index = oci::layout_index_with(existing, top, tag, index_path.string(), referrers);
  AtomicFile index_file(dir);
  index_file.write(index);
  sources.push_back(index_file.flushed());

  sync_files(sources);
  // A staging store's files are the build's own: linking them is moving them.
  const auto share = is_staging_dir(blobs.root()) ? BlobStore::Share::Link : BlobStore::Share::Copy;
  for (const std::string& digest : missing) target.take(blobs, digest, share);
  index_file.commit(index_path, /*sync=*/false);
}

void write_oci_archive(const fs::path& file, const BlobStore& blobs, const oci::Descriptor& top, const std::string& tag) {
  layer::FileTree tree;
  tree.add_content("oci-layout", kOciLayoutFile, 0644);
  const oci::Index index{oci::Format::Oci, {tagged(top, tag)}, {}};
  tree.add_content("index.json", oci::canonical_json(index.to_json()), 0644);
  for (const oci::Descriptor& d : referenced_blobs(blobs, top))
    tree.add_file("blobs/sha256/" + oci::digest_hex(d.digest), blobs.path_of(d.digest), 0644);
  write_tar_file(file, tree);
}

void write_docker_archive(const fs::path& file, const BlobStore& blobs, const oci::Descriptor& manifest,
                          const std::string& repo_tag) {
  if (oci::is_index_media_type(manifest.media_type))
    throw Error(ErrorCode::InvalidArgument,
                "a docker-archive holds one platform, but this image has several; build or pull a single platform, "
                "or write an oci: or oci-archive: output");
  const oci::Manifest doc =
      oci::parse_manifest(blobs.read_document(manifest), oci::ParseMode::Strict, "manifest " + manifest.digest);
  const oci::Descriptor& config = doc.config;

  layer::FileTree tree;
  const std::string config_name = oci::digest_hex(config.digest) + ".json";
  tree.add_file(config_name, blobs.path_of(config.digest), 0644);
  json layers = json::array();
  for (const oci::Descriptor& d : doc.layers) {
    std::string ext = ".tar";
    if (d.media_type.ends_with("gzip")) ext = ".tar.gz";
    if (d.media_type.ends_with("zstd")) ext = ".tar.zst";
    const std::string name = oci::digest_hex(d.digest) + ext;
    if (!tree.contains(name)) tree.add_file(name, blobs.path_of(d.digest), 0644);
    layers.push_back(name);
  }
  json entry = {{"Config", config_name}, {"Layers", std::move(layers)}, {"RepoTags", json::array()}};
  if (!repo_tag.empty()) entry["RepoTags"].push_back(repo_tag);
  tree.add_content("manifest.json", oci::canonical_json(json::array({std::move(entry)})), 0644);
  write_tar_file(file, tree);
}

}  // namespace rustimg::store

namespace rustimg::store {

void publish(const ImageLocation& dest, const BlobStore& blobs, const oci::Descriptor& top,
             const std::vector<oci::Descriptor>& referrers) {
  switch (dest.kind) {
    case ImageLocation::Kind::OciLayout: write_oci_layout(dest.path, blobs, top, dest.tag, referrers); return;
    case ImageLocation::Kind::OciArchive: write_oci_archive(dest.path, blobs, top, dest.tag); return;
    case ImageLocation::Kind::DockerArchive: write_docker_archive(dest.path, blobs, top, dest.tag); return;
    case ImageLocation::Kind::Registry:
      throw Error(ErrorCode::InvalidArgument,
                  "cannot write " + dest.to_string() + " as files: a registry receives an image by a push");
  }
}

}  // namespace rustimg::store
