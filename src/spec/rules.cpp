// The key table: one rule per top-level key of the spec, and the rules for
// the keys that say what to build (profile, libc, platforms, targets,
// per-target settings, compression).
#include <array>
#include <cctype>

#include "spec/rules.hpp"

namespace rustimg::spec_rules {
namespace {

std::optional<Libc> read_libc(const json& v, Ctx& c, const std::string& path) {
  const auto name = read_choice(v, c, path, {"gnu", "musl"});
  return name ? parse_libc(*name) : std::nullopt;
}

/// One of size_optimize_name() over kSizeOptimizeChoices; a boolean from
/// older specs: false is "none", true is "min" (the set true always stood for).
std::optional<SizeOptimize> read_size_optimize(const json& v, Ctx& c, const std::string& path) {
  if (v.is_boolean()) return v.get<bool>() ? SizeOptimize::Min : SizeOptimize::None;
  std::vector<std::string_view> names;
  std::string expected;  // "\"release\", \"small\", \"min\" or \"none\""
  for (const SizeOptimize s : kSizeOptimizeChoices) {
    if (!names.empty()) expected += names.size() + 1 == std::size(kSizeOptimizeChoices) ? " or " : ", ";
    names.emplace_back(size_optimize_name(s));
    expected += "\"" + std::string(names.back()) + "\"";
  }
  if (!v.is_string()) return c.type_error(path, expected + " (or a boolean)", v);
  const auto name = read_choice(v, c, path, names);
  return name ? parse_size_optimize(*name) : std::nullopt;
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

/// Spec key "sbom": "spdx", "cyclonedx", "none" or false.
void apply_sbom(const json& v, Ctx& c, const std::string& path, Spec& s) {
  if (v.is_boolean() && !v.get<bool>()) {
    s.sbom.clear();
    return;
  }
  if (!v.is_string()) {
    c.type_error(path, "\"spdx\", \"cyclonedx\", \"none\" or false", v);
    return;
  }
  const auto name = read_choice(v, c, path, {"spdx", "cyclonedx", "none"});
  if (!name) return;
  s.sbom = *name == "none" ? "" : *name;
}

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
  return read_map<TargetSettings>(
      v, c, path,
      [](std::string_view triple) {
        return find_rust_target(triple) ? std::nullopt : std::optional<std::string>(unknown_triple_message(triple));
      },
      read_target_settings);
}

template <class T>
void assign(T& field, std::optional<T> value) {
  if (value) field = std::move(*value);
}

template <class K, class V>
void merge(std::map<K, V>& field, std::optional<std::map<K, V>> value) {
  if (!value) return;
  for (auto& [k, v] : *value) field.insert_or_assign(k, std::move(v));
}

#define RUSTIMG_RULE(KEY, BODY) \
  Rule { KEY, [](const json& v, Ctx& c, const std::string& p, Spec& s) { BODY; } }

const std::array kRules = {
    RUSTIMG_RULE("package", assign(s.package, read_nonempty_string(v, c, p))),
    RUSTIMG_RULE("bin", assign(s.bin, read_nonempty_string(v, c, p))),
    RUSTIMG_RULE("profile", assign(s.profile, read_profile(v, c, p))),
    RUSTIMG_RULE("features", assign(s.features, read_string_list(v, c, p))),
    RUSTIMG_RULE("default-features", assign(s.default_features, read_bool(v, c, p))),
    RUSTIMG_RULE("all-features", assign(s.all_features, read_bool(v, c, p))),
    RUSTIMG_RULE("size-optimize", assign(s.size_optimize, read_size_optimize(v, c, p))),
    RUSTIMG_RULE("libc", assign(s.libc, read_libc(v, c, p))),
    RUSTIMG_RULE("platforms", assign(s.platforms, read_platforms(v, c, p))),
    RUSTIMG_RULE("targets", assign(s.targets, read_targets(v, c, p))),
    RUSTIMG_RULE("target", merge(s.target, read_target_table(v, c, p))),
    RUSTIMG_RULE("locked", assign(s.locked, read_bool(v, c, p))),
    RUSTIMG_RULE("offline", assign(s.offline, read_bool(v, c, p))),
    RUSTIMG_RULE("base", assign(s.base, read_base(v, c, p))),
    RUSTIMG_RULE("base-key", assign(s.base_key, read_base_key(v, c, p))),
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
    RUSTIMG_RULE("repository", assign(s.repository, read_repository(v, c, p))),
    RUSTIMG_RULE("compression", assign(s.compression, read_compression(v, c, p))),
    RUSTIMG_RULE("compression-level", assign(s.compression_level, read_compression_level(v, c, p))),
    RUSTIMG_RULE("assets", assign(s.assets, read_assets(v, c, p))),
    RUSTIMG_RULE("ca-certificates", apply_ca_certificates(v, c, p, s)),
    RUSTIMG_RULE("extra-ca-certificates", assign(s.extra_ca_certificates, read_extra_ca_certificates(v, c, p))),
    RUSTIMG_RULE("tzdata", assign(s.tzdata, read_bool(v, c, p))),
    RUSTIMG_RULE("sbom", apply_sbom(v, c, p, s)),
    RUSTIMG_RULE("provenance", assign(s.provenance, read_bool(v, c, p))),
};

#undef RUSTIMG_RULE

const std::vector<std::string_view>& top_level_key_names() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& rule : kRules) out.push_back(rule.key);
    return out;
  }();
  return keys;
}

constexpr std::array<std::pair<std::string_view, std::string_view>, 25> kTopLevelAliases = {{
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
    {"triples", "targets"},         {"repo", "repository"},
    {"docker-repo", "repository"},
}};

}  // namespace

std::span<const Rule> rules() { return kRules; }

KeySet top_level_keys() { return KeySet{top_level_key_names(), kTopLevelAliases}; }

}  // namespace rustimg::spec_rules
