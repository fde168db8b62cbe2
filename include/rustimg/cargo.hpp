// rustimg/cargo.hpp - what rustimg learns from cargo about a crate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/process.hpp"
#include "rustimg/progress.hpp"

namespace rustimg::cargo {

struct Package {
  std::string name;
  std::string version;
  std::string id;                        ///< cargo package id
  std::filesystem::path manifest_path;   ///< absolute path of its Cargo.toml
  std::vector<std::string> bins;         ///< names of its [[bin]] targets
  std::optional<std::string> default_run;
  nlohmann::json metadata;               ///< [package.metadata] (null when absent)
  // What the image's metadata comes from; empty when Cargo.toml leaves it out.
  std::string description{};
  std::string license{};                 ///< an SPDX expression (not license-file)
  std::string repository{};              ///< a URL
  std::string homepage{};                ///< a URL
};

/// The parts of `cargo metadata --format-version 1 --no-deps` rustimg uses.
struct Metadata {
  std::vector<Package> packages;         ///< workspace members
  std::filesystem::path workspace_root;
  std::filesystem::path target_directory;
  nlohmann::json workspace_metadata;     ///< [workspace.metadata] (null when absent)

  /// The package to build: `name` when given, else the package whose manifest
  /// is `crate_dir`/Cargo.toml, else the only member, else (a virtual
  /// workspace's root) the one member with the bin target `bin`, as cargo
  /// picks it. Throws rustimg::Error (NotFound) naming the candidates when
  /// none or several fit, with "did you mean" for a mistyped bin, and the
  /// option that picks one as `names` spells it.
  const Package& select_package(const std::filesystem::path& crate_dir,
                                const std::string& name = {}, const std::string& bin = {},
                                const OptionNames& names = {}) const;
};

/// Parses cargo's JSON. Throws rustimg::Error (Cargo) on unexpected shapes.
Metadata parse_metadata(const nlohmann::json& doc);

/// Runs `cargo metadata --format-version 1 --no-deps` in `crate_dir`.
/// Throws rustimg::Error: NotFound when there is no Cargo.toml, Cargo with
/// cargo's own message when cargo fails.
Metadata read_metadata(const std::filesystem::path& crate_dir,
                       ProcessRunner& runner = system_process_runner(),
                       const std::string& cargo = "cargo");

/// Names of the bin targets of `pkg`; the one to build: `wanted` when given
/// (NotFound when absent), else default-run, else the single bin. Throws
/// rustimg::Error (NotFound) listing the bins when the choice is ambiguous,
/// and the option that picks one as `names` spells it.
std::string select_bin(const Package& pkg, const std::string& wanted = {}, const OptionNames& names = {});

// --- building -----------------------------------------------------------------

/// The rustflags settings of one cargo config file: `build.rustflags` and
/// `target.<key>.rustflags`, where key is a triple or "cfg(...)".
struct ConfigRustflags {
  struct Value {
    std::vector<std::string> flags;
    bool is_string = false;  ///< written as a string (cargo splits it on whitespace), not an array
  };
  std::filesystem::path file;
  std::optional<Value> build;
  std::map<std::string, Value> target;
  /// `target.<key>.linker` by key (a triple or "cfg(...)"): the user's own
  /// linker, which rustimg never replaces.
  std::map<std::string, std::string> linker{};
  /// One `[env]` entry: `NAME = "v"` or `NAME = {value, force, relative}`;
  /// an absent field is left to a lower-precedence file.
  struct EnvValue {
    std::optional<std::string> value;
    std::optional<bool> force;
    std::optional<bool> relative;
  };
  /// The file's `[env]` entries by name (cargo sets them for build scripts,
  /// unless the variable is already in cargo's environment and not `force`).
  std::map<std::string, EnvValue> env{};
};

/// Reads the rustflags and linker settings from the text of the cargo config
/// file `file` (pure: `file` only names it in errors and resolves `include`).
/// Dotted keys, tables and inline tables are all TOML to the parser. Throws
/// rustimg::Error (InvalidArgument) naming the file when the text is not TOML,
/// a rustflags value is neither a string nor an array of strings, a linker
/// is not a string, or an `[env]` entry is neither a string nor a table with
/// a string `value`.
ConfigRustflags parse_config_rustflags(std::string_view toml_text, const std::filesystem::path& file);

/// Whether a `target.'cfg(...)'` key applies to a target whose
/// `rustc --print cfg --target T` printed `cfg` (one entry a line: `unix`,
/// `target_os="linux"`): all()/any()/not(), bare names, name = "value",
/// true/false. Throws rustimg::Error (InvalidArgument) on a malformed key.
bool cfg_matches(std::string_view key, const std::vector<std::string>& cfg);

/// Whether the cargo that printed `cargo_version` (`cargo --version`) reads
/// the `include` key of config files: always from cargo 1.93; before, only a
/// nightly cargo (or any with `unstable_allowed`, RUSTC_BOOTSTRAP=1) told so
/// by `unstable_config_include` (`[unstable] config-include = true` in a
/// config file, or CARGO_UNSTABLE_CONFIG_INCLUDE=true). An unrecognised
/// version counts as a current cargo. Pure.
bool cargo_reads_config_include(std::string_view cargo_version, bool unstable_allowed, bool unstable_config_include);

/// The first line of `PROGRAM --version` (cargo, rustc) run in `crate_dir`,
/// where a rust-toolchain file picks the toolchain; empty when it does not
/// answer (the build itself then reports).
std::string tool_version(const std::string& program, const std::filesystem::path& crate_dir,
                         ProcessRunner& runner = system_process_runner());

/// What rustimg needs to know about the caller's environment to write the
/// cargo command line. Kept apart from the process environment so the
/// command line is a pure function of its inputs (and testable).
struct BuildEnvironment {
  std::string cargo = "cargo";
  std::string rustc = "rustc";  ///< asked for a target's cfg (RUSTC when set)
  /// Values of the variables that change the command: RUSTFLAGS,
  /// CARGO_ENCODED_RUSTFLAGS, CARGO_BUILD_RUSTFLAGS,
  /// CARGO_TARGET_<TRIPLE>_RUSTFLAGS, CARGO_HOME, RUSTUP_HOME, HOME, and the
  /// C/C++ flags the `cc` crate reads: CFLAGS, CXXFLAGS, their HOST_/TARGET_
  /// forms and _<triple> / _<triple_with_underscores> suffixes; the user's
  /// linker (CARGO_TARGET_<TRIPLE>_LINKER) and C tools for a target (CC_/AR_
  /// with both suffixes, TARGET_CC, TARGET_AR, CROSS_COMPILE); PATH, where
  /// check_toolchain looks for a cross linker. Absent = unset; set but empty
  /// counts, as in cargo.
  std::map<std::string, std::string> vars;
  /// SOURCE_DATE_EPOCH for cargo, build scripts and the C compilers they
  /// run, always set (at least 1: 0 is false to some tools, so build scripts
  /// see 1 when the image epoch is 0): detect() reads $SOURCE_DATE_EPOCH
  /// (else 0), the pipeline puts the image's epoch here (the caller's
  /// `created`, else $SOURCE_DATE_EPOCH), so C's __DATE__/__TIME__ and build
  /// scripts' "built on" stamps do not depend on the clock.
  std::int64_t source_date_epoch = 0;
  /// The cargo config files that apply to the crate, lowest precedence
  /// first, as cargo merges them: $CARGO_HOME/config.toml, then
  /// .cargo/config.toml from / down to the crate directory (a file's
  /// includes, when cargo reads them, just before it).
  std::vector<ConfigRustflags> configs;
  /// `rustc --print cfg --target T` lines by triple; needed only for targets
  /// when a config file has target.'cfg(...)'.rustflags or .linker (build()
  /// asks rustc).
  std::map<std::string, std::vector<std::string>> target_cfg;

  /// Reads the variables from the process environment and the cargo config
  /// files that apply to `crate_dir` (each capped at 1 MiB), with the files
  /// they `include` when that cargo reads includes (only when a config file
  /// has an `include` key, runs `cargo --version` through `runner` in
  /// `crate_dir` to know; see cargo_reads_config_include). `cargo` is the
  /// program the build runs (becomes `cargo`); source_date_epoch from
  /// $SOURCE_DATE_EPOCH (0 when unset). Throws rustimg::Error
  /// (InvalidArgument) naming a config file cargo would refuse, or a
  /// SOURCE_DATE_EPOCH that is not a whole number of seconds.
  static BuildEnvironment detect(const std::filesystem::path& crate_dir,
                                 ProcessRunner& runner = system_process_runner(),
                                 const std::string& cargo = "cargo");

  /// Whether the choice of rustflags or linker for a target depends on its cfg.
  bool needs_target_cfg() const;
};

/// The rustflags cargo would use for `triple` without rustimg, and where it
/// takes them from: CARGO_ENCODED_RUSTFLAGS, else RUSTFLAGS, else every
/// target.<triple>.rustflags and matching target.'cfg(...)'.rustflags (with
/// CARGO_TARGET_<TRIPLE>_RUSTFLAGS), else build.rustflags (with
/// CARGO_BUILD_RUSTFLAGS). Pure; throws rustimg::Error (InvalidArgument) when
/// the answer needs env.target_cfg[triple] and it is missing, or when config
/// files set the key as a string in one and an array in another.
struct UserRustflags {
  enum class Source { None, EncodedEnv, RustflagsEnv, Target, Build };
  Source source = Source::None;
  std::vector<std::string> flags;
  /// Whether cargo can join an array given with --config to the source's
  /// config key (false when a config file sets it as a string).
  bool joins_config_array = true;
};
UserRustflags user_rustflags(const BuildEnvironment& env, const std::string& triple);

/// The cargo arguments shared by every platform of a build (the spec's
/// "profile", "size-optimize", "features", "default-features",
/// "all-features", "locked" and "offline").
struct BuildSettings {
  std::string profile = "rustimg";     ///< "rustimg" is defined by rustimg through --config
  /// What the "rustimg" profile changes (ignored for the user's own profiles).
  SizeOptimize size_optimize = SizeOptimize::Release;
  std::vector<std::string> features;
  bool default_features = true;
  bool all_features = false;
  bool locked = true;
  bool offline = false;
  /// cargo --quiet: no progress lines ("Compiling ..."), only its
  /// diagnostics (not a spec key: the caller's choice, as `rustimg -q`).
  bool quiet = false;
  /// How messages name the caller's options ("--no-locked").
  OptionNames option_names;
};

/// What to build for one platform: one cargo run.
struct BuildTarget {
  Platform platform;
  std::string triple;
  std::string package;                    ///< package name (-p)
  std::string package_id;                 ///< cargo's package id, to find the artifact
  std::filesystem::path manifest_path;    ///< the package's Cargo.toml
  std::string bin;
  std::string linker;                     ///< becomes CARGO_TARGET_<TRIPLE>_LINKER; empty: cargo's
  std::vector<std::string> rustflags;     ///< appended to rustimg's own flags
  std::map<std::string, std::string> env; ///< set for this run
};

/// The target for `triple` of `bin` in `package`, without per-target settings.
BuildTarget build_target(const Package& package, std::string bin, const Platform& platform, std::string triple);

/// Where cargo runs: the crate directory (where cargo finds the user's
/// .cargo/config.toml), the workspace root (remapped to /src) and cargo's
/// target directory (Metadata::target_directory, where OUT_DIR lives;
/// remapped to /target; empty: not remapped).
struct BuildPaths {
  std::filesystem::path crate_dir;
  std::filesystem::path workspace_root;
  std::filesystem::path target_dir{};
};

// --- cross toolchains ------------------------------------------------------------

/// The linker the user chose for `target`, in cargo's order: the spec's
/// target.<triple>.linker (and CARGO_TARGET_<TRIPLE>_LINKER in its env),
/// `-C linker=` in the spec's or the user's rustflags, the environment's
/// CARGO_TARGET_<TRIPLE>_LINKER, cargo config target.<triple>.linker, then a
/// matching target.'cfg(...)'.linker; nullopt when the user chose none.
/// Pure; throws rustimg::Error (InvalidArgument) when a cfg key needs
/// env.target_cfg[triple] and it is missing.
std::optional<std::string> user_linker(const BuildTarget& target, const BuildEnvironment& env);

/// What rustimg adds for a target it cross-compiles (its architecture is not
/// `host`'s) when the user chose no linker (see user_linker): the table's
/// cross_linker (RustTarget) as CARGO_TARGET_<TRIPLE>_LINKER; for rust-lld,
/// `-C link-arg=--build-id=sha1` (binaries keep a content-hash build-id); for
/// gnu targets, CC_<triple_with_underscores>=<prefix>-gcc and
/// AR_<...>=<prefix>-ar for build scripts' C, each unless the user set
/// CC_<triple>, CC_<triple_with_underscores>, TARGET_CC or CROSS_COMPILE
/// (AR likewise) in the environment, the target's env or a config's [env]:
/// a host CC would otherwise win in the `cc` crate. A user's linker clears
/// all of it, except CC_/AR_ when that linker is the row's <prefix>-gcc.
/// Empty for host-architecture targets. Pure.
struct CrossDefaults {
  std::string linker;
  std::vector<std::string> rustflags;
  std::map<std::string, std::string> env;
};
CrossDefaults cross_defaults(const BuildTarget& target, const BuildEnvironment& env,
                             const Platform& host = host_platform());

/// Checks, before cargo runs, that each target can be built: its Rust
/// standard library is installed (`env.rustc --print sysroot` run through
/// `runner` in paths.crate_dir, so rust-toolchain.toml counts, with the
/// target's env RUSTC / RUSTUP_TOOLCHAIN, once per pair; then
/// <sysroot>/lib/rustlib/<triple>/lib/libstd-*.rlib; not with --sysroot in
/// the rustflags or CARGO_UNSTABLE_BUILD_STD), and the linker
/// cross_defaults picks exists: a gcc on env.vars["PATH"] with its static
/// libc beside it (<bin>/../<prefix>/lib/libc.a of the gcc with symlinks
/// resolved, the Debian layout), or
/// rust-lld in the sysroot. Skips the std check when rustc gives no sysroot
/// (cargo then reports). Throws rustimg::Error (NotFound) naming the target
/// and the fix: the `rustup target add` command, the Debian packages, the
/// spec key "target": {"<triple>": {"linker": ...}}.
void check_toolchain(const std::vector<BuildTarget>& targets, const BuildPaths& paths, const BuildEnvironment& env,
                     ProcessRunner& runner = system_process_runner(), const Platform& host = host_platform());

/// The exact cargo invocation for `target` (pure): `cargo build
/// --message-format=json-render-diagnostics --target T -p PKG --bin BIN
/// --profile P`, the `rustimg` profile defined through --config, +crt-static
/// (and the path remapping that makes builds reproducible) added to the
/// source cargo takes the user's rustflags from (see user_rustflags): an
/// array joined through --config, or CARGO_ENCODED_RUSTFLAGS holding the
/// user's flags then rustimg's when the source is an environment variable or
/// a string cargo cannot join, --locked/--offline/--frozen,
/// features, --quiet, and per-target settings (linker as CARGO_TARGET_<T>_LINKER),
/// else cross_defaults(target, env).
/// For build scripts: SOURCE_DATE_EPOCH (env.source_date_epoch, at least 1),
/// and the same path maps as `-ffile-prefix-map=FROM=TO` for C/C++ compilers,
/// appended to each CFLAGS/CXXFLAGS variable the `cc` crate reads that the
/// user set (in the environment, the target's env, or a config file's
/// `[env]`, by cargo's rules; a forced `[env]` entry is overridden through
/// `--config env.NAME.value=...`), or as CFLAGS/CXXFLAGS when unset.
ProcessRequest build_command(const BuildSettings& settings, const BuildTarget& target, const BuildPaths& paths,
                             const BuildEnvironment& env);

/// A cargo failure: the exit code, the diagnostics cargo rendered (errors
/// only) and the tail of its standard error, for failures that print no
/// diagnostic at all.
class CargoError : public Error {
 public:
  CargoError(const std::string& message, int exit_code, std::string diagnostics, std::string stderr_tail)
      : Error(ErrorCode::Cargo, message),
        exit_code_(exit_code),
        diagnostics_(std::move(diagnostics)),
        stderr_tail_(std::move(stderr_tail)) {}
  int exit_code() const noexcept { return exit_code_; }
  const std::string& diagnostics() const noexcept { return diagnostics_; }
  const std::string& stderr_tail() const noexcept { return stderr_tail_; }

 private:
  int exit_code_;
  std::string diagnostics_;
  std::string stderr_tail_;
};

/// A cargo run as build_command made it: the command line and the
/// variables rustimg set (on top of the caller's environment).
struct CargoRun {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
};

/// A binary cargo produced.
struct Binary {
  Platform platform;
  std::string triple;
  std::filesystem::path path;
  CargoRun run;  ///< the cargo run that built it
};

struct BuildCallbacks {
  /// Each line cargo prints for people (progress and rendered diagnostics),
  /// as stage "cargo", after one "build" event per target ("building PKG
  /// (bin B) for T"); returning true kills cargo and everything it started.
  ProgressCallback progress;
  /// Polled while cargo runs; true kills cargo and everything it started.
  std::function<bool()> cancelled;
};

/// Throws rustimg::Error (NotFound) when `settings.locked` and
/// `workspace_root` has no Cargo.lock, with the advice to run
/// `cargo generate-lockfile` or set `"locked": false`; checked before cargo
/// runs so the user sees that rather than cargo's hint about --locked.
void check_lockfile(const BuildSettings& settings, const std::filesystem::path& workspace_root);

/// Builds every target, one cargo run each, and returns the binaries in the
/// targets' order. Asks `env.rustc` for a
/// target's cfg when env.needs_target_cfg() and env.target_cfg lacks it, then
/// runs check_toolchain before the first cargo run.
/// Throws rustimg::Error (NotFound) from check_toolchain before any cargo
/// run, CargoError when cargo fails (cargo's own missing-std error still
/// names `rustup target add`); when callbacks.progress is set, cargo's lines went
/// there, so the message does not repeat them (diagnostics() has them).
/// Throws rustimg::Error (Cancelled) when cancelled.
std::vector<Binary> build(const BuildSettings& settings, const std::vector<BuildTarget>& targets,
                          const BuildPaths& paths, const BuildEnvironment& env,
                          ProcessRunner& runner = system_process_runner(), const BuildCallbacks& callbacks = {});

}  // namespace rustimg::cargo
