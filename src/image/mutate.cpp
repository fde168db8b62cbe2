// Changing an image's config document where asked and nowhere else (the
// compose API's with_config and append). Pure, like image.cpp.
#include <algorithm>
#include <set>

#include "rustimg/error.hpp"
#include "rustimg/image.hpp"

namespace rustimg::image {
namespace {

using nlohmann::json;

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

/// Sets `key` of `cfg` to what `c` (holding only that field) writes for it,
/// or removes it when `c` writes nothing (an empty value).
void put(json& cfg, const char* key, const oci::ImageConfig& c) {
  const json written = c.to_json()["config"];
  if (written.contains(key)) cfg[key] = written[key];
  else cfg.erase(key);
}

}  // namespace

json apply_config_changes(const json& doc, const ConfigChanges& changes, const std::string& what) {
  const oci::ImageConfig current = read_config(doc, what);  // checks the fields' types
  json out = doc.is_object() ? doc : json::object();
  json cfg = out.contains("config") && out["config"].is_object() ? out["config"] : json::object();

  oci::ImageConfig c;  // each field set below, then written alone
  // A field that replaces: set alone in `c`, then written under its key.
  const auto replace = [&](const auto& value, auto oci::ImageConfig::*field, const char* key) {
    if (!value) return;
    c.*field = *value;
    put(cfg, key, c);
  };
  replace(changes.entrypoint, &oci::ImageConfig::entrypoint, "Entrypoint");
  replace(changes.cmd, &oci::ImageConfig::cmd, "Cmd");
  replace(changes.user, &oci::ImageConfig::user, "User");
  replace(changes.workdir, &oci::ImageConfig::working_dir, "WorkingDir");
  replace(changes.stop_signal, &oci::ImageConfig::stop_signal, "StopSignal");
  replace(changes.healthcheck, &oci::ImageConfig::healthcheck, "Healthcheck");
  if (!changes.env.empty()) {
    // The image's entries in their order, each replaced by the new value of
    // the same name; then the new names (as merge_config() does for a base).
    std::set<std::string> seen;
    for (const std::string& entry : current.env) {
      const std::string name = env_name(entry);
      seen.insert(name);
      const auto it = changes.env.find(name);
      c.env.push_back(it == changes.env.end() ? entry : name + "=" + it->second);
    }
    for (const auto& [name, value] : changes.env)
      if (seen.count(name) == 0) c.env.push_back(name + "=" + value);
    put(cfg, "Env", c);
  }
  if (!changes.ports.empty()) {
    c.exposed_ports = current.exposed_ports;
    for (const std::string& port : changes.ports) {
      if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), port) == c.exposed_ports.end())
        c.exposed_ports.push_back(port);
    }
    put(cfg, "ExposedPorts", c);
  }
  if (!changes.labels.empty()) {
    c.labels = current.labels;
    for (const auto& [k, v] : changes.labels) c.labels[k] = v;
    put(cfg, "Labels", c);
  }
  out["config"] = std::move(cfg);
  return out;
}

json append_layer(const json& doc, const std::string& diff_id, const std::string& created_by,
                  const std::string& what) {
  json out = doc.is_object() ? doc : json::object();
  json& rootfs = out["rootfs"];
  if (rootfs.is_null()) rootfs = {{"type", "layers"}};
  if (rootfs.is_object() && !rootfs.contains("diff_ids")) rootfs["diff_ids"] = json::array();
  if (!rootfs.is_object() || !rootfs["diff_ids"].is_array())
    throw Error(ErrorCode::InvalidArgument, what + ": rootfs.diff_ids is not an array; the config is corrupt");
  const std::size_t layers_before = rootfs["diff_ids"].size();
  rootfs["diff_ids"].push_back(diff_id);

  json& history = out["history"];
  if (history.is_null()) history = json::array();
  if (!history.is_array())
    throw Error(ErrorCode::InvalidArgument, what + ": history is not an array; the config is corrupt");
  json created = json();
  if (const auto it = out.find("created"); it != out.end() && it->is_string()) created = *it;
  const auto entry = [&](const std::string& by) {
    json e = json::object();
    if (!created.is_null()) e["created"] = created;
    if (!by.empty()) e["created_by"] = by;
    return e;
  };
  // Readers pair the history entries that are not empty_layer with
  // diff_ids in order: a config with fewer (an image made by a tool that
  // writes no history) first gets one per layer it has, so the new entry
  // is paired with the new layer.
  const std::size_t described = static_cast<std::size_t>(std::count_if(
      history.begin(), history.end(),
      [](const json& h) { return !(h.is_object() && h.value("empty_layer", false) == true); }));
  for (std::size_t i = described; i < layers_before; ++i) {
    json pad = entry({});
    pad["empty_layer"] = false;
    history.push_back(std::move(pad));
  }
  history.push_back(entry(created_by));
  return out;
}

}  // namespace rustimg::image
