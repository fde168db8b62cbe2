// Image config, manifest and index from config values and written layers.
#include "rustimg/image.hpp"

#include "rustimg/error.hpp"

namespace rustimg::image {

namespace {

std::string binary_name_for(const ConfigOverrides& o, std::string_view binary_name) {
  const std::string name = o.bin.empty() ? std::string(binary_name) : o.bin;
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error(ErrorCode::InvalidArgument, "cannot name the binary in the image (\"" + name +
                                                "\"): set \"bin\" or \"entrypoint\" in the spec");
  return name;
}

/// The Env of an image on a built-in base: PATH first (`env` may replace
/// it), then SSL_CERT_FILE when there are certificates (unless `env` sets
/// it), then everything else by name.
std::vector<std::string> builtin_env(std::map<std::string, std::string> env, const ImageOptions& options) {
  if (options.has_certificates && !env.count("SSL_CERT_FILE")) env["SSL_CERT_FILE"] = oci::kCaBundlePath;
  std::vector<std::string> out;
  const auto path = env.find("PATH");
  out.push_back("PATH=" + (path == env.end() ? std::string(kDefaultPath) : path->second));
  for (const auto& [k, v] : env)
    if (k != "PATH") out.push_back(k + "=" + v);
  return out;
}

void add_layers(oci::ImageConfig& c, const std::vector<AppliedLayer>& layers) {
  for (const AppliedLayer& l : layers) {
    c.diff_ids.push_back(l.diff_id);
    c.history.push_back({c.created, l.created_by, "", false});
  }
}

}  // namespace

std::vector<std::string> entrypoint(const ConfigOverrides& overrides, std::string_view binary_name) {
  if (overrides.entrypoint && !overrides.entrypoint->empty()) return *overrides.entrypoint;
  return {"/usr/local/bin/" + binary_name_for(overrides, binary_name)};
}

std::string binary_path(const std::vector<std::string>& ep) {
  if (ep.empty() || ep.front().empty())
    throw Error(ErrorCode::InvalidArgument, "the entrypoint is empty: set \"entrypoint\" in the spec");
  if (ep.front().front() == '/') return ep.front();
  return "/usr/local/bin/" + ep.front();
}

oci::ImageConfig make_config(const ConfigOverrides& overrides, const Platform& platform, std::string_view binary_name,
                             const std::vector<AppliedLayer>& layers, const ImageOptions& options) {
  oci::ImageConfig c;
  c.platform = platform;
  c.created = oci::rfc3339(options.created);
  c.user = overrides.user.value_or("");
  c.working_dir = overrides.workdir.value_or("");
  c.entrypoint = entrypoint(overrides, binary_name);
  c.cmd = overrides.cmd.value_or(std::vector<std::string>{});
  c.exposed_ports = overrides.ports.value_or(std::vector<std::string>{});
  c.stop_signal = overrides.stop_signal.value_or("");

  c.env = builtin_env(overrides.env.value_or(std::map<std::string, std::string>{}), options);

  c.labels = metadata_labels(overrides, binary_name, options);
  if (overrides.labels)
    for (const auto& [k, v] : *overrides.labels) c.labels[k] = v;

  c.healthcheck = overrides.healthcheck;
  add_layers(c, layers);
  return c;
}

oci::ImageConfig base_config(const Platform& platform, const std::vector<AppliedLayer>& layers,
                             const ImageOptions& options) {
  oci::ImageConfig c;
  c.platform = platform;
  c.created = oci::rfc3339(options.created);
  c.env = builtin_env({}, options);
  add_layers(c, layers);
  return c;
}

std::map<std::string, std::string> manifest_annotations(const ConfigOverrides& overrides, std::string_view binary_name,
                                                        const ImageOptions& options) {
  std::map<std::string, std::string> a = overrides.annotations.value_or(std::map<std::string, std::string>{});
  a.emplace(oci::annotation::kCreated, oci::rfc3339(options.created));
  const std::string title = !overrides.package.empty() ? overrides.package
                            : !overrides.bin.empty()   ? overrides.bin
                                                       : std::string(binary_name);
  if (!title.empty()) a.emplace(oci::annotation::kTitle, title);
  return a;
}

std::map<std::string, std::string> metadata_labels(const ConfigOverrides& overrides, std::string_view binary_name,
                                                   const ImageOptions& options) {
  const std::map<std::string, std::string> annotations = manifest_annotations(overrides, binary_name, options);
  std::map<std::string, std::string> out;
  for (const char* key : kMetadataKeys)
    if (const auto it = annotations.find(key); it != annotations.end()) out.emplace(key, it->second);
  return out;
}

PlatformImage assemble(const ConfigOverrides& overrides, const Platform& platform, std::string_view binary_name,
                       const std::vector<AppliedLayer>& layers, const ImageOptions& options) {
  if (layers.empty())
    throw Error(ErrorCode::InvalidArgument, "an image needs at least one layer (image-spec manifest \"layers\")");
  PlatformImage img;
  img.config = oci::make_blob(make_config(overrides, platform, binary_name, layers, options).to_json(),
                              oci::config_media_type(options.format));
  oci::Manifest m;
  m.format = options.format;
  m.config = img.config.descriptor;
  for (const AppliedLayer& l : layers) m.layers.push_back(l.descriptor);
  m.annotations = manifest_annotations(overrides, binary_name, options);
  img.manifest = oci::make_blob(m.to_json(), oci::manifest_media_type(options.format));
  img.manifest.descriptor.platform = platform;
  return img;
}

oci::Blob assemble_index(const std::vector<oci::Descriptor>& manifests,
                         const std::map<std::string, std::string>& annotations, oci::Format format) {
  const oci::Index index{format, manifests, annotations};
  return oci::make_blob(index.to_json(), oci::index_media_type(format));
}

}  // namespace rustimg::image
