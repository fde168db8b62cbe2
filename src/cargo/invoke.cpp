// Running `cargo build` the way rustimg needs it: one run per target, a
// rustimg-owned profile, +crt-static merged into the user's rustflags, and
// the binary found from cargo's JSON messages.
#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <utility>

#include "cargo/env.hpp"
#include "cargo/metadata_internal.hpp"
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

std::string var(const BuildEnvironment& env, const std::string& name) {
  return detail::env_value(env, name).value_or(std::string());
}

fs::path rustup_home(const BuildEnvironment& env) {
  if (auto v = var(env, "RUSTUP_HOME"); !v.empty()) return v;
  if (auto home = var(env, "HOME"); !home.empty()) return fs::path(home) / ".rustup";
  return {};
}

/// Absolute paths are the main source of differences between checkouts: the
/// workspace, cargo's registry sources, the toolchain and cargo's target
/// directory (OUT_DIR lives there, wherever it is) map to fixed names. Both
/// rustc and C compilers apply the last matching map, so the most specific
/// (the target directory, often inside the workspace) comes last.
std::vector<std::pair<std::string, std::string>> path_maps(const BuildPaths& paths, const BuildEnvironment& env) {
  std::vector<std::pair<std::string, std::string>> maps;
  auto add = [&maps](const fs::path& from, const char* to) {
    if (!from.empty()) maps.emplace_back(from.lexically_normal().string(), to);
  };
  add(paths.workspace_root, "/src");
  add(detail::cargo_home(env), "/cargo");
  add(rustup_home(env), "/rustup");
  add(paths.target_dir, "/target");
  return maps;
}

/// The flags rustimg adds for `triple`: static linking, reproducible paths,
/// then the spec's own per-target flags.
std::vector<std::string> rustimg_rustflags(const BuildTarget& target, const BuildPaths& paths,
                                           const BuildEnvironment& env) {
  std::vector<std::string> flags = {"-C", "target-feature=+crt-static"};
  if (const auto t = find_rust_target(target.triple); t && t->libc == Libc::Musl)
    flags.insert(flags.end(), {"-C", "link-self-contained=yes"});
  for (const auto& [from, to] : path_maps(paths, env)) flags.push_back("--remap-path-prefix=" + from + "=" + to);
  const std::vector<std::string> cross = cross_defaults(target, env).rustflags;
  flags.insert(flags.end(), cross.begin(), cross.end());
  flags.insert(flags.end(), target.rustflags.begin(), target.rustflags.end());
  return flags;
}

/// Whether the `cc` crate reads `name` as C (`base` CFLAGS) or C++ (CXXFLAGS)
/// flags for some target: BASE, BASE_<triple>, BASE_<triple_with_underscores>,
/// HOST_BASE or TARGET_BASE.
bool is_cc_flags_var(const std::string& name, const std::string& base) {
  return name == base || name == "HOST_" + base || name == "TARGET_" + base || name.rfind(base + "_", 0) == 0;
}

/// The same maps for C and C++ compilers run by build scripts (the `cc`
/// crate and the builds that take its flags), through the variables cc
/// reads. cc takes the first of BASE_<triple>, BASE_<triple_underscores>,
/// TARGET_/HOST_BASE and BASE that is set and splits it on whitespace, so
/// the maps are appended to every one of them the user set (never replacing
/// the user's flags), and BASE itself carries them when unset. A path that
/// whitespace, quotes or '=' would break is left unmapped. The user's values
/// are the process environment's, overridden by the target's `env`, with
/// cargo's rule for the config files' `[env]`: an entry applies only when
/// cargo's environment lacks the variable, unless it is `force`d. Setting the
/// variable in cargo's environment would hide a plain entry, so its value is
/// taken in; a forced entry would replace ours, so it is overridden through
/// --config (which outranks the files) with the user's value and the maps.
void add_c_path_maps(ProcessRequest& req, const BuildTarget& target, const BuildPaths& paths,
                     const BuildEnvironment& env) {
  std::string ours;
  for (const auto& [from, to] : path_maps(paths, env)) {
    if (from.find_first_of(" \t\n\r\v\f\"'\\=") != std::string::npos) continue;
    ours += (ours.empty() ? "" : " ") + std::string("-ffile-prefix-map=") + from + "=" + to;
  }
  if (ours.empty()) return;
  std::map<std::string, std::string> user = env.vars;
  for (const auto& [name, value] : target.env) user[name] = value;
  std::set<std::string> forced;
  for (const auto& [name, v] : detail::config_env(env)) {
    if (!is_cc_flags_var(name, "CFLAGS") && !is_cc_flags_var(name, "CXXFLAGS")) continue;
    if (v.force) forced.insert(name);
    if (v.force || user.count(name) == 0) user[name] = v.value;
  }
  const auto with_maps = [&ours](const std::string& value) { return value.empty() ? ours : value + " " + ours; };
  for (const std::string base : {"CFLAGS", "CXXFLAGS"}) {
    for (const auto& [name, value] : user)
      if (is_cc_flags_var(name, base)) req.env[name] = with_maps(value);
    if (user.count(base) == 0) req.env[base] = ours;
  }
  // Dotted keys: cargo refuses an inline table in --config; the file's table takes them.
  for (const std::string& name : forced)
    req.argv.insert(req.argv.end(), {"--config", "env." + name + ".value=" + toml_string(with_maps(user[name])),
                                     "--config", "env." + name + ".relative=false"});
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

/// Adds `flags` to the source cargo takes rustflags from for `triple`, so
/// that cargo neither ignores them nor drops the user's: an array given with
/// --config joins the user's config arrays (and their environment variable);
/// an environment variable or a string-valued config key cannot be joined,
/// so CARGO_ENCODED_RUSTFLAGS (which cargo reads first) then carries the
/// user's flags followed by ours.
void add_rustflags(ProcessRequest& req, const std::string& triple, const std::vector<std::string>& flags,
                   const BuildEnvironment& env) {
  const UserRustflags user = user_rustflags(env, triple);
  using Source = UserRustflags::Source;
  const bool from_env = user.source == Source::EncodedEnv || user.source == Source::RustflagsEnv;
  if (from_env || !user.joins_config_array) {
    std::vector<std::string> all = user.flags;
    all.insert(all.end(), flags.begin(), flags.end());
    req.env["CARGO_ENCODED_RUSTFLAGS"] = join(all, "\x1f");
    return;
  }
  const std::string key = user.source == Source::Target ? "target." + triple + ".rustflags" : "build.rustflags";
  req.argv.insert(req.argv.end(), {"--config", key + "=" + toml_array(flags)});
}

void add_profile(ProcessRequest& req, const BuildSettings& settings) {
  req.argv.insert(req.argv.end(), {"--profile", settings.profile});
  if (settings.profile != "rustimg") return;  // the user's own profile, used as it is
  auto config = [&req](const std::string& kv) { req.argv.insert(req.argv.end(), {"--config", "profile.rustimg." + kv}); };
  config("inherits=\"release\"");
  // Each step keeps what the one before set; see SizeOptimize.
  const SizeOptimize level = settings.size_optimize;
  if (level == SizeOptimize::None) return;
  if (level == SizeOptimize::Min) config("opt-level=\"z\"");
  if (level == SizeOptimize::Small || level == SizeOptimize::Min) {
    config("lto=true");
    config("codegen-units=1");
  }
  if (level == SizeOptimize::Min) config("panic=\"abort\"");
  config("strip=\"symbols\"");
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

/// Advice for a workspace without Cargo.lock when the build is locked.
std::string missing_lockfile_message(const fs::path& workspace_root, const OptionNames& names) {
  return workspace_root.string() + " has no Cargo.lock, and the build is locked (\"locked\": true, the default), "
         "so cargo may not create one: run `cargo generate-lockfile` in " + workspace_root.string() +
         " (and commit Cargo.lock), or set \"locked\": false in the image spec (rustimg.json or "
         "[package.metadata.rustimg]; " + names.unlocked + " for this build) to let cargo resolve and write it";
}

/// ", or install PKGS, which rustimg then uses" when Debian packages a
/// cross toolchain for `triple`.
std::string cross_package_advice(const std::string& triple) {
  const auto t = find_rust_target(triple);
  if (!t || t->gnu_prefix.empty()) return {};
  return ", or leave the linker unset and apt-get install " + t->debian_packages + " (rustimg then links with " +
         t->cross_linker + ")";
}

/// The tool the `cc` crate could not run: `failed to find tool "X"`.
std::optional<std::string> missing_c_tool(const std::string& err) {
  constexpr std::string_view kMarker = "failed to find tool \"";
  const auto at = err.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + kMarker.size();
  const auto end = err.find('"', start);
  if (end == std::string::npos || end - start > 200) return std::nullopt;
  return err.substr(start, end - start);
}

/// A build script compiles C for `triple` with a compiler that is not installed.
std::string missing_c_tool_message(const std::string& triple, const std::string& tool) {
  const std::string u = detail::cc_triple(triple);
  const std::string set_cc = "set \"target\": {\"" + triple + "\": {\"env\": {\"CC_" + u + "\": \"...\", \"AR_" + u +
                             "\": \"...\"}}} in the spec";
  std::string msg = "a build script compiles C for " + triple + ", but its C compiler " + tool + " is not installed: ";
  const auto t = find_rust_target(triple);
  if (t && !t->debian_packages.empty())
    return msg + "apt-get install " + t->debian_packages + " (or " + set_cc + ")";
  if (t && t->libc == Libc::Musl)
    return msg + "Debian has no C compiler for " + triple + ": " + set_cc +
           " with a musl cross compiler (e.g. aarch64-linux-musl-gcc from musl.cc), or build with \"libc\": \"gnu\"";
  return msg + set_cc;
}

/// The file the linker found for another architecture ("skipping
/// incompatible X when searching", rust-lld's "error: X is incompatible with
/// elf...") when it is a C library a build script made (lib*.a, or under
/// target/.../build/): compiled by the host's C compiler, not the linker's fault.
std::optional<std::string> host_c_library(const std::string& err) {
  std::string file;
  if (const auto at = err.find("skipping incompatible "); at != std::string::npos) {
    const auto start = at + std::string_view("skipping incompatible ").size();
    file = err.substr(start, err.find_first_of(" \n", start) - start);
  } else if (const auto inc = err.find(" is incompatible with elf"); inc != std::string::npos) {
    const auto line = err.rfind('\n', inc);
    const auto start = err.rfind(": ", inc);
    if (start == std::string::npos || (line != std::string::npos && start < line)) return std::nullopt;
    file = err.substr(start + 2, inc - start - 2);
  }
  if (file.empty() || file.size() > 4096) return std::nullopt;
  const std::string name = fs::path(file).filename().string();
  const bool archive = name.rfind("lib", 0) == 0 && name.size() > 5 && name.substr(name.size() - 2) == ".a";
  if (!archive && file.find("/build/") == std::string::npos) return std::nullopt;
  return file;
}

std::string host_c_library_message(const std::string& triple, const std::string& file) {
  const std::string u = detail::cc_triple(triple);
  const auto t = find_rust_target(triple);
  const std::string gcc = t && !t->gnu_prefix.empty() ? t->gnu_prefix + "-gcc" : "a C cross compiler for " + triple;
  return "linking for " + triple + " found " + file + ", a C library built for another architecture (a build "
         "script compiled it with the host's C compiler, or pkg-config found the host's): set \"target\": {\"" +
         triple + "\": {\"env\": {\"CC_" + u + "\": \"" + gcc + "\", \"AR_" + u + "\": \"...\"}}} in the spec, and "
         "PKG_CONFIG_SYSROOT_DIR to the target's sysroot when the library comes from pkg-config";
}

/// Throws the CargoError for a failed run.
[[noreturn]] void fail(const std::string& triple, const ProcessResult& result, const BuildPaths& paths,
                       const OptionNames& names) {
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
    message = detail::missing_std_message(triple, {});
  } else if (const auto lib = host_c_library(err)) {
    message = host_c_library_message(triple, *lib);
  } else if (err.find("Relocations in generic ELF") != std::string::npos ||
             err.find("file in wrong format") != std::string::npos ||
             err.find("is incompatible with elf") != std::string::npos ||  // rust-lld
             err.find("skipping incompatible") != std::string::npos) {
    message = "linking for " + triple + " used a linker for another architecture (the host's): set " +
              detail::spec_linker_hint(triple) + " (it becomes CARGO_TARGET_" + detail::env_triple(triple) +
              "_LINKER)" + cross_package_advice(triple);
  } else if (const auto tool = missing_c_tool(err)) {
    message = missing_c_tool_message(triple, *tool);
  } else if (err.find("cannot create the lock file") != std::string::npos &&
             err.find("--locked") != std::string::npos) {
    message = missing_lockfile_message(paths.workspace_root, names);
  } else {
    // The first error stays in the message even when cargo's lines were
    // streamed: callers of the bindings see only the exception.
    const std::string first = first_error(err);
    message = "cargo build for " + triple + " failed (exit " + std::to_string(result.exit_code) + ")" +
              (first.empty() ? std::string() : ":\n" + first);
  }
  throw CargoError(message, result.exit_code, diagnostics, tail_lines(err, kStderrTailLines));
}

/// `rustc --print cfg --target T`, run where cargo runs (so rustup picks
/// the crate's toolchain), one cfg a line.
std::vector<std::string> target_cfg(const BuildEnvironment& env, const std::string& triple, const BuildPaths& paths,
                                    ProcessRunner& runner) {
  ProcessRequest req;
  req.argv = {env.rustc, "--print", "cfg", "--target", triple};
  req.cwd = paths.crate_dir.string();
  const ProcessResult r = runner.run(req);
  if (r.exit_code != 0)
    throw CargoError("`" + env.rustc + " --print cfg --target " + triple + "` failed (exit " +
                         std::to_string(r.exit_code) + "); its cfg decides which target.'cfg(...)' rustflags of "
                         "your cargo config apply",
                     r.exit_code, "", tail_lines(r.err, kStderrTailLines));
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

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
  const std::vector<std::string> resolution = detail::resolution_flags(settings);
  req.argv.insert(req.argv.end(), resolution.begin(), resolution.end());
  if (settings.quiet) req.argv.push_back("--quiet");
  add_rustflags(req, target.triple, rustimg_rustflags(target, paths, env), env);

  // rustimg's cross defaults first: the target's own env wins over them.
  const CrossDefaults cross = cross_defaults(target, env);
  for (const auto& [k, v] : cross.env) req.env[k] = v;
  for (const auto& [k, v] : target.env) req.env[k] = v;
  const std::string linker = !target.linker.empty() ? target.linker : cross.linker;
  if (!linker.empty()) req.env["CARGO_TARGET_" + detail::env_triple(target.triple) + "_LINKER"] = linker;
  add_c_path_maps(req, target, paths, env);
  // Build scripts and C compilers (__DATE__, __TIME__) read it; rustc itself does not.
  // At least 1: 0 is false to some tools (OpenSSL's Perl: `$ENV{SOURCE_DATE_EPOCH} || time()`).
  req.env["SOURCE_DATE_EPOCH"] = std::to_string(std::max<std::int64_t>(env.source_date_epoch, 1));
  // Rendered diagnostics without colour codes, whatever the terminal.
  req.env["CARGO_TERM_COLOR"] = "never";
  return req;
}

void check_lockfile(const BuildSettings& settings, const fs::path& workspace_root) {
  std::error_code ec;
  if (settings.locked && !fs::exists(workspace_root / "Cargo.lock", ec))
    throw Error(ErrorCode::NotFound, missing_lockfile_message(workspace_root, settings.option_names));
}

std::vector<Binary> build(const BuildSettings& settings, const std::vector<BuildTarget>& targets,
                          const BuildPaths& paths, const BuildEnvironment& env_in, ProcessRunner& runner,
                          const BuildCallbacks& callbacks) {
  std::vector<Binary> out;
  BuildEnvironment env = env_in;
  for (const BuildTarget& target : targets)
    if (env.needs_target_cfg() && env.target_cfg.count(target.triple) == 0)
      env.target_cfg[target.triple] = target_cfg(env, target.triple, paths, runner);
  // A missing std or cross linker fails here, not as a wall of linker output.
  check_toolchain(targets, paths, env, runner);
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
    // rustimg's own line, not cargo's: stage "build", which --quiet hides.
    report_progress(callbacks.progress,
                    ProgressEvent{"build", "building " + target.package + " (bin " + bin + ") for " + triple});
    const ProcessResult result = runner.run(req);
    if (result.exit_code != 0 || finished != true) fail(triple, result, paths, settings.option_names);
    if (!executable)
      throw CargoError("cargo built " + triple + " but reported no executable for bin \"" + bin + "\" of package " +
                           target.package,
                       result.exit_code, "", tail_lines(result.err, kStderrTailLines));
    out.push_back(Binary{target.platform, triple, *executable, CargoRun{req.argv, req.env}});
  }
  return out;
}

}  // namespace rustimg::cargo
