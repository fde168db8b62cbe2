// Reading back the artifacts attached to an image (attachments.hpp), from
// an OCI layout or a registry: one path for `rustimg sbom` and for the
// attestations `rustimg sign --attest` and `build --sign-key` make.
#include <algorithm>

#include "attachments.hpp"
#include "rustimg/error.hpp"

namespace rustimg::pipeline {

ArtifactReader layout_artifact_reader(const store::StoredImage& image, const std::filesystem::path& dir) {
  ArtifactReader r;
  r.name = "oci:" + dir.string();
  r.manifest = [&image](const oci::Descriptor& d) {
    std::string bytes = image.blobs().read_document(d);  // bounded before it is read
    image.blobs().check(d);                                 // the bytes its digest names, or an error
    return bytes;
  };
  r.referrers = [dir](const std::string& subject) {
    std::vector<oci::Descriptor> out;
    for (const store::Referrer& found : store::layout_referrers(dir, subject)) out.push_back(found.descriptor);
    return out;
  };
  r.content = [&image](const oci::Descriptor& d, std::uint64_t max_bytes) {
    std::string bytes = image.blobs().read_document(d, max_bytes);
    image.blobs().check(d);
    return bytes;
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
                                          const std::function<bool(const std::string&)>& wanted) {
  std::vector<FoundArtifact> out;
  std::vector<oci::Descriptor> listed = reader.referrers(subject);
  if (listed.size() > registry::kMaxReferrers) listed.resize(registry::kMaxReferrers);
  for (const oci::Descriptor& d : listed) {
    const std::string& hint = d.artifact_type;
    if (!hint.empty() && hint != oci::media_type::kOciEmpty && !wanted(hint)) continue;
    oci::Manifest m =
        oci::parse_manifest(reader.manifest(d), oci::ParseMode::Lenient, reader.name + ": artifact " + d.digest);
    if (!wanted(m.artifact_type) || !m.subject || m.subject->digest != subject || m.layers.size() != 1) continue;
    out.push_back({d, std::move(m)});
  }
  return out;
}

}  // namespace rustimg::pipeline
