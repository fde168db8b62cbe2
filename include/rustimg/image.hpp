// rustimg/image.hpp - assembling image documents from a spec and layers.
//
// Pure: takes already-written layers and returns serialised config,
// manifest and index blobs; storing them is the caller's business.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/spec.hpp"

namespace rustimg::image {

/// The PATH every rustimg image gets unless the spec sets one.
inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A layer as it appears in an image, with its history line.
struct AppliedLayer {
  layer::Layer layer;
  std::string created_by;
};

struct ImageOptions {
  oci::Format format = oci::Format::Oci;
  std::int64_t created = 0;           ///< seconds since the epoch (SOURCE_DATE_EPOCH or 0)
  bool has_certificates = false;      ///< a CA bundle is in the image: set SSL_CERT_FILE
};

/// The entrypoint of the image: the spec's, else "/usr/local/bin/<bin>"
/// with `bin` = spec.bin or, when that is empty, `binary_name`.
std::vector<std::string> entrypoint(const Spec& spec, std::string_view binary_name);

/// Where the application binary goes: entrypoint[0] when absolute, else
/// /usr/local/bin/<entrypoint[0]> (found through PATH).
std::string binary_path(const std::vector<std::string>& entrypoint);

/// The config for one platform (see image-spec config.md).
oci::ImageConfig make_config(const Spec& spec, const Platform& platform, std::string_view binary_name,
                             const std::vector<AppliedLayer>& layers, const ImageOptions& options);

/// Manifest annotations: the spec's, plus org.opencontainers.image.created
/// and .title (package or bin name) unless the spec sets them.
std::map<std::string, std::string> manifest_annotations(const Spec& spec, std::string_view binary_name,
                                                        const ImageOptions& options);

/// One platform's serialised config and manifest. The manifest descriptor
/// carries the platform, ready to go into an index.
struct PlatformImage {
  oci::Blob config;
  oci::Blob manifest;
};

PlatformImage assemble(const Spec& spec, const Platform& platform, std::string_view binary_name,
                       const std::vector<AppliedLayer>& layers, const ImageOptions& options);

/// An index over several platform manifests (in the given order).
oci::Blob assemble_index(const std::vector<oci::Descriptor>& manifests,
                         const std::map<std::string, std::string>& annotations, oci::Format format);

}  // namespace rustimg::image
