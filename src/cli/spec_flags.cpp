// The spec-overriding flags shared by `rustimg spec` and `rustimg build`.
#include "spec_flags.hpp"

#include "cli.hpp"
#include "rustimg/json.hpp"

namespace rustimg::cli {

using nlohmann::json;

void add_override(json& overrides, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError{"--set expects KEY=VALUE, got '" + assignment + "'"};
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const json value = rustimg::try_parse_json(text).value_or(json(text));
  if (!overrides.is_object()) overrides = json::object();
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    overrides[key] = value;
    return;
  }
  // Map entries (env, labels, annotations) are strings: "--set env.N=1"
  // means "1", not the number 1. Only an object (a target table) stays JSON.
  json& map = overrides[key.substr(0, dot)];
  if (!map.is_object()) map = json::object();
  map[key.substr(dot + 1)] = value.is_object() ? value : json(text);
}

void SpecFlags::add_to(CLI::App& app) {
  add_repeatable(app, "--set", sets_,
                 "override one spec key; VALUE is JSON, or else a plain string\n"
                 "(--set ports=[8080] --set bin=app); KEY.NAME=VALUE sets\n"
                 "one entry of a map (--set env.PORT=8080 sets \"8080\")",
                 "KEY=VALUE");
  add_repeatable(app, "--features", features_,
                 "cargo features to build, comma or space separated\n"
                 "(repeatable; replaces the spec's \"features\")",
                 "F[,G]");
  app.add_flag("--no-default-features", no_default_features_, "build without the crate's default features");
  app.add_flag("--all-features", all_features_, "build with every feature of the crate");
  app.add_flag("--locked", locked_, "cargo must use Cargo.lock as it is (the default)");
  app.add_flag("--no-locked", no_locked_, "let cargo resolve and write Cargo.lock (\"locked\": false)");
  app.add_flag("--offline", offline_, "cargo may not use the network");
  app.add_flag("--frozen", frozen_, "--locked and --offline");
}

void SpecFlags::apply(json& overrides) const {
  for (const auto& s : sets_) add_override(overrides, s);
  if (no_locked_ && (locked_ || frozen_))
    throw UsageError{std::string("give ") + (frozen_ ? "--frozen" : "--locked") + " or --no-locked, not both"};
  const auto set = [&overrides](const char* key, json value) {
    if (!overrides.is_object()) overrides = json::object();
    overrides[key] = std::move(value);
  };
  if (!features_.empty()) {
    // As cargo takes them: "a,b", "a b", or one per --features.
    json list = json::array();
    for (const auto& given : features_) {
      std::string name;
      for (const char c : given + ",") {
        if (c == ',' || c == ' ' || c == '\t') {
          if (!name.empty()) list.push_back(name);
          name.clear();
        } else {
          name += c;
        }
      }
    }
    if (!list.empty()) set("features", std::move(list));  // cargo takes --features "" as no flag
  }
  if (no_default_features_) set("default-features", false);
  if (all_features_) set("all-features", true);
  if (locked_ || frozen_) set("locked", true);
  if (no_locked_) set("locked", false);
  if (offline_ || frozen_) set("offline", true);
}

std::vector<std::string> SpecFlags::cargo_flags_given() const {
  std::vector<std::string> out;
  const std::pair<const char*, bool> flags[] = {
      {"--features", !features_.empty()}, {"--no-default-features", no_default_features_},
      {"--all-features", all_features_},  {"--locked", locked_},
      {"--no-locked", no_locked_},        {"--frozen", frozen_},
      {"--offline", offline_}};
  for (const auto& [name, given] : flags)
    if (given) out.emplace_back(name);
  return out;
}

}  // namespace rustimg::cli
