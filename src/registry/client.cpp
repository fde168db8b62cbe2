// The registry client's facade. The parts, after go-containerregistry's
// `remote` and `remote/transport`:
//   auth.cpp       ping, scheme fallback, Basic/Bearer, tokens (over Transport)
//   retry.cpp      backoff and Retry-After budgets
//   errors.cpp     an unexpected answer -> an error with advice
//   upload.cpp     HEAD, mount, monolithic/chunked upload of blobs
//   download.cpp   blob download with redirects and verification
//   manifests.cpp  manifest GET / HEAD / PUT
//   push.cpp, pull.cpp  Client::push and Client::pull
#include <random>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"

namespace rustimg::registry {

using namespace detail;

const std::string& manifest_accept_header() {
  static const std::string value =
      "application/vnd.oci.image.index.v1+json, "
      "application/vnd.oci.image.manifest.v1+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.docker.distribution.manifest.v2+json";
  return value;
}

namespace detail {

Context::Context(Options options) : opt(std::move(options)) {
  if (opt.retry.max_attempts < 1) opt.retry.max_attempts = 1;
  if (opt.jobs == 0) opt.jobs = 1;
  // Explicit credentials are keyed by the host they are for, spelled as
  // references spell it; a key naming no host (such as "*") is refused.
  std::map<std::string, Credentials> by_host;
  for (auto& [key, creds] : opt.credentials) {
    std::string host;
    try {
      host = normalize_registry_host(key);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string("registry credentials: ") + e.what() + "; credentials are for one registry");
    }
    by_host[host] = std::move(creds);
  }
  opt.credentials = std::move(by_host);
}

void Context::progress(std::string_view stage, const std::string& digest, std::uint64_t done, std::uint64_t total) {
  if (!opt.progress) return;
  ProgressEvent event{std::string(stage), "", digest, done, total};
  event.message = event.stage + " " + digest + " " + std::to_string(done) + "/" + std::to_string(total);
  std::lock_guard lock(progress_mu_);  // the client's threads report one at a time
  report_progress(opt.progress, event);
}

double Context::unit_random() {
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

}  // namespace detail

Client::Client(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

bool Client::blob_exists(const Reference& repo, const std::string& digest) {
  Auth& auth = impl_->auth;
  RegistryState& st = auth.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  return with_retry(impl_->ctx, "HEAD " + digest, [&] { return head_blob(auth, st, repo.repository, scopes, digest); });
}

}  // namespace rustimg::registry
