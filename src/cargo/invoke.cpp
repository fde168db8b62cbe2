// Running `cargo build` the way rustimg needs it: one run per target, a
// rustimg-owned profile, +crt-static merged into the user's rustflags, and
// the binary found from cargo's JSON messages.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"

namespace rustimg::cargo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kStderrTailLines = 40;

/// A TOML basic string: "..." with backslashes and quotes escaped.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ", ";
    out += toml_string(item);
  }
  return out + "]";
}

/// "aarch64-unknown-linux-gnu" -> "AARCH64_UNKNOWN_LINUX_GNU", as cargo's
/// CARGO_TARGET_<TRIPLE>_* variables spell it.
std::string env_triple(std::string_view triple) {
  std::string out;
  for (char c : triple) out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string var(const BuildEnvironment& env, const std::string& name) {
  auto it = env.vars.find(name);
  return it == env.vars.end() ? std::string() : it->second;
}

fs::path cargo_home(const BuildEnvironment& env) {
  if (auto v = var(env, "CARGO_HOME"); !v.empty()) return v;
  if (auto home = var(env, "HOME"); !home.empty()) return fs::path(home) / ".cargo";
  return {};
}

fs::path rustup_home(const BuildEnvironment& env) {
  if (auto v = var(env, "RUSTUP_HOME"); !v.empty()) return v;
  if (auto home = var(env, "HOME"); !home.empty()) return fs::path(home) / ".rustup";
  return {};
}

/// The flags rustimg adds for `triple`: static linking, reproducible paths,
/// then the spec's own per-target flags.
std::vector<std::string> rustimg_rustflags(const BuildTarget& target, const BuildPaths& paths,
                                           const BuildEnvironment& env) {
  std::vector<std::string> flags = {"-C", "target-feature=+crt-static"};
  if (const auto t = find_rust_target(target.triple); t && t->libc == Libc::Musl)
    flags.insert(flags.end(), {"-C", "link-self-contained=yes"});
  // Absolute paths are the main source of differences between checkouts:
  // map the workspace, cargo's registry sources and the toolchain to fixed names.
  auto remap = [&flags](const fs::path& from, const char* to) {
    if (!from.empty()) flags.push_back("--remap-path-prefix=" + from.lexically_normal().string() + "=" + to);
  };
  remap(paths.workspace_root, "/src");
  remap(cargo_home(env), "/cargo");
  remap(rustup_home(env), "/rustup");
  flags.insert(flags.end(), target.rustflags.begin(), target.rustflags.end());
  return flags;
}

/// Splits RUSTFLAGS the way cargo does (on whitespace).
std::vector<std::string> split_whitespace(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

/// Adds `flags` to the build without replacing the user's own rustflags.
/// Cargo takes rustflags from the first of: CARGO_ENCODED_RUSTFLAGS,
/// RUSTFLAGS, target.*.rustflags (config and CARGO_TARGET_<T>_RUSTFLAGS),
/// build.rustflags; arrays from --config join those from config files.
void add_rustflags(ProcessRequest& req, const std::string& triple, const std::vector<std::string>& flags,
                   const BuildEnvironment& env) {
  const std::string encoded = var(env, "CARGO_ENCODED_RUSTFLAGS");
  const std::string plain = var(env, "RUSTFLAGS");
  if (!encoded.empty() || !plain.empty()) {
    std::vector<std::string> all;
    if (!encoded.empty()) {
      std::string item;
      std::istringstream in(encoded);
      while (std::getline(in, item, '\x1f')) all.push_back(item);
    } else {
      all = split_whitespace(plain);
    }
    all.insert(all.end(), flags.begin(), flags.end());
    req.env["CARGO_ENCODED_RUSTFLAGS"] = join(all, "\x1f");
    return;
  }
  const bool target_flags = env.config_has_target_rustflags ||
                            !var(env, "CARGO_TARGET_" + env_triple(triple) + "_RUSTFLAGS").empty();
  const std::string key = target_flags ? "target." + triple + ".rustflags" : "build.rustflags";
  req.argv.insert(req.argv.end(), {"--config", key + "=" + toml_array(flags)});
}

void add_profile(ProcessRequest& req, const BuildSettings& settings) {
  req.argv.insert(req.argv.end(), {"--profile", settings.profile});
  if (settings.profile != "rustimg") return;  // the user's own profile, used as it is
  auto config = [&req](const std::string& kv) { req.argv.insert(req.argv.end(), {"--config", "profile.rustimg." + kv}); };
  config("inherits=\"release\"");
  if (settings.size_optimize) {
    config("opt-level=\"z\"");
    config("lto=true");
    config("codegen-units=1");
    config("panic=\"abort\"");
    config("strip=\"symbols\"");
  }
}

/// The first error block of cargo's rendered diagnostics ("error[E0308]: ...
/// --> src/main.rs:2:21 ..."), or of its plain stderr.
std::string first_error(const std::string& text) {
  std::istringstream in(text);
  std::string line, block;
  bool in_error = false;
  while (std::getline(in, line)) {
    const bool starts_error = line.rfind("error", 0) == 0;
    if (starts_error && in_error) break;  // the next error begins
    if (starts_error) in_error = true;
    if (!in_error) continue;
    if (line.empty()) break;
    block += (block.empty() ? "" : "\n") + line;
  }
  return block;
}

std::string tail_lines(const std::string& text, std::size_t n) {
  std::size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n')) --pos;
  std::size_t count = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++count == n) break;
    --pos;
  }
  return text.substr(pos);
}

[[noreturn]] void fail(const std::string& triple, const ProcessResult& result) {
  const std::string& err = result.err;
  std::string diagnostics;
  {
    std::istringstream in(err);
    std::string line;
    bool keep = false;
    while (std::getline(in, line)) {
      if (line.rfind("error", 0) == 0) keep = true;
      else if (line.rfind("warning", 0) == 0 || line.rfind("   Compiling", 0) == 0) keep = false;
      if (keep) diagnostics += line + "\n";
    }
  }
  std::string message;
  if (err.find("E0463") != std::string::npos && err.find("target may not be installed") != std::string::npos) {
    message = "the Rust standard library for " + triple + " is not installed: run `rustup target add " + triple +
              "` (or pick another platform/libc in the spec)";
  } else if (err.find("Relocations in generic ELF") != std::string::npos ||
             err.find("file in wrong format") != std::string::npos) {
    message = "linking for " + triple + " used the host linker: set \"target\": {\"" + triple +
              "\": {\"linker\": \"...\"}} in the spec (it becomes CARGO_TARGET_" + env_triple(triple) + "_LINKER)";
  } else {
    const std::string first = first_error(err);
    message = "cargo build for " + triple + " failed (exit " + std::to_string(result.exit_code) + ")" +
              (first.empty() ? std::string() : ":\n" + first);
  }
  throw CargoError(message, result.exit_code, diagnostics, tail_lines(err, kStderrTailLines));
}

/// Whether a cargo config file sets rustflags for a target: a
/// `[target.X]` table with a `rustflags` key, or a dotted
/// `target.X.rustflags` key. Reads TOML only as far as that question needs.
bool config_sets_target_rustflags(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return false;
  std::string line, table;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r");
    const auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (line.front() == '[') {
      table = trim(line.substr(line.find_first_not_of('['), line.find(']') - line.find_first_not_of('[')));
      continue;
    }
    const std::string key = trim(line.substr(0, line.find('=')));
    const std::string full = table.empty() ? key : table + "." + key;
    if (full.rfind("target.", 0) == 0 && full.size() >= 10 && full.compare(full.size() - 10, 10, ".rustflags") == 0)
      return true;
  }
  return false;
}

}  // namespace

BuildEnvironment BuildEnvironment::detect(const fs::path& crate_dir) {
  BuildEnvironment env;
  for (const char* name : {"RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_HOME", "RUSTUP_HOME", "HOME", "SOURCE_DATE_EPOCH"})
    if (const char* v = std::getenv(name)) env.vars[name] = v;
  for (const auto& t : rust_targets()) {
    const std::string name = "CARGO_TARGET_" + env_triple(t.triple) + "_RUSTFLAGS";
    if (const char* v = std::getenv(name.c_str())) env.vars[name] = v;
  }
  std::error_code ec;
  fs::path dir = fs::absolute(crate_dir, ec);
  for (; !dir.empty(); dir = dir.parent_path()) {
    for (const char* name : {"config.toml", "config"})
      env.config_has_target_rustflags |= config_sets_target_rustflags(dir / ".cargo" / name);
    if (dir == dir.root_path()) break;
  }
  if (auto home = cargo_home(env); !home.empty())
    for (const char* name : {"config.toml", "config"})
      env.config_has_target_rustflags |= config_sets_target_rustflags(home / name);
  return env;
}

BuildTarget build_target(const Package& package, std::string bin, const Platform& platform, std::string triple) {
  BuildTarget t;
  t.platform = platform;
  t.triple = std::move(triple);
  t.package = package.name;
  t.package_id = package.id;
  t.manifest_path = package.manifest_path;
  t.bin = std::move(bin);
  return t;
}

ProcessRequest build_command(const BuildSettings& settings, const BuildTarget& target, const BuildPaths& paths,
                             const BuildEnvironment& env) {
  if (target.package.empty()) throw Error(ErrorCode::InvalidArgument, "build_command: no package");
  ProcessRequest req;
  req.cwd = paths.crate_dir.string();  // cargo finds the user's .cargo/config.toml from here
  req.argv = {env.cargo, "build", "--message-format=json-render-diagnostics",
              "--manifest-path", target.manifest_path.string(),
              "--target", target.triple,
              "-p", target.package, "--bin", target.bin};
  add_profile(req, settings);
  if (settings.locked && settings.offline) req.argv.push_back("--frozen");
  else if (settings.locked) req.argv.push_back("--locked");
  else if (settings.offline) req.argv.push_back("--offline");
  if (settings.all_features) req.argv.push_back("--all-features");
  if (!settings.default_features) req.argv.push_back("--no-default-features");
  if (!settings.features.empty()) req.argv.insert(req.argv.end(), {"--features", join(settings.features, ",")});
  add_rustflags(req, target.triple, rustimg_rustflags(target, paths, env), env);

  for (const auto& [k, v] : target.env) req.env[k] = v;
  if (!target.linker.empty()) req.env["CARGO_TARGET_" + env_triple(target.triple) + "_LINKER"] = target.linker;
  // Build scripts and C code read it; rustc itself does not.
  if (auto sde = var(env, "SOURCE_DATE_EPOCH"); !sde.empty()) req.env["SOURCE_DATE_EPOCH"] = sde;
  // Rendered diagnostics without colour codes, whatever the terminal.
  req.env["CARGO_TERM_COLOR"] = "never";
  return req;
}

std::vector<Binary> build(const BuildSettings& settings, const std::vector<BuildTarget>& targets,
                          const BuildPaths& paths, const BuildEnvironment& env, ProcessRunner& runner,
                          const BuildCallbacks& callbacks) {
  std::vector<Binary> out;
  for (const BuildTarget& target : targets) {
    const std::string& triple = target.triple;
    const std::string& bin = target.bin;
    ProcessRequest req = build_command(settings, target, paths, env);
    std::optional<fs::path> executable;
    std::optional<bool> finished;
    req.on_stdout_line = [&](std::string_view line) {
      if (line.empty() || line.front() != '{') return;  // proc-macros may print other things
      const json msg = try_parse_json(line).value_or(nullptr);
      if (!msg.is_object()) return;
      const std::string reason = msg.value("reason", "");
      if (reason == "build-finished") {
        finished = msg.value("success", false);
      } else if (reason == "compiler-artifact" && msg.value("package_id", "") == target.package_id) {
        const json& t = msg.value("target", json::object());
        const json kinds = t.value("kind", json::array());
        const bool is_bin = std::find(kinds.begin(), kinds.end(), "bin") != kinds.end();
        if (is_bin && t.value("name", "") == bin && msg.contains("executable") && msg["executable"].is_string())
          executable = msg["executable"].get<std::string>();
      }
    };
    // A throw from a line callback kills cargo's process group.
    if (callbacks.progress)
      req.on_stderr_line = [&](std::string_view line) {
        report_progress(callbacks.progress, ProgressEvent{"cargo", std::string(line)});
      };
    req.cancelled = callbacks.cancelled;
    report_progress(callbacks.progress,
                    ProgressEvent{"cargo", "building " + target.package + " (bin " + bin + ") for " + triple});
    const ProcessResult result = runner.run(req);
    if (result.exit_code != 0 || finished != true) fail(triple, result);
    if (!executable)
      throw CargoError("cargo built " + triple + " but reported no executable for bin \"" + bin + "\" of package " +
                           target.package,
                       result.exit_code, "", tail_lines(result.err, kStderrTailLines));
    out.push_back(Binary{target.platform, triple, *executable});
  }
  return out;
}

}  // namespace rustimg::cargo
