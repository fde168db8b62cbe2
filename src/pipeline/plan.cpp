// The plan: the spec's sources plus cargo's metadata, the package and bin
// chosen once, and the spec's build keys as cargo's plain values.
#include "rustimg/plan.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/url.hpp"

namespace rustimg::pipeline {

namespace {

namespace fs = std::filesystem;

/// The cargo layers below `upper` (spec file, overrides), lowest first, and
/// the package and bin they choose. A package or bin named by the spec but
/// missing from the crate becomes a diagnostic against the layer that named
/// it (the package is then unknown).
struct CargoLayers {
  std::vector<SpecLayer> layers;
  const cargo::Package* package = nullptr;
};

CargoLayers cargo_layers(const fs::path& crate_dir, const cargo::Metadata& metadata,
                         const std::vector<SpecLayer>& upper, const OptionNames& names,
                         std::vector<SpecDiagnostic>& diags) {
  CargoLayers out;
  const fs::path root_manifest = metadata.workspace_root / "Cargo.toml";
  if (auto l = metadata_layer(metadata.workspace_metadata, root_manifest.string() + " [workspace.metadata.rustimg]"))
    out.layers.push_back(std::move(*l));
  const auto wanted_package = highest_string(upper, "package");
  // A bin named above the package's own metadata may choose the package (a virtual workspace's root).
  std::vector<SpecLayer> above_package = out.layers;
  above_package.insert(above_package.end(), upper.begin(), upper.end());
  const auto choosing_bin = wanted_package ? std::nullopt : highest_string(above_package, "bin");
  try {
    out.package = &metadata.select_package(crate_dir, wanted_package ? wanted_package->value : "",
                                           choosing_bin ? choosing_bin->value : "", names);
  } catch (const Error& e) {
    if (wanted_package) diags.push_back({wanted_package->source, "$.package", e.what()});
    else if (choosing_bin) diags.push_back({choosing_bin->source, "$.bin", e.what()});
    else throw;
    out.layers.clear();
    return out;
  }
  if (auto l = metadata_layer(out.package->metadata,
                              out.package->manifest_path.string() + " [package.metadata.rustimg]"))
    out.layers.push_back(std::move(*l));

  std::vector<SpecLayer> all = out.layers;
  all.insert(all.end(), upper.begin(), upper.end());
  const auto wanted_bin = highest_string(all, "bin");
  try {
    const std::string bin = cargo::select_bin(*out.package, wanted_bin ? wanted_bin->value : "", names);
    // Lowest layer: what cargo says, which any layer may still override.
    out.layers.insert(out.layers.begin(), SpecLayer{out.package->manifest_path.string(),
                                                    {{"package", out.package->name}, {"bin", bin}}});
  } catch (const Error& e) {
    if (!wanted_bin) throw;
    diags.push_back({wanted_bin->source, "$.bin", e.what()});
  }
  return out;
}

std::string trim(std::string_view text) {
  const std::size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(text.substr(b, text.find_last_not_of(" \t\r\n") - b + 1));
}

/// Whether `dir` or a directory above it holds .git (a directory, or the
/// file a worktree or submodule has), so git is run only where it can answer.
bool in_git_checkout(const fs::path& dir) {
  std::error_code ec;
  fs::path at = fs::absolute(dir, ec);
  if (ec) return false;
  for (at = at.lexically_normal(); !at.empty(); at = at.parent_path()) {
    if (fs::exists(at / ".git", ec)) return true;
    if (at == at.parent_path()) break;
  }
  return false;
}

}  // namespace

cargo::BuildSettings cargo_settings(const Spec& spec) {
  cargo::BuildSettings s;
  s.profile = spec.profile;
  s.size_optimize = spec.size_optimize;
  s.features = spec.features;
  s.default_features = spec.default_features;
  s.all_features = spec.all_features;
  s.locked = spec.locked;
  s.offline = spec.offline;
  return s;
}

std::vector<cargo::BuildTarget> cargo_targets(const Spec& spec, const cargo::Package& package,
                                              const std::string& bin) {
  std::vector<cargo::BuildTarget> out;
  for (std::size_t i = 0; i < spec.targets.size(); ++i) {
    cargo::BuildTarget t = cargo::build_target(package, bin, spec.platforms.at(i), spec.targets[i]);
    if (const auto it = spec.target.find(t.triple); it != spec.target.end()) {
      t.linker = it->second.linker;
      t.rustflags = it->second.rustflags;
      t.env = it->second.env;
    }
    out.push_back(std::move(t));
  }
  return out;
}

image::ConfigOverrides config_overrides(const Spec& spec) {
  image::ConfigOverrides o;
  o.package = spec.package;
  o.bin = spec.bin;
  o.healthcheck = spec.healthcheck;
  if (layer::is_builtin_base(spec.base)) {
    o.entrypoint = spec.entrypoint;
    o.cmd = spec.cmd;
    o.user = spec.user;
    o.workdir = spec.workdir;
    o.stop_signal = spec.stop_signal;
    o.env = spec.env;
    o.ports = spec.ports;
    o.labels = spec.labels;
    o.annotations = spec.annotations;
    return o;
  }
  const auto given = [&](std::string_view key) { return spec.given.count(key) != 0; };
  if (given("user")) o.user = spec.user;
  if (given("workdir")) o.workdir = spec.workdir;
  if (given("cmd") || !spec.cmd.empty()) o.cmd = spec.cmd;
  if (given("stop-signal") || !spec.stop_signal.empty()) o.stop_signal = spec.stop_signal;
  if (!spec.entrypoint.empty()) o.entrypoint = spec.entrypoint;
  if (!spec.env.empty()) o.env = spec.env;
  if (!spec.ports.empty()) o.ports = spec.ports;
  if (!spec.labels.empty()) o.labels = spec.labels;
  if (!spec.annotations.empty()) o.annotations = spec.annotations;
  return o;
}

std::map<std::string, std::string> package_annotations(const cargo::Package& package, const std::string& revision) {
  // Cargo's legacy license separator: "MIT/Apache-2.0" means either.
  std::string licenses;
  for (std::string_view rest = package.license; !rest.empty();) {
    const std::size_t slash = rest.find('/');
    const std::string part = trim(rest.substr(0, slash));
    if (!part.empty()) licenses += (licenses.empty() ? "" : " OR ") + part;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  std::map<std::string, std::string> out;
  const auto put = [&out](const char* key, std::string_view value) {
    if (std::string v = trim(value); !v.empty()) out.emplace(key, std::move(v));
  };
  put(oci::annotation::kDescription, package.description);
  put(oci::annotation::kVersion, package.version);
  put(oci::annotation::kLicenses, licenses);
  put(oci::annotation::kSource, package.repository);
  put(oci::annotation::kUrl, package.homepage);
  put(oci::annotation::kRevision, revision);
  return out;
}

std::string revision_of(const GitCheckout& checkout) {
  return checkout.dirty ? checkout.commit + "-dirty" : checkout.commit;
}

std::optional<GitCheckout> git_checkout(const fs::path& dir, ProcessRunner& runner, bool read_remote) {
  if (!in_git_checkout(dir)) return std::nullopt;
  // The exit code, and the output only where it is one commit name.
  const auto git = [&](std::vector<std::string> args) -> std::optional<ProcessResult> {
    ProcessRequest request;
    request.argv = {"git", "--no-optional-locks"};
    request.argv.insert(request.argv.end(), args.begin(), args.end());
    request.cwd = dir.string();
    try {
      return runner.run(request);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::NotFound) throw;  // no git: no revision
    }
    return std::nullopt;
  };
  const auto head = git({"rev-parse", "--verify", "--quiet", "HEAD^{commit}"});
  if (!head || head->exit_code != 0) return std::nullopt;
  GitCheckout out;
  out.commit = trim(head->out);
  if ((out.commit.size() != 40 && out.commit.size() != 64) ||
      out.commit.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  // Dirty or clean from exit codes alone (0 same, 1 differs), so no listing
  // of changed files is read. diff-index compares stat data and changes
  // nothing; a file it flags may only have been touched, so the porcelain
  // diff, which compares contents, decides then. Untracked files never
  // count. A revision is claimed clean only when git says so.
  const auto changed = [&](std::vector<std::string> args) -> std::optional<bool> {
    const auto r = git(std::move(args));
    if (!r || (r->exit_code != 0 && r->exit_code != 1)) return std::nullopt;
    return r->exit_code == 1;
  };
  std::optional<bool> dirty = changed({"diff-index", "--quiet", "HEAD", "--"});
  if (dirty && *dirty) dirty = changed({"diff", "--quiet", "--no-ext-diff", "--no-textconv", "HEAD", "--"});
  if (!dirty) return std::nullopt;
  out.dirty = *dirty;
  if (read_remote) {
    // One line, no control characters: anything else is not a URL to record.
    const auto remote = git({"config", "--get", "remote.origin.url"});
    const std::string url = remote && remote->exit_code == 0 ? trim(remote->out) : "";
    if (!url.empty() && url.size() <= 4096 &&
        std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
      out.remote_url = strip_url_userinfo(url);
  }
  return out;
}

std::string git_revision(const fs::path& dir, ProcessRunner& runner) {
  const auto checkout = git_checkout(dir, runner, false);
  return checkout ? revision_of(*checkout) : std::string();
}

Plan plan_spec(Spec spec, fs::path crate_dir) {
  Plan plan;
  plan.spec = std::move(spec);
  plan.crate_dir = std::move(crate_dir);
  plan.cargo = cargo_settings(plan.spec);
  plan.config = config_overrides(plan.spec);
  for (std::size_t i = 0; i < plan.spec.platforms.size(); ++i)
    plan.platforms.push_back(
        PlatformPlan{plan.spec.platforms[i], i < plan.spec.targets.size() ? plan.spec.targets[i] : "", {}, {}, {}, {}});
  return plan;
}

void plan_prebuilt(Plan& plan, const std::vector<PlatformBinary>& binaries) {
  plan.platforms.clear();
  for (const PlatformBinary& b : binaries) plan.platforms.push_back(PlatformPlan{b.platform, "", {}, b.binary, {}, {}});
}

Plan make_plan(const SpecLoadOptions& options, ProcessRunner& runner, PlanPurpose purpose) {
  const std::vector<SpecLayer> upper = read_spec_sources(options);  // above the cargo layers, lowest first
  std::optional<cargo::Metadata> metadata;
  std::optional<cargo::Package> package;
  std::vector<SpecDiagnostic> diags;
  std::vector<SpecLayer> layers;
  if (!options.crate_dir.empty() && options.use_cargo_metadata) {
    metadata = cargo::read_metadata(options.crate_dir, runner, options.cargo);
    CargoLayers found = cargo_layers(options.crate_dir, *metadata, upper, options.option_names, diags);
    layers = std::move(found.layers);
    if (found.package != nullptr) package = *found.package;
  }
  layers.insert(layers.end(), upper.begin(), upper.end());
  Plan plan = plan_spec(resolve_spec(layers, options.crate_dir, std::move(diags)), options.crate_dir);
  plan.cargo.option_names = options.option_names;
  plan.metadata = std::move(metadata);
  plan.package = std::move(package);
  if (!plan.package) return plan;

  // The image's metadata from the crate, where the spec says nothing.
  if (purpose == PlanPurpose::Image) plan.checkout = git_checkout(options.crate_dir, runner, plan.spec.provenance);
  const std::string revision = plan.checkout ? revision_of(*plan.checkout) : std::string();
  const auto crate_metadata = package_annotations(*plan.package, revision);
  if (!crate_metadata.empty()) {
    if (!plan.config.annotations) plan.config.annotations.emplace();
    plan.config.annotations->insert(crate_metadata.begin(), crate_metadata.end());
  }
  if (!plan.spec.bin.empty()) {
    std::vector<cargo::BuildTarget> targets = cargo_targets(plan.spec, *plan.package, plan.spec.bin);
    for (std::size_t i = 0; i < targets.size() && i < plan.platforms.size(); ++i)
      plan.platforms[i].cargo = std::move(targets[i]);
  }
  return plan;
}

Spec load_spec(const SpecLoadOptions& options, ProcessRunner& runner) {
  return make_plan(options, runner, PlanPurpose::Spec).spec;
}

}  // namespace rustimg::pipeline
