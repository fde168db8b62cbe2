// Reading back the artifacts attached to an image (attachments.hpp), from
// an OCI layout or a registry: one path for `rustimg sbom` and for the
// attestations `rustimg sign --attest` and `build --sign-key` make.
#include <algorithm>
#include <optional>

#include "attachments.hpp"
#include "rustimg/error.hpp"
#include "util/shown.hpp"

namespace rustimg::pipeline {

ArtifactReader layout_artifact_reader(const store::StoredImage& image, const std::filesystem::path& dir) {
  ArtifactReader r;
  r.name = "oci:" + dir.string();
  r.manifest = [&image](const oci::Descriptor& d) {
    return image.blobs().read_checked(d);  // bounded before it is read; the bytes its digest names
  };
  r.referrers = [dir](const std::string& subject) {
    std::vector<oci::Descriptor> out;
    for (const store::Referrer& found : store::layout_referrers(dir, subject)) out.push_back(found.descriptor);
    return out;
  };
  r.content = [&image](const oci::Descriptor& d, std::uint64_t max_bytes) {
    return image.blobs().read_checked(d, max_bytes);
  };
  return r;
}

ArtifactReader registry_artifact_reader(registry::Client& client, const Reference& repo) {
  ArtifactReader r;
  r.name = repo.name();
  r.manifest = [&client, repo](const oci::Descriptor& d) {
    Reference at = repo;
    at.tag.clear();
    at.digest = d.digest;
    return client.get_manifest(at).bytes;  // the digest checked by the client
  };
  r.referrers = [&client, repo](const std::string& subject) { return client.referrers(repo, subject).manifests; };
  r.content = [&client, repo](const oci::Descriptor& d, std::uint64_t max_bytes) {
    return client.get_blob(repo, d, max_bytes);
  };
  return r;
}

std::vector<FoundArtifact> find_artifacts(const ArtifactReader& reader, const std::string& subject,
                                          const std::function<bool(const std::string&)>& wanted,
                                          std::vector<std::string>* skipped, const std::vector<std::string>* only) {
  std::vector<FoundArtifact> out;
  for (const oci::Descriptor& d : reader.referrers(subject)) {
    if (only != nullptr && std::find(only->begin(), only->end(), d.digest) == only->end()) continue;
    const std::string& hint = d.artifact_type;
    if (!hint.empty() && hint != oci::media_type::kOciEmpty && !wanted(hint)) continue;
    // Why this entry is passed over, or "" when it is an artifact wanted.
    std::string why;
    std::optional<oci::Manifest> m;
    try {
      oci::digest_hex(d.digest);  // sha256 only: another algorithm would be trusted unchecked
      if (oci::is_index_media_type(d.media_type)) throw Error(ErrorCode::InvalidArgument, "it is an index");
      m = oci::parse_manifest(reader.manifest(d), oci::ParseMode::Lenient, reader.name + ": artifact " + d.digest);
      if (!m->subject || m->subject->digest != subject) why = "its manifest does not name " + subject + " as subject";
      else if (!wanted(m->artifact_type)) why = "its artifactType is \"" + m->artifact_type + "\"";
      else if (m->layers.size() != 1) why = "it has " + std::to_string(m->layers.size()) + " layers, not 1";
    } catch (const Error& e) {
      if (skipped == nullptr || (e.code() != ErrorCode::InvalidArgument && e.code() != ErrorCode::NotFound)) throw;
      why = e.what();
    }
    if (why.empty()) {
      out.push_back({d, std::move(*m)});
    } else if (skipped != nullptr) {
      skipped->push_back(d.digest + ": " + util::shown(why));  // may quote the source's text
    }
  }
  return out;
}

}  // namespace rustimg::pipeline
