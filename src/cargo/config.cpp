// Where cargo takes rustflags from: the cargo config files that apply to a
// crate (read with toml++), the environment, and target.'cfg(...)' keys
// evaluated against the target's cfg. Parsing and the decision are pure;
// detect() reads the files.
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "cargo/env.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "util/source_date_epoch.hpp"

namespace rustimg::cargo {
namespace detail {

std::string env_triple(std::string_view triple) {
  std::string out;
  for (char c : triple)
    out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string cc_triple(std::string_view triple) {
  std::string out(triple);
  std::replace(out.begin(), out.end(), '-', '_');
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

std::string spec_linker_hint(const std::string& triple) {
  return "\"target\": {\"" + triple + "\": {\"linker\": \"...\"}} in the spec";
}

std::optional<std::string> env_value(const BuildEnvironment& env, const std::string& name) {
  auto it = env.vars.find(name);
  if (it == env.vars.end()) return std::nullopt;
  return it->second;
}

std::filesystem::path cargo_home(const BuildEnvironment& env) {
  if (auto v = env_value(env, "CARGO_HOME"); v && !v->empty()) return *v;
  if (auto home = env_value(env, "HOME"); home && !home->empty()) return std::filesystem::path(*home) / ".cargo";
  return {};
}

std::size_t whitespace_at(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  const unsigned c = byte(0);
  if ((c >= 0x09 && c <= 0x0d) || c == 0x20) return 1;
  if (c == 0xc2 && (byte(1) == 0x85 || byte(1) == 0xa0)) return 2;  // U+0085, U+00A0
  if (c == 0xe1 && byte(1) == 0x9a && byte(2) == 0x80) return 3;     // U+1680
  if (c == 0xe2 && byte(1) == 0x80) {
    const unsigned d = byte(2);                                       // U+2000..200A, 2028, 2029, 202F
    if ((d >= 0x80 && d <= 0x8a) || d == 0xa8 || d == 0xa9 || d == 0xaf) return 3;
  }
  if (c == 0xe2 && byte(1) == 0x81 && byte(2) == 0x9f) return 3;     // U+205F
  if (c == 0xe3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;     // U+3000
  return 0;
}

std::vector<std::string> split_whitespace(std::string_view s) {
  std::vector<std::string> out;
  std::optional<std::size_t> start;  // of the word being read
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = whitespace_at(s, i)) {
      if (start) out.emplace_back(s.substr(*start, i - *start));
      start.reset();
      i += n;
    } else {
      if (!start) start = i;
      ++i;
    }
  }
  if (start) out.emplace_back(s.substr(*start));
  return out;
}

std::vector<std::string> split_rustflags_env(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= s.size();) {
    std::size_t end = s.find(' ', start);
    if (end == std::string_view::npos) end = s.size();
    // trim the piece: whitespace at either end goes, whitespace inside stays
    std::size_t first = start;
    std::size_t last = start;  // one past the last non-whitespace byte
    bool leading = true;
    for (std::size_t i = start; i < end;) {
      if (const std::size_t n = whitespace_at(s, i)) {
        i += n;
        if (leading) first = i;
      } else {
        leading = false;
        last = ++i;
      }
    }
    if (last > first) out.emplace_back(s.substr(first, last - first));
    start = end + 1;
  }
  return out;
}

std::map<std::string, ConfigEnvValue> config_env(const BuildEnvironment& env) {
  std::map<std::string, ConfigRustflags::EnvValue> merged;  // field by field, higher precedence later
  std::map<std::string, std::filesystem::path> value_file;   // the file the value came from
  for (const ConfigRustflags& c : env.configs)
    for (const auto& [name, v] : c.env) {
      auto& m = merged[name];
      if (v.value) {
        m.value = v.value;
        value_file[name] = c.file;
      }
      if (v.force) m.force = v.force;
      if (v.relative) m.relative = v.relative;
    }
  std::map<std::string, ConfigEnvValue> out;
  for (const auto& [name, m] : merged) {
    if (!m.value) continue;
    ConfigEnvValue v{*m.value, m.force.value_or(false)};
    // relative: against the directory holding the file's .cargo directory
    if (m.relative.value_or(false))
      v.value = (value_file[name].parent_path().parent_path() / *m.value).string();
    out[name] = std::move(v);
  }
  return out;
}

bool is_cfg_key(std::string_view key) { return key.size() >= 5 && key.rfind("cfg(", 0) == 0 && key.back() == ')'; }

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::env_value;
using detail::is_cfg_key;

constexpr std::uintmax_t kMaxConfigBytes = 1u << 20;
constexpr int kMaxIncludeDepth = 8;

[[noreturn]] void bad_config(const fs::path& file, const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, "cargo config " + file.string() + ": " + what);
}

toml::table parse_toml(std::string_view text, const fs::path& file) {
  try {
    return toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    bad_config(file, "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()) +
                         " (cargo refuses it too: fix the TOML)");
  }
}

/// A rustflags value: a string cargo splits on whitespace, or an array of strings.
ConfigRustflags::Value rustflags_value(const toml::node& node, const fs::path& file, const std::string& key) {
  ConfigRustflags::Value v;
  if (const auto* s = node.as_string()) {
    v.flags = detail::split_whitespace(s->get());
    v.is_string = true;
    return v;
  }
  const auto* arr = node.as_array();
  if (arr == nullptr) bad_config(file, key + " must be a string or an array of strings");
  for (const auto& item : *arr) {
    const auto* s = item.as_string();
    if (s == nullptr) bad_config(file, key + " must be a string or an array of strings");
    v.flags.push_back(s->get());
  }
  return v;
}

ConfigRustflags rustflags_of(const toml::table& doc, const fs::path& file) {
  ConfigRustflags out;
  out.file = file;
  if (const auto* build = doc["build"].as_table())
    if (const auto* flags = build->get("rustflags")) out.build = rustflags_value(*flags, file, "build.rustflags");
  if (const auto* target = doc["target"].as_table())
    for (const auto& [key, node] : *target) {
      const auto* table = node.as_table();
      if (table == nullptr) continue;
      const std::string name(key.str());
      if (const auto* flags = table->get("rustflags"))
        out.target[name] = rustflags_value(*flags, file, "target." + name + ".rustflags");
      if (const auto* linker = table->get("linker")) {
        const auto* value = linker->as_string();
        if (value == nullptr) bad_config(file, "target." + name + ".linker must be a string (a program or path)");
        out.linker[name] = value->get();
      }
    }
  if (const auto* env = doc["env"].as_table())
    for (const auto& [key, node] : *env) {
      const std::string name(key.str());
      ConfigRustflags::EnvValue v;
      if (const auto* s = node.as_string()) {
        v.value = s->get();
      } else if (const auto* t = node.as_table(); t && (*t)["value"].is_string()) {
        v.value = (*t)["value"].value_or(std::string());
        if (const auto* f = t->get("force")) v.force = f->value_or(false);
        if (const auto* r = t->get("relative")) v.relative = r->value_or(false);
      } else {
        bad_config(file, "env." + name + " must be a string or a {value = \"...\", force, relative} table");
      }
      out.env[name] = std::move(v);
    }
  return out;
}

struct Include {
  fs::path path;
  bool optional = false;
};

/// The files `include = [...]` names, relative to the including file.
std::vector<Include> includes_of(const toml::table& doc, const fs::path& file) {
  std::vector<Include> out;
  const toml::node* node = doc.get("include");
  if (node == nullptr) return out;
  const auto* arr = node->as_array();
  if (arr == nullptr) bad_config(file, "include must be an array of paths or {path, optional} tables");
  for (const auto& item : *arr) {
    Include inc;
    if (const auto* s = item.as_string()) {
      inc.path = s->get();
    } else if (const auto* t = item.as_table(); t && (*t)["path"].is_string()) {
      inc.path = (*t)["path"].value_or(std::string());
      inc.optional = (*t)["optional"].value_or(false);
    } else {
      bad_config(file, "include must be an array of paths or {path, optional} tables");
    }
    out.push_back({file.parent_path() / inc.path, inc.optional});
  }
  return out;
}

/// The file's text, or nullopt when it does not exist; capped in size.
std::optional<std::string> read_config_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  const auto size = fs::file_size(file, ec);
  if (ec) bad_config(file, "cannot read it: " + ec.message());
  if (size > kMaxConfigBytes) bad_config(file, "larger than 1 MiB; a cargo config file is not that large");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) bad_config(file, "cannot read it");
  return text.str();
}

/// The parsed file, or nullopt when it does not exist.
std::optional<toml::table> parse_config_file(const fs::path& file) {
  const auto text = read_config_file(file);
  if (!text) return std::nullopt;
  return parse_toml(*text, file);
}

/// `file` (parsed as `doc`) and, when cargo reads them, what it includes,
/// lowest precedence first (includes before the file).
void load_config(const fs::path& file, const toml::table& doc, bool reads_include, int depth,
                 std::vector<fs::path>& stack, std::vector<ConfigRustflags>& out) {
  if (depth > kMaxIncludeDepth) bad_config(file, "includes nest deeper than " + std::to_string(kMaxIncludeDepth));
  for (const auto& seen : stack)
    if (seen == file) bad_config(file, "includes itself (an include cycle)");
  stack.push_back(file);
  if (reads_include)
    for (const Include& inc : includes_of(doc, file)) {
      const auto included = parse_config_file(inc.path);
      if (!included) {
        if (inc.optional) continue;
        bad_config(inc.path, "it is included by " + file.string() + " but does not exist");
      }
      load_config(inc.path, *included, true, depth + 1, stack, out);
    }
  stack.pop_back();
  out.push_back(rustflags_of(doc, file));
}


/// The cargo config file of a directory: .cargo/config (cargo prefers the
/// legacy name when both exist), else .cargo/config.toml.
std::optional<fs::path> config_in(const fs::path& cargo_dir) {
  std::error_code ec;
  for (const char* name : {"config", "config.toml"})
    if (fs::is_regular_file(cargo_dir / name, ec)) return cargo_dir / name;
  return std::nullopt;
}

// --- cfg(...) expressions -------------------------------------------------------

class CfgParser {
 public:
  CfgParser(std::string_view text, const std::set<std::string>& cfg) : text_(text), cfg_(cfg) {}

  bool parse_all() {
    const bool v = expr();
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::InvalidArgument, "cfg expression \"" + std::string(text_) + "\": " + what + " at offset " +
                                                std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string ident() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    if (start == pos_ || std::isdigit(static_cast<unsigned char>(text_[start]))) fail("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }
  /// The comma-separated expressions of all(...) / any(...).
  std::vector<bool> list() {
    std::vector<bool> out;
    if (!eat('(')) fail("expected (");
    while (!eat(')')) {
      out.push_back(expr());
      if (!eat(',')) {
        if (!eat(')')) fail("expected , or )");
        break;
      }
    }
    return out;
  }
  bool expr() {
    const std::string name = ident();
    if (name == "all" || name == "any") {
      const auto items = list();
      bool v = name == "all";
      for (bool item : items) v = name == "all" ? v && item : v || item;
      return v;
    }
    if (name == "not") {
      if (!eat('(')) fail("expected (");
      const bool v = !expr();
      if (!eat(')')) fail("expected )");
      return v;
    }
    if (name == "true") return true;
    if (name == "false") return false;
    if (!eat('=')) return cfg_.count(name) != 0;
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a quoted value");
    const std::size_t end = text_.find('"', pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    const std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return cfg_.count(name + "=\"" + value + "\"") != 0;
  }

  std::string_view text_;
  const std::set<std::string>& cfg_;
  std::size_t pos_ = 0;
};


/// The merged value of one config key over the files, as cargo merges them:
/// arrays join (higher precedence later), a string replaces a string, and a
/// string next to an array is an error.
std::optional<ConfigRustflags::Value> merged(
    const std::vector<ConfigRustflags>& configs, const std::string& key,
    const std::function<const ConfigRustflags::Value*(const ConfigRustflags&)>& pick) {
  std::optional<ConfigRustflags::Value> acc;
  const fs::path* from = nullptr;
  for (const ConfigRustflags& c : configs) {
    const ConfigRustflags::Value* v = pick(c);
    if (v == nullptr) continue;
    if (acc && acc->is_string != v->is_string)
      throw Error(ErrorCode::InvalidArgument,
                  "cargo config: " + key + " is a string in " + (v->is_string ? c.file : *from).string() +
                      " and an array in " + (v->is_string ? *from : c.file).string() +
                      "; cargo cannot merge them: write both as arrays");
    if (acc && !acc->is_string) acc->flags.insert(acc->flags.end(), v->flags.begin(), v->flags.end());
    else acc = *v;
    from = &c.file;
  }
  return acc;
}

}  // namespace

ConfigRustflags parse_config_rustflags(std::string_view toml_text, const fs::path& file) {
  return rustflags_of(parse_toml(toml_text, file), file);
}

bool cargo_reads_config_include(std::string_view cargo_version, bool unstable_allowed, bool unstable_config_include) {
  // "cargo 1.95.0 (f2d3ce0bd 2026-03-21)", "cargo 1.92.0-nightly (...)"
  constexpr std::string_view kPrefix = "cargo ";
  if (cargo_version.substr(0, kPrefix.size()) != kPrefix) return true;  // unknown: a current cargo
  const std::string_view v = cargo_version.substr(kPrefix.size());
  const char* const end = v.data() + v.size();
  unsigned major = 0;
  unsigned minor = 0;
  auto r = std::from_chars(v.data(), end, major);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return true;
  r = std::from_chars(r.ptr + 1, end, minor);
  if (r.ec != std::errc()) return true;
  if (major > 1 || minor >= 93) return true;  // `include` is stable since cargo 1.93
  const std::string_view tag = v.substr(0, v.find(' '));
  const bool nightly = tag.find("-nightly") != std::string_view::npos || tag.find("-dev") != std::string_view::npos;
  return unstable_config_include && (nightly || unstable_allowed);
}

bool cfg_matches(std::string_view key, const std::vector<std::string>& cfg) {
  if (!is_cfg_key(key)) return false;
  const std::set<std::string> set(cfg.begin(), cfg.end());
  return CfgParser(key.substr(4, key.size() - 5), set).parse_all();
}

bool BuildEnvironment::needs_target_cfg() const {
  for (const auto& c : configs)
    for (const auto& [key, value] : c.linker)
      if (is_cfg_key(key)) return true;
  if (vars.count("CARGO_ENCODED_RUSTFLAGS") != 0 || vars.count("RUSTFLAGS") != 0) return false;
  for (const auto& c : configs)
    for (const auto& [key, value] : c.target)
      if (is_cfg_key(key)) return true;
  return false;
}

UserRustflags user_rustflags(const BuildEnvironment& env, const std::string& triple) {
  UserRustflags out;
  if (auto encoded = env_value(env, "CARGO_ENCODED_RUSTFLAGS")) {
    out.source = UserRustflags::Source::EncodedEnv;
    std::size_t start = 0;
    while (!encoded->empty()) {
      const std::size_t sep = encoded->find('\x1f', start);
      out.flags.push_back(encoded->substr(start, sep - start));
      if (sep == std::string::npos) break;
      start = sep + 1;
    }
    return out;
  }
  if (auto plain = env_value(env, "RUSTFLAGS")) {
    out.source = UserRustflags::Source::RustflagsEnv;
    out.flags = detail::split_rustflags_env(*plain);
    return out;
  }
  auto append_env = [&env](std::vector<std::string>& flags, const std::string& name) {
    if (auto v = env_value(env, name))
      for (auto& w : detail::split_whitespace(*v)) flags.push_back(w);
  };
  // target.<triple>.rustflags with CARGO_TARGET_<TRIPLE>_RUSTFLAGS, then each
  // matching target.'cfg(...)'.rustflags in key order.
  const auto own = merged(env.configs, "target." + triple + ".rustflags", [&triple](const ConfigRustflags& c) {
    auto it = c.target.find(triple);
    return it == c.target.end() ? nullptr : &it->second;
  });
  std::vector<std::string> target_flags = own ? own->flags : std::vector<std::string>{};
  append_env(target_flags, "CARGO_TARGET_" + detail::env_triple(triple) + "_RUSTFLAGS");
  if (env.needs_target_cfg()) {
    auto cfg = env.target_cfg.find(triple);
    if (cfg == env.target_cfg.end())
      throw Error(ErrorCode::InvalidArgument, "the cfg of " + triple +
                                                  " is needed for target.'cfg(...)'.rustflags but was not given");
    std::set<std::string> keys;
    for (const auto& c : env.configs)
      for (const auto& [key, value] : c.target)
        if (is_cfg_key(key)) keys.insert(key);
    for (const std::string& key : keys) {
      if (!cfg_matches(key, cfg->second)) continue;
      const auto v = merged(env.configs, "target.'" + key + "'.rustflags", [&key](const ConfigRustflags& c) {
        auto it = c.target.find(key);
        return it == c.target.end() ? nullptr : &it->second;
      });
      if (v) target_flags.insert(target_flags.end(), v->flags.begin(), v->flags.end());
    }
  }
  if (!target_flags.empty()) {
    out.source = UserRustflags::Source::Target;
    out.flags = std::move(target_flags);
    out.joins_config_array = !(own && own->is_string);
    return out;
  }
  const auto build = merged(env.configs, "build.rustflags",
                            [](const ConfigRustflags& c) { return c.build ? &*c.build : nullptr; });
  if (build) out.flags = build->flags;
  append_env(out.flags, "CARGO_BUILD_RUSTFLAGS");
  out.source = out.flags.empty() ? UserRustflags::Source::None : UserRustflags::Source::Build;
  out.joins_config_array = !(build && build->is_string);
  return out;
}

BuildEnvironment BuildEnvironment::detect(const fs::path& crate_dir, ProcessRunner& runner, const std::string& cargo) {
  BuildEnvironment env;
  env.cargo = cargo;
  for (const char* name : {"RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_HOME",
                           "RUSTUP_HOME", "HOME", "CFLAGS", "CXXFLAGS", "HOST_CFLAGS", "HOST_CXXFLAGS",
                           "TARGET_CFLAGS", "TARGET_CXXFLAGS", "TARGET_CC", "TARGET_AR", "CROSS_COMPILE", "PATH",
                           "CARGO_UNSTABLE_BUILD_STD"})
    if (const char* v = std::getenv(name)) env.vars[name] = v;
  auto read = [&env](const std::string& name) {
    if (const char* v = std::getenv(name.c_str())) env.vars[name] = v;
  };
  for (const auto& t : rust_targets()) {
    read("CARGO_TARGET_" + detail::env_triple(t.triple) + "_RUSTFLAGS");
    read("CARGO_TARGET_" + detail::env_triple(t.triple) + "_LINKER");
    const std::string underscores = detail::cc_triple(t.triple);
    for (const char* base : {"CFLAGS_", "CXXFLAGS_", "CC_", "AR_"}) {
      read(base + t.triple);
      read(base + underscores);
    }
  }
  if (const char* rustc = std::getenv("RUSTC"); rustc && *rustc) env.rustc = rustc;
  env.source_date_epoch = util::source_date_epoch_from_environment();

  // cargo reads .cargo/config[.toml] from the crate directory up to /, then
  // $CARGO_HOME/config[.toml] unless the walk already read it.
  std::vector<fs::path> files;  // highest precedence first
  std::error_code ec;
  for (fs::path dir = fs::absolute(crate_dir, ec).lexically_normal(); !dir.empty(); dir = dir.parent_path()) {
    if (auto f = config_in(dir / ".cargo")) files.push_back(*f);
    if (dir == dir.root_path()) break;
  }
  if (auto home = detail::cargo_home(env); !home.empty())
    if (auto f = config_in(home)) {
      bool seen = false;
      for (const auto& g : files) seen |= fs::equivalent(g, *f, ec);
      if (!seen) files.push_back(*f);
    }
  std::vector<std::pair<fs::path, toml::table>> docs;  // lowest precedence first
  const char* unstable_env = std::getenv("CARGO_UNSTABLE_CONFIG_INCLUDE");
  bool unstable_include = unstable_env != nullptr && std::string_view(unstable_env) == "true";
  bool any_include = false;
  for (auto it = files.rbegin(); it != files.rend(); ++it)
    if (auto doc = parse_config_file(*it)) {
      unstable_include |= (*doc)["unstable"]["config-include"].value_or(false);
      any_include |= doc->contains("include");
      docs.emplace_back(*it, std::move(*doc));
    }
  // Only a config with `include` needs to know which cargo reads it, so
  // the common case runs no extra process.
  const char* bootstrap = std::getenv("RUSTC_BOOTSTRAP");
  const bool reads_include =
      any_include &&
      cargo_reads_config_include(tool_version(env.cargo, crate_dir, runner),
                                 bootstrap != nullptr && std::string_view(bootstrap) == "1", unstable_include);
  for (const auto& [file, doc] : docs) {
    std::vector<fs::path> stack;
    load_config(file, doc, reads_include, 0, stack, env.configs);
  }
  return env;
}

std::string tool_version(const std::string& program, const fs::path& crate_dir, ProcessRunner& runner) {
  ProcessRequest req;
  req.argv = {program, "--version"};
  req.cwd = crate_dir.string();
  try {
    const ProcessResult r = runner.run(req);
    if (r.exit_code == 0) return r.out.substr(0, std::min<std::size_t>(r.out.find('\n'), 512));
  } catch (const Error&) {
  }
  return {};
}

}  // namespace rustimg::cargo
