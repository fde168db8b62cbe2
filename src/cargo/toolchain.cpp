// Cross toolchains: which linker and C tools a target gets when the user
// chose none (pure), and the checks that its Rust std and that linker are
// installed before cargo runs (the only I/O: one rustc run and file stats).
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "cargo/env.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"

namespace rustimg::cargo {
namespace {

namespace fs = std::filesystem;

/// The value of `-C linker=X`, `-Clinker=X` or `--codegen linker=X` in `flags`.
std::optional<std::string> linker_flag(const std::vector<std::string>& flags) {
  std::optional<std::string> found;  // rustc takes the last one
  for (std::size_t i = 0; i < flags.size(); ++i) {
    std::string_view f = flags[i];
    for (std::string_view joined : {"-Clinker=", "--codegen=linker="})
      if (f.rfind(joined, 0) == 0) found = std::string(f.substr(joined.size()));
    if ((f == "-C" || f == "--codegen") && i + 1 < flags.size() && flags[i + 1].rfind("linker=", 0) == 0)
      found = flags[i + 1].substr(7);
  }
  return found;
}

/// Whether the user chose the C tool `base` ("CC", "AR") for `triple` in a
/// form the `cc` crate reads before its own cross default: in the
/// environment, the target's env or a cargo config's [env].
bool user_sets_tool(const BuildTarget& target, const BuildEnvironment& env, const std::string& base) {
  const auto config = detail::config_env(env);
  for (const std::string& name : {base + "_" + target.triple, base + "_" + detail::cc_triple(target.triple),
                                  "TARGET_" + base, std::string("CROSS_COMPILE")})
    if (env.vars.count(name) != 0 || target.env.count(name) != 0 || config.count(name) != 0) return true;
  return false;
}

/// `<sysroot>` from `rustc --print sysroot` run in the crate directory;
/// empty when rustc does not answer with a directory that has lib/rustlib.
fs::path rustc_sysroot(const std::string& rustc, const std::string& toolchain, const BuildPaths& paths,
                       ProcessRunner& runner) {
  ProcessRequest req;
  req.argv = {rustc, "--print", "sysroot"};
  req.cwd = paths.crate_dir.string();
  if (!toolchain.empty()) req.env["RUSTUP_TOOLCHAIN"] = toolchain;
  ProcessResult r;
  try {
    r = runner.run(req);
  } catch (const Error&) {
    return {};
  }
  if (r.exit_code != 0) return {};
  std::string line = r.out.substr(0, r.out.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  std::error_code ec;
  if (line.empty() || line.front() != '/' || !fs::is_directory(fs::path(line) / "lib" / "rustlib", ec)) return {};
  return line;
}

/// Whether cargo's rustc finds `target`'s std in its sysroot: not when the
/// flags give another --sysroot or build-std builds std from source.
bool std_from_sysroot(const BuildTarget& target, const BuildEnvironment& env) {
  if (target.env.count("CARGO_UNSTABLE_BUILD_STD") != 0 || env.vars.count("CARGO_UNSTABLE_BUILD_STD") != 0)
    return false;
  const std::vector<std::string> user = user_rustflags(env, target.triple).flags;
  for (const auto* flags : {&target.rustflags, &user})
    for (const std::string& f : *flags)
      if (f == "--sysroot" || f.rfind("--sysroot=", 0) == 0) return false;
  return true;
}

bool has_std(const fs::path& sysroot, const std::string& triple) {
  std::error_code ec;
  const fs::path dir = sysroot / "lib" / "rustlib" / triple / "lib";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("libstd-", 0) == 0 && it->path().extension() == ".rlib") return true;
  }
  return false;
}

/// The rustup toolchain a sysroot belongs to (".../toolchains/1.93.0-x86_64-unknown-linux-gnu").
std::string toolchain_of(const fs::path& sysroot) {
  const fs::path parent = sysroot.parent_path();
  return parent.filename() == "toolchains" ? sysroot.filename().string() : std::string();
}

bool has_rust_lld(const fs::path& sysroot) {
  std::error_code ec;
  for (fs::directory_iterator it(sysroot / "lib" / "rustlib", ec), end; !ec && it != end; it.increment(ec))
    if (fs::exists(it->path() / "bin" / "rust-lld", ec)) return true;
  return false;
}

/// The first `program` on `path` (a PATH value); empty when absent.
fs::path find_on_path(const std::string& program, const std::string& path) {
  std::error_code ec;
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / program;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return {};
}

void check_std(const BuildTarget& target, const fs::path& sysroot) {
  if (has_std(sysroot, target.triple)) return;
  throw Error(ErrorCode::NotFound, detail::missing_std_message(target.triple, sysroot));
}

void check_linker(const BuildTarget& target, const BuildEnvironment& env, const fs::path& sysroot,
                  const Platform& host) {
  const auto row = find_rust_target(target.triple);
  if (!row || row->platform.architecture == host.architecture) return;
  if (user_linker(target, env)) return;  // the user's choice: cargo reports what goes wrong
  const std::string key = detail::spec_linker_hint(target.triple);
  if (row->cross_linker.empty())
    throw Error(ErrorCode::NotFound, "rustimg knows no cross linker for " + target.triple + " (platform " +
                                         target.platform.to_string() + ") on " + host.to_string() + ": set " + key +
                                         " (or CARGO_TARGET_" + detail::env_triple(target.triple) + "_LINKER)");
  if (row->cross_linker == "rust-lld") {
    if (!sysroot.empty() && !has_rust_lld(sysroot))
      throw Error(ErrorCode::NotFound, "building for " + target.triple + " links with rust-lld, which the toolchain at " +
                                           sysroot.string() + " does not ship: use a rustup toolchain, or set " + key);
    return;
  }
  const std::string install = "apt-get install " + row->debian_packages;
  const fs::path gcc = find_on_path(row->cross_linker, detail::env_value(env, "PATH").value_or(""));
  if (gcc.empty())
    throw Error(ErrorCode::NotFound, "building for " + target.triple + " (platform " + target.platform.to_string() +
                                         ") links with " + row->cross_linker + ", which is not installed (not on PATH): " +
                                         install + " (or set " + key + ", or build with \"libc\": \"musl\", "
                                         "which needs no C cross toolchain)");
  // <bin>/../<prefix>/lib/libc.a of the real gcc: ccache's symlinks
  // (/usr/lib/ccache/X -> /usr/bin/ccache) and a merged /usr's /bin resolve to /usr/bin.
  std::error_code ec;
  fs::path real = fs::canonical(gcc, ec);
  if (ec) real = gcc;
  const fs::path libc = real.parent_path().parent_path() / row->gnu_prefix / "lib" / "libc.a";
  if (!fs::exists(libc, ec))
    throw Error(ErrorCode::NotFound, "building for " + target.triple + " links statically, but " + libc.string() +
                                         " (the static C library of " + row->cross_linker + ") is missing: " +
                                         install + " (or set " + key + ")");
}

}  // namespace

std::string detail::missing_std_message(const std::string& triple, const fs::path& sysroot) {
  const auto t = find_rust_target(triple);
  std::string msg = "the Rust standard library for " + triple +
                    (t ? " (platform " + t->platform.to_string() + ")" : std::string()) + " is not installed";
  const std::string toolchain = sysroot.empty() ? std::string() : toolchain_of(sysroot);
  if (sysroot.empty())
    msg += ": run `rustup target add " + triple + "`";
  else if (!toolchain.empty())
    msg += " in toolchain " + toolchain + ": run `rustup target add --toolchain " + toolchain + " " + triple + "`";
  else
    msg += " in the Rust at " + sysroot.string() + " (not a rustup toolchain): that Rust install lacks the std for " +
           triple + "; install one that has it, from rustup or the distribution's package";
  if (t && t->libc == Libc::Musl)
    msg += " (if rustup cannot download it for this Rust release, pin a release that ships it in "
           "rust-toolchain.toml, or set \"libc\": \"gnu\")";
  else
    msg += " (or pick another platform/libc in the spec)";
  return msg;
}

std::optional<std::string> user_linker(const BuildTarget& target, const BuildEnvironment& env) {
  const std::string var = "CARGO_TARGET_" + detail::env_triple(target.triple) + "_LINKER";
  if (!target.linker.empty()) return target.linker;
  if (auto it = target.env.find(var); it != target.env.end()) return it->second;
  if (auto flag = linker_flag(target.rustflags)) return flag;
  if (auto flag = linker_flag(user_rustflags(env, target.triple).flags)) return flag;
  if (auto v = detail::env_value(env, var)) return v;
  // Higher-precedence config files come later.
  for (auto c = env.configs.rbegin(); c != env.configs.rend(); ++c)
    if (auto it = c->linker.find(target.triple); it != c->linker.end()) return it->second;
  std::set<std::string> cfg_keys;
  for (const auto& c : env.configs)
    for (const auto& [key, value] : c.linker)
      if (detail::is_cfg_key(key)) cfg_keys.insert(key);
  if (cfg_keys.empty()) return std::nullopt;
  const auto cfg = env.target_cfg.find(target.triple);
  if (cfg == env.target_cfg.end())
    throw Error(ErrorCode::InvalidArgument,
                "the cfg of " + target.triple + " is needed for target.'cfg(...)'.linker but was not given");
  for (const std::string& key : cfg_keys) {
    if (!cfg_matches(key, cfg->second)) continue;
    for (auto c = env.configs.rbegin(); c != env.configs.rend(); ++c)
      if (auto it = c->linker.find(key); it != c->linker.end()) return it->second;
  }
  return std::nullopt;
}

CrossDefaults cross_defaults(const BuildTarget& target, const BuildEnvironment& env, const Platform& host) {
  CrossDefaults out;
  const auto row = find_rust_target(target.triple);
  if (!row || row->platform.architecture == host.architecture || row->cross_linker.empty()) return out;
  const auto user = user_linker(target, env);
  if (!user) {
    out.linker = row->cross_linker;
    if (out.linker == "rust-lld") out.rustflags = {"-C", "link-arg=--build-id=sha1"};
  }
  // The C tools match the linker: the row's gcc, chosen by rustimg or by the user.
  if (!row->gnu_prefix.empty() && (!user || fs::path(*user).filename() == row->gnu_prefix + "-gcc")) {
    const std::string suffix = "_" + detail::cc_triple(target.triple);
    if (!user_sets_tool(target, env, "CC")) out.env["CC" + suffix] = row->gnu_prefix + "-gcc";
    if (!user_sets_tool(target, env, "AR")) out.env["AR" + suffix] = row->gnu_prefix + "-ar";
  }
  return out;
}

void check_toolchain(const std::vector<BuildTarget>& targets, const BuildPaths& paths, const BuildEnvironment& env,
                     ProcessRunner& runner, const Platform& host) {
  // The rustc cargo runs for a target: the target's env (which cargo gets)
  // may pick another one (RUSTC) or another rustup toolchain (RUSTUP_TOOLCHAIN).
  std::map<std::pair<std::string, std::string>, fs::path> sysroots;
  for (const BuildTarget& target : targets) {
    const auto rustc = target.env.find("RUSTC");
    const auto toolchain = target.env.find("RUSTUP_TOOLCHAIN");
    const std::pair<std::string, std::string> key{rustc == target.env.end() ? env.rustc : rustc->second,
                                                  toolchain == target.env.end() ? "" : toolchain->second};
    auto found = sysroots.find(key);
    if (found == sysroots.end())
      found = sysroots.emplace(key, rustc_sysroot(key.first, key.second, paths, runner)).first;
    const fs::path& sysroot = found->second;
    if (!sysroot.empty() && std_from_sysroot(target, env)) check_std(target, sysroot);
    check_linker(target, env, sysroot, host);
  }
}

}  // namespace rustimg::cargo
