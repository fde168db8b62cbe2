// The registry client's authentication layer (see auth.hpp).
#include "registry/auth.hpp"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "rustimg/json.hpp"
#include "rustimg/oci.hpp"
#include "util/base64.hpp"

namespace rustimg::registry::detail {

Auth::Auth(Context& ctx, std::shared_ptr<Transport> transport)
    : ctx_(ctx),
      transport_(transport ? std::move(transport) : make_curl_transport()),
      keychain_(ctx.opt.process_runner, ctx.opt.config_files) {}

RegistryState& Auth::state(const std::string& registry) {
  std::lock_guard lock(mu_);
  auto& p = states_[registry];
  if (!p) {
    p = std::make_unique<RegistryState>();
    p->registry = registry;
    p->host = api_host(registry);
  }
  return *p;
}

void Auth::fail(RegistryState& st, const HttpResponse& resp, const std::string& what) {
  throw_for_status(st.registry, [&] { return user_of(st); }, resp, what);
}

// --- credentials ---------------------------------------------------------------

const std::optional<Credentials>& Auth::credentials(RegistryState& st) {  // st.mu held
  if (st.creds_error) std::rethrow_exception(st.creds_error);
  if (st.creds_loaded) return st.creds;
  try {
    load_credentials(st);
  } catch (...) {
    // Every later request fails the same way instead of going anonymous.
    st.creds_error = std::current_exception();
    throw;
  }
  st.creds_loaded = true;
  return st.creds;
}

void Auth::load_credentials(RegistryState& st) {
  if (auto it = ctx_.opt.credentials.find(to_lower(st.registry)); it != ctx_.opt.credentials.end() && !it->second.empty()) {
    st.creds = it->second;
  } else if (ctx_.opt.credentials_callback) {
    st.creds = ctx_.opt.credentials_callback(st.registry);
    if (st.creds && st.creds->empty()) st.creds.reset();
  }
  if (!st.creds && ctx_.opt.use_config_files) st.creds = keychain_.resolve(st.registry);
}

std::string Auth::user_of(RegistryState& st) {
  std::lock_guard lock(st.mu);
  if (!st.creds_loaded && !st.creds_error) {
    try {
      credentials(st);
    } catch (const std::exception&) {  // reported where it matters, not while reporting another error
    }
  }
  if (st.creds_error || !st.creds_loaded) return {};
  const auto& c = st.creds;
  if (!c) return {};
  if (!c->username.empty()) return c->username;
  if (!c->identity_token.empty()) return "<identity token>";
  if (!c->registry_token.empty()) return "<registry token>";
  return {};
}

HttpResponse Auth::raw(HttpRequest req, bool trusted) {
  if (trusted && req.ca_file.empty()) req.ca_file = ctx_.opt.ca_file;
  if (!req.cleanup) {
    if (ctx_.cancelled())
      throw Error(ErrorCode::Cancelled, "cancelled before " + req.method + " " + url_for_log(req.url));
    req.cancelled = ctx_.opt.cancelled;
  }
  req.low_speed_timeout = ctx_.opt.stall_timeout;
  // Requests without blob data have a deadline; blob transfers are bounded
  // by the stall timeout (a large layer may take long, but never stalls).
  const bool blob_data = req.on_body || req.body_size < 0 ||
                         static_cast<std::uint64_t>(req.body_size) > oci::kMaxManifestBytes;
  if (req.cleanup) {
    req.timeout = kCleanupTimeout;
  } else if (!blob_data) {
    req.timeout = ctx_.opt.request_timeout;
  }
  req.headers.emplace_back("User-Agent", ctx_.opt.user_agent);
  HttpResponse resp = transport_->perform(req);
  ctx_.log(req.method + " " + url_for_log(req.url) + " -> " + std::to_string(resp.status));
  return resp;
}

bool Auth::named_insecure(const std::string& registry) const {
  std::string host = authority_host(registry);
  for (const auto& e : ctx_.opt.insecure_registries) {
    std::string x = to_lower(trim(e));
    if (x.find("://") != std::string::npos) x = split_url(x).authority;
    if (x == to_lower(registry) || x == host) return true;
  }
  return false;
}

void Auth::ensure_ping(RegistryState& st) {
  std::unique_lock lock(st.mu);
  if (st.pinged) return;
  const bool http_ok = plain_http_allowed(st.registry, ctx_.opt.insecure_registries);
  const bool insecure = named_insecure(st.registry);
  HttpResponse resp;
  std::string base = "https://" + st.host;
  bool verify = !insecure;
  try {
    HttpRequest req;
    req.url = base + "/v2/";
    // Where plain HTTP is allowed, first learn whether the port speaks TLS
    // at all with an unverified handshake (it sends no credentials): a
    // verified one loads the whole CA store, which costs more than every
    // request of a small push to a plain-HTTP loopback registry. A TLS
    // registry is then pinged again, verified.
    req.verify_tls = verify && !http_ok;
    resp = raw(req);
    if (req.verify_tls != verify) {
      req.verify_tls = verify;
      resp = raw(req);
    }
  } catch (const TransportFailure& f) {
    // Without a port, https and http use different ports (443, 80): a
    // refused https connection says nothing about http.
    const bool no_port = st.host.find(':') == std::string::npos || st.host.back() == ']';
    bool fallback = http_ok && (f.kind() == FailureKind::Tls || f.kind() == FailureKind::PlainHttpReply ||
                                ((insecure || no_port) && f.kind() == FailureKind::Refused));
    if (!fallback) throw;
    ctx_.log("registry " + st.registry + " does not speak TLS; using plain HTTP (allowed for loopback/insecure)");
    base = "http://" + st.host;
    HttpRequest req;
    req.url = base + "/v2/";
    resp = raw(req);
  }
  if (resp.status == 401) {
    auto challenges = parse_www_authenticate(resp.header("www-authenticate"));
    auto it = std::find_if(challenges.begin(), challenges.end(),
                           [](const Challenge& c) { return c.scheme == "basic" || c.scheme == "bearer"; });
    if (it == challenges.end())
      throw RegistryError(ErrorCode::Auth, "registry " + st.registry +
                                               " asks for an authentication scheme rustimg does not support (" +
                                               resp.header("www-authenticate") + "); Basic and Bearer are supported");
    st.challenge = *it;
    st.scheme = it->scheme;
  } else if (resp.status >= 200 && resp.status < 300) {
    st.scheme.clear();
  } else if (resp.status == 404) {
    throw RegistryError(ErrorCode::Registry, "host " + st.registry + " (" + base +
                                                 ") answered 404 at /v2/: it does not serve the registry API; "
                                                 "check the host and port in the image reference",
                        404);
  } else {
    fail(st, resp, "GET /v2/ (ping)");
  }
  st.base = base;
  st.verify_tls = verify;
  st.pinged = true;
}

Token Auth::fetch_token(RegistryState& st, const std::optional<Credentials>& creds, const std::vector<std::string>& scopes) {
  const std::string realm = st.challenge.params["realm"];
  const std::string service = st.challenge.params["service"];
  if (realm.empty())
    throw RegistryError(ErrorCode::Auth, "registry " + st.registry + " asked for a bearer token without naming a realm");
  // Plain HTTP is waived for the realm's own host (loopback, or named
  // insecure), never because the registry's host is.
  UrlParts rp = split_url(realm);
  if (rp.scheme != "https" && !(rp.scheme == "http" && plain_http_allowed(rp.authority, ctx_.opt.insecure_registries)))
    throw RegistryError(ErrorCode::Auth, "registry " + st.registry + " names the token realm " +
                                             url_for_log(realm) + ", which is not an https URL; refusing to send "
                                             "credentials there (name " + rp.authority +
                                             " with " + ctx_.opt.option_names.insecure_registry + " only if it is a test server)");
  const std::string user = creds ? creds->username : std::string();
  std::string scope_list;
  for (const auto& s : scopes) scope_list += (scope_list.empty() ? "" : " ") + s;

  auto parse = [&](const HttpResponse& resp) {
    auto doc = try_parse_json(resp.body).value_or(nullptr);
    if (doc.is_discarded() || !doc.is_object())
      throw RegistryError(ErrorCode::Auth, "token server " + url_for_log(realm) + " for " + st.registry +
                                               " returned no JSON object");
    Token t;
    t.value = doc.value("token", "");
    if (t.value.empty()) t.value = doc.value("access_token", "");
    if (t.value.empty())
      throw RegistryError(ErrorCode::Auth, "token server " + url_for_log(realm) + " for " + st.registry +
                                               " returned neither token nor access_token");
    long long expires = 60;
    if (auto e = doc.find("expires_in"); e != doc.end() && e->is_number()) expires = e->get<long long>();
    expires = std::max(expires, 60LL);
    // Renew 10 s early so a token does not expire in flight.
    t.expiry = Clock::now() + std::chrono::seconds(expires - 10);
    if (auto r = doc.find("refresh_token"); r != doc.end() && r->is_string() && !r->get<std::string>().empty())
      st.refresh_token = r->get<std::string>();
    return t;
  };
  auto refused = [&](const HttpResponse& resp) -> Error {
    auto entries = parse_error_body(resp.body);
    std::string who = user.empty() ? std::string("anonymously") : "as user \"" + user + "\"";
    return RegistryError(ErrorCode::Auth,
                         "token server " + url_for_log(realm) + " refused a token for registry " + st.registry + " " +
                             who + " (HTTP " + std::to_string(resp.status) + "): " +
                             (user.empty() ? "log in (" + login_hint(st.registry) + ") or pass credentials"
                                           : "check the user name and password for " + st.registry),
                         resp.status, entries.empty() ? "" : entries.front().code);
  };

  std::string refresh = st.refresh_token;
  if (refresh.empty() && creds) refresh = creds->identity_token;
  if (!refresh.empty()) {
    std::string form = "grant_type=refresh_token&refresh_token=" + percent_encode(refresh) +
                       "&service=" + percent_encode(service) + "&client_id=rustimg&scope=" + percent_encode(scope_list);
    HttpRequest req;
    req.method = "POST";
    req.url = realm;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body_size = static_cast<std::int64_t>(form.size());
    req.body = string_body(form);
    HttpResponse resp = with_retry(ctx_, "token request", [&] {
      HttpRequest r = req;
      r.body = string_body(form);
      HttpResponse x = raw(r);
      if (is_retryable_status(x.status)) fail(st, x, "POST token");
      return x;
    });
    if (resp.status == 200) return parse(resp);
    if (resp.status != 404 && resp.status != 405 && resp.status != 400 && resp.status != 401) throw refused(resp);
    st.refresh_token.clear();
    if (!creds || creds->password.empty()) throw refused(resp);
  }
  std::string url = realm;
  if (!service.empty()) url = append_query(url, "service", service);
  for (const auto& s : scopes) url = append_query(url, "scope", s);
  url = append_query(url, "client_id", "rustimg");
  HttpRequest req;
  req.url = url;
  if (creds && !creds->username.empty()) {
    url = append_query(url, "account", creds->username);
    url = append_query(url, "offline_token", "true");
    req.url = url;
    req.headers.emplace_back("Authorization", "Basic " + util::base64_encode(creds->username + ":" + creds->password));
  }
  HttpResponse resp = with_retry(ctx_, "token request", [&] {
    HttpResponse x = raw(req);
    if (is_retryable_status(x.status)) fail(st, x, "GET token");
    return x;
  });
  if (resp.status != 200) throw refused(resp);
  return parse(resp);
}

/// The Authorization header value for a request needing `scopes`, or "".
std::string Auth::authorization(RegistryState& st, const std::vector<std::string>& scopes, bool force) {
  std::lock_guard lock(st.mu);
  const auto& creds = credentials(st);
  if (st.scheme == "basic") {
    if (creds && !creds->username.empty())
      return "Basic " + util::base64_encode(creds->username + ":" + creds->password);
    if (creds && !creds->registry_token.empty()) return "Bearer " + creds->registry_token;
    return {};
  }
  if (st.scheme != "bearer") return {};
  if (creds && !creds->registry_token.empty()) return "Bearer " + creds->registry_token;
  std::string key;
  for (const auto& s : scopes) key += s + " ";
  auto it = st.tokens.find(key);
  if (!force && it != st.tokens.end() && it->second.expiry > Clock::now()) return "Bearer " + it->second.value;
  Token t = fetch_token(st, creds, scopes);
  st.tokens[key] = t;
  return "Bearer " + t.value;
}

/// Sends a request to the registry `st`, built by `build(base_url)`, with
/// authentication; answers a 401 by refreshing / widening the token once.
HttpResponse Auth::send(RegistryState& st, const std::vector<std::string>& scopes,
                  const std::function<HttpRequest(const std::string& base)>& build) {
  ensure_ping(st);
  std::vector<std::string> sc;
  {
    std::lock_guard lock(st.mu);
    sc = merge_scopes(scopes, st.learned_scopes);
  }
  bool force = false;
  for (int attempt = 0;; ++attempt) {
    HttpRequest req = build(st.base);
    req.verify_tls = st.verify_tls;
    std::string auth = authorization(st, sc, force);
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    HttpResponse resp = raw(std::move(req));
    if (resp.status != 401 || attempt > 0) return resp;
    auto challenges = parse_www_authenticate(resp.header("www-authenticate"));
    auto it = std::find_if(challenges.begin(), challenges.end(),
                           [](const Challenge& c) { return c.scheme == "basic" || c.scheme == "bearer"; });
    {
      std::lock_guard lock(st.mu);
      if (it != challenges.end()) {
        if (st.scheme != it->scheme) st.tokens.clear();
        st.scheme = it->scheme;
        if (it->params.count("realm")) st.challenge = *it;
        if (auto s = it->params.find("scope"); s != it->params.end() && it->scheme == "bearer") {
          std::vector<std::string> add;
          std::istringstream words(s->second);
          for (std::string w; words >> w;) add.push_back(w);
          sc = merge_scopes(sc, add);
          st.learned_scopes = merge_scopes(st.learned_scopes, add);
        }
      }
      const auto& creds = credentials(st);
      if (st.scheme == "basic" && (!creds || creds->username.empty())) return resp;  // nothing to retry with
    }
    force = true;
  }
}

HttpResponse Auth::send_to_location(RegistryState& st, const std::vector<std::string>& scopes, const std::string& url,
                              const std::function<HttpRequest()>& build) {
  if (same_origin(url, st.base)) return send(st, scopes, [&](const std::string&) { return build(); });
  ctx_.log("sending " + url_for_log(url) + " without credentials: it is not on " + st.base);
  return raw(build(), /*trusted=*/false);
}

}  // namespace rustimg::registry::detail
