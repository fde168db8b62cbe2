// rustimg/cargo.hpp - what rustimg learns from cargo about a crate.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/process.hpp"

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

}  // namespace rustimg::cargo
