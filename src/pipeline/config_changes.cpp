// Config changes given as JSON (the C API's rustimg_image_with_config and any
// binding that takes a document): read with the image spec's own readers, so
// a key means and checks exactly what it does in rustimg.json, and errors
// are the spec's (JSON path, "did you mean").
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/compose.hpp"
#include "rustimg/error.hpp"
#include "spec/rules.hpp"

namespace rustimg::compose {

namespace {

namespace sr = spec_rules;

// The spec's keys that are image config fields.
constexpr std::array<std::string_view, 9> kKeys = {"entrypoint", "cmd",   "env",         "user",       "workdir",
                                                   "ports",      "labels", "stop-signal", "healthcheck"};
// What people type instead (Docker and C/Go/Python spellings).
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kAliases = {{
    {"stop_signal", "stop-signal"}, {"stopsignal", "stop-signal"}, {"environment", "env"},
    {"exposed_ports", "ports"},     {"expose", "ports"},          {"working_dir", "workdir"},
    {"working-dir", "workdir"},     {"command", "cmd"},           {"health_check", "healthcheck"},
}};

template <class T>
void set(std::optional<T>& field, std::optional<T> value) {
  if (value) field = std::move(*value);
}
template <class T>
void set(T& field, std::optional<T> value) {
  if (value) field = std::move(*value);
}

}  // namespace

image::ConfigChanges parse_config_changes(const nlohmann::json& changes, const std::string& source) {
  std::vector<SpecDiagnostic> diags;
  sr::Ctx c{source, diags};
  image::ConfigChanges out;
  if (!sr::read_object(changes, c, "$")) throw SpecError(std::move(diags));
  sr::check_keys(changes, c, "$", sr::KeySet{kKeys, kAliases});
  for (const auto& [key, v] : changes.items()) {
    const std::string p = sr::child_path("$", key);
    // null removes a field that replaces (an empty value is written as none);
    // a healthcheck is switched off as Docker does, with ["NONE"].
    if (v.is_null()) {
      if (key == "entrypoint") out.entrypoint.emplace();
      else if (key == "cmd") out.cmd.emplace();
      else if (key == "user") out.user.emplace();
      else if (key == "workdir") out.workdir.emplace();
      else if (key == "stop-signal") out.stop_signal.emplace();
      else if (key == "healthcheck") out.healthcheck = oci::HealthConfig{.test = {"NONE"}};
      else if (key == "env" || key == "labels" || key == "ports")
        c.error(p, "null does not remove " + key + ": give the entries to set (an empty object or array changes nothing)");
      continue;
    }
    if (key == "entrypoint") set(out.entrypoint, sr::read_command(v, c, p));
    else if (key == "cmd") set(out.cmd, sr::read_command(v, c, p));
    else if (key == "env") set(out.env, sr::read_env(v, c, p));
    else if (key == "user") set(out.user, sr::read_user(v, c, p));
    else if (key == "workdir") set(out.workdir, sr::read_workdir(v, c, p));
    else if (key == "ports") set(out.ports, sr::read_ports(v, c, p));
    else if (key == "labels") set(out.labels, sr::read_labels(v, c, p));
    else if (key == "stop-signal") set(out.stop_signal, sr::read_stop_signal(v, c, p));
    else if (key == "healthcheck") set(out.healthcheck, sr::read_healthcheck(v, c, p));
  }
  if (!diags.empty()) throw SpecError(std::move(diags));
  return out;
}

nlohmann::json to_json(const image::ConfigChanges& changes) {
  nlohmann::json out = nlohmann::json::object();
  // An empty value removes the field (null in the document).
  const auto removable = [&out](const char* key, const auto& value) {
    if (!value) return;
    if (value->empty()) out[key] = nullptr;
    else out[key] = *value;
  };
  removable("entrypoint", changes.entrypoint);
  removable("cmd", changes.cmd);
  removable("user", changes.user);
  removable("workdir", changes.workdir);
  removable("stop-signal", changes.stop_signal);
  if (!changes.env.empty()) out["env"] = changes.env;
  if (!changes.ports.empty()) out["ports"] = changes.ports;
  if (!changes.labels.empty()) out["labels"] = changes.labels;
  if (const auto& h = changes.healthcheck) {
    nlohmann::json hc = {{"test", h->test}};
    for (const auto& [key, ns] : {std::pair{"interval", h->interval_ns}, std::pair{"timeout", h->timeout_ns},
                                  std::pair{"start-period", h->start_period_ns}})
      if (ns != 0) hc[key] = std::to_string(ns) + "ns";  // a Go duration, as the spec takes it
    if (h->retries != 0) hc["retries"] = h->retries;
    out["healthcheck"] = std::move(hc);
  }
  return out;
}

}  // namespace rustimg::compose
