// Private helpers shared by the registry module's translation units.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rustimg/process.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry::detail {

/// What kind of transport failure happened; decides retries, the HTTPS->HTTP
/// fallback for loopback/insecure registries, and the advice in messages.
enum class FailureKind { Resolve, Refused, Connect, Tls, TlsVerify, Timeout, Dropped, PlainHttpReply, Other };

/// Thrown by the curl transport when no complete HTTP response arrived.
class TransportFailure : public RegistryError {
 public:
  TransportFailure(FailureKind kind, const std::string& message, bool transient)
      : RegistryError(ErrorCode::Registry, message, 0, {}, {}, transient), kind_(kind) {}
  FailureKind kind() const noexcept { return kind_; }

 private:
  FailureKind kind_;
};



/// Parts of an absolute URL.
struct UrlParts {
  std::string scheme;     ///< "https"
  std::string authority;  ///< "host:port"
  std::string path;       ///< "/v2/..." (may be empty)
  std::string query;      ///< without '?'
};
UrlParts split_url(const std::string& url);
/// True when both URLs have the same origin: scheme, host (case-folded) and
/// port (default ports made explicit). A URL with user info in its authority
/// has no origin. Credentials go only to the registry's own origin.
bool same_origin(const std::string& url, const std::string& other);
/// "host" of an authority "host:port" / "[::1]:5000".
std::string authority_host(const std::string& authority);
std::string percent_encode(std::string_view s);
/// URL without its query string, for log lines (queries may hold signatures).
std::string url_for_log(const std::string& url);
bool is_loopback_host(const std::string& host);

std::string to_lower(std::string_view s);
std::string trim(std::string_view s);

}  // namespace rustimg::registry::detail

namespace rustimg::registry::detail {

/// A registry answered with an unexpected HTTP status; carries Retry-After.
class StatusFailure : public RegistryError {
 public:
  StatusFailure(ErrorCode code, const std::string& message, int status, std::string reg_code,
                std::string reg_message, std::optional<std::chrono::milliseconds> retry_after)
      : RegistryError(code, message, status, std::move(reg_code), std::move(reg_message)),
        retry_after_(retry_after) {}
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

 private:
  std::optional<std::chrono::milliseconds> retry_after_;
};

/// Throws the error for an unexpected answer `resp` of `registry` to `what`
/// (a StatusFailure: ErrorCode::Auth with advice for 401/403, NotFound for an
/// unknown manifest or repository, else Registry). `user_of` names the user
/// in the advice ("" for anonymous); it is asked only for 401/403.
[[noreturn]] void throw_for_status(const std::string& registry, const std::function<std::string()>& user_of,
                                   const HttpResponse& resp, const std::string& what);

/// Runs `docker-credential-<helper> <verb>` with `input` on its standard
/// input (the credential helper protocol). Exit 127: the helper is not on PATH.
ProcessResult run_credential_helper(ProcessRunner& runner, const std::string& helper, const std::string& verb,
                                    const std::string& input);

/// parse_auth_config, with advice in its errors that fits the file: docker's
/// config (`docker_config`), which `rustimg login` writes, or one of
/// podman's auth.json files, which only podman writes.
AuthConfig parse_auth_file(std::string_view json_text, const std::string& source, bool docker_config);

/// The largest auth file (docker's config.json, podman's auth.json) rustimg
/// reads: such a file is a few kilobytes.
inline constexpr std::uintmax_t kMaxAuthFileBytes = 4u << 20;

/// The text of auth file `path`, read at most kMaxAuthFileBytes: nullopt
/// when it is missing or not a regular file. Throws rustimg::Error naming the
/// file: InvalidArgument (with the limit) when it is larger, Io when it
/// cannot be read. The one reader of auth files (Keychain and login/logout).
std::optional<std::string> read_auth_file(const std::string& path);

/// How to log in to `registry`, for advice: "rustimg login HOST, or docker/podman login".
std::string login_hint(const std::string& registry);

/// A request body callback over `data`.
std::function<std::size_t(char*, std::size_t)> string_body(std::string data);

}  // namespace rustimg::registry::detail
