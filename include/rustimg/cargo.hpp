// rustimg/cargo.hpp - what rustimg learns from cargo about a crate.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
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
};

/// The parts of `cargo metadata --format-version 1 --no-deps` rustimg uses.
struct Metadata {
  std::vector<Package> packages;         ///< workspace members
  std::filesystem::path workspace_root;
  std::filesystem::path target_directory;
  nlohmann::json workspace_metadata;     ///< [workspace.metadata] (null when absent)

  /// The package to build: `name` when given, else the package whose manifest
  /// is `crate_dir`/Cargo.toml, else the only member. Throws rustimg::Error
  /// (NotFound) naming the candidates when none or several fit.
  const Package& select_package(const std::filesystem::path& crate_dir,
                                const std::string& name = {}) const;
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
/// rustimg::Error (NotFound) listing the bins when the choice is ambiguous.
std::string select_bin(const Package& pkg, const std::string& wanted = {});

// --- building -----------------------------------------------------------------

/// What rustimg needs to know about the caller's environment to write the
/// cargo command line. Kept apart from the process environment so the
/// command line is a pure function of its inputs (and testable).
struct BuildEnvironment {
  std::string cargo = "cargo";
  /// Values of the variables that change the command: RUSTFLAGS,
  /// CARGO_ENCODED_RUSTFLAGS, CARGO_HOME, RUSTUP_HOME, HOME,
  /// SOURCE_DATE_EPOCH and CARGO_TARGET_<TRIPLE>_RUSTFLAGS. Absent = unset.
  std::map<std::string, std::string> vars;
  /// True when a cargo config file that applies to the crate sets
  /// target.<triple|cfg>.rustflags; then cargo ignores build.rustflags, and
  /// rustimg must add its flags as target flags to keep the user's.
  bool config_has_target_rustflags = false;

  /// Reads the variables from the process environment and scans the cargo
  /// config files that apply to `crate_dir` (.cargo/config.toml in it and its
  /// parents, and $CARGO_HOME/config.toml).
  static BuildEnvironment detect(const std::filesystem::path& crate_dir);
};

/// The cargo arguments shared by every platform of a build (the spec's
/// "profile", "size-optimize", "features", "default-features",
/// "all-features", "locked" and "offline").
struct BuildSettings {
  std::string profile = "rustimg";     ///< "rustimg" is defined by rustimg through --config
  bool size_optimize = true;
  std::vector<std::string> features;
  bool default_features = true;
  bool all_features = false;
  bool locked = true;
  bool offline = false;
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
/// .cargo/config.toml) and the workspace root (remapped to /src).
struct BuildPaths {
  std::filesystem::path crate_dir;
  std::filesystem::path workspace_root;
};

/// The exact cargo invocation for `target` (pure): `cargo build
/// --message-format=json-render-diagnostics --target T -p PKG --bin BIN
/// --profile P`, the `rustimg` profile defined through --config, +crt-static
/// (and the path remapping that makes builds reproducible) merged with the
/// user's rustflags without overwriting them, --locked/--offline/--frozen,
/// features, and per-target settings (linker as CARGO_TARGET_<T>_LINKER).
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

/// A binary cargo produced.
struct Binary {
  Platform platform;
  std::string triple;
  std::filesystem::path path;
};

struct BuildCallbacks {
  /// Each line cargo prints for people (progress and rendered diagnostics),
  /// as stage "cargo"; returning true kills cargo and everything it started.
  ProgressCallback progress;
  /// Polled while cargo runs; true kills cargo and everything it started.
  std::function<bool()> cancelled;
};

/// Builds every target, one cargo run each, and returns the binaries in the
/// targets' order. Throws CargoError when cargo fails (a missing target std
/// names `rustup target add`), rustimg::Error (Cancelled) when cancelled.
std::vector<Binary> build(const BuildSettings& settings, const std::vector<BuildTarget>& targets,
                          const BuildPaths& paths, const BuildEnvironment& env,
                          ProcessRunner& runner = system_process_runner(), const BuildCallbacks& callbacks = {});

}  // namespace rustimg::cargo
