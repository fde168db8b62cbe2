// rustimg/publish.hpp - moving images between the local formats and
// registries: push what a build wrote, pull an image into a local format.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rustimg/platform.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"

namespace rustimg::build {

struct PushedImage {
  std::string reference;  ///< "host/repo:tag@sha256:..." (what `rustimg push` prints last)
  registry::PushResult result;
};

/// Pushes the image or index stored at `source` (oci:, oci-archive: or
/// docker-archive:) to every reference in `targets`, in order. When the image
/// records its base (annotation org.opencontainers.image.base.name) and a
/// target is on the base's registry, layers are mounted from the base's
/// repository instead of uploaded. Throws registry::RegistryError (Registry,
/// Auth), rustimg::Error (NotFound, InvalidArgument, Cancelled).
std::vector<PushedImage> push(const store::Destination& source, const std::vector<std::string>& targets,
                              const registry::Options& options);

/// Pulls `reference` (one platform of an index when `platform` is set, else
/// what it names) into `output`. Returns the digest of what was written.
std::string pull(const std::string& reference, const store::Destination& output, const registry::Options& options,
                 const std::optional<Platform>& platform = std::nullopt);

}  // namespace rustimg::build
