// Client::push: every blob is confirmed in the target repository (HEAD, mount
// or upload) before any manifest naming it; index children are pushed by
// digest before the index is tagged.
#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"
#include "util/parallel.hpp"

namespace rustimg::registry {

using namespace detail;

namespace {

constexpr oci::ParseMode kLenient = oci::ParseMode::Lenient;

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A child manifest of an index, read from the push source and checked
/// against its digest: {document, bytes}.
std::pair<oci::Document, std::string> read_child(BlobSource& source, const oci::Descriptor& child) {
  std::string bytes = read_all(*open_source(source, child.digest));
  if (oci::sha256_digest(bytes) != child.digest)
    throw Error(ErrorCode::InvalidArgument,
                "manifest " + child.digest + " read from the push source does not match its digest");
  oci::Document doc = oci::parse_document(bytes, child.media_type, kLenient, "manifest " + child.digest);
  return {std::move(doc), std::move(bytes)};
}

/// The distinct blobs (config, then layers) an image manifest refers to.
std::vector<oci::Descriptor> image_blobs(const oci::Manifest& manifest) {
  std::vector<oci::Descriptor> unique;
  std::set<std::string> seen;
  auto add = [&](const oci::Descriptor& d) {
    if (!d.digest.empty() && seen.insert(d.digest).second) unique.push_back(d);
  };
  add(manifest.config);
  for (const auto& l : manifest.layers) add(l);
  return unique;
}

void check_index_depth(int depth) {
  if (depth > oci::kMaxIndexDepth)
    throw Error(ErrorCode::InvalidArgument, "the image to push nests indexes deeper than " +
                                                std::to_string(oci::kMaxIndexDepth) + " levels");
}

/// The distinct blobs under a manifest or index.
void tree_blobs(const oci::Document& doc, BlobSource& source, std::set<std::string>& out, int depth = 0) {
  check_index_depth(depth);
  if (doc.is_index()) {
    for (const auto& child : doc.index().manifests) {
      auto [child_doc, child_bytes] = read_child(source, child);
      tree_blobs(child_doc, source, out, depth + 1);
    }
  } else {
    for (const auto& b : image_blobs(doc.manifest())) out.insert(b.digest);
  }
}

struct PushRun {
  Auth& auth;
  RegistryState& st;
  const std::string& repo;
  const std::vector<std::string>& scopes;
  BlobSource& source;
  const PushOptions& po;
  Counters counters;
  unsigned manifests = 0;

  /// Pushes the blobs of an image manifest, or recursively an index's
  /// children, pushing children (by digest) after their blobs.
  void tree(const oci::Document& doc, const std::string& bytes, const std::string& digest, bool is_root,
            int depth = 0) {
    check_index_depth(depth);
    Context& ctx = auth.context();
    // A child manifest the registry already holds was accepted with all its
    // blobs: nothing below it needs pushing.
    if (!is_root && with_retry(ctx, "HEAD manifest " + digest, [&] {
          return manifest_digest_at(auth, st, repo, scopes, digest) == digest;
        })) {
      ctx.progress(stage::kSkipped, digest, bytes.size(), bytes.size());
      return;
    }
    if (doc.is_index()) {
      for (const auto& child : doc.index().manifests) {
        auto [child_doc, child_bytes] = read_child(source, child);
        tree(child_doc, child_bytes, child.digest, false, depth + 1);
      }
    } else {
      const std::vector<oci::Descriptor> unique = image_blobs(doc.manifest());
      util::parallel_for(unique.size(), ctx.opt.jobs, [&](std::size_t i) {
        push_blob(auth, st, repo, scopes, unique[i], source, po, counters);
      });
    }
    if (!is_root) {
      put_manifest(auth, st, repo, scopes, digest, doc.media_type, bytes, digest);
      ++manifests;
    }
  }
};

}  // namespace

PushResult Client::push(const Reference& target, const std::string& media_type, const std::string& root,
                        BlobSource& source, const PushOptions& options) {
  Auth& auth = impl_->auth;
  Context& ctx = impl_->ctx;
  const oci::Document doc =
      oci::parse_document(root, media_type, kLenient, "the manifest to push to " + target.to_string());
  const std::string& mt = doc.media_type;
  const std::string digest = oci::sha256_digest(root);
  if (!target.digest.empty() && target.digest != digest)
    throw Error(ErrorCode::InvalidArgument, "cannot push to " + target.to_string() + ": the manifest's digest is " +
                                                digest + "; drop the digest from the reference or push the matching manifest");
  RegistryState& st = auth.state(target.registry);
  const std::vector<std::string> scopes = {repository_scope(target.repository, "pull,push")};
  std::vector<std::string> tags;
  if (!target.tag.empty()) tags.push_back(target.tag);
  for (const auto& t : options.extra_tags) {
    if (!is_valid_tag(t)) throw Error(ErrorCode::InvalidArgument, "invalid tag \"" + t + "\"");
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  }
  if (tags.empty()) tags.push_back(digest);
  PushResult result;
  result.digest = digest;
  result.reference = target.name() + (target.tag.empty() ? std::string() : ":" + target.tag) + "@" + digest;
  for (const auto& t : tags) result.references.push_back(target.name() + (t == digest ? "" : ":" + t) + "@" + digest);
  // An unchanged image: every tag already names this digest. A registry
  // accepts a manifest only once it holds everything the manifest refers to,
  // so there is nothing left to send.
  bool unchanged = false;
  try {
    unchanged = std::all_of(tags.begin(), tags.end(), [&](const std::string& t) {
      return with_retry(ctx, "HEAD manifest " + target.repository + ":" + t,
                        [&] { return manifest_digest_at(auth, st, target.repository, scopes, t); }) == digest;
    });
  } catch (const RegistryError& e) {
    ctx.log("could not check whether " + target.name() + " is up to date (" + e.what() + "); pushing it");
  }
  if (unchanged) {
    std::set<std::string> blobs;
    tree_blobs(doc, source, blobs);
    result.blobs_existing = static_cast<unsigned>(blobs.size());
    ctx.log("every tag of " + target.name() + " already names " + digest + "; nothing to push");
    return result;
  }
  PushRun run{auth, st, target.repository, scopes, source, options, {}, 0};
  run.tree(doc, root, digest, true);
  for (const auto& t : tags) {
    std::string subject = put_manifest(auth, st, target.repository, scopes, t, mt, root, digest);
    if (result.oci_subject.empty()) result.oci_subject = std::move(subject);
    ++run.manifests;
  }
  result.bytes_uploaded = run.counters.bytes;
  result.blobs_uploaded = run.counters.uploaded;
  result.blobs_mounted = run.counters.mounted;
  result.blobs_existing = run.counters.existing;
  result.manifests_pushed = run.manifests;
  return result;
}

}  // namespace rustimg::registry
