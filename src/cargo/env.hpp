// Internal to src/cargo: reading BuildEnvironment's variables the way cargo does.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/cargo.hpp"

namespace rustimg::cargo::detail {

/// "aarch64-unknown-linux-gnu" -> "AARCH64_UNKNOWN_LINUX_GNU", as cargo's
/// CARGO_TARGET_<TRIPLE>_* variables spell it.
std::string env_triple(std::string_view triple);

/// "aarch64-unknown-linux-gnu" -> "aarch64_unknown_linux_gnu" ('-' and '.'
/// to '_', case kept), the suffix of the `cc` crate's CC_<target> / AR_<target>.
std::string cc_triple(std::string_view triple);

/// `"target": {"<triple>": {"linker": "..."}} in the spec`: where a spec sets
/// a target's linker, for messages.
std::string spec_linker_hint(const std::string& triple);

/// The error text for a target whose Rust std is missing from `sysroot`
/// (empty: not known, e.g. from cargo's E0463): the `rustup target add`
/// command for a rustup toolchain, else the sysroot that lacks it.
std::string missing_std_message(const std::string& triple, const std::filesystem::path& sysroot);

/// The value of `name`, or nullopt when unset (set but empty is a value).
std::optional<std::string> env_value(const BuildEnvironment& env, const std::string& name);

/// Whether a `target.<key>` of a cargo config is a `cfg(...)` expression
/// rather than a triple.
bool is_cfg_key(std::string_view key);

/// $CARGO_HOME, else $HOME/.cargo; empty when neither is known.
std::filesystem::path cargo_home(const BuildEnvironment& env);

/// A variable the config files' `[env]` tables set for build scripts.
struct ConfigEnvValue {
  std::string value;   ///< `relative` already resolved
  bool force = false;  ///< overrides the variable even when cargo's environment has it
};

/// The `[env]` entries of env.configs merged as cargo merges them (a higher
/// precedence file's fields win), by name.
std::map<std::string, ConfigEnvValue> config_env(const BuildEnvironment& env);

/// The length in bytes of the whitespace character at s[i] (UTF-8; Rust's
/// char::is_whitespace, which cargo's splitting and trimming use), 0 when s[i]
/// does not start one.
std::size_t whitespace_at(std::string_view s, std::size_t i);

/// Splits on any whitespace, as cargo splits a rustflags config value written
/// as a string and CARGO_BUILD_RUSTFLAGS / CARGO_TARGET_<TRIPLE>_RUSTFLAGS.
std::vector<std::string> split_whitespace(std::string_view s);

/// Splits RUSTFLAGS as cargo does: on ' ' only, each piece trimmed of
/// whitespace and dropped when empty (a tab inside a flag stays in it).
std::vector<std::string> split_rustflags_env(std::string_view s);

}  // namespace rustimg::cargo::detail
