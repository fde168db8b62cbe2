// The authentication layer of the registry client, over the Transport seam:
// ping and scheme choice (HTTPS, falling back to plain HTTP only where
// plain_http_allowed), Basic and Bearer challenges, token fetch (password,
// identity and refresh tokens), the token cache, and insufficient_scope
// widening. Everything above it sends requests through send().
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/context.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry::detail {

struct Token {
  std::string value;
  Clock::time_point expiry;
};

/// Everything known about one registry host.
struct RegistryState {
  std::string registry;  // as written in references: "127.0.0.1:5000"
  std::string host;      // API host
  // Recursive: error reporting (fail) reads the credentials while ping or a
  // token fetch may already hold the lock on the same thread.
  std::recursive_mutex mu;
  bool pinged = false;
  std::string base;  // "https://host"
  bool verify_tls = true;
  std::string scheme;  // "", "basic", "bearer"
  Challenge challenge;
  bool creds_loaded = false;
  std::exception_ptr creds_error;
  std::optional<Credentials> creds;
  std::map<std::string, Token> tokens;
  std::vector<std::string> learned_scopes;
  std::string refresh_token;
};

class Auth {
 public:
  Auth(Context& ctx, std::shared_ptr<Transport> transport);
  Auth(const Auth&) = delete;
  Auth& operator=(const Auth&) = delete;

  Context& context() { return ctx_; }

  /// The state of `registry` ("host[:port]" as references spell it).
  RegistryState& state(const std::string& registry);

  /// Sends `req` as is. `trusted` requests (the registry and its token realm)
  /// use Options::ca_file; others (e.g. a redirect to object storage) keep
  /// the system CA store.
  HttpResponse raw(HttpRequest req, bool trusted = true);

  /// Sends a request to the registry `st`, built by `build(base_url)`, with
  /// authentication; answers a 401 by refreshing / widening the token once.
  HttpResponse send(RegistryState& st, const std::vector<std::string>& scopes,
                    const std::function<HttpRequest(const std::string& base)>& build);

  /// Sends a request to `url`, a Location the registry handed out (upload
  /// session, mount answer): with the registry's credentials only on the
  /// registry's own origin (scheme, host, port); elsewhere (object storage,
  /// or a hostile redirect) without any.
  HttpResponse send_to_location(RegistryState& st, const std::vector<std::string>& scopes, const std::string& url,
                                const std::function<HttpRequest()>& build);

  /// Throws the error for an unexpected answer (throw_for_status), naming
  /// the user the registry refused.
  [[noreturn]] void fail(RegistryState& st, const HttpResponse& resp, const std::string& what);

  /// The user to name in messages: the user name, "<identity token>",
  /// "<registry token>", or "" for anonymous. Never a secret.
  std::string user_of(RegistryState& st);

 private:
  const std::optional<Credentials>& credentials(RegistryState& st);  // st.mu held
  void load_credentials(RegistryState& st);
  bool named_insecure(const std::string& registry) const;
  void ensure_ping(RegistryState& st);
  Token fetch_token(RegistryState& st, const std::optional<Credentials>& creds, const std::vector<std::string>& scopes);
  /// The Authorization header value for a request needing `scopes`, or "".
  std::string authorization(RegistryState& st, const std::vector<std::string>& scopes, bool force);

  Context& ctx_;
  std::shared_ptr<Transport> transport_;
  Keychain keychain_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<RegistryState>> states_;
};

}  // namespace rustimg::registry::detail
