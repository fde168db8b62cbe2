// The image spec: merging of the sources and resolution into a Spec, its
// serialisation, and reading the spec file.
//
// How it works: the layers are applied in order (lowest first) onto one Spec
// that starts with the defaults. Each top-level key has one rule (rules.cpp)
// that checks its value and, when it is valid, writes it into the Spec:
// scalar and list keys replace what a lower layer set, map keys (env,
// labels, annotations, target) insert entry by entry. Every problem is
// recorded as a diagnostic naming the layer and the JSON path, and
// validation carries on, so one SpecError lists them all. Checks that span
// keys (platforms vs. targets vs. libc, derived defaults) run once all
// layers are applied.
#include "rustimg/spec.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "rustimg/json.hpp"
#include "spec/rules.hpp"

namespace rustimg {

using namespace spec_rules;

namespace {

constexpr std::string_view kDefaultUser = "65532:65532";
constexpr std::string_view kDefaultsSource = "defaults";

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

void apply_layer(const SpecLayer& layer, Spec& spec, Origins& origins, std::vector<SpecDiagnostic>& diags) {
  Ctx c{layer.name, diags};
  if (layer.value.is_null()) return;
  if (!read_object(layer.value, c, "$")) return;
  check_keys(layer.value, c, "$", top_level_keys());
  for (const auto& rule : rules()) {
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

Spec resolve_collect(const std::vector<SpecLayer>& layers, std::vector<SpecDiagnostic>& diags) {
  Spec spec = default_spec();
  Origins origins;
  for (const auto& layer : layers) apply_layer(layer, spec, origins, diags);
  resolve_platforms(spec, origins, diags);
  check_compression_level(spec, origins, diags);
  if (origins.count("entrypoint") == 0 && !spec.bin.empty()) spec.entrypoint = {"/usr/local/bin/" + spec.bin};
  // "scratch" has no CA bundle unless a source asks for one (or for extra
  // certificates), and the resolved spec says so: `rustimg spec` output fed
  // back as a spec then asks for no bundle the original did not.
  if (origins.count("ca-certificates") == 0 && spec.base == "scratch" && spec.extra_ca_certificates.empty())
    spec.ca_certificates = false;
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

json healthcheck_json(const std::optional<oci::HealthConfig>& h) {
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
// Reading the spec file
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
      {"size-optimize", size_optimize_name(size_optimize)},
      {"libc", libc_name(libc)},
      {"locked", locked},
      {"offline", offline},
      {"platforms", platform_names},
      {"targets", targets},
      {"target", target_json(target)},
      {"base", base},
      {"base-key", nullable(base_key)},
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
      {"repository", nullable(repository)},
      {"compression", rustimg::to_string(compression)},
      {"compression-level", compression_level == 0 ? json(nullptr) : json(compression_level)},
      {"assets", assets_json(assets)},
      {"ca-certificates", ca_bundle.empty() ? json(ca_certificates) : json(ca_bundle)},
      {"extra-ca-certificates", extra_ca_certificates},
      {"tzdata", tzdata},
      {"sbom", sbom.empty() ? json(false) : json(sbom)},
      {"provenance", provenance},
  };
}

Spec resolve_spec(const std::vector<SpecLayer>& layers, const fs::path& /*crate_dir*/,
                  std::vector<SpecDiagnostic> diagnostics) {
  Spec spec = resolve_collect(layers, diagnostics);
  if (!diagnostics.empty()) throw SpecError(std::move(diagnostics));
  return spec;
}

std::vector<SpecLayer> read_spec_sources(const SpecLoadOptions& options) {
  std::vector<SpecLayer> layers;
  if (const auto file = spec_file_path(options)) layers.push_back(read_spec_file(*file));
  if (!options.overrides.is_null()) layers.push_back(SpecLayer{options.overrides_source, options.overrides});
  return layers;
}

std::optional<SpecValue> highest_string(const std::vector<SpecLayer>& layers, std::string_view key) {
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    if (!it->value.is_object()) continue;
    const auto found = it->value.find(key);
    if (found != it->value.end() && found->is_string()) return SpecValue{found->get<std::string>(), it->name};
  }
  return std::nullopt;
}

std::optional<SpecLayer> metadata_layer(const json& metadata, std::string name) {
  if (!metadata.is_object() || !metadata.contains("rustimg")) return std::nullopt;
  return SpecLayer{std::move(name), metadata["rustimg"]};
}

}  // namespace rustimg
