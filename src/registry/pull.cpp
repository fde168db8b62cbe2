// Client::pull: resolve a reference, walk its manifests (one platform of an
// index when asked), download and verify every blob, and hand verified bytes
// to the sink, manifests after their blobs.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/transfer.hpp"
#include "util/atomic_file.hpp"
#include "util/parallel.hpp"

namespace rustimg::registry {

using namespace detail;

RawManifest Client::get_manifest(const Reference& ref) { return fetch_manifest(impl_->auth, ref, {}); }

std::string Client::get_blob(const Reference& repo, const oci::Descriptor& blob, std::uint64_t max_bytes) {
  oci::check_document_size(blob, max_bytes, "blob " + blob.digest + " of " + repo.name());
  Auth& auth = impl_->auth;
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  std::string bytes;
  download(auth, st, repo, scopes, blob, [&] { bytes.clear(); },
           [&](const char* data, std::size_t len) { bytes.append(data, len); });
  return bytes;
}

PullResult Client::pull(const Reference& ref, BlobSink& sink, const PullOptions& options) {
  Auth& auth = impl_->auth;
  Context& ctx = impl_->ctx;
  RegistryState& st = auth.state(ref.registry);
  const std::vector<std::string> scopes = {repository_scope(ref.repository, "pull")};
  PullResult result;
  result.root = get_manifest(ref);

  auto by_digest = [&](const std::string& digest) {
    Reference r = ref;
    r.tag.clear();
    r.digest = digest;
    return r;
  };

  // Manifests first (kept in memory), then blobs, then manifests into the
  // sink, so that a sink never holds a manifest without its blobs.
  std::map<std::string, RawManifest> fetched;  // by digest: every manifest and index read
  fetched.emplace(result.root.digest, result.root);
  const oci::FetchDocument fetch = [&](const oci::Descriptor& d) {
    auto it = fetched.find(d.digest);
    if (it == fetched.end()) it = fetched.emplace(d.digest, fetch_manifest(auth, by_digest(d.digest), d.media_type)).first;
    return it->second.bytes;
  };
  oci::WalkOptions walk_options;
  walk_options.mode = oci::ParseMode::Lenient;
  walk_options.order = oci::WalkOrder::ParentsFirst;
  walk_options.select = [&](const oci::WalkNode& node, std::vector<oci::Descriptor> children) {
    const oci::Document& doc = *node.document;
    const std::string what = "manifest " + node.descriptor.digest + " of " + ref.to_string();
    if (doc.is_index()) {
      if (!options.platform) return children;
      auto chosen = oci::select_platform(doc.index(), *options.platform);
      if (!chosen)
        throw Error(ErrorCode::NotFound, ref.to_string() + " has no image for platform " +
                                             options.platform->to_string() +
                                             "; it offers: " + oci::offered_platforms(doc.index()));
      return std::vector<oci::Descriptor>{*chosen};
    }
    const oci::Descriptor& config = doc.manifest().config;
    if (static_cast<std::uint64_t>(config.size) > oci::kMaxConfigBytes)
      throw Error(ErrorCode::InvalidArgument, what + ": its config " + config.digest + " has " +
                                                  std::to_string(config.size) + " bytes, more than the " +
                                                  std::to_string(oci::kMaxConfigBytes >> 20) +
                                                  " MiB rustimg reads for an image config");
    return children;
  };
  oci::Descriptor top;
  top.media_type = result.root.media_type;
  top.digest = result.root.digest;
  top.size = static_cast<std::int64_t>(result.root.bytes.size());
  const std::vector<oci::WalkNode> nodes = oci::walk(top, fetch, walk_options, ref.to_string());

  std::vector<RawManifest> extra;  // nested indexes handed over too
  std::vector<oci::Descriptor> blobs;  // distinct, config before layers
  for (const auto& node : nodes) {
    if (!node.document) {
      blobs.push_back(node.descriptor);
    } else if (node.depth > 0) {
      const RawManifest& m = fetched.at(node.descriptor.digest);
      (node.document->is_index() ? extra : result.manifests).push_back(m);
    }
  }
  const bool root_is_index = oci::is_index_media_type(result.root.media_type);
  if (!root_is_index) {
    result.manifests.insert(result.manifests.begin(), result.root);
    if (options.platform && !options.any_single_platform && !blobs.empty()) {
      // A single image: its config says which platform it is for.
      std::string config;
      download(auth, st, ref, scopes, blobs.front(), [&] { config.clear(); },
               [&](const char* data, std::size_t len) { config.append(data, len); });
      std::optional<Platform> have;
      try {
        have = oci::config_platform(oci::parse_config(config, oci::ParseMode::Lenient, "the config of " + ref.to_string()));
      } catch (const Error&) {  // a config that cannot be read states no platform to check
      }
      if (have && !have->satisfies(*options.platform))
        throw Error(ErrorCode::NotFound, ref.to_string() + " is a single-platform image for " + have->to_string() +
                                             ", not " + options.platform->to_string() +
                                             "; use a multi-platform base or build for " + have->to_string());
    }
  }

  std::atomic<std::uint64_t> downloaded{0};
  util::parallel_for(blobs.size(), ctx.opt.jobs, [&](std::size_t i) {
    const oci::Descriptor& blob = blobs[i];
    const auto blob_size = static_cast<std::uint64_t>(blob.size);
    if (sink.has(blob.digest)) {
      ctx.progress(stage::kSkipped, blob.digest, blob_size, blob_size);
      return;
    }
    // Private: a base pulled with credentials is no one else's to read.
    util::AtomicFile tmp(util::temp_directory(), 0600);
    const std::uint64_t size = download(
        auth, st, ref, scopes, blob, [&] { tmp.truncate(); },
        [&](const char* data, std::size_t len) { tmp.write(std::string_view(data, len)); });
    const std::filesystem::path& path = tmp.flushed();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorCode::Io, "cannot reopen temporary file " + path.string());
    sink.put(blob.digest, blob.media_type, in, size);
    downloaded += size;
    ctx.progress(stage::kDone, blob.digest, size, size);
  });

  for (const auto& m : result.manifests) {
    if (&m == &result.manifests.front() && !root_is_index) continue;  // root, below
    std::istringstream in(m.bytes);
    sink.put(m.digest, m.media_type, in, m.bytes.size());
  }
  for (const auto& m : extra) {
    std::istringstream in(m.bytes);
    sink.put(m.digest, m.media_type, in, m.bytes.size());
  }
  std::istringstream in(result.root.bytes);
  sink.put(result.root.digest, result.root.media_type, in, result.root.bytes.size());
  result.bytes_downloaded = downloaded;
  return result;
}

}  // namespace rustimg::registry
