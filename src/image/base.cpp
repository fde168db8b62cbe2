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

std::string env_name(const std::string& entry) { return entry.substr(0, entry.find('=')); }

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
  return oci::config_from_json(doc, oci::ParseMode::Lenient, what);
}

BaseImage parse_base_image(std::string name, std::string digest, std::string_view manifest_bytes,
                           std::string_view config_bytes) {
  const std::string what = "base image " + name + " (manifest " + digest + ")";
  // A base is held to the strict reading: schema version 2, every
  // descriptor typed.
  oci::Manifest m;
  try {
    m = oci::parse_manifest(manifest_bytes, oci::ParseMode::Strict, what);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Unsupported) throw;
    throw Error(ErrorCode::Unsupported,
                std::string(e.what()) +
                    "; a base must be an OCI or Docker schema 2 image manifest (Docker schema 1 images must be "
                    "converted, e.g. with skopeo copy --format v2s2)");
  }
  const oci::Descriptor& config = m.config;
  if (config.media_type != mt::kOciConfig && config.media_type != mt::kDockerConfig)
    throw Error(ErrorCode::Unsupported, what + " has config media type \"" + config.media_type +
                                            "\": it is not a container image (an artifact?)");

  BaseImage b;
  b.name = std::move(name);
  b.digest = std::move(digest);
  b.format = m.format;
  b.annotations = m.annotations;
  for (oci::Descriptor& d : m.layers) {
    try {
      (void)layer_media_type_for(d.media_type, oci::Format::Oci);
    } catch (const Error& e) {
      throw Error(e.code(), what + ": layer " + d.digest + ": " + e.what());
    }
    d.platform.reset();
    b.layers.push_back(std::move(d));
  }

  const std::string config_what = what + " config " + config.digest;
  if (config_bytes.size() > oci::kMaxConfigBytes)
    throw Error(ErrorCode::InvalidArgument, config_what + " has " + std::to_string(config_bytes.size()) +
                                                " bytes, more than the " + std::to_string(oci::kMaxConfigBytes >> 20) +
                                                " MiB rustimg reads");
  // The document is kept as it is, so that fields rustimg does not model
  // survive assembly; reading it goes through oci::parse_config.
  b.config = rustimg::parse_json(config_bytes, config_what);
  b.diff_ids = read_config(b.config, what + " config").diff_ids;
  if (b.diff_ids.size() != b.layers.size())
    throw Error(ErrorCode::InvalidArgument,
                what + " lists " + std::to_string(b.layers.size()) + " layers but its config has " +
                    std::to_string(b.diff_ids.size()) + " rootfs.diff_ids; the image is corrupt");
  return b;
}

oci::ImageConfig merge_config(const ConfigOverrides& overrides, const oci::ImageConfig& base,
                              std::string_view binary_name, const ImageOptions& options) {
  const std::map<std::string, std::string> none;
  const auto& env = overrides.env ? *overrides.env : none;
  oci::ImageConfig c;
  c.entrypoint = entrypoint(overrides, binary_name);
  if (overrides.cmd) c.cmd = *overrides.cmd;
  else if (c.entrypoint == base.entrypoint) c.cmd = base.cmd;
  c.user = overrides.user.value_or(base.user);
  c.working_dir = overrides.workdir.value_or(base.working_dir);
  c.stop_signal = overrides.stop_signal.value_or(base.stop_signal);
  c.healthcheck = overrides.healthcheck ? overrides.healthcheck : base.healthcheck;

  // Env: the base's entries in their order, each replaced by the spec's
  // value of the same name; then the spec's other entries by name. PATH is
  // added (first) only when neither sets it.
  std::set<std::string> in_base;
  bool has_path = env.count("PATH") != 0;
  for (const auto& entry : base.env) {
    const std::string name = env_name(entry);
    in_base.insert(name);
    if (name == "PATH") has_path = true;
    const auto it = env.find(name);
    c.env.push_back(it == env.end() ? entry : name + "=" + it->second);
  }
  if (!has_path) c.env.insert(c.env.begin(), std::string("PATH=") + kDefaultPath);
  for (const auto& [k, v] : env)
    if (in_base.count(k) == 0) c.env.push_back(k + "=" + v);

  // Ports: the base's, then the spec's new ones.
  c.exposed_ports = base.exposed_ports;
  if (overrides.ports)
    for (const auto& p : *overrides.ports)
      if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), p) == c.exposed_ports.end())
        c.exposed_ports.push_back(p);

  // Labels: the base's (less the metadata describing the base), then this
  // image's metadata, then the spec's labels, each winning over the last.
  c.labels = base.labels;
  for (const char* key : kMetadataKeys) c.labels.erase(key);
  for (const auto& [k, v] : metadata_labels(overrides, binary_name, options)) c.labels[k] = v;
  if (overrides.labels)
    for (const auto& [k, v] : *overrides.labels) c.labels[k] = v;
  return c;
}

json apply_build_config(const json& doc, const ConfigOverrides& overrides, const Platform& platform,
                        std::string_view binary_name, const ImageOptions& options, bool on_base) {
  const oci::ImageConfig current = read_config(doc, "the image config");
  oci::ImageConfig c = on_base ? merge_config(overrides, current, binary_name, options)
                               : make_config(overrides, platform, binary_name, {}, options);
  c.platform = platform;
  c.created = oci::rfc3339(options.created);
  c.diff_ids = current.diff_ids;  // history too stays as the layers' appends wrote it
  // A healthcheck the spec does not set stays exactly as the base wrote it.
  return oci::config_on_base(doc, c, overrides.healthcheck.has_value());
}

std::map<std::string, std::string> manifest_annotations_on_base(const ConfigOverrides& overrides,
                                                                std::string_view binary_name,
                                                                const ImageOptions& options,
                                                                const std::string& base_name,
                                                                const std::string& base_digest) {
  std::map<std::string, std::string> a = manifest_annotations(overrides, binary_name, options);
  a.emplace(kBaseNameAnnotation, base_name);
  a.emplace(kBaseDigestAnnotation, base_digest);
  return a;
}

}  // namespace rustimg::image
