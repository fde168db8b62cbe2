// rustimg/dependencies.hpp - the crates cargo compiles into a binary, for the
// SBOM: read from `cargo metadata` (with dependencies) and Cargo.lock.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/cargo.hpp"
#include "rustimg/process.hpp"

namespace rustimg::cargo {

/// One package compiled into the binary.
struct ResolvedPackage {
  enum class Source { Registry, Git, Path, Unknown };

  std::string name;
  std::string version;
  std::string id;             ///< cargo's package id
  Source source = Source::Unknown;
  /// Registry: the index URL as cargo spells it after "registry+"
  /// ("https://github.com/rust-lang/crates.io-index",
  /// "sparse+https://index.crates.io/"); git: the repository URL without
  /// query or fragment; path: ""; unknown: cargo's whole source string.
  std::string source_url;
  std::string git_revision;   ///< git: the resolved commit
  /// Path: the crate directory, '/'-separated and relative to the workspace
  /// root when inside it ("." for the package at the workspace root, e.g.
  /// "localdep" for a member below it); else absolute, as cargo names it (a
  /// "../" path would only mean something next to this workspace).
  std::string path;
  std::string checksum;       ///< hex sha256 from Cargo.lock; "" when the lock has none (path, git)
  std::string license;        ///< SPDX expression from its manifest; "" when none
  bool root = false;          ///< the package whose bin is built
  /// Ids of its normal dependencies compiled into the same binary, in the
  /// order of the returned list: by (name, version, id), as `cargo tree`
  /// prints them (not by id text, where every "path+" sorts before "registry+").
  std::vector<std::string> dependencies;
};

/// "registry", "git", "path", "unknown".
const char* to_string(ResolvedPackage::Source source) noexcept;

/// The packages compiled into the binary of `root_id` (pure): from the JSON
/// of `cargo metadata --format-version 1 --filter-platform TRIPLE [feature
/// flags]` (with dependencies) and the text of the workspace's Cargo.lock.
/// Follows normal dependency edges only (not dev, not build) for the target
/// the metadata was filtered for, with cargo's resolver-2 feature rules: the
/// root's features are the ones its resolve node has (the command's feature
/// flags); an optional dependency counts only when a feature reached through
/// normal edges enables it (a dev-dependency enabling a feature does not
/// count, as in `cargo build`): the set `cargo tree -e normal --target TRIPLE
/// -p ROOT [-F ...]` lists. Build-dependencies and their features are not
/// separated from proc-macros' (host) dependencies, which cargo tree lists
/// too. Sorted by (name, version, id).
/// Throws rustimg::Error (Cargo) naming the input when the metadata lacks
/// `resolve` (run without --no-deps), lacks `root_id`, has an unexpected
/// shape, or a non-path package has no entry in Cargo.lock (a lock of
/// another workspace); (InvalidArgument) when Cargo.lock is not TOML.
std::vector<ResolvedPackage> normal_dependencies(const nlohmann::json& metadata, std::string_view cargo_lock,
                                                 const std::string& root_id);

/// Cargo.lock is read up to this size; larger locks are refused.
inline constexpr std::size_t kMaxCargoLockBytes = 16 * 1024 * 1024;

/// The I/O edge of normal_dependencies: runs `cargo metadata --format-version
/// 1 --filter-platform TRIPLE` with the build's --locked/--offline/--frozen
/// and feature flags (settings, as build_command passes them) through
/// `runner` in `crate_dir`, then reads Cargo.lock at the workspace root cargo
/// names. `root_id` is the package id (BuildTarget::package_id). Throws
/// rustimg::Error: NotFound when cargo or Cargo.lock is missing, Cargo when
/// cargo fails (its message), Io when Cargo.lock cannot be read or is larger
/// than kMaxCargoLockBytes, and what normal_dependencies throws.
std::vector<ResolvedPackage> read_normal_dependencies(ProcessRunner& runner, const std::filesystem::path& crate_dir,
                                                      const BuildSettings& settings, const std::string& triple,
                                                      const std::string& root_id, const std::string& cargo = "cargo");

}  // namespace rustimg::cargo
