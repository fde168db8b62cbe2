// Image config, manifest and index from a spec and written layers.
#include "rustimg/image.hpp"

#include "rustimg/error.hpp"

namespace rustimg::image {

oci::HealthConfig health_config(const Healthcheck& h) {
  oci::HealthConfig out;
  out.test = h.test;
  out.interval_ns = h.interval_ns;
  out.timeout_ns = h.timeout_ns;
  out.start_period_ns = h.start_period_ns;
  out.retries = h.retries;
  return out;
}
namespace {

std::string binary_name_for(const Spec& spec, std::string_view binary_name) {
  const std::string name = spec.bin.empty() ? std::string(binary_name) : spec.bin;
  if (name.empty() || name.find('/') != std::string::npos)
    throw Error(ErrorCode::InvalidArgument, "cannot name the binary in the image (\"" + name +
                                                "\"): set \"bin\" or \"entrypoint\" in the spec");
  return name;
}

}  // namespace

std::vector<std::string> entrypoint(const Spec& spec, std::string_view binary_name) {
  if (!spec.entrypoint.empty()) return spec.entrypoint;
  return {"/usr/local/bin/" + binary_name_for(spec, binary_name)};
}

std::string binary_path(const std::vector<std::string>& ep) {
  if (ep.empty() || ep.front().empty())
    throw Error(ErrorCode::InvalidArgument, "the entrypoint is empty: set \"entrypoint\" in the spec");
  if (ep.front().front() == '/') return ep.front();
  return "/usr/local/bin/" + ep.front();
}

oci::ImageConfig make_config(const Spec& spec, const Platform& platform, std::string_view binary_name,
                             const std::vector<AppliedLayer>& layers, const ImageOptions& options) {
  oci::ImageConfig c;
  c.platform = platform;
  c.created = oci::rfc3339(options.created);
  c.user = spec.user;
  c.working_dir = spec.workdir;
  c.entrypoint = entrypoint(spec, binary_name);
  c.cmd = spec.cmd;
  c.exposed_ports = spec.ports;
  c.stop_signal = spec.stop_signal;

  // PATH first (the spec may replace it), then everything else by name.
  std::map<std::string, std::string> env = spec.env;
  if (options.has_certificates && !env.count("SSL_CERT_FILE")) env["SSL_CERT_FILE"] = layer::kCaBundlePath;
  const auto path = env.find("PATH");
  c.env.push_back("PATH=" + (path == env.end() ? std::string(kDefaultPath) : path->second));
  for (const auto& [k, v] : env)
    if (k != "PATH") c.env.push_back(k + "=" + v);

  // Labels: the spec's, plus the provenance annotations docker inspect shows.
  c.labels = spec.labels;
  for (const char* key : {oci::annotation::kSource, oci::annotation::kRevision, oci::annotation::kVersion})
    if (const auto it = spec.annotations.find(key); it != spec.annotations.end()) c.labels.emplace(key, it->second);

  if (spec.healthcheck) c.healthcheck = health_config(*spec.healthcheck);

  for (const AppliedLayer& l : layers) {
    c.diff_ids.push_back(l.layer.diff_id);
    c.history.push_back({c.created, l.created_by, "", false});
  }
  return c;
}

std::map<std::string, std::string> manifest_annotations(const Spec& spec, std::string_view binary_name,
                                                        const ImageOptions& options) {
  std::map<std::string, std::string> a = spec.annotations;
  a.emplace(oci::annotation::kCreated, oci::rfc3339(options.created));
  const std::string title = !spec.package.empty() ? spec.package : !spec.bin.empty() ? spec.bin : std::string(binary_name);
  if (!title.empty()) a.emplace(oci::annotation::kTitle, title);
  return a;
}

PlatformImage assemble(const Spec& spec, const Platform& platform, std::string_view binary_name,
                       const std::vector<AppliedLayer>& layers, const ImageOptions& options) {
  if (layers.empty())
    throw Error(ErrorCode::InvalidArgument, "an image needs at least one layer (image-spec manifest \"layers\")");
  PlatformImage img;
  img.config = oci::make_blob(make_config(spec, platform, binary_name, layers, options).to_json(),
                              oci::config_media_type(options.format));
  oci::Manifest m;
  m.format = options.format;
  m.config = img.config.descriptor;
  for (const AppliedLayer& l : layers) m.layers.push_back(l.layer.descriptor);
  m.annotations = manifest_annotations(spec, binary_name, options);
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
