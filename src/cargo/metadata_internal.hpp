// Internal to src/cargo: running `cargo metadata`, reading its JSON, and the
// flags that make cargo resolve the same dependency graph as the build.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/cargo.hpp"
#include "rustimg/process.hpp"

namespace rustimg::cargo::detail {

/// The lock (--frozen / --locked / --offline) and feature flags of
/// `settings`, as `cargo build` and `cargo metadata` both take them.
std::vector<std::string> resolution_flags(const BuildSettings& settings);

/// Runs `CARGO metadata --format-version 1 ARGS...` in `crate_dir` through
/// `runner` and returns its standard output. Throws rustimg::Error:
/// NotFound when `crate_dir` has no Cargo.toml or cargo is not installed
/// (saying how to fix it), Cargo with cargo's message when it fails.
std::string run_metadata(ProcessRunner& runner, const std::filesystem::path& crate_dir,
                         const std::vector<std::string>& args, const std::string& cargo);

/// Throws rustimg::Error (Cargo): "unexpected `cargo metadata` output: WHAT;
/// is this cargo too old or too new for rustimg?".
[[noreturn]] void bad_shape(const std::string& what);

/// `obj[key]`, which must exist and have type `type` (described as
/// `type_name`); else bad_shape() naming `where`.
const nlohmann::json& member(const nlohmann::json& obj, const char* key, nlohmann::json::value_t type,
                             const char* type_name, const std::string& where);
std::string string_member(const nlohmann::json& obj, const char* key, const std::string& where);
const nlohmann::json& array_member(const nlohmann::json& obj, const char* key, const std::string& where);
/// A string-or-null member (cargo writes null for an absent field); "" when null or absent.
std::string optional_string(const nlohmann::json& obj, const char* key, const std::string& where);

}  // namespace rustimg::cargo::detail
