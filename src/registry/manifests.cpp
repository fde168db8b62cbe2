// Manifests in a registry: fetching (digest verified), HEAD, and PUT.
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"
#include "rustimg/json.hpp"

namespace rustimg::registry::detail {

std::string put_manifest(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                         const std::string& identifier, const std::string& media_type, const std::string& bytes,
                         const std::string& digest) {
  Context& ctx = auth.context();
  ctx.progress(stage::kManifest, digest, 0, bytes.size());
  return with_retry(ctx, "manifest " + repo + ":" + identifier, [&] {
    HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
      HttpRequest r;
      r.method = "PUT";
      r.url = repo_url(base, repo, "manifests/" + identifier);
      r.headers.emplace_back("Content-Type", media_type);
      r.body_size = static_cast<std::int64_t>(bytes.size());
      r.body = string_body(bytes);
      return r;
    });
    if (resp.status < 200 || resp.status >= 300) {
      try {
        auth.fail(st, resp, "pushing manifest " + digest + " as " + repo + ":" + identifier);
      } catch (const RegistryError& e) {
        // Registries with immutable tags (ECR) refuse to re-push a tag even
        // with the same content: that is success, not an error.
        if (e.retryable() || e.code() == ErrorCode::Auth || identifier == digest) throw;
        if (manifest_digest_at(auth, st, repo, scopes, identifier) != digest) throw;
        ctx.log("tag " + repo + ":" + identifier + " already names " + digest + "; the registry kept it");
        return std::string();
      }
    }
    check_digest_header(st, resp, digest, "the manifest push");
    return resp.header("oci-subject");
  });
}

/// The digest `identifier` (tag or digest) names in `repo`, or "" if none.
std::string manifest_digest_at(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                               const std::string& identifier) {
  HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
    HttpRequest r;
    r.method = "HEAD";
    r.url = repo_url(base, repo, "manifests/" + identifier);
    r.headers.emplace_back("Accept", manifest_accept_header());
    return r;
  });
  if (resp.status == 404) return {};
  if (resp.status != 200) auth.fail(st, resp, "HEAD manifest " + repo + ":" + identifier);
  std::string d = resp.header("docker-content-digest");
  return d.empty() && is_valid_digest(identifier) ? identifier : d;
}

/// Fetches the manifest or index `ref` names. `declared` is the media type
/// a referring descriptor claims ("" for none); a document that contradicts
/// it is refused.
RawManifest fetch_manifest(Auth& auth, const Reference& ref, const std::string& declared) {
  Context& ctx = auth.context();
  RegistryState& st = auth.state(ref.registry);
  const std::vector<std::string> scopes = {repository_scope(ref.repository, "pull")};
  const std::string id = ref.identifier();
  return with_retry(ctx, "manifest " + ref.to_string(), [&] {
    HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
      HttpRequest r;
      r.url = repo_url(base, ref.repository, "manifests/" + id);
      r.headers.emplace_back("Accept", manifest_accept_header());
      r.max_body = oci::kMaxManifestBytes;
      return r;
    });
    if (resp.status != 200) auth.fail(st, resp, "fetching manifest " + ref.to_string());
    RawManifest m;
    m.bytes = std::move(resp.body);
    m.digest = oci::sha256_digest(m.bytes);
    const std::string want = !ref.digest.empty() ? ref.digest : resp.header("docker-content-digest");
    if (!want.empty() && want.rfind("sha256:", 0) == 0 && want != m.digest)
      throw RegistryError(ErrorCode::Registry,
                          "manifest " + ref.to_string() + " from " + ref.registry + " has digest " + m.digest +
                              ", expected " + want + " (corrupted or truncated in transit)",
                          resp.status, "DIGEST_INVALID", {}, true);
    // The document says what it is; the Content-Type header is not evidence.
    const std::string what = "manifest " + ref.to_string();
    const auto doc = parse_json(m.bytes, what);
    if (doc.is_discarded() || !doc.is_object()) throw Error(ErrorCode::InvalidArgument, what + " is not a JSON object");
    m.media_type = oci::document_media_type(doc, declared, what);
    return m;
  });
}

}  // namespace rustimg::registry::detail
