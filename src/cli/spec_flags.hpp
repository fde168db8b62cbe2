// Internal to the rustimg CLI: the flags that override spec keys the same
// way on `rustimg spec` and `rustimg build`: --set KEY=VALUE and cargo's own
// flags (--features, --no-default-features, --all-features, --locked,
// --no-locked, --frozen, --offline).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace rustimg::cli {

/// KEY=VALUE into `overrides` (made an object when null): VALUE is JSON when
/// it parses, else a plain string; "env.NAME=V" sets one entry of a map key
/// (as the string "V"). Throws UsageError when there is no KEY=.
void add_override(nlohmann::json& overrides, const std::string& assignment);

class SpecFlags {
 public:
  /// Adds --set and cargo's flags to `app`, bound to this object, which must
  /// outlive the parse.
  void add_to(CLI::App& app);
  /// The keys these flags set, into `overrides`: the --set assignments in
  /// order, then cargo's flags over them (--features naming no feature, as
  /// `--features ""`, leaves the spec's features as they are, as cargo takes
  /// it). Throws UsageError for conflicting flags (--locked with --no-locked, ...).
  void apply(nlohmann::json& overrides) const;
  /// The cargo flags given ("--features", "--locked", ...), in a fixed order;
  /// empty when none was.
  std::vector<std::string> cargo_flags_given() const;

 private:
  std::vector<std::string> sets_;
  std::vector<std::string> features_;
  bool no_default_features_ = false;
  bool all_features_ = false;
  bool locked_ = false;
  bool no_locked_ = false;
  bool frozen_ = false;
  bool offline_ = false;
};

}  // namespace rustimg::cli
