// Pure helpers of the registry client: errors, challenges, scopes, retry
// timing, URLs and hashing. No network I/O here.

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "registry/internal.hpp"
#include "rustimg/json.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry {

using namespace detail;

// --- errors ---------------------------------------------------------------------

bool is_retryable_status(int status) noexcept {
  switch (status) {
    case 408: case 429: case 499: case 500: case 502: case 503: case 504: case 522:
      return true;
    default:
      return false;
  }
}

bool RegistryError::retryable() const noexcept {
  if (transient_) return true;
  if (is_retryable_status(http_status_)) return true;
  return registry_code_ == "TOOMANYREQUESTS" || registry_code_ == "UNAVAILABLE" ||
         registry_code_ == "BLOB_UPLOAD_INVALID";
}

std::vector<RegistryErrorEntry> parse_error_body(std::string_view body) {
  std::vector<RegistryErrorEntry> out;
  auto doc = try_parse_json(body).value_or(nullptr);
  if (doc.is_discarded() || !doc.is_object()) return out;
  auto it = doc.find("errors");
  if (it == doc.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    RegistryErrorEntry entry;
    if (auto c = e.find("code"); c != e.end() && c->is_string()) entry.code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string()) entry.message = m->get<std::string>();
    if (auto d = e.find("detail"); d != e.end() && !d->is_null()) {
      entry.detail = d->is_string() ? d->get<std::string>() : d->dump();
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// --- WWW-Authenticate ----------------------------------------------------------

std::vector<Challenge> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  const auto n = h.size();
  auto skip_ws = [&] {
    while (i < n && (h[i] == ' ' || h[i] == '\t')) ++i;
  };
  auto is_tchar = [](char c) {
    return c != ' ' && c != '\t' && c != ',' && c != '=' && c != '"';
  };
  while (i < n) {
    skip_ws();
    if (i < n && h[i] == ',') {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < n && is_tchar(h[i])) ++i;
    if (start == i) {  // stray character
      ++i;
      continue;
    }
    std::string token(h.substr(start, i - start));
    std::size_t after = i;
    skip_ws();
    if (i < n && h[i] == '=' && !out.empty()) {
      ++i;
      skip_ws();
      std::string value;
      if (i < n && h[i] == '"') {
        ++i;
        while (i < n && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < n) ++i;
          value += h[i++];
        }
        if (i < n) ++i;  // closing quote
      } else {
        std::size_t vs = i;
        while (i < n && h[i] != ',' && h[i] != ' ' && h[i] != '\t') ++i;
        value = std::string(h.substr(vs, i - vs));
      }
      out.back().params[to_lower(token)] = value;
    } else {
      i = after;
      Challenge c;
      c.scheme = to_lower(token);
      out.push_back(std::move(c));
      // A token68 credential ("Negotiate abc==") may follow the scheme; an
      // auth-param ("realm=...") looks alike up to the '='.
      skip_ws();
      std::size_t ts = i;
      while (i < n && (std::isalnum(static_cast<unsigned char>(h[i])) ||
                       std::string_view("-._~+/").find(h[i]) != std::string_view::npos))
        ++i;
      std::size_t te = i;
      while (i < n && h[i] == '=') ++i;
      skip_ws();
      bool token68 = te > ts && (i >= n || h[i] == ',');
      if (!token68) i = ts;
    }
  }
  return out;
}

namespace {

struct ParsedScope {
  std::string type, name;
  std::vector<std::string> actions;
};

std::optional<ParsedScope> parse_scope(const std::string& s) {
  auto first = s.find(':');
  auto last = s.rfind(':');
  if (first == std::string::npos || last == first) return std::nullopt;
  ParsedScope p;
  p.type = s.substr(0, first);
  p.name = s.substr(first + 1, last - first - 1);
  std::string acts = s.substr(last + 1);
  std::size_t pos = 0;
  while (pos <= acts.size()) {
    auto comma = acts.find(',', pos);
    if (comma == std::string::npos) comma = acts.size();
    if (comma > pos) p.actions.push_back(acts.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return p;
}

std::string format_scope(const ParsedScope& p) {
  std::string acts;
  for (const auto& a : p.actions) {
    if (!acts.empty()) acts += ',';
    acts += a;
  }
  return p.type + ":" + p.name + ":" + acts;
}

}  // namespace

std::string repository_scope(const std::string& repository, const std::string& actions) {
  return "repository:" + repository + ":" + actions;
}

std::vector<std::string> merge_scopes(const std::vector<std::string>& scopes,
                                      const std::vector<std::string>& add) {
  std::vector<std::string> front;
  std::vector<std::string> rest = scopes;
  for (const auto& a : add) {
    auto pa = parse_scope(a);
    bool merged = false;
    if (pa) {
      for (auto it = rest.begin(); it != rest.end(); ++it) {
        auto pe = parse_scope(*it);
        if (pe && pe->type == pa->type && pe->name == pa->name) {
          for (const auto& act : pa->actions) {
            if (std::find(pe->actions.begin(), pe->actions.end(), act) == pe->actions.end())
              pe->actions.push_back(act);
          }
          front.push_back(format_scope(*pe));
          rest.erase(it);
          merged = true;
          break;
        }
      }
    }
    if (!merged && std::find(front.begin(), front.end(), a) == front.end()) front.push_back(a);
  }
  front.insert(front.end(), rest.begin(), rest.end());
  return front;
}

// --- retries ------------------------------------------------------------------------

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double unit_random) {
  double base = static_cast<double>(policy.initial_delay.count());
  double cap = static_cast<double>(policy.max_delay.count());
  double d = base * std::pow(2.0, std::clamp(retry, 0, 30));
  d = std::min(d, cap);
  double jitter = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(d * jitter));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                            std::chrono::system_clock::time_point now) {
  std::string v = trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    return std::chrono::milliseconds(std::stoll(v) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  // Compared in seconds first: a date past 2262 does not fit the clock's
  // nanoseconds. Like a huge delta-seconds, far ahead means "a year".
  const std::chrono::seconds when(static_cast<std::int64_t>(timegm(&tm)));
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (when <= now_s) return std::chrono::milliseconds(0);
  if (when - now_s >= std::chrono::hours(24 * 365)) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now.time_since_epoch());
}

// --- URLs ----------------------------------------------------------------------------

namespace detail {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
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

UrlParts split_url(const std::string& url) {
  UrlParts p;
  auto colon = url.find("://");
  if (colon == std::string::npos) return p;
  p.scheme = to_lower(url.substr(0, colon));
  auto rest = url.substr(colon + 3);
  auto frag = rest.find('#');
  if (frag != std::string::npos) rest.resize(frag);
  auto slash = rest.find_first_of("/?");
  p.authority = rest.substr(0, slash);
  if (slash == std::string::npos) return p;
  auto tail = rest.substr(slash);
  auto q = tail.find('?');
  p.path = tail.substr(0, q);
  if (q != std::string::npos) p.query = tail.substr(q + 1);
  return p;
}

bool same_origin(const std::string& url, const std::string& other) {
  auto origin = [](const std::string& u) -> std::string {
    const UrlParts p = split_url(u);
    if ((p.scheme != "http" && p.scheme != "https") || p.authority.empty() ||
        p.authority.find('@') != std::string::npos)
      return {};
    std::string port = p.scheme == "https" ? "443" : "80";
    const auto close = p.authority.rfind(']');
    const auto colon = p.authority.rfind(':');
    if (colon != std::string::npos && (close == std::string::npos || colon > close) &&
        (p.authority[0] == '[' || p.authority.find(':') == colon) && colon + 1 < p.authority.size())
      port = p.authority.substr(colon + 1);
    return p.scheme + "://" + authority_host(p.authority) + ":" + port;
  };
  const std::string a = origin(url);
  return !a.empty() && a == origin(other);
}

std::string authority_host(const std::string& authority) {
  std::string a = authority;
  auto at = a.rfind('@');
  if (at != std::string::npos) a = a.substr(at + 1);
  if (!a.empty() && a[0] == '[') {
    auto close = a.find(']');
    return to_lower(a.substr(1, close == std::string::npos ? std::string::npos : close - 1));
  }
  auto colon = a.find(':');
  if (colon != std::string::npos && a.find(':', colon + 1) == std::string::npos) a.resize(colon);
  return to_lower(a);
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string url_for_log(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q);
}

bool is_loopback_host(const std::string& host) {
  std::string h = to_lower(host);
  if (h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  if (h.size() > 10 && h.ends_with(".localhost")) return true;
  return h.rfind("127.", 0) == 0 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || c == '.';
         });
}



}  // namespace detail

std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.empty()) return base_url;
  // Absolute: a scheme followed by ':'.
  auto colon = location.find(':');
  auto slash = location.find('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon < slash) && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(location[0]))) {
    bool scheme_ok = std::all_of(location.begin(), location.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
    if (scheme_ok) return location;
  }
  UrlParts base = split_url(base_url);
  if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
  std::string origin = base.scheme + "://" + base.authority;
  if (location[0] == '/') return origin + location;
  if (location[0] == '?') return origin + (base.path.empty() ? "/" : base.path) + location;
  std::string dir = base.path;
  auto last = dir.rfind('/');
  dir = last == std::string::npos ? std::string("/") : dir.substr(0, last + 1);
  std::string merged = dir + location;
  // Remove "./" and "../" segments (RFC 3986 5.2.4), path part only.
  std::string path = merged, query;
  if (auto q = merged.find('?'); q != std::string::npos) {
    path = merged.substr(0, q);
    query = merged.substr(q);
  }
  std::vector<std::string> segs;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string seg = path.substr(pos, next - pos);
    bool last_seg = next == path.size();
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      if (last_seg) segs.emplace_back();
    } else if (seg == ".") {
      if (last_seg) segs.emplace_back();
    } else {
      segs.push_back(seg);
    }
    pos = next + 1;
  }
  std::string out;
  for (const auto& s : segs) out += "/" + s;
  if (out.empty()) out = "/";
  return origin + out + query;
}

std::string append_query(const std::string& url, const std::string& key, const std::string& value) {
  std::string sep = url.find('?') == std::string::npos ? "?" : (url.back() == '?' || url.back() == '&' ? "" : "&");
  return url + sep + key + "=" + percent_encode(value);
}

bool plain_http_allowed(const std::string& registry, const std::vector<std::string>& insecure) {
  std::string reg = to_lower(registry);
  std::string host = authority_host(reg);
  for (const auto& entry : insecure) {
    std::string e = to_lower(trim(entry));
    if (e.find("://") != std::string::npos) e = split_url(e).authority;
    if (e == reg || e == host) return true;
  }
  return is_loopback_host(host);
}

std::string api_host(const std::string& registry) {
  if (registry == "docker.io" || registry == "index.docker.io") return "registry-1.docker.io";
  return registry;
}

}  // namespace rustimg::registry
