// The registry client: ping and scheme choice, authentication (Basic and the
// Bearer token flow), retries, blob and manifest push, and pull.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "registry/internal.hpp"
#include "rustimg/json.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry {

using namespace detail;
using Clock = std::chrono::steady_clock;

const std::string& manifest_accept_header() {
  static const std::string value =
      "application/vnd.oci.image.index.v1+json, "
      "application/vnd.oci.image.manifest.v1+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.docker.distribution.manifest.v2+json";
  return value;
}

namespace {

bool is_index_type(const std::string& mt) {
  return mt == "application/vnd.oci.image.index.v1+json" ||
         mt == "application/vnd.docker.distribution.manifest.list.v2+json";
}

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

struct Descriptorish {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::optional<Platform> platform;
};

std::vector<Descriptorish> descriptors_of(const nlohmann::json& doc, const char* key, const std::string& what) {
  std::vector<Descriptorish> out;
  auto it = doc.find(key);
  if (it == doc.end()) return out;
  if (!it->is_array()) throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" is not an array");
  for (const auto& d : *it) {
    if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
      throw Error(ErrorCode::InvalidArgument, what + ": an entry of \"" + key + "\" has no digest");
    Descriptorish x;
    x.digest = d["digest"].get<std::string>();
    if (!is_valid_digest(x.digest))
      throw Error(ErrorCode::InvalidArgument, what + ": invalid digest \"" + x.digest + "\"");
    if (auto m = d.find("mediaType"); m != d.end() && m->is_string()) x.media_type = m->get<std::string>();
    const auto size = d.find("size");
    if (size == d.end())
      throw Error(ErrorCode::InvalidArgument, what + ": the descriptor of " + x.digest + " has no size");
    oci::check_descriptor_size(*size, x.digest, what);
    x.size = size->get<std::uint64_t>();
    if (auto p = d.find("platform"); p != d.end() && p->is_object()) {
      Platform pl;
      pl.os = p->value("os", "");
      pl.architecture = p->value("architecture", "");
      pl.variant = p->value("variant", "");
      try {
        std::string text = pl.os + "/" + pl.architecture + (pl.variant.empty() ? "" : "/" + pl.variant);
        x.platform = parse_platform(text);
      } catch (const Error&) {
        x.platform = pl;  // unknown architectures stay as written
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

nlohmann::json parse_doc(const std::string& bytes, const std::string& what) {
  auto doc = parse_json(bytes, what);
  if (doc.is_discarded() || !doc.is_object())
    throw Error(ErrorCode::InvalidArgument, what + " is not a JSON object");
  return doc;
}

/// OCI-Chunk-Min-Length: the smallest chunk a registry accepts (0: no limit).
/// The distinct blobs (config, then layers) an image manifest refers to.
std::vector<Descriptorish> image_blobs(const nlohmann::json& doc, const std::string& what) {
  std::vector<Descriptorish> blobs;
  if (doc.contains("config")) {
    if (!doc["config"].is_object()) throw Error(ErrorCode::InvalidArgument, what + ": \"config\" is not an object");
    nlohmann::json wrap = {{"c", nlohmann::json::array({doc["config"]})}};
    blobs = descriptors_of(wrap, "c", what);
  }
  for (auto& l : descriptors_of(doc, "layers", what)) blobs.push_back(std::move(l));
  std::set<std::string> seen;
  std::vector<Descriptorish> unique;
  for (auto& b : blobs)
    if (seen.insert(b.digest).second) unique.push_back(std::move(b));
  return unique;
}

std::uint64_t parse_min_chunk(const std::string& value) {
  if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) {
        return c >= '0' && c <= '9';
      }))
    return 0;
  return std::stoull(value);
}

std::unique_ptr<std::istream> open_source(BlobSource& source, const std::string& digest) {
  auto in = source.open(digest);
  if (!in || !*in) throw Error(ErrorCode::NotFound, "the push source cannot open " + digest);
  return in;
}

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A body callback over a stream, limited to `limit` bytes, reporting progress.
std::function<std::size_t(char*, std::size_t)> stream_body(std::shared_ptr<std::istream> in, std::uint64_t limit,
                                                          std::function<void(std::uint64_t)> on_bytes,
                                                          std::string digest) {
  auto sent = std::make_shared<std::uint64_t>(0);
  return [in, limit, sent, on_bytes, digest](char* buf, std::size_t len) -> std::size_t {
    std::uint64_t left = limit - *sent;
    if (left == 0) return 0;
    auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(left, len));
    in->read(buf, want);
    auto got = static_cast<std::size_t>(in->gcount());
    if (got == 0)
      throw Error(ErrorCode::Io, "blob " + digest + " of the push source ended after " + std::to_string(*sent) +
                                     " of " + std::to_string(limit) + " bytes; check the source (a truncated file?)");
    *sent += got;
    if (on_bytes && got > 0) on_bytes(*sent);
    return got;
  };
}

std::function<std::size_t(char*, std::size_t)> string_body(std::string data) {
  auto buf = std::make_shared<std::string>(std::move(data));
  auto pos = std::make_shared<std::size_t>(0);
  return [buf, pos](char* out, std::size_t len) -> std::size_t {
    std::size_t n = std::min(len, buf->size() - *pos);
    std::memcpy(out, buf->data() + *pos, n);
    *pos += n;
    return n;
  };
}

/// Runs `fn(i)` for i in [0, n) on up to `jobs` threads; the first error
/// stops new work and is rethrown once all threads have finished.
void parallel_for(std::size_t n, unsigned jobs, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;
  auto worker = [&] {
    while (!failed.load()) {
      std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  unsigned count = static_cast<unsigned>(std::min<std::size_t>(std::max(1u, jobs), n));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < count; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

/// A temporary file removed on destruction.
class TempFile {
 public:
  TempFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rustimg-blob-XXXXXX").string();
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0)
      throw Error(ErrorCode::Io, "cannot create a temporary file in " +
                                     std::filesystem::temp_directory_path().string() + ": check TMPDIR");
    path_ = tmpl;
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void reset() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
      throw Error(ErrorCode::Io, "cannot truncate temporary file " + path_);
  }
  void write(const char* data, std::size_t len) {
    while (len > 0) {
      auto n = ::write(fd_, data, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorCode::Io, "cannot write temporary file " + path_ + ": check free space in TMPDIR");
      }
      data += n;
      len -= static_cast<std::size_t>(n);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace

struct Client::Impl {
  Options opt;
  std::shared_ptr<Transport> transport;
  Keychain keychain;
  std::mutex mu;
  std::map<std::string, std::unique_ptr<RegistryState>> states;
  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::mutex progress_mu;

  explicit Impl(Options o)
      : opt(std::move(o)),
        transport(opt.transport ? opt.transport : make_curl_transport()),
        keychain(opt.process_runner, opt.config_files) {
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

  void log(const std::string& line) {
    if (opt.log) opt.log(line);
  }

  void progress(Progress::Phase phase, const std::string& digest, std::uint64_t done, std::uint64_t total) {
    if (!opt.progress) return;
    bool cancel;
    {
      std::lock_guard lock(progress_mu);
      cancel = opt.progress(Progress{phase, digest, done, total});
    }
    if (cancel) throw Error(ErrorCode::Cancelled, "cancelled by the progress callback");
  }

  double unit_random() {
    std::lock_guard lock(rng_mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  RegistryState& state(const std::string& registry) {
    std::lock_guard lock(mu);
    auto& p = states[registry];
    if (!p) {
      p = std::make_unique<RegistryState>();
      p->registry = registry;
      p->host = api_host(registry);
    }
    return *p;
  }

  // --- credentials ---------------------------------------------------------------

  const std::optional<Credentials>& credentials(RegistryState& st) {  // st.mu held
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

  void load_credentials(RegistryState& st) {
    if (auto it = opt.credentials.find(to_lower(st.registry)); it != opt.credentials.end() && !it->second.empty()) {
      st.creds = it->second;
    } else if (opt.credentials_callback) {
      st.creds = opt.credentials_callback(st.registry);
      if (st.creds && st.creds->empty()) st.creds.reset();
    }
    if (!st.creds && opt.use_config_files) st.creds = keychain.resolve(st.registry);
  }

  std::string user_of(RegistryState& st) {
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

  // --- errors --------------------------------------------------------------------

  [[noreturn]] void fail(RegistryState& st, const HttpResponse& resp, const std::string& what) {
    auto entries = parse_error_body(resp.body);
    std::string code = entries.empty() ? std::string() : entries.front().code;
    std::string message = entries.empty() ? std::string() : entries.front().message;
    std::string detail = entries.empty() ? std::string() : entries.front().detail;
    std::string summary = "HTTP " + std::to_string(resp.status);
    if (!code.empty()) summary += " " + code;
    if (!message.empty()) summary += ": " + message;
    if (!detail.empty() && detail.size() < 200) summary += " (" + detail + ")";
    if (entries.empty() && !resp.body.empty()) {
      std::string text = trim(resp.body.substr(0, 200));
      std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
      if (!text.empty()) summary += ": " + text;
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (auto ra = resp.header("retry-after"); !ra.empty()) retry_after = parse_retry_after(ra);
    if (resp.status == 401 || resp.status == 403) {
      std::string user = user_of(st);
      std::string advice;
      std::string insufficient;
      for (const auto& c : parse_www_authenticate(resp.header("www-authenticate")))
        if (c.params.count("error") && c.params.at("error") == "insufficient_scope")
          insufficient = c.params.count("scope") ? c.params.at("scope") : std::string("the requested access");
      if (!insufficient.empty()) {
        advice = (user.empty() ? std::string("anonymous access") : "user \"" + user + "\"") +
                 " was not granted " + insufficient + "; check the repository name and the user's rights on it";
      } else if (resp.status == 403 || code == "DENIED") {
        advice = user.empty() ? "anonymous access is not allowed; log in (docker login " + st.registry +
                                    ") or pass credentials"
                              : "user \"" + user + "\" lacks permission; check the repository name and the user's rights";
      } else if (user.empty()) {
        advice = "no credentials were found for " + st.registry +
                 "; log in (docker login " + st.registry + ") or pass credentials";
      } else {
        advice = "authentication as user \"" + user + "\" failed; check the user name and password for " +
                 st.registry;
      }
      throw StatusFailure(ErrorCode::Auth,
                          "registry " + st.registry + " refused " + what + " (" + summary + "): " + advice,
                          resp.status, code, message, retry_after);
    }
    ErrorCode ec = ErrorCode::Registry;
    if (resp.status == 404 && (code == "MANIFEST_UNKNOWN" || code == "NAME_UNKNOWN")) ec = ErrorCode::NotFound;
    throw StatusFailure(ec, "registry " + st.registry + ": " + what + " failed: " + summary, resp.status, code,
                        message, retry_after);
  }

  // --- retries -------------------------------------------------------------------

  bool cancelled() const { return opt.cancelled && opt.cancelled(); }

  /// Sleeps `delay`, waking every 100 ms to honour cancellation.
  void wait(std::chrono::milliseconds delay) {
    const auto until = Clock::now() + delay;
    while (Clock::now() < until) {
      if (cancelled()) throw Error(ErrorCode::Cancelled, "cancelled while waiting to retry");
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
    }
  }

  /// Runs `fn`, repeating it after a retryable RegistryError with backoff (or
  /// the server's Retry-After) while both the attempt and the time budget of
  /// RetryPolicy last. The final error says how many attempts over how long.
  template <typename F>
  auto with_retry(const std::string& what, F&& fn) -> decltype(fn()) {
    const auto start = Clock::now();
    for (int attempt = 1;; ++attempt) {
      try {
        return fn();
      } catch (const RegistryError& e) {
        if (!e.retryable()) throw;
        auto delay = backoff_delay(opt.retry, attempt - 1, unit_random());
        if (auto* sf = dynamic_cast<const StatusFailure*>(&e); sf != nullptr && sf->retry_after())
          delay = std::min(*sf->retry_after(), opt.retry.max_retry_after);
        const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (attempt >= opt.retry.max_attempts || spent + delay > opt.retry.max_elapsed) {
          char seconds[32];
          std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(spent.count()) / 1000.0);
          throw RegistryError(e.code(),
                              std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                                  (attempt == 1 ? " attempt" : " attempts") + " over " + seconds + " s)",
                              e.http_status(), e.registry_code(), e.registry_message(), false);
        }
        log("retrying " + what + " in " + std::to_string(delay.count()) + " ms (attempt " +
            std::to_string(attempt + 1) + " of " + std::to_string(opt.retry.max_attempts) + "): " + e.what());
        wait(delay);
      }
    }
  }

  // --- ping and auth ------------------------------------------------------------

  /// Sends `req` as is. `trusted` requests (the registry and its token realm)
  /// use Options::ca_file; others (e.g. a redirect to object storage) keep the
  /// system CA store.
  HttpResponse raw(HttpRequest req, bool trusted = true) {
    if (trusted && req.ca_file.empty()) req.ca_file = opt.ca_file;
    if (cancelled()) throw Error(ErrorCode::Cancelled, "cancelled before " + req.method + " " + url_for_log(req.url));
    req.cancelled = opt.cancelled;
    req.low_speed_timeout = opt.stall_timeout;
    // Requests without blob data have a deadline; blob transfers are bounded
    // by the stall timeout (a large layer may take long, but never stalls).
    const bool blob_data = req.on_body || req.body_size < 0 ||
                           static_cast<std::uint64_t>(req.body_size) > oci::kMaxManifestBytes;
    if (!blob_data) req.timeout = opt.request_timeout;
    req.headers.emplace_back("User-Agent", opt.user_agent);
    HttpResponse resp = transport->perform(req);
    log(req.method + " " + url_for_log(req.url) + " -> " + std::to_string(resp.status));
    return resp;
  }

  bool named_insecure(const std::string& registry) {
    std::string host = authority_host(registry);
    for (const auto& e : opt.insecure_registries) {
      std::string x = to_lower(trim(e));
      if (x.find("://") != std::string::npos) x = split_url(x).authority;
      if (x == to_lower(registry) || x == host) return true;
    }
    return false;
  }

  void ensure_ping(RegistryState& st) {
    std::unique_lock lock(st.mu);
    if (st.pinged) return;
    const bool http_ok = plain_http_allowed(st.registry, opt.insecure_registries);
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
      log("registry " + st.registry + " does not speak TLS; using plain HTTP (allowed for loopback/insecure)");
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

  Token fetch_token(RegistryState& st, const std::optional<Credentials>& creds, const std::vector<std::string>& scopes) {
    const std::string realm = st.challenge.params["realm"];
    const std::string service = st.challenge.params["service"];
    if (realm.empty())
      throw RegistryError(ErrorCode::Auth, "registry " + st.registry + " asked for a bearer token without naming a realm");
    // Plain HTTP is waived for the realm's own host (loopback, or named
    // insecure), never because the registry's host is.
    UrlParts rp = split_url(realm);
    if (rp.scheme != "https" && !(rp.scheme == "http" && plain_http_allowed(rp.authority, opt.insecure_registries)))
      throw RegistryError(ErrorCode::Auth, "registry " + st.registry + " names the token realm " +
                                               url_for_log(realm) + ", which is not an https URL; refusing to send "
                                               "credentials there (name " + rp.authority +
                                               " with --insecure-registry only if it is a test server)");
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
                               (user.empty() ? "log in (docker login " + st.registry + ") or pass credentials"
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
      HttpResponse resp = with_retry("token request", [&] {
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
      req.headers.emplace_back("Authorization", "Basic " + base64_encode(creds->username + ":" + creds->password));
    }
    HttpResponse resp = with_retry("token request", [&] {
      HttpResponse x = raw(req);
      if (is_retryable_status(x.status)) fail(st, x, "GET token");
      return x;
    });
    if (resp.status != 200) throw refused(resp);
    return parse(resp);
  }

  /// The Authorization header value for a request needing `scopes`, or "".
  std::string authorization(RegistryState& st, const std::vector<std::string>& scopes, bool force) {
    std::lock_guard lock(st.mu);
    const auto& creds = credentials(st);
    if (st.scheme == "basic") {
      if (creds && !creds->username.empty())
        return "Basic " + base64_encode(creds->username + ":" + creds->password);
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
  HttpResponse send(RegistryState& st, const std::vector<std::string>& scopes,
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

  // --- blobs ----------------------------------------------------------------------

  std::string repo_url(const std::string& base, const std::string& repo, const std::string& rest) {
    return base + "/v2/" + repo + "/" + rest;
  }

  bool head_blob(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                 const std::string& digest) {
    HttpResponse resp = send(st, scopes, [&](const std::string& base) {
      HttpRequest r;
      r.method = "HEAD";
      r.url = repo_url(base, repo, "blobs/" + digest);
      return r;
    });
    if (resp.status == 200) return true;
    if (resp.status == 404) return false;
    fail(st, resp, "HEAD blob " + digest + " in " + repo);
  }

  void check_digest_header(RegistryState& st, const HttpResponse& resp, const std::string& digest,
                           const std::string& what) {
    std::string got = resp.header("docker-content-digest");
    if (!got.empty() && got != digest)
      throw RegistryError(ErrorCode::Registry, "registry " + st.registry + " answered " + what +
                                                   " with Docker-Content-Digest " + got + ", expected " + digest,
                          resp.status, "DIGEST_INVALID");
  }

  /// Sends a request to `url`, a Location the registry handed out (upload
  /// session, mount answer): with the registry's credentials only on the
  /// registry's own origin (scheme, host, port); elsewhere (object storage,
  /// or a hostile redirect) without any.
  HttpResponse send_to_location(RegistryState& st, const std::vector<std::string>& scopes, const std::string& url,
                                const std::function<HttpRequest()>& build) {
    if (same_origin(url, st.base)) return send(st, scopes, [&](const std::string&) { return build(); });
    log("sending " + url_for_log(url) + " without credentials: it is not on " + st.base);
    return raw(build(), /*trusted=*/false);
  }

  struct Counters {
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<unsigned> uploaded{0}, mounted{0}, existing{0};
  };

  void upload_blob(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                   const Descriptorish& blob, BlobSource& source, std::string location, Counters& counters) {
    const std::string& digest = blob.digest;
    std::uint64_t min_chunk = 0;
    if (location.empty()) {
      std::string post_url;
      HttpResponse resp = send(st, scopes, [&](const std::string& base) {
        HttpRequest r;
        r.method = "POST";
        r.url = post_url = repo_url(base, repo, "blobs/uploads/");
        r.body_size = 0;
        return r;
      });
      if (resp.status != 202) fail(st, resp, "starting an upload of " + digest + " to " + repo);
      std::string loc = resp.header("location");
      if (loc.empty())
        throw RegistryError(ErrorCode::Registry, "registry " + st.registry +
                                                     " started an upload without a Location header", resp.status);
      location = resolve_location(post_url, loc);
      min_chunk = parse_min_chunk(resp.header("oci-chunk-min-length"));
    }
    const std::uint64_t size = source.size(digest);
    const std::uint64_t chunk = opt.chunk_size == 0 ? 0 : std::max(opt.chunk_size, min_chunk);
    auto report = [&](std::uint64_t done) { progress(Progress::Phase::Uploading, digest, done, size); };
    HttpResponse resp;
    if (chunk == 0 || size <= chunk) {
      const std::string url = append_query(location, "digest", digest);
      resp = send_to_location(st, scopes, url, [&] {
        HttpRequest r;
        r.method = "PUT";
        r.url = url;
        r.headers.emplace_back("Content-Type", "application/octet-stream");
        r.body_size = static_cast<std::int64_t>(size);
        r.body = stream_body(std::shared_ptr<std::istream>(open_source(source, digest)), size, report, digest);
        return r;
      });
    } else {
      std::uint64_t offset = 0;
      while (offset < size) {
        const std::uint64_t len = std::min(chunk, size - offset);
        const std::string url = location;
        HttpResponse pr = send_to_location(st, scopes, url, [&] {
          HttpRequest r;
          r.method = "PATCH";
          r.url = url;
          r.headers.emplace_back("Content-Type", "application/octet-stream");
          r.headers.emplace_back("Content-Range", std::to_string(offset) + "-" + std::to_string(offset + len - 1));
          r.body_size = static_cast<std::int64_t>(len);
          std::shared_ptr<std::istream> in(open_source(source, digest));
          in->seekg(static_cast<std::streamoff>(offset));
          if (!*in) throw Error(ErrorCode::Io, "cannot seek in blob " + digest + " of the push source");
          const std::uint64_t start = offset;
          r.body = stream_body(in, len, [&report, start](std::uint64_t n) { report(start + n); }, digest);
          return r;
        });
        if (pr.status != 202 && pr.status != 201 && pr.status != 204)
          fail(st, pr, "uploading a chunk of " + digest + " to " + repo);
        if (auto loc = pr.header("location"); !loc.empty()) location = resolve_location(url, loc);
        offset += len;
      }
      const std::string url = append_query(location, "digest", digest);
      resp = send_to_location(st, scopes, url, [&] {
        HttpRequest r;
        r.method = "PUT";
        r.url = url;
        r.headers.emplace_back("Content-Type", "application/octet-stream");
        r.body_size = 0;
        return r;
      });
    }
    if (resp.status != 201 && resp.status != 204) fail(st, resp, "uploading " + digest + " to " + repo);
    check_digest_header(st, resp, digest, "the upload of " + digest);
    counters.bytes += size;
    counters.uploaded++;
    progress(Progress::Phase::Done, digest, size, size);
  }

  void push_blob(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                 const Descriptorish& blob, BlobSource& source, const PushOptions& po, Counters& counters) {
    const std::string& digest = blob.digest;
    progress(Progress::Phase::Checking, digest, 0, blob.size);
    if (with_retry("HEAD " + digest, [&] { return head_blob(st, repo, scopes, digest); })) {
      counters.existing++;
      progress(Progress::Phase::Skipped, digest, blob.size, blob.size);
      return;
    }
    std::string location;
    if (auto src = po.mount_sources.find(digest); src != po.mount_sources.end() && src->second != repo) {
      const std::string from = src->second;
      auto mscopes = scopes;
      mscopes.push_back(repository_scope(from, "pull"));
      try {
        std::string url;
        HttpResponse resp = with_retry("mount " + digest, [&] {
          HttpResponse x = send(st, mscopes, [&](const std::string& base) {
            HttpRequest r;
            r.method = "POST";
            r.url = url = append_query(append_query(repo_url(base, repo, "blobs/uploads/"), "mount", digest), "from", from);
            r.body_size = 0;
            return r;
          });
          if (x.status != 201 && x.status != 202) fail(st, x, "mounting " + digest + " from " + from);
          return x;
        });
        if (resp.status == 201) {
          check_digest_header(st, resp, digest, "the mount of " + digest);
          counters.mounted++;
          progress(Progress::Phase::Mounted, digest, blob.size, blob.size);
          return;
        }
        if (auto loc = resp.header("location"); !loc.empty()) location = resolve_location(url, loc);
        log("registry " + st.registry + " did not mount " + digest + " from " + from + "; uploading it");
      } catch (const RegistryError& e) {
        log("mounting " + digest + " from " + from + " failed, uploading instead: " + e.what());
      }
    }
    int attempt = 0;
    with_retry("upload of " + digest, [&] {
      // After a failed attempt the blob may have arrived all the same (the
      // response was lost): check before sending it again.
      if (attempt++ > 0 && head_blob(st, repo, scopes, digest)) {
        counters.existing++;
        progress(Progress::Phase::Skipped, digest, blob.size, blob.size);
        return 0;
      }
      upload_blob(st, repo, scopes, blob, source, std::exchange(location, std::string()), counters);
      return 0;
    });
  }

  /// Downloads a blob, following redirects (credentials stay with the
  /// registry's host), and verifies its digest and size. `restart` discards
  /// partial data before every (re)try; `write` receives the bytes.
  std::uint64_t download(RegistryState& st, const Reference& ref, const std::vector<std::string>& scopes,
                         const Descriptorish& blob, const std::function<void()>& restart,
                         const std::function<void(const char*, std::size_t)>& write) {
    std::uint64_t size = 0;
    with_retry("download of " + blob.digest, [&] {
      std::shared_ptr<oci::Sha256> hasher;
      auto begin = [&] {
        restart();
        hasher = std::make_shared<oci::Sha256>();
        size = 0;
      };
      auto on_body = [&](const char* data, std::size_t len) {
        // The descriptor's size is the most this blob may be: stop reading
        // the moment a body passes it, before it costs memory or disk.
        if (len > blob.size - size)
          throw RegistryError(ErrorCode::Registry,
                              "blob " + blob.digest + " from " + ref.registry + " is longer than the " +
                                  std::to_string(blob.size) + " bytes its descriptor gives; refusing the rest",
                              0, "SIZE_INVALID");
        write(data, len);
        hasher->write(std::as_bytes(std::span(data, len)));
        size += len;
        progress(Progress::Phase::Downloading, blob.digest, size, blob.size);
      };
      std::string url;
      HttpResponse resp = send(st, scopes, [&](const std::string& base) {
        begin();
        HttpRequest r;
        r.url = url = repo_url(base, ref.repository, "blobs/" + blob.digest);
        r.on_body = on_body;
        return r;
      });
      // Follow redirects (e.g. to object storage); never send the registry's
      // credentials to another host.
      for (int hops = 0; resp.status >= 300 && resp.status < 400 && resp.status != 304; ++hops) {
        std::string loc = resp.header("location");
        if (loc.empty() || hops >= 10)
          throw RegistryError(ErrorCode::Registry, "registry " + ref.registry + " redirected the download of " +
                                                       blob.digest + " without a usable Location", resp.status);
        url = resolve_location(url, loc);
        if (same_origin(url, st.base)) {
          const std::string next = url;
          resp = send(st, scopes, [&](const std::string&) {
            begin();
            HttpRequest r;
            r.url = next;
            r.on_body = on_body;
            return r;
          });
        } else {
          begin();
          HttpRequest r;
          r.url = url;
          r.on_body = on_body;
          resp = raw(std::move(r), /*trusted=*/false);
        }
      }
      if (resp.status != 200) fail(st, resp, "downloading blob " + blob.digest + " from " + ref.name());
      std::string got = hasher->finish();
      if (got != blob.digest || size != blob.size)
        throw RegistryError(ErrorCode::Registry,
                            "blob " + blob.digest + " from " + ref.registry + " arrived with digest " + got + " and " +
                                std::to_string(size) + " bytes (expected " + std::to_string(blob.size) +
                                "): corrupted or truncated in transit",
                            resp.status, "DIGEST_INVALID", {}, true);
      return 0;
    });
    return size;
  }

  void put_manifest(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                    const std::string& identifier, const std::string& media_type, const std::string& bytes,
                    const std::string& digest) {
    progress(Progress::Phase::Manifest, digest, 0, bytes.size());
    with_retry("manifest " + repo + ":" + identifier, [&] {
      HttpResponse resp = send(st, scopes, [&](const std::string& base) {
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
          fail(st, resp, "pushing manifest " + digest + " as " + repo + ":" + identifier);
        } catch (const RegistryError& e) {
          // Registries with immutable tags (ECR) refuse to re-push a tag even
          // with the same content: that is success, not an error.
          if (e.retryable() || e.code() == ErrorCode::Auth || identifier == digest) throw;
          if (manifest_digest_at(st, repo, scopes, identifier) != digest) throw;
          log("tag " + repo + ":" + identifier + " already names " + digest + "; the registry kept it");
          return 0;
        }
      }
      check_digest_header(st, resp, digest, "the manifest push");
      return 0;
    });
  }

  /// The digest `identifier` (tag or digest) names in `repo`, or "" if none.
  std::string manifest_digest_at(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                                 const std::string& identifier) {
    HttpResponse resp = send(st, scopes, [&](const std::string& base) {
      HttpRequest r;
      r.method = "HEAD";
      r.url = repo_url(base, repo, "manifests/" + identifier);
      r.headers.emplace_back("Accept", manifest_accept_header());
      return r;
    });
    if (resp.status == 404) return {};
    if (resp.status != 200) fail(st, resp, "HEAD manifest " + repo + ":" + identifier);
    std::string d = resp.header("docker-content-digest");
    return d.empty() && is_valid_digest(identifier) ? identifier : d;
  }

  /// A child manifest of an index, read from the push source and checked
  /// against its digest: {media type, bytes}.
  static std::pair<std::string, std::string> read_child(BlobSource& source, const Descriptorish& child) {
    std::string bytes = read_all(*open_source(source, child.digest));
    if (oci::sha256_digest(bytes) != child.digest)
      throw Error(ErrorCode::InvalidArgument,
                  "manifest " + child.digest + " read from the push source does not match its digest");
    std::string type =
        oci::document_media_type(parse_doc(bytes, "manifest " + child.digest), child.media_type, "manifest " + child.digest);
    return {std::move(type), std::move(bytes)};
  }

  /// Fetches the manifest or index `ref` names. `declared` is the media type
  /// a referring descriptor claims ("" for none); a document that contradicts
  /// it is refused.
  RawManifest fetch_manifest(const Reference& ref, const std::string& declared) {
    RegistryState& st = state(ref.registry);
    const std::vector<std::string> scopes = {repository_scope(ref.repository, "pull")};
    const std::string id = ref.identifier();
    return with_retry("manifest " + ref.to_string(), [&] {
      HttpResponse resp = send(st, scopes, [&](const std::string& base) {
        HttpRequest r;
        r.url = repo_url(base, ref.repository, "manifests/" + id);
        r.headers.emplace_back("Accept", manifest_accept_header());
        r.max_body = oci::kMaxManifestBytes;
        return r;
      });
      if (resp.status != 200) fail(st, resp, "fetching manifest " + ref.to_string());
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
      m.media_type = oci::document_media_type(parse_doc(m.bytes, what), declared, what);
      return m;
    });
  }

  static void check_index_depth(int depth) {
    if (depth > oci::kMaxIndexDepth)
      throw Error(ErrorCode::InvalidArgument, "the image to push nests indexes deeper than " +
                                                  std::to_string(oci::kMaxIndexDepth) + " levels");
  }

  /// The distinct blobs under a manifest or index.
  static void tree_blobs(const std::string& media_type, const std::string& bytes, BlobSource& source,
                         std::set<std::string>& out, int depth = 0) {
    check_index_depth(depth);
    const nlohmann::json doc = parse_doc(bytes, "manifest " + oci::sha256_digest(bytes));
    if (is_index_type(media_type)) {
      for (const auto& child : descriptors_of(doc, "manifests", "the pushed index")) {
        auto [child_type, child_bytes] = read_child(source, child);
        tree_blobs(child_type, child_bytes, source, out, depth + 1);
      }
    } else {
      for (const auto& b : image_blobs(doc, "the pushed manifest")) out.insert(b.digest);
    }
  }

  /// Collects the blobs of an image manifest, or recursively of an index's
  /// children, pushing children (by digest) after their blobs.
  void push_tree(RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                 const std::string& media_type, const std::string& bytes, const std::string& digest,
                 BlobSource& source, const PushOptions& po, Counters& counters, unsigned& manifests, bool is_root,
                 int depth = 0) {
    check_index_depth(depth);
    const std::string what = is_root ? std::string("the pushed manifest") : "manifest " + digest;
    nlohmann::json doc = parse_doc(bytes, what);
    // A child manifest the registry already holds was accepted with all its
    // blobs: nothing below it needs pushing.
    if (!is_root && with_retry("HEAD manifest " + digest, [&] {
          return manifest_digest_at(st, repo, scopes, digest) == digest;
        })) {
      progress(Progress::Phase::Skipped, digest, bytes.size(), bytes.size());
      return;
    }
    if (is_index_type(media_type)) {
      for (const auto& child : descriptors_of(doc, "manifests", what)) {
        auto [child_type, child_bytes] = read_child(source, child);
        push_tree(st, repo, scopes, child_type, child_bytes, child.digest, source, po, counters, manifests, false,
                  depth + 1);
      }
    } else {
      const std::vector<Descriptorish> unique = image_blobs(doc, what);
      parallel_for(unique.size(), opt.jobs, [&](std::size_t i) {
        push_blob(st, repo, scopes, unique[i], source, po, counters);
      });
    }
    if (!is_root) {
      put_manifest(st, repo, scopes, digest, media_type, bytes, digest);
      ++manifests;
    }
  }
};

Client::Client(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

PushResult Client::push(const Reference& target, const std::string& media_type, const std::string& root,
                        BlobSource& source, const PushOptions& options) {
  auto& im = *impl_;
  nlohmann::json doc = parse_doc(root, "the manifest to push to " + target.to_string());
  const std::string mt = oci::document_media_type(doc, media_type, "the manifest to push to " + target.to_string());
  const std::string digest = oci::sha256_digest(root);
  if (!target.digest.empty() && target.digest != digest)
    throw Error(ErrorCode::InvalidArgument, "cannot push to " + target.to_string() + ": the manifest's digest is " +
                                                digest + "; drop the digest from the reference or push the matching manifest");
  RegistryState& st = im.state(target.registry);
  const std::vector<std::string> scopes = {repository_scope(target.repository, "pull,push")};
  std::vector<std::string> tags;
  if (!target.tag.empty()) tags.push_back(target.tag);
  for (const auto& t : options.extra_tags) {
    if (!is_valid_tag(t)) throw Error(ErrorCode::InvalidArgument, "invalid tag \"" + t + "\"");
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  }
  if (tags.empty()) tags.push_back(digest);
  PushResult result;
  result.digest = digest;
  result.reference = target.name() + (target.tag.empty() ? std::string() : ":" + target.tag) + "@" + digest;
  // An unchanged image: every tag already names this digest. A registry
  // accepts a manifest only once it holds everything the manifest refers to,
  // so there is nothing left to send.
  bool unchanged = false;
  try {
    unchanged = std::all_of(tags.begin(), tags.end(), [&](const std::string& t) {
      return im.with_retry("HEAD manifest " + target.repository + ":" + t,
                           [&] { return im.manifest_digest_at(st, target.repository, scopes, t); }) == digest;
    });
  } catch (const RegistryError& e) {
    im.log("could not check whether " + target.name() + " is up to date (" + e.what() + "); pushing it");
  }
  if (unchanged) {
    std::set<std::string> blobs;
    Impl::tree_blobs(mt, root, source, blobs);
    result.blobs_existing = static_cast<unsigned>(blobs.size());
    im.log("every tag of " + target.name() + " already names " + digest + "; nothing to push");
    return result;
  }
  Impl::Counters counters;
  unsigned manifests = 0;
  im.push_tree(st, target.repository, scopes, mt, root, digest, source, options, counters, manifests, true);
  for (const auto& t : tags) {
    im.put_manifest(st, target.repository, scopes, t, mt, root, digest);
    ++manifests;
  }
  result.bytes_uploaded = counters.bytes;
  result.blobs_uploaded = counters.uploaded;
  result.blobs_mounted = counters.mounted;
  result.blobs_existing = counters.existing;
  result.manifests_pushed = manifests;
  return result;
}

RawManifest Client::get_manifest(const Reference& ref) { return impl_->fetch_manifest(ref, {}); }

bool Client::blob_exists(const Reference& repo, const std::string& digest) {
  auto& im = *impl_;
  RegistryState& st = im.state(repo.registry);
  const std::vector<std::string> scopes = {repository_scope(repo.repository, "pull")};
  return im.with_retry("HEAD " + digest, [&] { return im.head_blob(st, repo.repository, scopes, digest); });
}

PullResult Client::pull(const Reference& ref, BlobSink& sink, const PullOptions& options) {
  auto& im = *impl_;
  RegistryState& st = im.state(ref.registry);
  const std::vector<std::string> scopes = {repository_scope(ref.repository, "pull")};
  PullResult result;
  result.root = get_manifest(ref);

  auto by_digest = [&](const std::string& digest) {
    Reference r = ref;
    r.tag.clear();
    r.digest = digest;
    return r;
  };

  // Manifests first (kept in memory), then blobs, then manifests into the
  // sink, so that a sink never holds a manifest without its blobs.
  std::vector<RawManifest> extra;  // nested indexes handed over too
  std::vector<Descriptorish> blobs;
  std::function<void(const RawManifest&, int)> walk = [&](const RawManifest& m, int depth) {
    if (depth > oci::kMaxIndexDepth)
      throw Error(ErrorCode::InvalidArgument, ref.to_string() + " nests indexes deeper than " +
                                                  std::to_string(oci::kMaxIndexDepth) + " levels; refusing to follow");
    nlohmann::json doc = parse_doc(m.bytes, "manifest " + m.digest);
    const std::string what = "manifest " + m.digest + " of " + ref.to_string();
    if (is_index_type(m.media_type)) {
      auto children = descriptors_of(doc, "manifests", what);
      std::vector<Descriptorish> chosen;
      if (options.platform) {
        for (const auto& c : children)
          if (c.platform && c.platform->satisfies(*options.platform)) {
            chosen.push_back(c);
            break;
          }
        if (chosen.empty()) {
          std::string avail;
          for (const auto& c : children)
            if (c.platform) avail += (avail.empty() ? "" : ", ") + c.platform->to_string();
          throw Error(ErrorCode::NotFound, ref.to_string() + " has no image for platform " +
                                               options.platform->to_string() + "; it offers: " +
                                               (avail.empty() ? std::string("no platforms") : avail));
        }
      } else {
        chosen = children;
      }
      for (const auto& c : chosen) {
        RawManifest child = im.fetch_manifest(by_digest(c.digest), c.media_type);
        if (is_index_type(child.media_type)) extra.push_back(child);
        walk(child, depth + 1);
      }
    } else {
      if (&m != &result.root) result.manifests.push_back(m);
      if (auto c = doc.find("config"); c != doc.end() && c->is_object()) {
        nlohmann::json wrap = {{"c", nlohmann::json::array({*c})}};
        for (auto& d : descriptors_of(wrap, "c", what)) {
          if (d.size > oci::kMaxConfigBytes)
            throw Error(ErrorCode::InvalidArgument, what + ": its config " + d.digest + " has " +
                                                        std::to_string(d.size) + " bytes, more than the " +
                                                        std::to_string(oci::kMaxConfigBytes >> 20) +
                                                        " MiB rustimg reads for an image config");
          blobs.push_back(d);
        }
      }
      for (auto& d : descriptors_of(doc, "layers", what)) blobs.push_back(d);
    }
  };
  walk(result.root, 0);
  if (!is_index_type(result.root.media_type)) {
    result.manifests.insert(result.manifests.begin(), result.root);
    if (options.platform && !blobs.empty()) {
      // A single image: its config says which platform it is for.
      std::string config;
      im.download(st, ref, scopes, blobs.front(), [&] { config.clear(); },
                  [&](const char* data, std::size_t len) { config.append(data, len); });
      auto doc = try_parse_json(config).value_or(nullptr);
      if (doc.is_object() && doc.contains("architecture") && doc["architecture"].is_string()) {
        // Fields of another type count as absent: reading the config judges them.
        auto text = [&](const char* key, const char* absent) {
          const auto it = doc.find(key);
          return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string(absent);
        };
        Platform have;
        have.os = text("os", "linux");
        have.architecture = doc["architecture"].get<std::string>();
        have.variant = text("variant", "");
        try {
          have = parse_platform(have.os + "/" + have.architecture + (have.variant.empty() ? "" : "/" + have.variant));
        } catch (const Error&) {
        }
        if (!have.satisfies(*options.platform))
          throw Error(ErrorCode::NotFound, ref.to_string() + " is a single-platform image for " + have.to_string() +
                                               ", not " + options.platform->to_string() +
                                               "; use a multi-platform base or build for " + have.to_string());
      }
    }
  }

  std::set<std::string> seen;
  std::vector<Descriptorish> unique;
  for (auto& b : blobs)
    if (seen.insert(b.digest).second) unique.push_back(std::move(b));
  std::atomic<std::uint64_t> downloaded{0};

  parallel_for(unique.size(), im.opt.jobs, [&](std::size_t i) {
    const Descriptorish& blob = unique[i];
    if (sink.has(blob.digest)) {
      im.progress(Progress::Phase::Skipped, blob.digest, blob.size, blob.size);
      return;
    }
    TempFile tmp;
    const std::uint64_t size = im.download(
        st, ref, scopes, blob, [&] { tmp.reset(); }, [&](const char* data, std::size_t len) { tmp.write(data, len); });
    std::ifstream in(tmp.path(), std::ios::binary);
    if (!in) throw Error(ErrorCode::Io, "cannot reopen temporary file " + tmp.path());
    sink.put(blob.digest, blob.media_type, in, size);
    downloaded += size;
    im.progress(Progress::Phase::Done, blob.digest, size, size);
  });

  for (const auto& m : result.manifests) {
    if (&m == &result.manifests.front() && !is_index_type(result.root.media_type)) continue;  // root, below
    std::istringstream in(m.bytes);
    sink.put(m.digest, m.media_type, in, m.bytes.size());
  }
  for (const auto& m : extra) {
    std::istringstream in(m.bytes);
    sink.put(m.digest, m.media_type, in, m.bytes.size());
  }
  std::istringstream in(result.root.bytes);
  sink.put(result.root.digest, result.root.media_type, in, result.root.bytes.size());
  result.bytes_downloaded = downloaded;
  return result;
}

}  // namespace rustimg::registry
