// Pulling an image base into the build's staging store (internal to build).
#pragma once

#include <string>

#include "rustimg/image.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/publish.hpp"
#include "rustimg/store.hpp"

namespace rustimg::build {

/// A base image pulled for one platform.
struct PulledBase {
  image::BaseImage image;
  std::string root_digest;  ///< what the reference resolved to (an index or the manifest)
};

/// Pulls `ref` for `platform` into `blobs` and reads its manifest and config.
/// Errors keep their class (RegistryError keeps its HTTP status) and name
/// the base reference, the platform and what to check.
PulledBase pull_base(registry::Client& client, const Reference& ref, const Platform& platform,
                     store::BlobStore& blobs);

}  // namespace rustimg::build
