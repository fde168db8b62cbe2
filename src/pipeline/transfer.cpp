// Push and pull between the local image formats and registries.
#include "rustimg/transfer.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>

#include "attachments.hpp"
#include "rustimg/attest.hpp"
#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/json.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::transfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Layer digests of every image under `top`, mapped to the repository of the
/// image's recorded base when that base lives on `target`'s registry.
std::map<std::string, std::string> base_mounts(const store::BlobStore& blobs, const oci::Descriptor& top,
                                               const Reference& target) {
  std::map<std::string, std::string> out;
  const oci::FetchDocument fetch = [&](const oci::Descriptor& d) { return blobs.read_document(d); };
  oci::WalkOptions lenient;
  lenient.mode = oci::ParseMode::Lenient;
  for (const oci::WalkNode& node : oci::walk(top, fetch, lenient, "image " + top.digest)) {
    if (!node.document || node.document->is_index()) continue;
    const oci::Manifest& manifest = node.document->manifest();
    const auto base = manifest.annotations.find(image::kBaseNameAnnotation);
    if (base == manifest.annotations.end()) continue;
    Reference base_ref;
    try {
      base_ref = parse_reference(base->second);
    } catch (const Error&) {
      continue;  // not a reference we can mount from
    }
    if (base_ref.registry != target.registry) continue;
    for (const oci::Descriptor& layer : manifest.layers) out.emplace(layer.digest, base_ref.repository);
  }
  return out;
}

/// summarize()'s fetch over `blobs`: bounded reads (summarize() checks each
/// descriptor against the limit of its kind first).
std::function<std::string(const oci::Descriptor&)> document_reader(const store::BlobStore& blobs) {
  return [&blobs](const oci::Descriptor& d) {
    return blobs.read_document(d, std::max(oci::kMaxManifestBytes, oci::kMaxConfigBytes));
  };
}

/// `top` (the root whose bytes are `root`) and, for an index, its children.
std::vector<std::string> subjects_of(const oci::Descriptor& top, const std::string& root) {
  std::vector<std::string> subjects = {top.digest};
  if (oci::is_index_media_type(top.media_type))
    for (const oci::Descriptor& d : oci::parse_index(root, oci::ParseMode::Lenient, "image " + top.digest).manifests)
      subjects.push_back(d.digest);
  return subjects;
}

/// The manifests of the artifacts the layout `dir` lists about `subjects`.
std::vector<std::string> layout_artifacts(const fs::path& dir, const store::BlobStore& blobs,
                                          const std::vector<std::string>& subjects) {
  std::vector<std::string> out;
  for (const std::string& subject : subjects)
    for (const store::Referrer& r : store::layout_referrers(dir, subject))
      out.push_back(blobs.read_document(r.descriptor));
  return out;
}

/// A cosign signature or attestation image kept in a layout beside the
/// image it is about (rustimg sign oci:DIR), with its tag.
struct TaggedSignatures {
  std::string tag;
  pipeline::LayoutSignatureImage image;  ///< read and checked, bounded
};

/// The "sha256-<hex>.sig" and ".att" images the layout `dir` holds about
/// `subjects`, in that order, each read and checked before anything is
/// pushed (a damaged one is an error).
std::vector<TaggedSignatures> layout_signatures(const fs::path& dir, const std::vector<std::string>& subjects) {
  std::vector<TaggedSignatures> out;
  for (const std::string& subject : subjects) {
    if (subject.rfind("sha256:", 0) != 0) continue;  // cosign's tags name sha256 digests only
    for (const std::string& tag : {attest::signature_tag(subject), attest::attestation_tag(subject)})
      if (std::optional<pipeline::LayoutSignatureImage> image = pipeline::read_layout_signature_image(dir, tag))
        out.push_back({tag, std::move(*image)});
  }
  return out;
}

}  // namespace

// Only regular files inside the store are read (BlobStore::open), however
// the image's documents name them.
std::unique_ptr<std::istream> BlobStoreSource::open(const std::string& digest) { return blobs_.open(digest); }

std::uint64_t BlobStoreSource::size(const std::string& digest) { return blobs_.size(digest); }

void BlobStoreSink::put(const std::string& digest, const std::string& /*media_type*/, std::istream& data,
                        std::uint64_t size) {
  if (blobs_.contains(digest)) return;
  auto writer = blobs_.begin_blob();
  std::array<char, 1 << 16> buf{};
  std::uint64_t copied = 0;
  while (data) {
    data.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = data.gcount();
    if (n <= 0) break;
    writer->write(std::as_bytes(std::span(buf.data(), static_cast<std::size_t>(n))));
    copied += static_cast<std::uint64_t>(n);
  }
  if (data.bad() || copied != size)
    throw Error(ErrorCode::Io, "blob " + digest + ": read " + std::to_string(copied) + " of " + std::to_string(size) +
                                   " bytes while storing it in " + blobs_.root().string());
  writer->commit(digest);
}

std::vector<PushedImage> push(const store::ImageLocation& source, const std::vector<std::string>& targets,
                              const registry::Options& options, const std::vector<std::string>& tags,
                              ImageSummary* summary) {
  if (targets.empty()) throw Error(ErrorCode::InvalidArgument, "nothing to push to: give a reference");
  std::vector<std::vector<Reference>> refs;
  for (const auto& t : targets) refs.push_back(tagged_references(t, tags));
  const store::StoredImage image(source);
  BlobStoreSource blobs(image.blobs());
  const std::string root = image.blobs().read_document(image.top());
  if (summary != nullptr) *summary = summarize(image.top(), document_reader(image.blobs()));
  const bool layout = source.kind == store::ImageLocation::Kind::OciLayout;
  const std::vector<std::string> subjects = subjects_of(image.top(), root);
  const std::vector<std::string> artifacts =
      layout ? layout_artifacts(source.path, image.blobs(), subjects) : std::vector<std::string>{};
  const std::vector<TaggedSignatures> signatures =
      layout ? layout_signatures(source.path, subjects) : std::vector<TaggedSignatures>{};
  registry::Client client(options);
  std::vector<PushedImage> out;
  for (const auto& tagged : refs) {
    const Reference& ref = tagged.front();
    registry::PushOptions po = tag_options(tagged);
    po.mount_sources = base_mounts(image.blobs(), image.top(), ref);
    registry::PushResult r = client.push(ref, image.top().media_type, root, blobs, po);
    PushedImage pushed{r.reference, std::move(r), client.push_referrers(ref, artifacts, blobs), {}};
    // Signatures made in the layout go up after the image, under their own
    // tags in the same repository, where cosign looks for them.
    for (const TaggedSignatures& sig : signatures) {
      Reference at = ref;
      at.tag = sig.tag;
      at.digest.clear();
      pushed.signatures.push_back(client.push(at, sig.image.manifest.media_type, sig.image.bytes, blobs).reference);
    }
    out.push_back(std::move(pushed));
  }
  return out;
}

registry::PushOptions tag_options(const std::vector<Reference>& refs) {
  registry::PushOptions po;
  for (std::size_t i = 1; i < refs.size(); ++i) po.extra_tags.push_back(refs[i].tag);
  return po;
}

std::string push_registry(const std::vector<std::string>& targets, const std::string& how) {
  if (targets.empty()) throw Error(ErrorCode::InvalidArgument, "nothing to push to: give a reference");
  std::vector<std::string> hosts;
  for (const auto& t : targets) {
    std::string host = parse_reference(t).registry;
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(std::move(host));
  }
  if (hosts.size() == 1) return hosts.front();
  std::string list;
  for (const auto& h : hosts) list += (list.empty() ? "" : ", ") + h;
  throw Error(ErrorCode::InvalidArgument, "the push targets are on several registries (" + list +
                                              "); credentials are for one of them: name it with " + how);
}

std::string pull(const std::string& reference, const store::ImageLocation& output, const registry::Options& options,
                 const std::optional<Platform>& platform, ImageSummary* summary) {
  const Reference ref = parse_reference(reference);
  if (output.kind == store::ImageLocation::Kind::Registry)
    throw Error(ErrorCode::InvalidArgument, "cannot pull into " + output.to_string() +
                                                ": pull writes oci:, oci-archive: or docker-archive:");
  store::check_output_location(output);
  const fs::path parent = output.path.has_parent_path() ? output.path.parent_path() : fs::current_path();
  fs::create_directories(parent);
  const store::TempDir staging(parent);
  const store::BlobStore blobs(staging.path());
  BlobStoreSink sink(blobs);
  registry::Client client(options);
  registry::PullOptions po;
  po.platform = platform;
  const registry::PullResult result = client.pull(ref, sink, po);
  // With a platform picked from an index, the image is that platform's manifest.
  const registry::RawManifest& top =
      platform && result.manifests.size() == 1 && result.root.digest != result.manifests.front().digest
          ? result.manifests.front()
          : result.root;
  oci::Descriptor d;
  d.media_type = top.media_type;
  d.digest = top.digest;
  d.size = static_cast<std::int64_t>(top.bytes.size());
  if (summary != nullptr) *summary = summarize(d, document_reader(blobs));
  store::publish(output, blobs, d);
  return d.digest;
}

}  // namespace rustimg::transfer
