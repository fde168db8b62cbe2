// Choosing an image from an index by platform, and the platform an image's
// config states: image logic shared by pull and anything reading images.
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"

namespace rustimg::oci {

std::optional<Descriptor> select_platform(const Index& index, const Platform& want) {
  for (const auto& d : index.manifests)
    if (d.platform && d.platform->satisfies(want)) return d;
  return std::nullopt;
}

std::string offered_platforms(const Index& index) {
  std::string offered;
  for (const auto& d : index.manifests)
    if (d.platform) offered += (offered.empty() ? "" : ", ") + d.platform->to_string();
  return offered.empty() ? std::string("no platforms") : offered;
}

std::optional<Platform> config_platform(const ImageConfig& config) {
  if (config.platform.architecture.empty()) return std::nullopt;
  Platform have = config.platform;
  if (have.os.empty()) have.os = "linux";
  try {  // canonical form ("aarch64" -> "arm64/v8") when the platform is known
    have = parse_platform(have.os + "/" + have.architecture + (have.variant.empty() ? "" : "/" + have.variant));
  } catch (const Error&) {  // unknown architectures stay as written
  }
  return have;
}

}  // namespace rustimg::oci
