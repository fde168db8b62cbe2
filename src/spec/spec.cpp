// The image spec: schema, validation with JSON-path diagnostics, merging of
// the sources and resolution into a Spec.
//
// How it works: the layers are applied in order (lowest first) onto one Spec
// that starts with the defaults. Each top-level key has one rule that checks
// its value and, when it is valid, writes it into the Spec: scalar and list
// keys replace what a lower layer set, map keys (env, labels, annotations,
// target) insert entry by entry. Every problem is recorded as a diagnostic
// naming the layer and the JSON path, and validation carries on, so one
// SpecError lists them all. Checks that span keys (platforms vs. targets vs.
// libc, derived defaults) run once all layers are applied.
#include "rustimg/spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "rustimg/cargo.hpp"
#include "rustimg/json.hpp"
#include "rustimg/reference.hpp"
#include "util/crate_path.hpp"

namespace rustimg {

const char* to_string(Compression c) noexcept {
  switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    case Compression::None: return "none";
  }
  return "gzip";
}

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint32_t kMaxId = 4294967294U;  // (uid_t)-1 means "no change" to the kernel
constexpr std::uint32_t kMaxMode = 07777;
constexpr std::string_view kDefaultUser = "65532:65532";
constexpr std::string_view kDefaultsSource = "defaults";

// ===========================================================================
// Diagnostics
// ===========================================================================

/// `text` as a JSON string literal, for echoing input in messages.
std::string quote(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

/// "a string", "a number", "a boolean", "an array", "an object", "null".
std::string type_phrase(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "null";
  }
}

/// `$.env.PORT`, or `$.labels["org.example.x"]` when the key needs quoting.
std::string child_path(const std::string& parent, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
  });
  return plain ? parent + "." + std::string(key) : parent + "[" + quote(key) + "]";
}

std::string index_path(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

/// Where diagnostics go while one layer is applied.
struct Ctx {
  std::string source;
  std::vector<SpecDiagnostic>& diags;
  const fs::path& crate_dir;

  void error(const std::string& path, std::string message) {
    diags.push_back(SpecDiagnostic{source, path, std::move(message)});
  }
  /// Records "expected <what>, got <type of v>"; returns nullopt for chaining.
  std::nullopt_t type_error(const std::string& path, std::string_view what, const json& v) {
    error(path, "expected " + std::string(what) + ", got " + type_phrase(v));
    return std::nullopt;
  }
};

// ===========================================================================
// Unknown keys and "did you mean"
// ===========================================================================

/// Keys valid in one JSON object, plus names people are likely to type
/// instead (Docker/compose vocabulary) mapped to the key they mean.
struct KeySet {
  std::span<const std::string_view> keys;
  std::span<const std::pair<std::string_view, std::string_view>> aliases = {};
};

/// "size_optimize", "sizeOptimize", "Size-Optimize" -> "size-optimize".
std::string kebab_case(std::string_view key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto ch = static_cast<unsigned char>(key[i]);
    if (std::isupper(ch) && i > 0 && std::islower(static_cast<unsigned char>(key[i - 1]))) out += '-';
    out += ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
  }
  return out;
}

/// Edit distance counting an adjacent transposition as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

/// The valid key `unknown` was probably meant to be, if one is close enough.
std::optional<std::string_view> suggest_key(std::string_view unknown, const KeySet& set) {
  const std::string wanted = kebab_case(unknown);
  std::optional<std::string_view> best;
  std::size_t best_distance = SIZE_MAX;
  auto consider = [&](std::string_view name, std::string_view meant) {
    const std::size_t distance = edit_distance(wanted, name);
    if (distance <= std::max<std::size_t>(1, name.size() / 3) && distance < best_distance) {
      best = meant;
      best_distance = distance;
    }
  };
  for (const auto key : set.keys) consider(key, key);
  for (const auto& [alias, key] : set.aliases) consider(alias, key);
  return best;
}

void check_keys(const json& obj, Ctx& c, const std::string& path, const KeySet& set) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(set.keys.begin(), set.keys.end(), key) != set.keys.end()) continue;
    std::string message = "unknown key";
    if (const auto meant = suggest_key(key, set)) {
      message += "; did you mean " + quote(*meant) + "?";
    } else if (set.keys.size() <= 6) {
      message += "; expected one of:";
      for (const auto k : set.keys) message += " " + std::string(k);
    }
    c.error(child_path(path, key), message);
  }
}

// ===========================================================================
// Readers for JSON values: each checks one value and returns it converted,
// or records a diagnostic and returns nullopt.
// ===========================================================================

std::optional<std::string> read_string(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_string()) return c.type_error(path, "a string", v);
  return v.get<std::string>();
}

std::optional<std::string> read_nonempty_string(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (s && s->empty()) {
    c.error(path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> read_bool(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_boolean()) return c.type_error(path, "a boolean", v);
  return v.get<bool>();
}

const json* read_object(const json& v, Ctx& c, const std::string& path) {
  if (!v.is_object()) {
    c.type_error(path, "an object", v);
    return nullptr;
  }
  return &v;
}

/// An array whose elements are each read by `read_one`; nullopt if any fails.
template <class T, class ReadOne>
std::optional<std::vector<T>> read_list(const json& v, Ctx& c, const std::string& path, ReadOne read_one) {
  if (!v.is_array()) return c.type_error(path, "an array", v);
  std::vector<T> out;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::optional<T> item = read_one(v[i], c, index_path(path, i));
    if (item) out.push_back(std::move(*item));
    ok = ok && item.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> read_string_list(const json& v, Ctx& c, const std::string& path) {
  return read_list<std::string>(v, c, path, read_string);
}

/// entrypoint/cmd: an array of strings, or one string meaning one element.
std::optional<std::vector<std::string>> read_command(const json& v, Ctx& c, const std::string& path) {
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array()) return c.type_error(path, "an array of strings or a string", v);
  return read_string_list(v, c, path);
}

using KeyCheck = bool (*)(std::string_view);

/// An object of strings; each key must pass `key_ok`, else `key_problem`.
std::optional<std::map<std::string, std::string>> read_string_map(const json& v, Ctx& c,
                                                                  const std::string& path, KeyCheck key_ok,
                                                                  std::string_view key_problem) {
  if (!v.is_object()) return c.type_error(path, "an object", v);
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& [key, value] : v.items()) {
    const std::string item_path = child_path(path, key);
    if (!key_ok(key)) {
      c.error(item_path, std::string(key_problem));
      ok = false;
    }
    auto s = read_string(value, c, item_path);
    if (s) out[key] = std::move(*s);
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  });
}
bool is_nonempty(std::string_view name) { return !name.empty(); }

constexpr std::string_view kBadEnvName = "invalid variable name; use letters, digits and '_', not starting with a digit";

std::optional<std::map<std::string, std::string>> read_env(const json& v, Ctx& c, const std::string& path) {
  return read_string_map(v, c, path, is_env_name, kBadEnvName);
}

std::optional<std::map<std::string, std::string>> read_labels(const json& v, Ctx& c, const std::string& path) {
  return read_string_map(v, c, path, is_nonempty, "the name must not be empty");
}

/// One of `choices`, e.g. compression or libc.
std::optional<std::string> read_choice(const json& v, Ctx& c, const std::string& path,
                                       std::initializer_list<std::string_view> choices) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::string expected;
  std::size_t i = 0;
  for (const auto choice : choices) {
    expected += (i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ")) + quote(choice);
    ++i;
  }
  c.error(path, "expected " + expected + ", got " + quote(*s));
  return std::nullopt;
}

std::optional<Libc> read_libc(const json& v, Ctx& c, const std::string& path) {
  const auto name = read_choice(v, c, path, {"gnu", "musl"});
  return name ? parse_libc(*name) : std::nullopt;
}

std::optional<Compression> read_compression(const json& v, Ctx& c, const std::string& path) {
  const auto name = read_choice(v, c, path, {"gzip", "zstd", "none"});
  if (!name) return std::nullopt;
  if (*name == "zstd") return Compression::Zstd;
  if (*name == "none") return Compression::None;
  return Compression::Gzip;
}

/// A compression level, 1..19 (gzip's limit of 9 is checked once the
/// compression is known: see check_compression_level).
std::optional<int> read_compression_level(const json& v, Ctx& c, const std::string& path) {
  if ((v.is_number_integer() || v.is_number_unsigned()) && v.get<std::int64_t>() >= 1 &&
      v.get<std::int64_t>() <= kZstdMaxLevel)
    return static_cast<int>(v.get<std::int64_t>());
  c.error(path, "expected a compression level between 1 and " + std::to_string(kZstdMaxLevel) +
                    " (gzip: 1 to " + std::to_string(kGzipMaxLevel) + "), got " + v.dump());
  return std::nullopt;
}

/// A string made only of decimal digits, as an unsigned value (nullopt on overflow).
std::optional<std::uint64_t> parse_digits(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// ===========================================================================
// Rules for individual keys
// ===========================================================================

std::optional<std::string> read_profile(const json& v, Ctx& c, const std::string& path) {
  auto s = read_nonempty_string(v, c, path);
  if (s && !std::all_of(s->begin(), s->end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      })) {
    c.error(path, "invalid profile name " + quote(*s) + "; use letters, digits, '-' and '_'");
    return std::nullopt;
  }
  return s;
}

std::string known_triples() {
  std::string out;
  for (const auto& t : rust_targets()) out += (out.empty() ? "" : ", ") + t.triple;
  return out;
}

std::string unknown_triple_message(std::string_view triple) {
  return "unknown target triple " + quote(triple) + "; rustimg builds Linux images for: " + known_triples();
}

std::optional<Platform> read_platform(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (!s) return std::nullopt;
  try {
    return parse_platform(*s);
  } catch (const Error& e) {
    c.error(path, e.what());
    return std::nullopt;
  }
}

std::optional<std::string> read_triple(const json& v, Ctx& c, const std::string& path) {
  auto s = read_string(v, c, path);
  if (s && !find_rust_target(*s)) {
    c.error(path, unknown_triple_message(*s));
    return std::nullopt;
  }
  return s;
}

/// A non-empty list without repeats; `name` renders an item for messages.
template <class T, class Name>
bool check_nonempty_unique(const std::vector<T>& items, Ctx& c, const std::string& path, std::string_view what,
                           Name name) {
  if (items.empty()) {
    c.error(path, "must list at least one " + std::string(what));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 1; i < items.size(); ++i) {
    if (std::find(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(i), items[i]) !=
        items.begin() + static_cast<std::ptrdiff_t>(i)) {
      c.error(index_path(path, i), "repeats " + name(items[i]) + "; list each " + std::string(what) + " once");
      ok = false;
    }
  }
  return ok;
}

std::optional<std::vector<Platform>> read_platforms(const json& v, Ctx& c, const std::string& path) {
  auto list = read_list<Platform>(v, c, path, read_platform);
  if (list && !check_nonempty_unique(*list, c, path, "platform", [](const Platform& p) { return p.to_string(); })) {
    return std::nullopt;
  }
  return list;
}

std::optional<std::vector<std::string>> read_targets(const json& v, Ctx& c, const std::string& path) {
  auto list = read_list<std::string>(v, c, path, read_triple);
  if (list && !check_nonempty_unique(*list, c, path, "target", quote)) return std::nullopt;
  return list;
}

constexpr std::array<std::string_view, 3> kTargetKeys = {"linker", "rustflags", "env"};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kTargetAliases = {
    {{"rust-flags", "rustflags"}, {"environment", "env"}}};

std::optional<TargetSettings> read_target_settings(const json& v, Ctx& c, const std::string& path) {
  if (!read_object(v, c, path)) return std::nullopt;
  const std::size_t before = c.diags.size();
  check_keys(v, c, path, KeySet{kTargetKeys, kTargetAliases});
  TargetSettings out;
  if (v.contains("linker")) {
    if (auto s = read_nonempty_string(v["linker"], c, child_path(path, "linker"))) out.linker = *s;
  }
  if (v.contains("rustflags")) {
    if (auto l = read_string_list(v["rustflags"], c, child_path(path, "rustflags"))) out.rustflags = *l;
  }
  if (v.contains("env")) {
    if (auto m = read_env(v["env"], c, child_path(path, "env"))) out.env = *m;
  }
  if (c.diags.size() != before) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, TargetSettings>> read_target_table(const json& v, Ctx& c,
                                                                       const std::string& path) {
  if (!read_object(v, c, path)) return std::nullopt;
  std::map<std::string, TargetSettings> out;
  bool ok = true;
  for (const auto& [triple, settings] : v.items()) {
    const std::string item_path = child_path(path, triple);
    if (!find_rust_target(triple)) {
      c.error(item_path, unknown_triple_message(triple));
      ok = false;
    }
    auto parsed = read_target_settings(settings, c, item_path);
    if (parsed) out[triple] = std::move(*parsed);
    ok = ok && parsed.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

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

bool is_id(std::string_view text) {
  const auto n = parse_digits(text);
  return n && *n <= kMaxId;
}

/// A portable user or group name: [A-Za-z_][A-Za-z0-9._-]*, at most 32 characters.
bool is_account_name(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  const auto first = static_cast<unsigned char>(text.front());
  if (!std::isalpha(first) && first != '_') return false;
  return std::all_of(text.begin(), text.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  });
}

/// An integer in [0, max], or a diagnostic "expected <what> between 0 and max, got v".
std::optional<std::uint32_t> read_bounded_uint(const json& v, Ctx& c, const std::string& path, std::string_view what,
                                               std::uint32_t max, std::string_view max_text) {
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= max) return static_cast<std::uint32_t>(v.get<std::uint64_t>());
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= max) {
    return static_cast<std::uint32_t>(v.get<std::int64_t>());
  }
  c.error(path, "expected " + std::string(what) + " between 0 and " + std::string(max_text) + ", got " + v.dump());
  return std::nullopt;
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

std::optional<std::vector<std::string>> read_ports(const json& v, Ctx& c, const std::string& path) {
  auto list = read_list<std::string>(v, c, path, read_port);
  if (!list) return std::nullopt;
  std::vector<std::string> unique;  // an image exposes a set of ports
  for (auto& p : *list) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
  }
  return unique;
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

std::optional<Healthcheck> read_healthcheck(const json& v, Ctx& c, const std::string& path) {
  if (!read_object(v, c, path)) return std::nullopt;
  const std::size_t before = c.diags.size();
  check_keys(v, c, path, KeySet{kHealthKeys});
  Healthcheck out;
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

// ===========================================================================
// The key table
// ===========================================================================

template <class T>
void assign(T& field, std::optional<T> value) {
  if (value) field = std::move(*value);
}

template <class K, class V>
void merge(std::map<K, V>& field, std::optional<std::map<K, V>> value) {
  if (!value) return;
  for (auto& [k, v] : *value) field.insert_or_assign(k, std::move(v));
}

using Apply = void (*)(const json& value, Ctx& c, const std::string& path, Spec& spec);

struct Rule {
  std::string_view key;
  Apply apply;
};

#define RUSTIMG_RULE(KEY, BODY) \
  Rule { KEY, [](const json& v, Ctx& c, const std::string& p, Spec& s) { BODY; } }

const std::array kRules = {
    RUSTIMG_RULE("package", assign(s.package, read_nonempty_string(v, c, p))),
    RUSTIMG_RULE("bin", assign(s.bin, read_nonempty_string(v, c, p))),
    RUSTIMG_RULE("profile", assign(s.profile, read_profile(v, c, p))),
    RUSTIMG_RULE("features", assign(s.features, read_string_list(v, c, p))),
    RUSTIMG_RULE("default-features", assign(s.default_features, read_bool(v, c, p))),
    RUSTIMG_RULE("all-features", assign(s.all_features, read_bool(v, c, p))),
    RUSTIMG_RULE("size-optimize", assign(s.size_optimize, read_bool(v, c, p))),
    RUSTIMG_RULE("libc", assign(s.libc, read_libc(v, c, p))),
    RUSTIMG_RULE("platforms", assign(s.platforms, read_platforms(v, c, p))),
    RUSTIMG_RULE("targets", assign(s.targets, read_targets(v, c, p))),
    RUSTIMG_RULE("target", merge(s.target, read_target_table(v, c, p))),
    RUSTIMG_RULE("locked", assign(s.locked, read_bool(v, c, p))),
    RUSTIMG_RULE("offline", assign(s.offline, read_bool(v, c, p))),
    RUSTIMG_RULE("base", assign(s.base, read_base(v, c, p))),
    RUSTIMG_RULE("entrypoint", assign(s.entrypoint, read_command(v, c, p))),
    RUSTIMG_RULE("cmd", assign(s.cmd, read_command(v, c, p))),
    RUSTIMG_RULE("env", merge(s.env, read_env(v, c, p))),
    RUSTIMG_RULE("workdir", assign(s.workdir, read_workdir(v, c, p))),
    RUSTIMG_RULE("user", assign(s.user, read_user(v, c, p))),
    RUSTIMG_RULE("ports", assign(s.ports, read_ports(v, c, p))),
    RUSTIMG_RULE("labels", merge(s.labels, read_labels(v, c, p))),
    RUSTIMG_RULE("annotations", merge(s.annotations, read_labels(v, c, p))),
    RUSTIMG_RULE("stop-signal", assign(s.stop_signal, read_stop_signal(v, c, p))),
    RUSTIMG_RULE("healthcheck", if (auto h = read_healthcheck(v, c, p)) s.healthcheck = std::move(*h)),
    RUSTIMG_RULE("tags", assign(s.tags, read_tags(v, c, p))),
    RUSTIMG_RULE("compression", assign(s.compression, read_compression(v, c, p))),
    RUSTIMG_RULE("compression-level", assign(s.compression_level, read_compression_level(v, c, p))),
    RUSTIMG_RULE("assets", assign(s.assets, read_assets(v, c, p))),
    RUSTIMG_RULE("ca-certificates", apply_ca_certificates(v, c, p, s)),
    RUSTIMG_RULE("tzdata", assign(s.tzdata, read_bool(v, c, p))),
};

#undef RUSTIMG_RULE

const std::vector<std::string_view>& top_level_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& rule : kRules) out.push_back(rule.key);
    return out;
  }();
  return keys;
}

constexpr std::array<std::pair<std::string_view, std::string_view>, 23> kTopLevelAliases = {{
    {"environment", "env"},         {"expose", "ports"},
    {"exposed-ports", "ports"},     {"port", "ports"},
    {"label", "labels"},            {"annotation", "annotations"},
    {"tag", "tags"},                {"feature", "features"},
    {"asset", "assets"},            {"platform", "platforms"},
    {"entry-point", "entrypoint"},  {"command", "cmd"},
    {"working-dir", "workdir"},     {"working-directory", "workdir"},
    {"workingdir", "workdir"},      {"base-image", "base"},
    {"from", "base"},               {"stopsignal", "stop-signal"},
    {"health-check", "healthcheck"}, {"ca-certs", "ca-certificates"},
    {"binary", "bin"},              {"crate", "package"},
    {"triples", "targets"},
}};

// ===========================================================================
// Resolution
// ===========================================================================

/// For each top-level key, the layer whose value is in effect.
using Origins = std::map<std::string, std::string, std::less<>>;

std::string origin_of(const Origins& origins, std::string_view key) {
  const auto it = origins.find(key);
  return it == origins.end() ? std::string(kDefaultsSource) : it->second;
}

Spec default_spec() {
  Spec s;
  s.platforms = {host_platform()};
  s.user = std::string(kDefaultUser);
  return s;
}

void apply_layer(const SpecLayer& layer, Spec& spec, Origins& origins, std::vector<SpecDiagnostic>& diags,
                 const fs::path& crate_dir) {
  Ctx c{layer.name, diags, crate_dir};
  if (layer.value.is_null()) return;
  if (!read_object(layer.value, c, "$")) return;
  check_keys(layer.value, c, "$", KeySet{top_level_keys(), kTopLevelAliases});
  for (const auto& rule : kRules) {
    const auto it = layer.value.find(rule.key);
    // A top-level null means "not set here": the lower layers (or the default) stay.
    if (it == layer.value.end() || it->is_null()) continue;
    const std::size_t before = diags.size();
    rule.apply(*it, c, child_path("$", rule.key), spec);
    if (diags.size() == before) origins[std::string(rule.key)] = layer.name;
  }
}

/// targets given: platforms follow from them, and libc must agree with them.
void resolve_from_targets(Spec& spec, const Origins& origins, std::vector<SpecDiagnostic>& diags) {
  const bool libc_set = origins.count("libc") != 0;
  spec.platforms.clear();
  for (std::size_t i = 0; i < spec.targets.size(); ++i) {
    const RustTarget target = *find_rust_target(spec.targets[i]);
    spec.platforms.push_back(target.platform);
    if (!libc_set && i == 0) spec.libc = target.libc;
    if (libc_set && target.libc != spec.libc) {
      diags.push_back({origin_of(origins, "targets"), index_path("$.targets", i),
                       quote(target.triple) + " is a " + libc_name(target.libc) + " target but libc is " +
                           quote(libc_name(spec.libc)) + " (from " + origin_of(origins, "libc") +
                           "); remove libc or list " + libc_name(spec.libc) + " targets"});
    }
  }
}

/// platforms given (or the default): each maps to the Rust target for libc.
void resolve_from_platforms(Spec& spec, const Origins& origins, std::vector<SpecDiagnostic>& diags) {
  spec.targets.clear();
  for (std::size_t i = 0; i < spec.platforms.size(); ++i) {
    try {
      spec.targets.push_back(rust_target_for(spec.platforms[i], spec.libc).triple);
    } catch (const Error& e) {
      diags.push_back({origin_of(origins, "platforms"), index_path("$.platforms", i), e.what()});
    }
  }
}

/// gzip stops at level 9; zstd goes to 19 (checked by read_compression_level).
void check_compression_level(const Spec& spec, const Origins& origins, std::vector<SpecDiagnostic>& diags) {
  if (spec.compression != Compression::Gzip || spec.compression_level <= kGzipMaxLevel) return;
  const std::string level_from = origin_of(origins, "compression-level");
  diags.push_back({level_from, "$.compression-level",
                   "gzip levels are 1 to " + std::to_string(kGzipMaxLevel) + ", got " +
                       std::to_string(spec.compression_level) +
                       "; pick a gzip level or set \"compression\": \"zstd\""});
}

void resolve_platforms(Spec& spec, const Origins& origins, std::vector<SpecDiagnostic>& diags) {
  const bool have_platforms = origins.count("platforms") != 0;
  const bool have_targets = origins.count("targets") != 0;
  if (have_platforms && have_targets) {
    const std::string platforms_from = origin_of(origins, "platforms");
    const std::string targets_from = origin_of(origins, "targets");
    diags.push_back({targets_from, "$.targets",
                     std::string("cannot be combined with \"platforms\"") +
                         (platforms_from == targets_from ? "" : " (from " + platforms_from + ")") +
                         "; remove \"platforms\" or \"targets\""});
    return;
  }
  if (have_targets) resolve_from_targets(spec, origins, diags);
  else resolve_from_platforms(spec, origins, diags);
}

Spec resolve_collect(const std::vector<SpecLayer>& layers, const fs::path& crate_dir,
                     std::vector<SpecDiagnostic>& diags) {
  Spec spec = default_spec();
  Origins origins;
  for (const auto& layer : layers) apply_layer(layer, spec, origins, diags, crate_dir);
  resolve_platforms(spec, origins, diags);
  check_compression_level(spec, origins, diags);
  if (origins.count("entrypoint") == 0 && !spec.bin.empty()) spec.entrypoint = {"/usr/local/bin/" + spec.bin};
  for (const auto& [key, source] : origins) spec.given.insert(key);
  return spec;
}

// ===========================================================================
// Serialisation
// ===========================================================================

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string format_mode(std::uint32_t mode) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", mode);
  return buf.data();
}

json healthcheck_json(const std::optional<Healthcheck>& h) {
  if (!h) return nullptr;
  return json{{"test", h->test},
              {"interval", format_go_duration(h->interval_ns)},
              {"timeout", format_go_duration(h->timeout_ns)},
              {"start-period", format_go_duration(h->start_period_ns)},
              {"retries", h->retries}};
}

json assets_json(const std::vector<Asset>& assets) {
  json out = json::array();
  for (const auto& a : assets) {
    out.push_back({{"source", a.source},
                   {"dest", a.dest},
                   {"mode", a.mode ? json(format_mode(*a.mode)) : json(nullptr)},
                   {"owner", std::to_string(a.uid) + ":" + std::to_string(a.gid)}});
  }
  return out;
}

json target_json(const std::map<std::string, TargetSettings>& target) {
  json out = json::object();
  for (const auto& [triple, t] : target) {
    out[triple] = {{"linker", nullable(t.linker)}, {"rustflags", t.rustflags}, {"env", t.env}};
  }
  return out;
}

// ===========================================================================
// Loading from files and cargo
// ===========================================================================

SpecLayer read_spec_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, "cannot read spec file " + file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return SpecLayer{file.string(), parse_json(text, file.string(), ErrorCode::Spec)};
  } catch (const JsonError& e) {
    const std::string at = e.line() == 0 ? "" : ":" + std::to_string(e.line()) + ":" + std::to_string(e.column());
    throw SpecError({SpecDiagnostic{file.string() + at, "", e.problem()}});
  }
}

/// The spec file to read: the explicit one (which must exist), else
/// crate_dir/rustimg.json when present.
std::optional<fs::path> spec_file_path(const SpecLoadOptions& o) {
  std::error_code ec;
  if (!o.spec_file.empty()) {
    if (!fs::exists(o.spec_file, ec)) {
      throw Error(ErrorCode::NotFound, "spec file " + o.spec_file.string() + " does not exist");
    }
    return o.spec_file;
  }
  if (o.crate_dir.empty()) return std::nullopt;
  const fs::path implicit = (o.crate_dir / "rustimg.json").lexically_normal();
  if (fs::is_regular_file(implicit, ec)) return implicit;
  return std::nullopt;
}

/// The highest layer giving `key` as a string: its value and its layer.
std::optional<std::pair<std::string, std::string>> highest_string(const std::vector<SpecLayer>& layers,
                                                                  const char* key) {
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!it->value.is_object()) continue;
    const auto found = it->value.find(key);
    if (found != it->value.end() && found->is_string()) return std::pair{found->get<std::string>(), it->name};
  }
  return std::nullopt;
}

/// `metadata.rustimg` as a layer, or nothing when absent.
void add_metadata_layer(std::vector<SpecLayer>& layers, const json& metadata, std::string name) {
  if (!metadata.is_object() || !metadata.contains("rustimg")) return;
  layers.push_back(SpecLayer{std::move(name), metadata["rustimg"]});
}

/// Adds the cargo layers below `upper` (spec file, overrides) and chooses the
/// package and bin. A package or bin named by the spec but missing from the
/// crate becomes a diagnostic against the layer that named it.
std::vector<SpecLayer> cargo_layers(const SpecLoadOptions& o, const cargo::Metadata& metadata,
                                    const std::vector<SpecLayer>& upper, std::vector<SpecDiagnostic>& diags) {
  const auto wanted_package = highest_string(upper, "package");
  const cargo::Package* package = nullptr;
  try {
    package = &metadata.select_package(o.crate_dir, wanted_package ? wanted_package->first : "");
  } catch (const Error& e) {
    if (!wanted_package) throw;
    diags.push_back({wanted_package->second, "$.package", e.what()});
    return {};
  }

  std::vector<SpecLayer> layers;
  const fs::path root_manifest = metadata.workspace_root / "Cargo.toml";
  add_metadata_layer(layers, metadata.workspace_metadata, root_manifest.string() + " [workspace.metadata.rustimg]");
  add_metadata_layer(layers, package->metadata, package->manifest_path.string() + " [package.metadata.rustimg]");

  std::vector<SpecLayer> all = layers;
  all.insert(all.end(), upper.begin(), upper.end());
  const auto wanted_bin = highest_string(all, "bin");
  try {
    const std::string bin = cargo::select_bin(*package, wanted_bin ? wanted_bin->first : "");
    // Lowest layer: what cargo says, which any layer may still override.
    layers.insert(layers.begin(), SpecLayer{package->manifest_path.string(), {{"package", package->name}, {"bin", bin}}});
  } catch (const Error& e) {
    if (!wanted_bin) throw;
    diags.push_back({wanted_bin->second, "$.bin", e.what()});
  }
  return layers;
}

}  // namespace

json Spec::to_json() const {
  std::vector<std::string> platform_names;
  for (const auto& p : platforms) platform_names.push_back(p.to_string());
  return json{
      {"package", nullable(package)},
      {"bin", nullable(bin)},
      {"profile", profile},
      {"features", features},
      {"default-features", default_features},
      {"all-features", all_features},
      {"size-optimize", size_optimize},
      {"libc", libc_name(libc)},
      {"locked", locked},
      {"offline", offline},
      {"platforms", platform_names},
      {"targets", targets},
      {"target", target_json(target)},
      {"base", base},
      {"entrypoint", entrypoint},
      {"cmd", cmd},
      {"env", env},
      {"workdir", workdir},
      {"user", user},
      {"ports", ports},
      {"labels", labels},
      {"annotations", annotations},
      {"stop-signal", nullable(stop_signal)},
      {"healthcheck", healthcheck_json(healthcheck)},
      {"tags", tags},
      {"compression", rustimg::to_string(compression)},
      {"compression-level", compression_level == 0 ? json(nullptr) : json(compression_level)},
      {"assets", assets_json(assets)},
      {"ca-certificates", ca_bundle.empty() ? json(ca_certificates) : json(ca_bundle)},
      {"tzdata", tzdata},
  };
}

Spec resolve_spec(const std::vector<SpecLayer>& layers, const fs::path& crate_dir) {
  std::vector<SpecDiagnostic> diags;
  Spec spec = resolve_collect(layers, crate_dir, diags);
  if (!diags.empty()) throw SpecError(std::move(diags));
  return spec;
}

Spec load_spec(const SpecLoadOptions& options, ProcessRunner& runner, cargo::Metadata* metadata_out) {
  std::vector<SpecLayer> upper;  // above the cargo layers, lowest first
  if (const auto file = spec_file_path(options)) upper.push_back(read_spec_file(*file));
  if (!options.overrides.is_null()) upper.push_back(SpecLayer{options.overrides_source, options.overrides});

  std::vector<SpecDiagnostic> diags;
  std::vector<SpecLayer> layers;
  if (!options.crate_dir.empty() && options.use_cargo_metadata) {
    cargo::Metadata metadata = cargo::read_metadata(options.crate_dir, runner, options.cargo);
    layers = cargo_layers(options, metadata, upper, diags);
    if (metadata_out != nullptr) *metadata_out = std::move(metadata);
  }
  layers.insert(layers.end(), upper.begin(), upper.end());
  Spec spec = resolve_collect(layers, options.crate_dir, diags);
  if (!diags.empty()) throw SpecError(std::move(diags));
  return spec;
}

}  // namespace rustimg
