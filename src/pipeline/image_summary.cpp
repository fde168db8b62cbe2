// ImageSummary: what an image is made of, read from its documents, and its
// JSON form (the image part of every --json result).
#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::transfer {
namespace {

using nlohmann::json;

constexpr oci::ParseMode kMode = oci::ParseMode::Lenient;

/// The platform a lone manifest's config states, if it can be read.
std::optional<Platform> config_platform_of(const oci::Manifest& m,
                                           const std::function<std::string(const oci::Descriptor&)>& fetch) {
  if (m.config.size < 0 || static_cast<std::uint64_t>(m.config.size) > oci::kMaxConfigBytes) return std::nullopt;
  return oci::config_platform(oci::parse_config(fetch(m.config), kMode, "the config " + m.config.digest));
}

json descriptor_json(const oci::Descriptor& d) {
  return {{"digest", d.digest}, {"media_type", d.media_type}, {"size", d.size}};
}

}  // namespace

ImageSummary summarize(const oci::Descriptor& top, const std::function<std::string(const oci::Descriptor&)>& fetch) {
  ImageSummary out;
  out.root = top;
  out.root.platform.reset();
  out.root.annotations.clear();
  oci::check_document_size(top, oci::kMaxManifestBytes, "the image " + top.digest);
  const oci::Document doc = oci::parse_document(fetch(top), top.media_type, kMode, "the image " + top.digest);
  out.root.media_type = doc.media_type;
  if (!doc.is_index()) {
    const oci::Manifest& m = doc.manifest();
    out.manifests.push_back({config_platform_of(m, fetch), out.root, m});
    return out;
  }
  for (const oci::Descriptor& d : doc.index().manifests) {
    if (!d.media_type.empty() && !oci::is_manifest_media_type(d.media_type)) continue;  // a nested index, an artifact
    oci::check_document_size(d, oci::kMaxManifestBytes, "the manifest " + d.digest);
    const oci::Document child = oci::parse_document(fetch(d), d.media_type, kMode, "the manifest " + d.digest);
    if (child.is_index()) continue;
    oci::Descriptor descriptor = d;
    descriptor.media_type = child.media_type;
    descriptor.platform.reset();
    descriptor.annotations.clear();
    const oci::Manifest& m = child.manifest();
    out.manifests.push_back({d.platform ? d.platform : config_platform_of(m, fetch), descriptor, m});
  }
  return out;
}

json to_json(const ImageSummary& image) {
  json manifests = json::array();
  for (const auto& m : image.manifests) {
    json layers = json::array();
    for (const auto& l : m.manifest.layers) layers.push_back(descriptor_json(l));
    json j = descriptor_json(m.descriptor);
    j["platform"] = m.platform ? json(m.platform->to_string()) : json(nullptr);
    j["config"] = descriptor_json(m.manifest.config);
    j["layers"] = std::move(layers);
    manifests.push_back(std::move(j));
  }
  json j = descriptor_json(image.root);
  j["manifests"] = std::move(manifests);
  return j;
}

}  // namespace rustimg::transfer
