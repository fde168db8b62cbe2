// Rules for the image's keys: base, workdir, user, ports, stop-signal, tags,
// healthcheck, assets and ca-certificates.
#include <array>
#include <cctype>
#include <charconv>
#include <climits>

#include "rustimg/reference.hpp"
#include "spec/rules.hpp"
#include "util/crate_path.hpp"

namespace rustimg::spec_rules {
namespace {

/// A portable user or group name: [A-Za-z_][A-Za-z0-9._-]*, at most 32 characters.
bool is_account_name(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  const auto first = static_cast<unsigned char>(text.front());
  if (!std::isalpha(first) && first != '_') return false;
  return std::all_of(text.begin(), text.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  });
}



std::optional<std::string> port_in_range(std::string_view digits, std::string_view protocol, Ctx& c,
                                         const std::string& path) {
  const auto n = parse_digits(digits);
  if (!n || *n < 1 || *n > 65535) {
    c.error(path, "port " + std::string(digits) + " is out of range; use 1-65535");
    return std::nullopt;
  }
  return std::to_string(*n) + "/" + std::string(protocol);
}

/// 8080, "8080", "8080/tcp", "53/udp" -> "8080/tcp" ...
std::optional<std::string> read_port(const json& v, Ctx& c, const std::string& path) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    if (v.is_number_integer() && v.get<std::int64_t>() < 0) return port_in_range(v.dump(), "tcp", c, path);
    return port_in_range(std::to_string(v.get<std::uint64_t>()), "tcp", c, path);
  }
  if (v.is_number_float()) {
    c.error(path, "expected a whole port number, got " + v.dump());
    return std::nullopt;
  }
  if (!v.is_string()) return c.type_error(path, "a number or a string", v);
  const auto s = v.get<std::string>();
  const auto slash = s.find('/');
  const std::string_view number = std::string_view(s).substr(0, slash);
  const std::string_view protocol = slash == std::string::npos ? "tcp" : std::string_view(s).substr(slash + 1);
  if (!all_digits(number)) {
    c.error(path, "expected a port such as 8080, \"8080/tcp\" or \"53/udp\", got " + quote(s));
    return std::nullopt;
  }
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    c.error(path, "unknown protocol " + quote(protocol) + " in " + quote(s) + "; use tcp, udp or sctp");
    return std::nullopt;
  }
  return port_in_range(number, protocol, c, path);
}

/// Linux signal names, without "SIG".
constexpr std::array<std::string_view, 34> kSignalNames = {
    "HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT", "IOT",    "BUS",  "FPE",   "KILL",  "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS", "RTMIN", "RTMAX"};

/// "SIGTERM", "TERM", "SIGRTMIN+3", "15" -> the canonical "SIGTERM", ... or "15".
std::optional<std::string> canonical_signal(std::string_view text) {
  if (all_digits(text)) {
    const auto n = parse_digits(text);
    if (n && *n >= 1 && *n <= 64) return std::to_string(*n);
    return std::nullopt;
  }
  std::string_view name = text.substr(0, 3) == "SIG" ? text.substr(3) : text;
  const bool known = std::find(kSignalNames.begin(), kSignalNames.end(), name) != kSignalNames.end();
  const bool realtime = (name.substr(0, 6) == "RTMIN+" || name.substr(0, 6) == "RTMAX-") && all_digits(name.substr(6));
  if (!known && !realtime) return std::nullopt;
  return "SIG" + std::string(name);
}

std::optional<std::int64_t> read_duration(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  auto ns = parse_go_duration(*s);
  if (!ns) c.error(path, "expected a duration such as \"30s\", \"1m30s\" or \"500ms\", got " + quote(*s));
  return ns;
}

std::optional<std::vector<std::string>> read_health_test(const json& v, Ctx& c, const std::string& path) {
  if (v.is_string()) {
    c.error(path, "a string runs through a shell (CMD-SHELL), which scratch and static images do not have; "
                  "give an array such as [\"CMD\", \"/usr/local/bin/app\", \"--health\"]");
    return std::nullopt;
  }
  auto test = read_string_list(v, c, path);
  if (!test) return std::nullopt;
  if (test->empty()) {
    c.error(path, "must not be empty; use [\"NONE\"] to disable the check");
    return std::nullopt;
  }
  const std::string& kind = test->front();
  if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE") {
    c.error(index_path(path, 0), "must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got " + quote(kind));
    return std::nullopt;
  }
  if (kind != "NONE" && test->size() < 2) {
    c.error(path, quote(kind) + " needs a command after it");
    return std::nullopt;
  }
  return test;
}

constexpr std::array<std::string_view, 5> kHealthKeys = {"test", "interval", "timeout", "start-period", "retries"};

// --- assets -------------------------------------------------------------------

std::optional<std::string> read_asset_source(const json& v, Ctx& c, const std::string& path) {
  auto s = read_nonempty_string(v, c, path);
  if (!s) return std::nullopt;
  if (const crate_path::Lexical source = crate_path::check(*s); !source.problem.empty()) {
    c.error(path, source.problem + "; assets must come from inside it");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> read_asset_dest(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  if (s->empty() || s->front() != '/') {
    c.error(path, "must be an absolute path in the image, got " + quote(*s));
    return std::nullopt;
  }
  const fs::path dest(*s);
  if (std::find(dest.begin(), dest.end(), "..") != dest.end()) {
    c.error(path, "must not contain \"..\", got " + quote(*s));
    return std::nullopt;
  }
  return s;
}

std::optional<std::uint32_t> read_mode(const json& v, Ctx& c, const std::string& path) {
  if (v.is_number()) return read_bounded_uint(v, c, path, "a mode", kMaxMode, "0o7777");
  if (!v.is_string()) return c.type_error(path, "a string or a number", v);
  std::string_view text = v.get_ref<const std::string&>();
  if (text.substr(0, 2) == "0o") text.remove_prefix(2);
  std::uint32_t mode = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || mode > kMaxMode) {
    c.error(path, "expected an octal mode such as \"0644\" or \"0755\", got " + v.dump());
    return std::nullopt;
  }
  return mode;
}

/// "uid", "uid:gid" or an integer uid; the gid defaults to the uid.
std::optional<std::pair<std::uint32_t, std::uint32_t>> read_owner(const json& v, Ctx& c, const std::string& path) {
  if (v.is_number()) {
    auto uid = read_bounded_uint(v, c, path, "a uid", kMaxId, std::to_string(kMaxId));
    if (!uid) return std::nullopt;
    return std::pair{*uid, *uid};
  }
  if (!v.is_string()) return c.type_error(path, "a string or a number", v);
  const auto& s = v.get_ref<const std::string&>();
  const auto colon = s.find(':');
  const std::string_view uid = std::string_view(s).substr(0, colon);
  const std::string_view gid = colon == std::string::npos ? uid : std::string_view(s).substr(colon + 1);
  if (!is_id(uid) || !is_id(gid)) {
    c.error(path, "expected \"uid\" or \"uid:gid\" with numeric ids, got " + quote(s));
    return std::nullopt;
  }
  return std::pair{static_cast<std::uint32_t>(*parse_digits(uid)), static_cast<std::uint32_t>(*parse_digits(gid))};
}

constexpr std::array<std::string_view, 4> kAssetKeys = {"source", "dest", "mode", "owner"};
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kAssetAliases = {
    {{"src", "source"},
     {"from", "source"},
     {"destination", "dest"},
     {"to", "dest"},
     {"permissions", "mode"},
     {"user", "owner"},
     {"chown", "owner"}}};

std::optional<Asset> read_asset(const json& v, Ctx& c, const std::string& path) {
  if (!read_object(v, c, path)) return std::nullopt;
  const std::size_t before = c.diags.size();
  check_keys(v, c, path, KeySet{kAssetKeys, kAssetAliases});
  Asset out;
  for (const char* required : {"source", "dest"}) {
    if (!v.contains(required)) c.error(path, "missing " + quote(required));
  }
  if (v.contains("source")) {
    if (auto s = read_asset_source(v["source"], c, child_path(path, "source"))) out.source = *s;
  }
  if (v.contains("dest")) {
    if (auto d = read_asset_dest(v["dest"], c, child_path(path, "dest"))) out.dest = *d;
  }
  if (v.contains("mode")) out.mode = read_mode(v["mode"], c, child_path(path, "mode"));
  if (v.contains("owner")) {
    if (auto o = read_owner(v["owner"], c, child_path(path, "owner"))) std::tie(out.uid, out.gid) = *o;
  }
  if (c.diags.size() != before) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> read_base(const json& v, Ctx& c, const std::string& path) {
  auto s = read_nonempty_string(v, c, path);
  if (!s || *s == "scratch" || *s == "static") return s;
  try {
    parse_reference(*s);
    return s;
  } catch (const Error& e) {
    c.error(path, e.what());
    return std::nullopt;
  }
}

std::optional<std::string> read_workdir(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (s && (s->empty() || s->front() != '/')) {
    c.error(path, "must be an absolute path, got " + quote(*s));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> read_user(const json& v, Ctx& c, const std::string& path) {
  if (v.is_number()) {
    auto uid = read_bounded_uint(v, c, path, "a uid", kMaxId, std::to_string(kMaxId));
    if (!uid) return std::nullopt;
    return std::to_string(*uid);
  }
  if (!v.is_string()) return c.type_error(path, "a string or a number", v);
  const auto s = v.get<std::string>();
  const auto colon = s.find(':');
  const std::string_view user = std::string_view(s).substr(0, colon);
  const std::string_view group = colon == std::string::npos ? std::string_view("0") : std::string_view(s).substr(colon + 1);
  auto part_ok = [](std::string_view p) { return is_id(p) || is_account_name(p); };
  if (!part_ok(user) || !part_ok(group)) {
    c.error(path, "expected \"name\", \"uid\", \"uid:gid\" or \"name:group\", got " + quote(s));
    return std::nullopt;
  }
  return s;
}
std::optional<std::vector<std::string>> read_ports(const json& v, Ctx& c, const std::string& path) {
  auto list = read_list<std::string>(v, c, path, read_port);
  if (!list) return std::nullopt;
  std::vector<std::string> unique;  // an image exposes a set of ports
  for (auto& p : *list) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
  }
  return unique;
}

std::optional<std::string> read_stop_signal(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_string() && !v.is_number_integer() && !v.is_number_unsigned()) {
    return c.type_error(path, "a string or a number", v);
  }
  const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  auto sig = canonical_signal(text);
  if (!sig) c.error(path, "expected a signal name such as \"SIGTERM\" or a number from 1 to 64, got " + v.dump());
  return sig;
}

std::optional<std::vector<std::string>> read_tags(const json& v, Ctx& c, const std::string& path) {
  return read_list<std::string>(v, c, path, [](const json& item, Ctx& ctx, const std::string& p) {
    auto s = read_string(item, ctx, p);
    if (s && !is_valid_tag(*s)) {
      ctx.error(p, "invalid tag " + quote(*s) +
                       "; use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'");
      return std::optional<std::string>();
    }
    return s;
  });
}

std::optional<std::string> read_repository(const json& v, Ctx& c, const std::string& path) {
  auto s = read_nonempty_string(v, c, path);
  if (!s) return s;
  const std::string fix = "; expected an image repository such as \"ghcr.io/org\" or \"127.0.0.1:5000/team\"";
  if (s->find("://") != std::string::npos) {
    c.error(path, "expected an image repository, not a URL: " + quote(*s) + fix +
                      " (Cargo's [package] repository is the source URL; this is where images are pushed)");
    return std::nullopt;
  }
  const auto last = s->substr(s->rfind('/') + 1);
  if (s->find('@') != std::string::npos || (s->find('/') != std::string::npos && last.find(':') != std::string::npos)) {
    c.error(path, "names a tag or digest: " + quote(*s) + fix + " (the tags come from \"tags\" and the version)");
    return std::nullopt;
  }
  try {
    parse_reference(*s + "/x");
  } catch (const Error& e) {
    c.error(path, "invalid repository " + quote(*s) + ": " + e.what());
    return std::nullopt;
  }
  return s;
}

// --- healthcheck --------------------------------------------------------------

/// Parses a Go duration ("300ms", "1m30s", "1.5h"; no sign) into nanoseconds.
std::optional<std::int64_t> parse_go_duration(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, double>, 8> units = {{
      {"ns", 1.0}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},  // µ (micro sign) and μ (mu)
      {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}};
  double total = 0;
  while (!text.empty()) {
    const auto number_end = text.find_first_not_of("0123456789.");
    const std::string_view number = text.substr(0, number_end);
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) return std::nullopt;
    text.remove_prefix(number.size());
    const auto unit_end = text.find_first_of("0123456789.");
    const std::string_view unit = text.substr(0, unit_end);
    const auto match = std::find_if(units.begin(), units.end(), [&](const auto& u) { return u.first == unit; });
    if (match == units.end()) return std::nullopt;
    text.remove_prefix(unit.size());
    double value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
    total += value * match->second;
  }
  if (total > static_cast<double>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(total);
}

/// The inverse of parse_go_duration, compact: "1m30s", "500ms", "0s".
std::string format_go_duration(std::int64_t ns) {
  constexpr std::int64_t kSecond = 1'000'000'000;
  if (ns == 0) return "0s";
  std::string out;
  const std::int64_t whole = ns / kSecond;
  if (whole / 3600 != 0) out += std::to_string(whole / 3600) + "h";
  if (whole % 3600 / 60 != 0) out += std::to_string(whole % 3600 / 60) + "m";
  if (whole % 60 != 0) out += std::to_string(whole % 60) + "s";
  const std::int64_t rest = ns % kSecond;
  if (rest % 1'000'000 == 0 && rest != 0) out += std::to_string(rest / 1'000'000) + "ms";
  else if (rest % 1000 == 0 && rest != 0) out += std::to_string(rest / 1000) + "us";
  else if (rest != 0) out += std::to_string(rest) + "ns";
  return out;
}

std::optional<oci::HealthConfig> read_healthcheck(const json& v, Ctx& c, const std::string& path) {
  if (!read_object(v, c, path)) return std::nullopt;
  const std::size_t before = c.diags.size();
  check_keys(v, c, path, KeySet{kHealthKeys});
  oci::HealthConfig out;
  if (!v.contains("test")) c.error(path, "missing \"test\"");
  else if (auto t = read_health_test(v["test"], c, child_path(path, "test"))) out.test = *t;
  const std::array<std::pair<const char*, std::int64_t*>, 3> durations = {
      {{"interval", &out.interval_ns}, {"timeout", &out.timeout_ns}, {"start-period", &out.start_period_ns}}};
  for (const auto& [key, field] : durations) {
    if (!v.contains(key)) continue;
    if (auto ns = read_duration(v[key], c, child_path(path, key))) *field = *ns;
  }
  if (v.contains("retries")) {
    const json& r = v["retries"];
    const std::string p = child_path(path, "retries");
    if (!r.is_number()) c.type_error(p, "a number", r);
    else if (auto n = read_bounded_uint(r, c, p, "a whole number", INT_MAX, std::to_string(INT_MAX))) {
      out.retries = static_cast<int>(*n);
    }
  }
  if (c.diags.size() != before) return std::nullopt;
  return out;
}

std::optional<std::vector<Asset>> read_assets(const json& v, Ctx& c, const std::string& path) {
  return read_list<Asset>(v, c, path, read_asset);
}

/// true/false, or a path to a PEM bundle inside the crate directory (kept
/// relative to it; the base layer resolves it there).
void apply_ca_certificates(const json& v, Ctx& c, const std::string& path, Spec& s) {
  if (v.is_boolean()) {
    s.ca_certificates = v.get<bool>();
    s.ca_bundle.clear();
    return;
  }
  if (!v.is_string()) {
    c.type_error(path, "a boolean or a string", v);
    return;
  }
  auto bundle = read_nonempty_string(v, c, path);
  if (!bundle) return;
  const crate_path::Lexical file = crate_path::check(*bundle);
  if (!file.problem.empty()) {
    c.error(path, file.problem + "; " + std::string(crate_path::kCaCertificatesFix));
    return;
  }
  s.ca_certificates = true;
  s.ca_bundle = file.normal.generic_string();
}

/// A PEM public key file inside the crate directory (kept relative to it;
/// the build reads it there, refusing a symlink that leaves the crate).
std::optional<std::string> read_base_key(const json& v, Ctx& c, const std::string& path) {
  auto name = read_nonempty_string(v, c, path);
  if (!name) return std::nullopt;
  const crate_path::Lexical file = crate_path::check(*name);
  if (!file.problem.empty()) {
    c.error(path, file.problem + "; " + std::string(crate_path::kBaseKeyFix));
    return std::nullopt;
  }
  return file.normal.generic_string();
}

/// One path or a list of paths, each checked as "ca-certificates" is (kept
/// relative to the crate directory).
std::optional<std::vector<std::string>> read_extra_ca_certificates(const json& v, Ctx& c, const std::string& path) {
  auto read_one = [](const json& item, Ctx& ctx, const std::string& p) -> std::optional<std::string> {
    auto name = read_nonempty_string(item, ctx, p);
    if (!name) return std::nullopt;
    const crate_path::Lexical file = crate_path::check(*name);
    if (!file.problem.empty()) {
      ctx.error(p, file.problem + "; copy the PEM file into the crate and name it relative to the crate");
      return std::nullopt;
    }
    return file.normal.generic_string();
  };
  if (v.is_string()) {
    auto one = read_one(v, c, path);
    if (!one) return std::nullopt;
    return std::vector<std::string>{*one};
  }
  if (!v.is_array()) return c.type_error(path, "a string or an array of strings", v);
  return read_list<std::string>(v, c, path, read_one);
}

}  // namespace rustimg::spec_rules
