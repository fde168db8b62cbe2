// Images on a base image: reading the base's manifest and config, the config
// merge rules (documented in pipeline.hpp) and assembly. Pure, like image.cpp.
#include <algorithm>
#include <set>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/json.hpp"

namespace rustimg::image {
namespace {

using nlohmann::json;
namespace mt = oci::media_type;

/// The runtime keys of the "config" object that rustimg reads and writes.
constexpr const char* kRuntimeKeys[] = {"User",         "Env",    "Entrypoint", "Cmd",        "WorkingDir",
                                        "ExposedPorts", "Labels", "StopSignal", "Healthcheck"};

json parse_json(std::string_view bytes, const std::string& what) {
  json doc = rustimg::parse_json(bytes, what);
  if (!doc.is_object())
    throw Error(ErrorCode::InvalidArgument, what + " is not a JSON object");
  return doc;
}

std::string string_field(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

std::vector<std::string> strings_field(const json& obj, const char* key, const std::string& what) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" is not an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" is not an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::int64_t int_field(const json& obj, const char* key, const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return 0;
  if (!it->is_number_integer()) throw Error(ErrorCode::InvalidArgument, what + ": \"" + key + "\" is not an integer");
  return it->get<std::int64_t>();
}

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

bool is_image_manifest_type(std::string_view type) {
  return type == mt::kOciManifest || type == mt::kDockerManifest;
}

}  // namespace

std::string layer_media_type_for(std::string_view type, oci::Format format) {
  std::string_view compression;
  if (type == mt::kOciLayerGzip || type == mt::kDockerLayerGzip) compression = "gzip";
  else if (type == mt::kOciLayerZstd || type == mt::kDockerLayerZstd) compression = "zstd";
  else if (type == mt::kOciLayerTar || type == mt::kDockerLayerTar) compression = "";
  else
    throw Error(ErrorCode::Unsupported,
                "layer media type \"" + std::string(type) +
                    "\" is not supported in a base image (rustimg takes tar, tar+gzip and tar+zstd layers, OCI or "
                    "Docker; foreign, non-distributable and encrypted layers are not)");
  return oci::layer_media_type(format, compression);
}

oci::ImageConfig read_config(const json& doc, const std::string& what) {
  oci::ImageConfig c;
  c.platform.os = string_field(doc, "os", what);
  c.platform.architecture = string_field(doc, "architecture", what);
  c.platform.variant = string_field(doc, "variant", what);
  if (!c.platform.architecture.empty()) {
    try {
      c.platform = parse_platform(c.platform.to_string());
    } catch (const Error&) {
      // An architecture rustimg has no name for stays as written.
    }
  }
  c.created = string_field(doc, "created", what);

  if (const auto rootfs = doc.find("rootfs"); rootfs != doc.end() && !rootfs->is_null()) {
    if (!rootfs->is_object()) throw Error(ErrorCode::InvalidArgument, what + ": \"rootfs\" is not an object");
    c.diff_ids = strings_field(*rootfs, "diff_ids", what + " rootfs");
  }

  const auto cfg_it = doc.find("config");
  if (cfg_it == doc.end() || cfg_it->is_null()) return c;
  if (!cfg_it->is_object()) throw Error(ErrorCode::InvalidArgument, what + ": \"config\" is not an object");
  const json& cfg = *cfg_it;
  const std::string where = what + " config";
  c.user = string_field(cfg, "User", where);
  c.env = strings_field(cfg, "Env", where);
  c.entrypoint = strings_field(cfg, "Entrypoint", where);
  c.cmd = strings_field(cfg, "Cmd", where);
  c.working_dir = string_field(cfg, "WorkingDir", where);
  c.stop_signal = string_field(cfg, "StopSignal", where);
  if (const auto ports = cfg.find("ExposedPorts"); ports != cfg.end() && !ports->is_null()) {
    if (!ports->is_object()) throw Error(ErrorCode::InvalidArgument, where + ": \"ExposedPorts\" is not an object");
    for (const auto& [port, _] : ports->items()) c.exposed_ports.push_back(port);
  }
  if (const auto labels = cfg.find("Labels"); labels != cfg.end() && !labels->is_null()) {
    if (!labels->is_object()) throw Error(ErrorCode::InvalidArgument, where + ": \"Labels\" is not an object");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string())
        throw Error(ErrorCode::InvalidArgument, where + ": label \"" + k + "\" is not a string");
      c.labels[k] = v.get<std::string>();
    }
  }
  if (const auto h = cfg.find("Healthcheck"); h != cfg.end() && !h->is_null()) {
    if (!h->is_object()) throw Error(ErrorCode::InvalidArgument, where + ": \"Healthcheck\" is not an object");
    const std::string hw = where + " Healthcheck";
    oci::HealthConfig hc;
    hc.test = strings_field(*h, "Test", hw);
    hc.interval_ns = int_field(*h, "Interval", hw);
    hc.timeout_ns = int_field(*h, "Timeout", hw);
    hc.start_period_ns = int_field(*h, "StartPeriod", hw);
    hc.retries = static_cast<int>(int_field(*h, "Retries", hw));
    c.healthcheck = std::move(hc);
  }
  return c;
}

BaseImage parse_base_image(std::string name, std::string digest, std::string_view manifest_bytes,
                           std::string_view config_bytes) {
  const std::string what = "base image " + name + " (manifest " + digest + ")";
  const json m = parse_json(manifest_bytes, what);
  const std::string type = string_field(m, "mediaType", what);
  if (m.contains("manifests") || (!type.empty() && !is_image_manifest_type(type)))
    throw Error(ErrorCode::Unsupported,
                what + " has media type \"" + (type.empty() ? std::string("index") : type) +
                    "\"; a base must be an OCI or Docker schema 2 image manifest (Docker schema 1 images must be "
                    "converted, e.g. with skopeo copy --format v2s2)");
  if (const auto v = m.find("schemaVersion"); v == m.end() || *v != 2)
    throw Error(ErrorCode::Unsupported,
                what + " is not a schema version 2 manifest (Docker schema 1 is not supported)");

  const auto cfg = m.find("config");
  if (cfg == m.end()) throw Error(ErrorCode::InvalidArgument, what + " has no \"config\"");
  const oci::Descriptor config = oci::Descriptor::from_json(*cfg);
  if (config.media_type != mt::kOciConfig && config.media_type != mt::kDockerConfig)
    throw Error(ErrorCode::Unsupported, what + " has config media type \"" + config.media_type +
                                            "\": it is not a container image (an artifact?)");

  BaseImage b;
  b.name = std::move(name);
  b.digest = std::move(digest);
  if (const auto layers = m.find("layers"); layers != m.end() && !layers->is_null()) {
    if (!layers->is_array()) throw Error(ErrorCode::InvalidArgument, what + ": \"layers\" is not an array");
    for (const auto& l : *layers) {
      oci::Descriptor d = oci::Descriptor::from_json(l);
      try {
        (void)layer_media_type_for(d.media_type, oci::Format::Oci);
      } catch (const Error& e) {
        throw Error(e.code(), what + ": layer " + d.digest + ": " + e.what());
      }
      d.platform.reset();
      b.layers.push_back(std::move(d));
    }
  }

  b.config = parse_json(config_bytes, what + " config " + config.digest);
  b.diff_ids = read_config(b.config, what + " config").diff_ids;
  if (b.diff_ids.size() != b.layers.size())
    throw Error(ErrorCode::InvalidArgument,
                what + " lists " + std::to_string(b.layers.size()) + " layers but its config has " +
                    std::to_string(b.diff_ids.size()) + " rootfs.diff_ids; the image is corrupt");
  return b;
}

bool spec_sets(const Spec& spec, std::string_view key) {
  if (spec.given.count(key) != 0) return true;
  if (key == "cmd") return !spec.cmd.empty();
  if (key == "stop-signal") return !spec.stop_signal.empty();
  if (key == "healthcheck") return spec.healthcheck.has_value();
  return false;
}

oci::ImageConfig merge_config(const Spec& spec, const oci::ImageConfig& base, std::string_view binary_name) {
  oci::ImageConfig c;
  c.entrypoint = entrypoint(spec, binary_name);
  if (spec_sets(spec, "cmd")) c.cmd = spec.cmd;
  else if (c.entrypoint == base.entrypoint) c.cmd = base.cmd;
  c.user = spec_sets(spec, "user") ? spec.user : base.user;
  c.working_dir = spec_sets(spec, "workdir") ? spec.workdir : base.working_dir;
  c.stop_signal = spec_sets(spec, "stop-signal") ? spec.stop_signal : base.stop_signal;
  c.healthcheck = spec.healthcheck ? health_config(*spec.healthcheck) : base.healthcheck;

  // Env: the base's entries in their order, each replaced by the spec's
  // value of the same name; then the spec's other entries by name. PATH is
  // added (first) only when neither sets it.
  std::set<std::string> in_base;
  bool has_path = spec.env.count("PATH") != 0;
  for (const auto& entry : base.env) {
    const std::string name = env_name(entry);
    in_base.insert(name);
    if (name == "PATH") has_path = true;
    const auto it = spec.env.find(name);
    c.env.push_back(it == spec.env.end() ? entry : name + "=" + it->second);
  }
  if (!has_path) c.env.insert(c.env.begin(), std::string("PATH=") + kDefaultPath);
  for (const auto& [k, v] : spec.env)
    if (in_base.count(k) == 0) c.env.push_back(k + "=" + v);

  // Ports: the base's, then the spec's new ones.
  c.exposed_ports = base.exposed_ports;
  for (const auto& p : spec.ports)
    if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), p) == c.exposed_ports.end())
      c.exposed_ports.push_back(p);

  // Labels: the base's, then the provenance of this image (source, revision,
  // version annotations), then the spec's labels, each winning over the last.
  c.labels = base.labels;
  for (const char* key : {oci::annotation::kSource, oci::annotation::kRevision, oci::annotation::kVersion})
    if (const auto it = spec.annotations.find(key); it != spec.annotations.end()) c.labels[key] = it->second;
  for (const auto& [k, v] : spec.labels) c.labels[k] = v;
  return c;
}

PlatformImage assemble_on_base(const BaseImage& base, const Spec& spec, const Platform& platform,
                               std::string_view binary_name, const std::vector<AppliedLayer>& layers,
                               const ImageOptions& options) {
  const std::string what = "base image " + base.name;
  oci::ImageConfig merged = merge_config(spec, read_config(base.config, what + " config"), binary_name);
  merged.platform = platform;
  merged.created = oci::rfc3339(options.created);

  json doc = base.config;
  doc["created"] = merged.created;
  doc["os"] = platform.os;
  doc["architecture"] = platform.architecture;
  if (const std::string v = platform.descriptor_variant(); !v.empty()) doc["variant"] = v;

  json cfg = doc.contains("config") && doc["config"].is_object() ? doc["config"] : json::object();
  const json ours = merged.to_json()["config"];
  for (const char* key : kRuntimeKeys) {
    // A healthcheck the spec does not set stays exactly as the base wrote it.
    if (std::string_view(key) == "Healthcheck" && !spec.healthcheck) continue;
    cfg.erase(key);
    if (ours.contains(key)) cfg[key] = ours[key];
  }
  doc["config"] = std::move(cfg);

  std::vector<std::string> diff_ids = base.diff_ids;
  json history = doc.contains("history") && doc["history"].is_array() ? doc["history"] : json::array();
  for (const AppliedLayer& l : layers) {
    diff_ids.push_back(l.layer.diff_id);
    history.push_back({{"created", merged.created}, {"created_by", l.created_by}});
  }
  doc["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  doc["history"] = std::move(history);

  PlatformImage img;
  img.config = oci::make_blob(doc, oci::config_media_type(options.format));
  oci::Manifest m;
  m.format = options.format;
  m.config = img.config.descriptor;
  for (oci::Descriptor d : base.layers) {
    d.media_type = layer_media_type_for(d.media_type, options.format);
    m.layers.push_back(std::move(d));
  }
  for (const AppliedLayer& l : layers) m.layers.push_back(l.layer.descriptor);
  m.annotations = manifest_annotations(spec, binary_name, options);
  m.annotations.emplace(kBaseNameAnnotation, base.name);
  m.annotations.emplace(kBaseDigestAnnotation, base.digest);
  img.manifest = oci::make_blob(m.to_json(), oci::manifest_media_type(options.format));
  img.manifest.descriptor.platform = platform;
  return img;
}

}  // namespace rustimg::image
