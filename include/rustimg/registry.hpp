// rustimg/registry.hpp - an OCI distribution client: push, pull, auth.
//
// The client speaks the OCI distribution protocol over libcurl (OpenSSL):
//
//   * TLS verification is on by default; `Options::ca_file` adds a CA bundle.
//     HTTP(S)_PROXY / NO_PROXY are honoured (libcurl reads them).
//   * Plain HTTP is used only for registries named in
//     `Options::insecure_registries` and, like docker, for loopback hosts
//     (localhost, 127.0.0.0/8, ::1). Those still try HTTPS first and fall back
//     to HTTP only when the server does not speak TLS; a certificate that
//     fails verification is always an error, never a reason to downgrade.
//   * Authentication: anonymous, Basic, and the Docker/OCI Bearer token flow
//     (realm/service/scope, `token`/`access_token`, `expires_in`, refresh
//     tokens, insufficient_scope widening). Credentials come, in order, from
//     `Options::credentials` (by registry host: explicit credentials reach
//     only the registry they are for), `Options::credentials_callback`, and
//     the docker and podman config files (see `Keychain`).
//   * Push is source-agnostic: the caller hands over the root document
//     (a manifest or an index) and a `BlobSource` that opens blobs *and child
//     manifests* by digest. Every blob is confirmed in the target repository
//     (HEAD, mount or upload) before any manifest naming it is pushed; index
//     children are pushed by digest before the index is tagged (children the
//     registry already holds are skipped, with their blobs). A tag that
//     already names the same digest on an immutable-tag registry is success.
//   * Pull resolves a reference, picks a platform from an index, downloads and
//     verifies every digest and hands verified bytes to a `BlobSink`.
//   * Transient failures (408, 429 with Retry-After, 5xx, dropped connections,
//     truncated bodies) are retried with exponential backoff and jitter.
//
// Secrets (passwords, tokens) never appear in an error message or a log line.
//
// All errors are rustimg::Error; protocol failures are RegistryError, which
// adds the HTTP status and the registry's error code. Authentication failures
// carry ErrorCode::Auth, cancellation ErrorCode::Cancelled.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/reference.hpp"

namespace rustimg {

class ProcessRunner;

namespace registry {

// --- errors ------------------------------------------------------------------

/// A failed registry interaction. `http_status()` is 0 when no HTTP response
/// was received (DNS, refused connection, TLS, dropped connection).
class RegistryError : public Error {
 public:
  RegistryError(ErrorCode code, const std::string& message, int http_status = 0,
                std::string registry_code = {}, std::string registry_message = {},
                bool transient = false)
      : Error(code, message),
        http_status_(http_status),
        registry_code_(std::move(registry_code)),
        registry_message_(std::move(registry_message)),
        transient_(transient) {}

  int http_status() const noexcept { return http_status_; }
  /// The first error code of the registry's JSON error body ("BLOB_UNKNOWN",
  /// "UNAUTHORIZED", ...), empty when the body had none.
  const std::string& registry_code() const noexcept { return registry_code_; }
  const std::string& registry_message() const noexcept { return registry_message_; }
  /// True when repeating the same request may succeed: 408, 429, 499, 5xx,
  /// 522, the codes TOOMANYREQUESTS / UNAVAILABLE / BLOB_UPLOAD_INVALID, or a
  /// transient transport failure (reset, dropped, truncated, timed out).
  bool retryable() const noexcept;

 private:
  int http_status_;
  std::string registry_code_;
  std::string registry_message_;
  bool transient_;
};

/// One entry of a registry's `{"errors":[{code,message,detail}]}` body.
struct RegistryErrorEntry {
  std::string code;
  std::string message;
  std::string detail;  ///< the `detail` value as compact JSON, empty if null/absent
};

/// Parses an error body; returns an empty vector for anything that is not the
/// distribution-spec JSON error shape (plain text, HTML, empty).
std::vector<RegistryErrorEntry> parse_error_body(std::string_view body);

/// True for HTTP statuses worth retrying: 408, 429, 499, 500, 502, 503, 504, 522.
bool is_retryable_status(int status) noexcept;

// --- credentials -------------------------------------------------------------

/// Credentials for one registry. Either username+password, or an identity
/// token (an OAuth2 refresh token as docker stores it), or a registry token
/// (a bearer token used as-is).
struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;
  std::string registry_token;

  bool empty() const noexcept {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

/// Asked for credentials for a registry host ("ghcr.io", "127.0.0.1:5000");
/// return std::nullopt to fall through to the config files.
using CredentialsCallback = std::function<std::optional<Credentials>(const std::string& registry)>;

/// The parsed subset of a docker config.json / podman auth.json.
struct AuthConfigEntry {
  std::string username;
  std::string password;
  std::string identity_token;
  std::string registry_token;
};
struct AuthConfig {
  std::map<std::string, AuthConfigEntry> auths;     ///< keyed as written in the file
  std::string creds_store;                          ///< "desktop", "pass", ...
  std::map<std::string, std::string> cred_helpers;  ///< host -> helper suffix
};

/// Parses config.json text. `source` names the file in errors. Throws
/// rustimg::Error (InvalidArgument) for malformed JSON or a bad `auth` field;
/// the error never contains the secret.
AuthConfig parse_auth_config(std::string_view json_text, const std::string& source);

/// "https://index.docker.io/v1/" -> "index.docker.io", "host:5000/path" -> "host:5000".
std::string normalize_auth_key(std::string_view key);

/// The registry host `text` names, spelled as references spell it (the key
/// of Options::credentials): "GHCR.io" -> "ghcr.io", "https://index.docker.io/v1/"
/// -> "docker.io", "127.0.0.1:5000". Throws rustimg::Error (InvalidArgument)
/// when `text` names no host a reference could name ("*", "", "a b").
std::string normalize_registry_host(std::string_view text);

/// Where credentials for a registry come from, after explicit ones.
enum class CredentialSourceKind { None, File, Helper };
struct CredentialLookup {
  CredentialSourceKind kind = CredentialSourceKind::None;
  std::string helper;        ///< helper suffix when kind == Helper
  std::string server_url;    ///< what is written to the helper's stdin
  AuthConfigEntry entry;     ///< the file entry (kind == File; or the fallback when credsStore has nothing)
};
/// Applies docker's precedence within one config: credHelpers[host], then
/// credsStore (with the `auths` entry as fallback), then `auths` (exact key
/// first, then keys normalised to host[:port]).
CredentialLookup lookup_credentials(const AuthConfig& config, const std::string& registry);

/// What the credential file locations depend on (see auth_file_search_list).
struct AuthFileEnvironment {
  std::string home;                ///< $HOME
  std::string docker_config;       ///< $DOCKER_CONFIG
  std::string registry_auth_file;  ///< $REGISTRY_AUTH_FILE
  std::string xdg_runtime_dir;     ///< $XDG_RUNTIME_DIR
  std::string xdg_config_home;     ///< $XDG_CONFIG_HOME
  unsigned uid = 0;                ///< the user's id, for /run/containers/<uid>
  /// The current process's environment and user id.
  static AuthFileEnvironment current();
};

/// The credential files in the order containers/image reads them
/// (containers-auth.json(5)): podman's primary file ($REGISTRY_AUTH_FILE when
/// set, else $XDG_RUNTIME_DIR/containers/auth.json, else
/// /run/containers/<uid>/auth.json), then $XDG_CONFIG_HOME/containers/auth.json
/// (default ~/.config/containers/auth.json), then docker's config file
/// (docker_config_file). Pure.
std::vector<std::string> auth_file_search_list(const AuthFileEnvironment& env);

/// docker's config file, which `login` writes: $DOCKER_CONFIG/config.json,
/// else ~/.docker/config.json; "" when neither variable is set. Pure.
std::string docker_config_file(const AuthFileEnvironment& env);

/// Reads credentials from config files and credential helpers, in the order
/// of auth_file_search_list(). The first file with an answer wins.
/// Helpers run as `docker-credential-<name> get` through the ProcessRunner.
class Keychain {
 public:
  /// `runner` may be null (the system runner). `files` overrides the search list.
  explicit Keychain(ProcessRunner* runner = nullptr, std::vector<std::string> files = {});
  /// The default file search list for the current environment.
  static std::vector<std::string> default_files();
  /// Credentials for `registry`, or std::nullopt (anonymous). Throws
  /// rustimg::Error (Auth) when a configured helper is missing or fails.
  std::optional<Credentials> resolve(const std::string& registry) const;

 private:
  ProcessRunner* runner_;
  std::vector<std::string> files_;
};

// --- login / logout --------------------------------------------------------------

/// The key docker's config.json stores credentials for `registry` under:
/// "https://index.docker.io/v1/" for Docker Hub, else the normalised
/// host[:port] (normalize_registry_host). Throws as that does.
std::string auth_config_key(std::string_view registry);

/// `config_text` (a docker config.json; "" when there is none) with
/// `auths[auth_config_key(registry)]` set to `{"auth": base64(user:password)}`,
/// every other entry for the same host dropped and every other key of the
/// file kept in its order. `source` names the file in errors. Throws
/// rustimg::Error (InvalidArgument) for a malformed file, an empty user name
/// or password, or a user name holding ':'; never with the secret. Pure.
std::string auth_config_store(std::string_view config_text, const std::string& source, std::string_view registry,
                              const std::string& username, const std::string& password);

/// `config_text` without any `auths` entry for `registry`'s host (however
/// its key is spelled), every other key kept; std::nullopt when it holds
/// none. Pure.
std::optional<std::string> auth_config_erase(std::string_view config_text, const std::string& source,
                                             std::string_view registry);

// --- WWW-Authenticate ----------------------------------------------------------

struct Challenge {
  std::string scheme;                         ///< lower-case: "basic", "bearer", ...
  std::map<std::string, std::string> params;  ///< keys lower-case: realm, service, scope, error
};

/// Parses a WWW-Authenticate header value, which may hold several challenges
/// (`Negotiate, Basic realm="x"`) and quoted strings with commas and escapes.
std::vector<Challenge> parse_www_authenticate(std::string_view header);

/// "repository:<repo>:<actions>" (actions comma-separated, e.g. "pull,push").
std::string repository_scope(const std::string& repository, const std::string& actions);

/// Merges `add` into `scopes`, new ones first (some registries read only the
/// first scope); for an existing repository scope the actions are united.
std::vector<std::string> merge_scopes(const std::vector<std::string>& scopes,
                                      const std::vector<std::string>& add);

// --- retries ---------------------------------------------------------------------

struct RetryPolicy {
  int max_attempts = 5;                                 ///< total tries per operation
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{15000};
  std::chrono::milliseconds max_retry_after{60000};     ///< cap on a server's Retry-After
  /// No retry starts once this much time has passed since the first attempt
  /// (or would pass during the wait before it).
  std::chrono::milliseconds max_elapsed{120000};
};

/// Delay before retry number `retry` (0-based): min(max_delay,
/// initial_delay * 2^retry) scaled by a jitter factor in [0.5, 1.0];
/// `unit_random` is a uniform draw in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double unit_random);

/// Parses Retry-After: delta-seconds, or an IMF-fixdate HTTP date relative to
/// `now`. std::nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// --- URLs --------------------------------------------------------------------------

/// Resolves a Location header against the URL of the request that returned it
/// (RFC 3986 reference resolution: absolute URLs, "//host/..", "/path", "rel").
std::string resolve_location(const std::string& base_url, const std::string& location);

/// Appends `key=value` (value percent-encoded) with '?' or '&' as appropriate.
std::string append_query(const std::string& url, const std::string& key, const std::string& value);

/// True when the registry may be spoken to over plain HTTP: named in
/// `insecure` (as host or host:port), or a loopback host.
bool plain_http_allowed(const std::string& registry, const std::vector<std::string>& insecure);

/// Host name the API is reached at ("docker.io" -> "registry-1.docker.io").
std::string api_host(const std::string& registry);

// --- transport ------------------------------------------------------------------

/// One HTTP request. Bodies are streamed: `body` is called to fill `buf` and
/// returns the number of bytes written (0 at the end); `body_size` is sent as
/// Content-Length (-1: none, i.e. chunked).
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::function<std::size_t(char* buf, std::size_t len)> body;
  std::int64_t body_size = 0;
  /// Receives the body of a 2xx response as it arrives. Bodies of other
  /// responses, and all bodies when this is unset, are kept in
  /// HttpResponse::body (capped at max_body).
  std::function<void(const char* data, std::size_t len)> on_body;
  bool verify_tls = true;
  std::string ca_file;
  std::chrono::seconds connect_timeout{30};
  /// Abort when the transfer moves fewer than kStallBytesPerSecond for this long.
  std::chrono::seconds low_speed_timeout{60};
  /// Abort when the whole request takes longer than this (0: no limit).
  std::chrono::seconds timeout{0};
  /// The most bytes of a body kept in HttpResponse::body (see on_body).
  std::uint64_t max_body = 16u << 20;
  /// Polled at least once a second while the request runs; true aborts it
  /// with ErrorCode::Cancelled.
  std::function<bool()> cancelled;
  /// A best-effort request made while an operation unwinds (e.g. the DELETE
  /// of an abandoned upload): sent even after cancellation, with a short
  /// deadline (kCleanupTimeout) instead of the request timeout.
  bool cleanup = false;
};

/// The deadline of a cleanup request (HttpRequest::cleanup).
inline constexpr std::chrono::seconds kCleanupTimeout{10};

/// A transfer slower than this many bytes per second for a request's
/// low_speed_timeout is given up on as stalled.
inline constexpr long kStallBytesPerSecond = 1024;

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-case
  std::string body;
  /// The first value of header `name` (lower-case), or "".
  std::string header(std::string_view name) const;
};

/// Sends HTTP requests. The default is libcurl; tests or embedders can inject
/// another (e.g. one that fails on purpose). perform() throws RegistryError
/// with http_status 0 when no complete response arrived; it does not follow
/// redirects.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpResponse perform(const HttpRequest& request) = 0;
};

/// The libcurl transport.
std::shared_ptr<Transport> make_curl_transport();

// --- push / pull ------------------------------------------------------------------

/// Where push reads blobs and child manifests from, by digest.
class BlobSource {
 public:
  virtual ~BlobSource() = default;
  /// A fresh stream over the blob's bytes, from the start. May be called
  /// several times for one digest (retries) and from several threads.
  virtual std::unique_ptr<std::istream> open(const std::string& digest) = 0;
  /// The blob's size in bytes.
  virtual std::uint64_t size(const std::string& digest) = 0;
};

/// Where pull hands verified content. `put` is called once per distinct
/// digest, possibly from several threads at once, and only after the digest
/// was verified. Manifests and indexes are handed over too.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual void put(const std::string& digest, const std::string& media_type, std::istream& data,
                   std::uint64_t size) = 0;
  /// True when the sink already holds `digest` (the download is skipped).
  virtual bool has(const std::string& /*digest*/) { return false; }
};

/// The stages of push and pull progress events (ProgressEvent::stage). Each
/// event names its digest, with bytes_done/bytes_total in bytes of that blob.
namespace stage {
inline constexpr std::string_view kChecking = "checking";        ///< asking whether the registry has a blob
inline constexpr std::string_view kUploading = "uploading";      ///< blob data sent so far
inline constexpr std::string_view kMounted = "mounted";          ///< mounted from another repository
inline constexpr std::string_view kSkipped = "skipped";          ///< already there (push) or in the sink (pull)
inline constexpr std::string_view kDownloading = "downloading";  ///< blob data received so far
inline constexpr std::string_view kDone = "done";                ///< a blob fully transferred
inline constexpr std::string_view kManifest = "manifest";        ///< a manifest or index sent
}  // namespace stage

/// Anything that says how to reach and authenticate with registries.
struct Options {
  std::vector<std::string> insecure_registries;  ///< "host" or "host:port"
  /// PEM CA bundle for the registry and its token server, used instead of the
  /// system store for those hosts (redirects to other hosts keep the system store).
  std::string ca_file;
  /// Explicit credentials by registry host ("ghcr.io", "127.0.0.1:5000";
  /// normalize_registry_host() spellings are accepted): each entry is sent
  /// to its registry and no other. A key that is no host (such as "*") makes
  /// the Client constructor throw rustimg::Error (InvalidArgument).
  std::map<std::string, Credentials> credentials;
  CredentialsCallback credentials_callback;
  bool use_config_files = true;                  ///< consult docker/podman config files
  std::vector<std::string> config_files;         ///< override the search list
  ProcessRunner* process_runner = nullptr;       ///< runs credential helpers
  std::shared_ptr<Transport> transport;          ///< default: libcurl
  RetryPolicy retry;
  unsigned jobs = 4;                             ///< parallel blob transfers
  std::uint64_t chunk_size = 0;                  ///< 0: monolithic PUT; else PATCH chunks of this size
  /// Push and pull progress (stages in registry::stage); returning true
  /// stops the operation with ErrorCode::Cancelled.
  ProgressCallback progress;
  /// Polled during transfers and retry waits (at least once a second);
  /// returning true stops the operation with ErrorCode::Cancelled.
  std::function<bool()> cancelled;
  /// A request that carries no blob data (ping, token, HEAD, manifest,
  /// starting an upload) is given up on after this long (0: no limit).
  std::chrono::seconds request_timeout{300};
  /// Any transfer, blob data included, that moves fewer than
  /// kStallBytesPerSecond for this long is given up on.
  std::chrono::seconds stall_timeout{60};
  std::string user_agent = "rustimg";
  /// How messages name the caller's options ("--insecure-registry").
  OptionNames option_names;
  /// Log lines for humans (requests, retries); never carries secrets.
  std::function<void(const std::string&)> log;
};

struct PushOptions {
  /// Known other repositories on the same registry holding a blob (e.g. the
  /// base image's repository): digest -> repository. Tried as a mount first.
  std::map<std::string, std::string> mount_sources;
  /// Further tags to point at the pushed root, beyond the reference's own.
  std::vector<std::string> extra_tags;
};

struct PushResult {
  std::string digest;        ///< of the root document
  std::string reference;     ///< "host/repo:tag@sha256:..." (the line a CLI prints)
  /// Every reference the manifest is now under: "host/repo:TAG@sha256:..."
  /// for the target's tag and each extra tag ("host/repo@sha256:..." when
  /// there is no tag).
  std::vector<std::string> references;
  std::uint64_t bytes_uploaded = 0;
  unsigned blobs_uploaded = 0;
  unsigned blobs_mounted = 0;
  unsigned blobs_existing = 0;
  unsigned manifests_pushed = 0;
  /// The registry's OCI-Subject answer to the PUT of a root manifest with a
  /// `subject`: that subject's digest when the registry keeps referrers
  /// lists itself (OCI 1.1); "" when it did not say, or nothing was PUT.
  std::string oci_subject;
};

/// How Client::push_referrers made an artifact findable from its subject.
enum class ReferrersVia {
  Api,        ///< the registry's referrers API lists it (OCI distribution 1.1)
  TagSchema,  ///< the index tagged "sha256-<hex of the subject>" lists it
};

struct ReferrerPushResult {
  std::string digest;          ///< the artifact manifest's
  std::string subject;         ///< the digest of the manifest it is about
  std::string artifact_type;   ///< its artifactType (else its config's media type)
  ReferrersVia via = ReferrersVia::Api;
  PushResult push;             ///< the artifact's own push (by digest)
};

/// The descriptors of the artifacts about a manifest, as a registry lists
/// them, and where the list came from.
struct ReferrersList {
  std::vector<oci::Descriptor> manifests;
  ReferrersVia via = ReferrersVia::Api;
};

/// A manifest or index exactly as the registry served it.
struct RawManifest {
  std::string media_type;  ///< from Content-Type, else the document's mediaType
  std::string digest;      ///< sha256 of `bytes` (verified)
  std::string bytes;
};

struct PullOptions {
  /// Platform to pick from an index. Unset: keep the whole index (every child).
  /// When the reference names a single image, its config must match the
  /// platform (ErrorCode::NotFound otherwise).
  std::optional<Platform> platform;
  /// With `platform`: a single image is taken whatever platform its config
  /// states, and `platform` only picks from an index (crane's behaviour
  /// when no platform is asked for).
  bool any_single_platform = false;
};

struct PullResult {
  RawManifest root;                    ///< what the reference names
  std::vector<RawManifest> manifests;  ///< image manifests pulled (one when a platform was picked)
  std::uint64_t bytes_downloaded = 0;
};

/// The Accept header value listing every manifest/index media type supported.
const std::string& manifest_accept_header();

/// A blob uploaded to a repository while it is being written, for content
/// whose digest is known only at the end (a layer as it is compressed):
/// nothing of it is kept on disk. Made by Client::begin_upload(), which
/// starts the upload session (POST). Written bytes are held in memory up to
/// one chunk (Options::chunk_size, else kDefaultChunk, at least the
/// registry's OCI-Chunk-Min-Length); each full chunk is sent as a PATCH with
/// Content-Range, retried from memory as any request is. commit() sends the
/// rest and completes the upload (PUT ?digest=). Destroying an uncommitted
/// upload cancels the session (DELETE, best effort). Used from one thread;
/// the Client must outlive it. Errors are those of Client::push.
class BlobUpload final : public ByteSink {
 public:
  /// The chunk size when Options::chunk_size is 0: the memory an upload holds.
  static constexpr std::uint64_t kDefaultChunk = 8u << 20;

  ~BlobUpload() override;
  BlobUpload(const BlobUpload&) = delete;
  BlobUpload& operator=(const BlobUpload&) = delete;
  using ByteSink::write;
  void write(std::span<const std::byte> data) override;
  /// Sends what is left and completes the upload as blob `digest`. Throws
  /// RegistryError when the registry refuses it or names another digest.
  void commit(const std::string& digest);
  /// Bytes written so far.
  std::uint64_t size() const noexcept;

  struct State;

 private:
  friend class Client;
  explicit BlobUpload(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// A registry client. Thread-safe; keeps authentication state (tokens) per
/// registry for its lifetime.
class Client {
 public:
  explicit Client(Options options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Pushes `root` (an image manifest or an index, as exact bytes with its
  /// media type) to `target`, after every blob and child manifest it names.
  /// Child manifests and blobs are read from `source`.
  PushResult push(const Reference& target, const std::string& media_type, const std::string& root,
                  BlobSource& source, const PushOptions& options = {});

  /// Fetches the manifest or index `ref` names (tag or digest), verifying the
  /// digest when the reference or the registry states one.
  RawManifest get_manifest(const Reference& ref);

  /// True when the repository holds a blob.
  bool blob_exists(const Reference& repo, const std::string& digest);

  /// Fetches the small blob `blob` (a signature payload, an SBOM) from the
  /// repository of `repo`, verified against the descriptor's digest and size.
  /// Throws rustimg::Error (InvalidArgument) naming the digest before
  /// anything is fetched when the descriptor claims more than `max_bytes`.
  std::string get_blob(const Reference& repo, const oci::Descriptor& blob, std::uint64_t max_bytes);

  /// Starts uploading a blob of unknown digest to the repository of `repo`
  /// (see BlobUpload); the session is opened here, so an unreachable or
  /// refusing registry fails before anything is written.
  std::unique_ptr<BlobUpload> begin_upload(const Reference& repo);

  /// Pulls `ref` into `sink`.
  PullResult pull(const Reference& ref, BlobSink& sink, const PullOptions& options = {});

  /// Pushes the OCI 1.1 artifacts `manifests` (OCI image manifests with a
  /// `subject`; their blobs read from `source`) by digest to the repository
  /// of `repo`, in order, and makes each findable from its subject as the
  /// distribution spec says: a registry that answers the PUT with
  /// OCI-Subject, or whose referrers API (GET /v2/<name>/referrers/<subject>)
  /// then lists it, keeps the list itself; otherwise the OCI image index
  /// tagged "sha256-<hex of the subject>" lists it: created when missing,
  /// else read, the new descriptors appended to its "manifests" (every other
  /// entry and field kept as the registry had them) and written back once
  /// per subject. Throws rustimg::Error (InvalidArgument) for a manifest
  /// without a subject, or a tag "sha256-<hex>" that holds something other
  /// than an OCI index (it is not overwritten); registry errors as push().
  std::vector<ReferrerPushResult> push_referrers(const Reference& repo, const std::vector<std::string>& manifests,
                                                 BlobSource& source);

  /// The artifacts about `subject_digest` in the repository of `repo`: the
  /// referrers API's list when the registry answers it (its first page),
  /// else the "sha256-<hex>" tag-schema index's (empty when there is none).
  /// Each list is one bounded document (oci::kMaxManifestBytes) of at most
  /// oci::kMaxReferrers entries (InvalidArgument beyond).
  ReferrersList referrers(const Reference& repo, const std::string& subject_digest);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --- login / logout (continued) ----------------------------------------------------

/// What login stored or logout removed, and where.
struct CredentialStoreResult {
  std::string registry;  ///< the normalised host
  std::string file;      ///< docker's config file that holds the entry or names the helper
  std::string helper;    ///< the credential helper suffix ("pass", ...); "" for the file itself
  bool changed = false;  ///< logout: false when there was nothing to remove
  /// Other credential files that also hold credentials for the host, or name
  /// a credential helper (credHelpers, credsStore) for it, and are read
  /// before `file` (login), or at all (logout): podman's auth.json after a
  /// `podman login`. Their credentials win over, or outlive, these.
  std::vector<std::string> also_in;
};

/// Like `docker login`: checks `username`/`password` against `registry`
/// (ping, then GET /v2/ with them: Basic, or a token fetched with them) and
/// stores them: through `docker-credential-<helper> store` when docker's
/// config names a helper for the host (credHelpers, else credsStore), else
/// in the config file itself (auth_config_store; written atomically, mode
/// 0600, missing directories created 0700). `options` says how to reach the
/// registry (insecure hosts, CA file, transport, process runner, log); its
/// credentials and config files are not used. `config_file` overrides
/// docker_config_file(). Throws rustimg::Error (Auth) when the registry
/// refuses the credentials, before anything is written; errors never hold
/// the password.
CredentialStoreResult login(std::string_view registry, const std::string& username, const std::string& password,
                            Options options = {}, std::string config_file = {});

/// Like `docker logout`: removes the stored credentials for `registry` from
/// docker's config file and, when the config names a helper for the host,
/// through `docker-credential-<helper> erase`. `changed` is false when there
/// was nothing to remove. `runner` may be null (the system runner).
CredentialStoreResult logout(std::string_view registry, ProcessRunner* runner = nullptr,
                             std::string config_file = {});

}  // namespace registry
}  // namespace rustimg
