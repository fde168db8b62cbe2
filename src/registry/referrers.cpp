// OCI 1.1 referrers in a registry: pushing an artifact about a manifest so
// that it can be found from that manifest (the referrers API, else the
// "sha256-<hex>" tag schema the distribution spec gives as the fallback),
// and listing them.
#include <algorithm>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"
#include "rustimg/error.hpp"

namespace rustimg::registry {

using namespace detail;

namespace {

/// The tag-schema tag of `subject`: "sha256-<hex>".
std::string fallback_tag(const std::string& subject) { return "sha256-" + oci::digest_hex(subject); }

/// The referrers API's list for `subject`, or nothing when the registry
/// does not answer it with an index (404 from a registry without the API).
std::optional<oci::Index> referrers_api(Auth& auth, const Reference& repo, const std::string& subject) {
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  const std::string what = "the referrers of " + repo.name() + "@" + subject;
  return with_retry(auth.context(), what, [&]() -> std::optional<oci::Index> {
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
}

/// The index the tag schema keeps for `subject`; empty when the tag does not exist.
std::optional<oci::Index> tag_schema_index(Auth& auth, const Reference& repo, const std::string& subject) {
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  const std::string tag = fallback_tag(subject);
  const std::string at = with_retry(auth.context(), "HEAD manifest " + repo.repository + ":" + tag, [&] {
    return manifest_digest_at(auth, st, repo.repository, scopes, tag);
  });
  if (at.empty()) return std::nullopt;
  Reference ref = repo;
  ref.tag = tag;
  ref.digest.clear();
  const RawManifest raw = fetch_manifest(auth, ref, "");
  if (raw.media_type != oci::media_type::kOciIndex)
    throw Error(ErrorCode::InvalidArgument, ref.to_string() + " holds a " + raw.media_type +
                                                ", not the OCI index of the referrers tag schema; rustimg does not "
                                                "overwrite it (delete the tag, or push to another repository)");
  return oci::parse_index(raw.bytes, oci::ParseMode::Lenient, ref.to_string());
}

}  // namespace

ReferrerPushResult Client::push_referrer(const Reference& repo, const std::string& manifest, BlobSource& source) {
  const std::string what = "the artifact to push to " + repo.name();
  const oci::Manifest m = oci::parse_manifest(manifest, oci::ParseMode::Lenient, what);
  if (!m.subject) throw Error(ErrorCode::InvalidArgument, what + " has no subject: it is about no image");
  ReferrerPushResult out;
  out.digest = oci::sha256_digest(manifest);
  out.subject = m.subject->digest;
  out.artifact_type = !m.artifact_type.empty() ? m.artifact_type : m.config.media_type;
  Reference at = repo;
  at.tag.clear();
  at.digest = out.digest;
  out.push = push(at, oci::media_type::kOciManifest, manifest, source);

  // The registry keeps the list when it says so, or when its list has the artifact.
  Auth& auth = impl_->auth;
  Context& ctx = impl_->ctx;
  if (out.push.oci_subject == out.subject) return out;
  if (const auto listed = referrers_api(auth, repo, out.subject)) {
    const auto& ms = listed->manifests;
    if (std::any_of(ms.begin(), ms.end(), [&](const oci::Descriptor& d) { return d.digest == out.digest; }))
      return out;
  }

  // The tag schema: the subject's index, with this artifact added.
  out.via = ReferrersVia::TagSchema;
  oci::Index index = tag_schema_index(auth, repo, out.subject).value_or(oci::Index{});
  if (std::any_of(index.manifests.begin(), index.manifests.end(),
                  [&](const oci::Descriptor& d) { return d.digest == out.digest; }))
    return out;
  oci::Descriptor entry;
  entry.media_type = oci::media_type::kOciManifest;
  entry.digest = out.digest;
  entry.size = static_cast<std::int64_t>(manifest.size());
  entry.artifact_type = out.artifact_type;
  entry.annotations = m.annotations;
  index.format = oci::Format::Oci;
  index.manifests.push_back(std::move(entry));
  const oci::Blob blob = oci::make_blob(index.to_json(), oci::media_type::kOciIndex);
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull,push")};
  const std::string tag = fallback_tag(out.subject);
  put_manifest(auth, st, repo.repository, scopes, tag, oci::media_type::kOciIndex, blob.bytes, blob.descriptor.digest);
  ctx.log("listed " + out.digest + " in " + repo.name() + ":" + tag + " (the registry has no referrers API)");
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
  if (auto index = tag_schema_index(impl_->auth, repo, subject_digest)) out.manifests = std::move(index->manifests);
  return out;
}

}  // namespace rustimg::registry
