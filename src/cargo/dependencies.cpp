// The packages cargo compiles into a binary (see rustimg/dependencies.hpp):
// a walk over `cargo metadata`'s resolve graph along normal edges, with the
// features each package gets from normal edges alone (cargo's resolver 2:
// features a dev- or build-dependency enables do not reach the binary),
// joined with Cargo.lock's checksums.
#include "rustimg/dependencies.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/url.hpp"
#include "rustimg/json.hpp"
#include "cargo/metadata_internal.hpp"

namespace rustimg::cargo {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

using detail::array_member;
using detail::bad_shape;
using detail::optional_string;
using detail::string_member;

std::vector<std::string> string_array(const json& obj, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) bad_shape(where + " has a non-array \"" + key + "\"");
  for (const auto& v : *it) {
    if (!v.is_string()) bad_shape(where + " has a non-string entry in \"" + key + "\"");
    out.push_back(v.get<std::string>());
  }
  return out;
}

/// A dependency as the package's manifest declares it (packages[].dependencies).
struct Declared {
  std::string name;        ///< the package name
  std::string toml_name;   ///< the key in [dependencies]: rename, else name
  std::string target;      ///< "" for none, else the cfg(...) or triple
  bool optional = false;
  bool default_features = true;
  std::vector<std::string> features;
};

/// An edge of the resolve graph that cargo kept for the filtered platform,
/// as a normal (not dev, not build) dependency.
struct Edge {
  std::string dep_id;
  std::set<std::string> targets;  ///< the dep_kinds' targets of kind null ("" for none)
};

struct Pkg {
  std::string name, version, id, source, license, manifest_path;
  std::map<std::string, std::vector<std::string>> features;  ///< [features]
  std::vector<Declared> declared;                            ///< kind null only
  std::vector<Edge> edges;                                   ///< from the resolve node
  std::vector<std::string> node_features;                    ///< the resolve node's features
  bool has_node = false;
};

Pkg parse_package(const json& p) {
  if (!p.is_object()) bad_shape("a package is not an object");
  Pkg out;
  out.name = string_member(p, "name", "a package");
  const std::string where = "package " + out.name;
  out.version = string_member(p, "version", where);
  out.id = string_member(p, "id", where);
  out.source = optional_string(p, "source", where);
  out.license = optional_string(p, "license", where);
  out.manifest_path = string_member(p, "manifest_path", where);
  if (const auto f = p.find("features"); f != p.end() && !f->is_null()) {
    if (!f->is_object()) bad_shape(where + " has a non-object \"features\"");
    for (const auto& [k, v] : f->items()) {
      std::vector<std::string> values;
      if (!v.is_array()) bad_shape(where + " feature \"" + k + "\" is not an array");
      for (const auto& s : v) {
        if (!s.is_string()) bad_shape(where + " feature \"" + k + "\" has a non-string entry");
        values.push_back(s.get<std::string>());
      }
      out.features.emplace(k, std::move(values));
    }
  }
  for (const auto& d : array_member(p, "dependencies", where)) {
    if (!d.is_object()) bad_shape(where + " has a dependency that is not an object");
    const std::string dwhere = where + " dependency";
    if (!optional_string(d, "kind", dwhere).empty()) continue;  // dev or build
    Declared decl;
    decl.name = string_member(d, "name", dwhere);
    const std::string rename = optional_string(d, "rename", dwhere);
    decl.toml_name = rename.empty() ? decl.name : rename;
    decl.target = optional_string(d, "target", dwhere);
    const auto opt = d.find("optional");
    decl.optional = opt != d.end() && opt->is_boolean() && opt->get<bool>();
    const auto def = d.find("uses_default_features");
    decl.default_features = def == d.end() || !def->is_boolean() || def->get<bool>();
    decl.features = string_array(d, "features", dwhere + " " + decl.name);
    out.declared.push_back(std::move(decl));
  }
  return out;
}

void parse_node(const json& n, std::map<std::string, Pkg>& packages) {
  if (!n.is_object()) bad_shape("a resolve node is not an object");
  const std::string id = string_member(n, "id", "a resolve node");
  const auto it = packages.find(id);
  if (it == packages.end()) bad_shape("resolve node " + id + " is not in \"packages\"");
  Pkg& pkg = it->second;
  const std::string where = "resolve node " + id;
  pkg.has_node = true;
  pkg.node_features = string_array(n, "features", where);
  const auto deps = n.find("deps");
  if (deps == n.end()) bad_shape(where + " has no array \"deps\"");
  for (const auto& d : array_member(n, "deps", where)) {
    if (!d.is_object()) bad_shape(where + " has a dep that is not an object");
    Edge edge;
    edge.dep_id = string_member(d, "pkg", where + " dep");
    for (const auto& k : array_member(d, "dep_kinds", where + " dep " + edge.dep_id)) {
      if (!k.is_object()) bad_shape(where + " dep " + edge.dep_id + " has a dep_kind that is not an object");
      if (!optional_string(k, "kind", where + " dep_kind").empty()) continue;
      edge.targets.insert(optional_string(k, "target", where + " dep_kind"));
    }
    if (!edge.targets.empty()) pkg.edges.push_back(std::move(edge));
  }
}

/// cargo's feature resolution along normal edges: which features each
/// reached package has, and which of its edges are active.
class FeatureWalk {
 public:
  explicit FeatureWalk(std::map<std::string, Pkg>& packages) : packages_(packages) {}

  void run(const std::string& root_id) {
    const Pkg& root = packages_.at(root_id);
    state_[root_id].features.insert(root.node_features.begin(), root.node_features.end());
    // Monotone: every pass only adds features, edges or packages, so it ends.
    bool changed = true;
    while (changed) {
      changed = false;
      std::vector<std::string> ids;
      for (const auto& entry : state_) ids.push_back(entry.first);
      for (const auto& id : ids) changed |= visit(id);
    }
  }

  bool reached(const std::string& id) const { return state_.count(id) != 0; }
  const std::map<std::string, std::set<std::string>>& active_edges() const { return active_; }

 private:
  struct State {
    std::set<std::string> features;
  };

  /// The closure of `pkg`'s enabled features: the optional dependencies they
  /// enable (by TOML name) and the features they ask of a dependency.
  struct Closure {
    std::set<std::string> features;
    std::set<std::string> enabled_deps;
    std::map<std::string, std::set<std::string>> dep_features;       ///< "dep/feat", "dep?/feat"
    std::map<std::string, std::set<std::string>> weak_dep_features;  ///< "dep?/feat" only
  };

  static bool is_optional_dep(const Pkg& pkg, const std::string& toml_name) {
    return std::any_of(pkg.declared.begin(), pkg.declared.end(),
                       [&](const Declared& d) { return d.optional && d.toml_name == toml_name; });
  }

  Closure closure(const Pkg& pkg, const std::set<std::string>& start) const {
    Closure c;
    std::vector<std::string> todo(start.begin(), start.end());
    while (!todo.empty()) {
      const std::string f = std::move(todo.back());
      todo.pop_back();
      if (!c.features.insert(f).second) continue;
      const auto it = pkg.features.find(f);
      if (it == pkg.features.end()) {
        // An optional dependency's implicit feature (manifests without "dep:").
        if (is_optional_dep(pkg, f)) c.enabled_deps.insert(f);
        continue;
      }
      for (const std::string& v : it->second) {
        if (v.rfind("dep:", 0) == 0) {
          c.enabled_deps.insert(v.substr(4));
        } else if (const auto slash = v.find('/'); slash != std::string::npos) {
          std::string dep = v.substr(0, slash);
          const std::string feat = v.substr(slash + 1);
          if (!dep.empty() && dep.back() == '?') {
            dep.pop_back();
            c.weak_dep_features[dep].insert(feat);
          } else {
            c.dep_features[dep].insert(feat);
            if (is_optional_dep(pkg, dep)) c.enabled_deps.insert(dep);
          }
        } else {
          todo.push_back(v);
        }
      }
    }
    return c;
  }

  /// The declared dependencies an edge stands for on this platform.
  static std::vector<const Declared*> declarations(const Pkg& pkg, const Pkg& dep, const Edge& edge) {
    std::vector<const Declared*> out;
    for (const Declared& d : pkg.declared)
      if (d.name == dep.name && edge.targets.count(d.target) != 0) out.push_back(&d);
    return out;
  }

  /// Applies `id`'s features to its edges; true when anything was added.
  bool visit(const std::string& id) {
    const Pkg& pkg = packages_.at(id);
    const Closure c = closure(pkg, state_[id].features);
    bool changed = false;
    if (c.features.size() != state_[id].features.size()) {
      state_[id].features = c.features;
      changed = true;
    }
    for (const Edge& edge : pkg.edges) {
      const auto dep_it = packages_.find(edge.dep_id);
      if (dep_it == packages_.end()) bad_shape("resolve node " + id + " depends on " + edge.dep_id +
                                               ", which is not in \"packages\"");
      const Pkg& dep = dep_it->second;
      const auto decls = declarations(pkg, dep, edge);
      bool active = decls.empty();  // no declaration found: keep cargo's edge rather than drop a crate
      std::set<std::string> wanted;
      bool default_features = decls.empty();
      for (const Declared* d : decls) {
        const bool on = !d->optional || c.enabled_deps.count(d->toml_name) != 0;
        if (!on) continue;
        active = true;
        default_features |= d->default_features;
        wanted.insert(d->features.begin(), d->features.end());
        for (const auto* table : {&c.dep_features, &c.weak_dep_features})
          if (const auto f = table->find(d->toml_name); f != table->end()) wanted.insert(f->second.begin(), f->second.end());
      }
      if (!active) continue;
      if (default_features && dep.features.count("default") != 0) wanted.insert("default");
      changed |= active_[id].insert(edge.dep_id).second;
      const bool is_new = state_.count(edge.dep_id) == 0;
      auto& dep_features = state_[edge.dep_id].features;
      const std::size_t before = dep_features.size();
      dep_features.insert(wanted.begin(), wanted.end());
      changed |= is_new || dep_features.size() != before;
    }
    return changed;
  }

  std::map<std::string, Pkg>& packages_;
  std::map<std::string, State> state_;
  std::map<std::string, std::set<std::string>> active_;
};

/// Cargo.lock's checksums by (name, version, source); path packages have
/// an entry with an empty source.
struct LockEntry {
  std::string checksum;
};
using LockKey = std::tuple<std::string, std::string, std::string>;

std::map<LockKey, LockEntry> parse_lock(std::string_view text) {
  if (text.size() > kMaxCargoLockBytes)
    throw Error(ErrorCode::InvalidArgument, "Cargo.lock is larger than " + std::to_string(kMaxCargoLockBytes) +
                                                " bytes; rustimg refuses it");
  toml::table doc;
  try {
    doc = toml::parse(text, std::string("Cargo.lock"));
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "Cargo.lock is not TOML (line " << e.source().begin.line << ", column " << e.source().begin.column
        << ": " << e.description() << "); regenerate it with `cargo generate-lockfile`";
    throw Error(ErrorCode::InvalidArgument, msg.str());
  }
  std::map<LockKey, LockEntry> out;
  const auto* packages = doc["package"].as_array();
  if (packages == nullptr) return out;
  for (const auto& node : *packages) {
    const auto* t = node.as_table();
    if (t == nullptr) continue;
    const auto name = (*t)["name"].value<std::string>();
    const auto version = (*t)["version"].value<std::string>();
    if (!name || !version)
      throw Error(ErrorCode::InvalidArgument,
                  "Cargo.lock has a [[package]] without a string name and version; regenerate it with "
                  "`cargo generate-lockfile`");
    out[{*name, *version, (*t)["source"].value_or(std::string())}] = {(*t)["checksum"].value_or(std::string())};
  }
  // Lock format 1 keeps checksums apart: [metadata] "checksum NAME VERSION (SOURCE)" = "hex".
  if (const auto* meta = doc["metadata"].as_table()) {
    for (const auto& [key, value] : *meta) {
      const std::string k(key.str());
      const auto sum = value.value<std::string>();
      if (k.rfind("checksum ", 0) != 0 || !sum) continue;
      std::istringstream in(k.substr(9));
      std::string name, version, source;
      in >> name >> version;
      std::getline(in >> std::ws, source);
      if (source.size() >= 2 && source.front() == '(' && source.back() == ')')
        source = source.substr(1, source.size() - 2);
      if (auto it = out.find({name, version, source}); it != out.end() && it->second.checksum.empty())
        it->second.checksum = *sum;
    }
  }
  return out;
}

/// The order of the result and of each package's dependencies: (name,
/// version, id), as cargo orders package ids and `cargo tree` prints them.
template <class Package>
auto cargo_order(const Package& p) {
  return std::tie(p.name, p.version, p.id);
}

bool is_hex_sha256(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void set_source(ResolvedPackage& out, const Pkg& pkg, const fs::path& workspace_root) {
  const std::string& s = pkg.source;
  if (s.empty()) {
    out.source = ResolvedPackage::Source::Path;
    const fs::path dir = fs::path(pkg.manifest_path).parent_path().lexically_normal();
    const fs::path rel = dir.lexically_relative(workspace_root.lexically_normal());
    const bool inside = !workspace_root.empty() && !rel.empty() && *rel.begin() != "..";
    out.path = (inside ? rel : dir).generic_string();
  } else if (s.rfind("registry+", 0) == 0) {
    out.source = ResolvedPackage::Source::Registry;
    out.source_url = strip_url_userinfo(s.substr(9));
  } else if (s.rfind("sparse+", 0) == 0) {
    // Every source URL is published in the SBOM: none keeps credentials.
    out.source = ResolvedPackage::Source::Registry;
    out.source_url = "sparse+" + strip_url_userinfo(s.substr(7));
  } else if (s.rfind("git+", 0) == 0) {
    out.source = ResolvedPackage::Source::Git;
    std::string url = s.substr(4);
    if (const auto hash = url.find('#'); hash != std::string::npos) {
      out.git_revision = url.substr(hash + 1);
      url.resize(hash);
    }
    // No query (the branch or tag asked for) and no credentials: the URL is
    // published in the SBOM.
    out.source_url = strip_url_userinfo(url);
  } else {
    out.source = ResolvedPackage::Source::Unknown;
    out.source_url = strip_url_userinfo(s);
  }
}

}  // namespace

const char* to_string(ResolvedPackage::Source source) noexcept {
  switch (source) {
    case ResolvedPackage::Source::Registry: return "registry";
    case ResolvedPackage::Source::Git: return "git";
    case ResolvedPackage::Source::Path: return "path";
    case ResolvedPackage::Source::Unknown: break;
  }
  return "unknown";
}

std::vector<ResolvedPackage> normal_dependencies(const json& metadata, std::string_view cargo_lock,
                                                 const std::string& root_id) {
  if (!metadata.is_object()) bad_shape("the document is not an object");
  std::map<std::string, Pkg> packages;
  for (const auto& p : array_member(metadata, "packages", "the document")) {
    Pkg pkg = parse_package(p);
    const std::string id = pkg.id;
    if (!packages.emplace(id, std::move(pkg)).second) bad_shape("package " + id + " is listed twice");
  }
  const auto resolve = metadata.find("resolve");
  if (resolve == metadata.end() || !resolve->is_object())
    bad_shape("the document has no \"resolve\" graph (was it made with --no-deps?)");
  for (const auto& n : array_member(*resolve, "nodes", "\"resolve\"")) parse_node(n, packages);
  const auto root = packages.find(root_id);
  if (root == packages.end() || !root->second.has_node)
    throw Error(ErrorCode::Cargo, "package " + root_id + " is not in the `cargo metadata` resolve graph; "
                                  "pass the id of a workspace member (BuildTarget::package_id)");
  const fs::path workspace_root = optional_string(metadata, "workspace_root", "the document");

  FeatureWalk walk(packages);
  walk.run(root_id);
  const auto lock = parse_lock(cargo_lock);

  std::vector<ResolvedPackage> out;
  for (const auto& [id, pkg] : packages) {
    if (!walk.reached(id)) continue;
    ResolvedPackage r;
    r.name = pkg.name;
    r.version = pkg.version;
    r.id = id;
    r.license = pkg.license;
    r.root = id == root_id;
    set_source(r, pkg, workspace_root);
    const auto entry = lock.find({pkg.name, pkg.version, pkg.source});
    if (entry == lock.end()) {
      if (!pkg.source.empty())
        throw Error(ErrorCode::Cargo, "Cargo.lock has no entry for " + pkg.name + " " + pkg.version + " (" +
                                          pkg.source + "), which `cargo metadata` resolved: is it the lock "
                                          "of this workspace? Run cargo with --locked to keep them in step");
    } else {
      r.checksum = entry->second.checksum;
      if (!r.checksum.empty() && !is_hex_sha256(r.checksum))
        throw Error(ErrorCode::InvalidArgument, "Cargo.lock: the checksum of " + pkg.name + " " + pkg.version +
                                                    " is not a lower-case hex sha256; regenerate the lock");
    }
    if (const auto edges = walk.active_edges().find(id); edges != walk.active_edges().end()) {
      r.dependencies.assign(edges->second.begin(), edges->second.end());
      std::sort(r.dependencies.begin(), r.dependencies.end(), [&](const std::string& a, const std::string& b) {
        return cargo_order(packages.at(a)) < cargo_order(packages.at(b));
      });
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const ResolvedPackage& a, const ResolvedPackage& b) { return cargo_order(a) < cargo_order(b); });
  return out;
}

std::vector<ResolvedPackage> read_normal_dependencies(ProcessRunner& runner, const fs::path& crate_dir,
                                                      const BuildSettings& settings, const std::string& triple,
                                                      const std::string& root_id, const std::string& cargo) {
  // The same lock and feature flags as build_command, so the graph is the build's.
  std::vector<std::string> args = {"--filter-platform", triple};
  const std::vector<std::string> resolution = detail::resolution_flags(settings);
  args.insert(args.end(), resolution.begin(), resolution.end());
  const std::string out = detail::run_metadata(runner, crate_dir, args, cargo);
  const json doc = parse_json(out, "`cargo metadata` output in " + crate_dir.string(), ErrorCode::Cargo);
  if (!doc.is_object()) bad_shape("the document is not an object");
  const fs::path lock_path = fs::path(string_member(doc, "workspace_root", "the document")) / "Cargo.lock";
  std::ifstream in(lock_path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::NotFound, "no Cargo.lock at " + lock_path.string() +
                                         ": run `cargo generate-lockfile` in the workspace");
  std::string text(kMaxCargoLockBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw Error(ErrorCode::Io, "cannot read " + lock_path.string());
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxCargoLockBytes)
    throw Error(ErrorCode::Io, lock_path.string() + " is larger than " + std::to_string(kMaxCargoLockBytes) +
                                   " bytes; rustimg refuses it");
  return normal_dependencies(doc, text, root_id);
}

}  // namespace rustimg::cargo
