// OCI 1.1 referrers in a registry: pushing artifacts about a manifest so
// that they can be found from that manifest (the referrers API, else the
// "sha256-<hex>" tag schema the distribution spec gives as the fallback),
// and listing them.
#include <algorithm>
#include <map>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"

namespace rustimg::registry {

using namespace detail;
using nlohmann::json;

namespace {

void check_count(std::size_t n, const std::string& what) {
  if (n > oci::kMaxReferrers)
    throw Error(ErrorCode::InvalidArgument, what + " lists " + std::to_string(n) + " artifacts, more than the " +
                                                std::to_string(oci::kMaxReferrers) + " rustimg reads");
}

/// The referrers API's list for `subject`, or nothing when the registry
/// does not answer it with an index (404 from a registry without the API).
std::optional<oci::Index> referrers_api(Auth& auth, const Reference& repo, const std::string& subject) {
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  const std::string what = "the referrers of " + repo.name() + "@" + subject;
  auto index = with_retry(auth.context(), what, [&]() -> std::optional<oci::Index> {
    HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
      HttpRequest r;
      r.url = repo_url(base, repo.repository, "referrers/" + subject);
      r.headers.emplace_back("Accept", oci::media_type::kOciIndex);
      r.max_body = oci::kMaxManifestBytes;
      return r;
    });
    if (resp.status == 404 || resp.status == 400 || resp.status == 405) return std::nullopt;
    if (resp.status != 200) auth.fail(st, resp, "listing " + what);
    try {
      return oci::parse_index(resp.body, oci::ParseMode::Lenient, what);
    } catch (const Error&) {
      return std::nullopt;  // not an index: a registry that does not know the endpoint
    }
  });
  if (index) check_count(index->manifests.size(), what);
  return index;
}

/// The tag-schema index of `subject` as the registry has it (the JSON
/// object, checked to be an OCI index), or nothing when the tag does not
/// exist. A tag holding anything else is an error saying so (and, `for_update`,
/// that it is left as it is).
/// The tag-schema index: as JSON (an update keeps what rustimg does not
/// model) and as parsed (its shape checked).
struct TagSchemaIndex {
  json doc;
  oci::Index index;
};

std::optional<TagSchemaIndex> tag_schema_index(Auth& auth, const Reference& repo, const std::string& subject,
                                               bool for_update = false) {
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  Reference ref = repo;
  ref.tag = oci::referrers_index_tag(subject);
  ref.digest.clear();
  const std::string at = with_retry(auth.context(), "HEAD manifest " + ref.to_string(), [&] {
    return manifest_digest_at(auth, st, repo.repository, scopes, ref.tag);
  });
  if (at.empty()) return std::nullopt;
  const RawManifest raw = fetch_manifest(auth, ref, "");  // bounded, digest checked
  if (raw.media_type != oci::media_type::kOciIndex)
    throw Error(ErrorCode::InvalidArgument,
                ref.to_string() + " holds a " + raw.media_type + ", not the OCI index of the referrers tag schema" +
                    (for_update ? "; rustimg does not overwrite it (delete the tag, or push to another repository)"
                                : ""));
  TagSchemaIndex out{parse_json(raw.bytes, ref.to_string()),
                     oci::parse_index(raw.bytes, oci::ParseMode::Lenient, ref.to_string())};  // its shape
  check_count(out.index.manifests.size(), ref.to_string());
  return out;
}

bool lists(const std::vector<oci::Descriptor>& manifests, const std::string& digest) {
  return std::any_of(manifests.begin(), manifests.end(), [&](const oci::Descriptor& d) { return d.digest == digest; });
}

}  // namespace

std::vector<ReferrerPushResult> Client::push_referrers(const Reference& repo, const std::vector<std::string>& manifests,
                                                       BlobSource& source) {
  Auth& auth = impl_->auth;
  std::vector<ReferrerPushResult> out;
  std::map<std::string, std::vector<json>> unlisted;  // subject -> descriptors the tag schema must add
  for (const std::string& manifest : manifests) {
    const std::string what = "the artifact to push to " + repo.name();
    const oci::Manifest m = oci::parse_manifest(manifest, oci::ParseMode::Lenient, what);
    if (!m.subject) throw Error(ErrorCode::InvalidArgument, what + " has no subject: it is about no image");
    ReferrerPushResult r;
    r.digest = oci::sha256_digest(manifest);
    r.subject = m.subject->digest;
    r.artifact_type = !m.artifact_type.empty() ? m.artifact_type : m.config.media_type;
    Reference at = repo;
    at.tag.clear();
    at.digest = r.digest;
    r.push = push(at, oci::media_type::kOciManifest, manifest, source);
    // The registry keeps the list when it says so, or when its list has the artifact.
    if (r.push.oci_subject != r.subject) {
      const auto listed = referrers_api(auth, repo, r.subject);
      if (!listed || !lists(listed->manifests, r.digest)) {
        r.via = ReferrersVia::TagSchema;
        oci::Descriptor entry;
        entry.media_type = oci::media_type::kOciManifest;
        entry.digest = r.digest;
        entry.size = static_cast<std::int64_t>(manifest.size());
        entry.artifact_type = r.artifact_type;
        entry.annotations = m.annotations;
        unlisted[r.subject].push_back(entry.to_json());
      }
    }
    out.push_back(std::move(r));
  }

  // The tag schema: each subject's index read once, the new entries
  // appended to its "manifests" as they are, written back once.
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull,push")};
  for (const auto& [subject, entries] : unlisted) {
    const std::string tag = oci::referrers_index_tag(subject);
    json index = {{"schemaVersion", 2}, {"mediaType", oci::media_type::kOciIndex}, {"manifests", json::array()}};
    if (auto found = tag_schema_index(auth, repo, subject, true)) index = std::move(found->doc);
    json& list = index["manifests"];
    std::size_t added = 0;
    for (const json& entry : entries) {
      const bool present = std::any_of(list.begin(), list.end(), [&](const json& d) {
        return d.is_object() && d.value("digest", "") == entry["digest"].get<std::string>();
      });
      if (!present) {
        list.push_back(entry);
        ++added;
      }
    }
    if (added == 0) continue;
    check_count(list.size(), repo.name() + ":" + tag);
    const oci::Blob blob = oci::make_blob(index, oci::media_type::kOciIndex);
    put_manifest(auth, st, repo.repository, scopes, tag, oci::media_type::kOciIndex, blob.bytes,
                 blob.descriptor.digest);
    impl_->ctx.log("listed " + std::to_string(added) + " artifacts in " + repo.name() + ":" + tag +
                   " (the registry has no referrers API)");
  }
  return out;
}

ReferrersList Client::referrers(const Reference& repo, const std::string& subject_digest) {
  oci::digest_hex(subject_digest);  // a sha256 digest, or InvalidArgument
  ReferrersList out;
  if (auto listed = referrers_api(impl_->auth, repo, subject_digest)) {
    out.manifests = std::move(listed->manifests);
    return out;
  }
  out.via = ReferrersVia::TagSchema;
  if (auto found = tag_schema_index(impl_->auth, repo, subject_digest)) out.manifests = std::move(found->index.manifests);
  return out;
}

}  // namespace rustimg::registry
