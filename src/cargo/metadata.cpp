// Running `cargo metadata` (the one place), reading its --no-deps form and
// choosing the package and bin target to build.
#include <algorithm>
#include <string_view>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/suggest.hpp"
#include "cargo/metadata_internal.hpp"

namespace rustimg::cargo {
namespace {

using detail::array_member;
using detail::bad_shape;
using detail::optional_string;
using detail::string_member;

using nlohmann::json;
namespace fs = std::filesystem;

/// An object-or-null member (cargo writes null for an absent table).
json optional_object(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return (it != obj.end() && it->is_object()) ? *it : json(nullptr);
}

bool is_bin_target(const json& target) {
  const auto kinds = target.find("kind");
  if (kinds == target.end() || !kinds->is_array()) return false;
  return std::any_of(kinds->begin(), kinds->end(),
                     [](const json& k) { return k.is_string() && k.get<std::string>() == "bin"; });
}

Package parse_package(const json& pkg) {
  if (!pkg.is_object()) bad_shape("a package is not an object");
  Package out;
  out.name = string_member(pkg, "name", "a package");
  const std::string where = "package " + out.name;
  out.version = string_member(pkg, "version", where);
  out.id = string_member(pkg, "id", where);
  out.manifest_path = string_member(pkg, "manifest_path", where);
  for (const auto& target : array_member(pkg, "targets", where)) {
    if (is_bin_target(target)) out.bins.push_back(string_member(target, "name", where + " target"));
  }
  if (const auto it = pkg.find("default_run"); it != pkg.end() && it->is_string()) {
    out.default_run = it->get<std::string>();
  }
  out.metadata = optional_object(pkg, "metadata");
  out.description = optional_string(pkg, "description", where);
  out.license = optional_string(pkg, "license", where);
  out.repository = optional_string(pkg, "repository", where);
  out.homepage = optional_string(pkg, "homepage", where);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::vector<std::string> package_names(const std::vector<Package>& packages) {
  std::vector<std::string> names;
  for (const auto& p : packages) names.push_back(p.name);
  return names;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

Metadata parse_metadata(const json& doc) {
  if (!doc.is_object()) bad_shape("the document is not an object");
  Metadata out;
  out.workspace_root = string_member(doc, "workspace_root", "the document");
  out.target_directory = string_member(doc, "target_directory", "the document");
  out.workspace_metadata = optional_object(doc, "metadata");

  const json& members = array_member(doc, "workspace_members", "the document");
  for (const auto& pkg : array_member(doc, "packages", "the document")) {
    Package parsed = parse_package(pkg);
    // With --no-deps `packages` holds only members; filter anyway, as a
    // document produced without --no-deps also lists dependencies.
    if (std::find(members.begin(), members.end(), json(parsed.id)) != members.end()) {
      out.packages.push_back(std::move(parsed));
    }
  }
  return out;
}

const Package& Metadata::select_package(const fs::path& crate_dir, const std::string& name, const std::string& bin,
                                        const OptionNames& names) const {
  const std::string workspace = "the workspace at " + workspace_root.string();
  if (packages.empty()) throw Error(ErrorCode::NotFound, workspace + " has no packages");
  if (!name.empty()) {
    for (const auto& p : packages) {
      if (p.name == name) return p;
    }
    throw Error(ErrorCode::NotFound, "no package \"" + name + "\" in " + workspace +
                                         "; its packages: " + join(package_names(packages)));
  }
  // The package of the crate directory (or the only one) is cargo's default;
  // a wrong bin is then select_bin's to report, as cargo reports it.
  if (!crate_dir.empty()) {
    for (const auto& p : packages) {
      if (same_file(p.manifest_path, crate_dir / "Cargo.toml")) return p;
    }
  }
  if (packages.size() == 1) return packages.front();
  if (!bin.empty()) {
    // Elsewhere (a virtual workspace's root), cargo builds the member that has the bin.
    std::vector<const Package*> having;
    std::vector<std::string> all_bins;
    std::vector<std::string> listed;  // "bin (package)"
    for (const auto& p : packages) {
      if (std::find(p.bins.begin(), p.bins.end(), bin) != p.bins.end()) having.push_back(&p);
      for (const auto& b : p.bins) {
        all_bins.push_back(b);
        listed.push_back(b + " (" + p.name + ")");
      }
    }
    if (having.size() == 1) return *having.front();
    if (having.size() > 1) {
      std::vector<std::string> holders;
      for (const Package* p : having) holders.push_back(p->name);
      throw Error(ErrorCode::NotFound, "bin target \"" + bin + "\" is in several packages of " + workspace + " (" +
                                           join(holders) + "); pick one with " + names.package +
                                           " or \"package\" in the spec");
    }
    const std::vector<std::string_view> views(all_bins.begin(), all_bins.end());
    const auto near = suggest::closest(bin, views);
    throw Error(ErrorCode::NotFound,
                "no package in " + workspace + " has a bin target \"" + bin + "\"" +
                    (listed.empty() ? "; it has no bin targets" : "; its bins: " + join(listed)) +
                    (near ? "; did you mean \"" + all_bins[*near] + "\"?" : std::string()));
  }
  throw Error(ErrorCode::NotFound,
              workspace + " has several packages (" + join(package_names(packages)) +
                  "); pick one with " + names.package +
                  " or \"package\" in the spec, or point rustimg at the package's directory");
}

std::string select_bin(const Package& pkg, const std::string& wanted, const OptionNames& names) {
  const std::string package = "package \"" + pkg.name + "\"";
  if (!wanted.empty()) {
    if (std::find(pkg.bins.begin(), pkg.bins.end(), wanted) != pkg.bins.end()) return wanted;
    const std::vector<std::string_view> views(pkg.bins.begin(), pkg.bins.end());
    const auto near = suggest::closest(wanted, views);
    throw Error(ErrorCode::NotFound, package + " has no bin target \"" + wanted + "\"" +
                                         (pkg.bins.empty() ? std::string() : "; its bins: " + join(pkg.bins)) +
                                         (near ? "; did you mean \"" + pkg.bins[*near] + "\"?" : std::string()));
  }
  if (pkg.default_run) return *pkg.default_run;
  if (pkg.bins.size() == 1) return pkg.bins.front();
  if (pkg.bins.empty()) {
    throw Error(ErrorCode::NotFound, package + " has no bin targets; rustimg needs a binary crate");
  }
  throw Error(ErrorCode::NotFound, package + " has several bin targets (" + join(pkg.bins) +
                                       ") and no default-run; pick one with " + names.bin + " or \"bin\" in the spec");
}

namespace detail {

[[noreturn]] void bad_shape(const std::string& what) {
  throw Error(ErrorCode::Cargo, "unexpected `cargo metadata` output: " + what +
                                    "; is this cargo too old or too new for rustimg?");
}

const json& member(const json& obj, const char* key, json::value_t type, const char* type_name,
                   const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->type() != type) bad_shape(where + " has no " + type_name + " \"" + key + "\"");
  return *it;
}

std::string string_member(const json& obj, const char* key, const std::string& where) {
  return member(obj, key, json::value_t::string, "string", where).get<std::string>();
}

const json& array_member(const json& obj, const char* key, const std::string& where) {
  return member(obj, key, json::value_t::array, "array", where);
}

std::string optional_string(const json& obj, const char* key, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) bad_shape(where + " has a non-string \"" + key + "\"");
  return it->get<std::string>();
}

std::vector<std::string> resolution_flags(const BuildSettings& settings) {
  std::vector<std::string> flags;
  if (settings.locked && settings.offline) flags.push_back("--frozen");
  else if (settings.locked) flags.push_back("--locked");
  else if (settings.offline) flags.push_back("--offline");
  if (settings.all_features) flags.push_back("--all-features");
  if (!settings.default_features) flags.push_back("--no-default-features");
  if (!settings.features.empty()) {
    std::string joined;
    for (const auto& f : settings.features) joined += (joined.empty() ? "" : ",") + f;
    flags.insert(flags.end(), {"--features", joined});
  }
  return flags;
}

std::string run_metadata(ProcessRunner& runner, const fs::path& crate_dir, const std::vector<std::string>& args,
                         const std::string& cargo) {
  std::error_code ec;
  if (!fs::is_regular_file(crate_dir / "Cargo.toml", ec)) {
    throw Error(ErrorCode::NotFound,
                "no Cargo.toml in " + crate_dir.string() + ": point rustimg at a crate directory");
  }
  ProcessRequest request;
  request.argv = {cargo, "metadata", "--format-version", "1"};
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  request.cwd = crate_dir.string();
  request.env = {{"CARGO_TERM_COLOR", "never"}};

  ProcessResult result;
  try {
    result = runner.run(request);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::NotFound) throw;
    throw Error(ErrorCode::NotFound, std::string(e.what()) + "; install Rust with rustup (https://rustup.rs)");
  }
  if (result.exit_code != 0) {
    throw Error(ErrorCode::Cargo, "`cargo metadata` failed in " + crate_dir.string() + ":\n" + trim(result.err));
  }
  return std::move(result.out);
}

}  // namespace detail

Metadata read_metadata(const fs::path& crate_dir, ProcessRunner& runner, const std::string& cargo) {
  const std::string out = detail::run_metadata(runner, crate_dir, {"--no-deps"}, cargo);
  json doc;
  try {
    doc = parse_json(out, "`cargo metadata` output in " + crate_dir.string(), ErrorCode::Cargo);
  } catch (const JsonError& e) {
    if (!e.too_deep()) bad_shape("stdout is not JSON");
    throw;
  }
  return parse_metadata(doc);
}

}  // namespace rustimg::cargo
