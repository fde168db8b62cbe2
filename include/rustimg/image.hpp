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

#include <nlohmann/json.hpp>

#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/spec.hpp"

namespace rustimg::image {

/// The spec's healthcheck as the config's Healthcheck field.
oci::HealthConfig health_config(const Healthcheck& healthcheck);

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

// --- images on a base image ----------------------------------------------------
//
// Like go-containerregistry's mutate.Append/mutate.Config: the base's
// manifest and config are read, never rewritten beyond what changes; its
// layers are referenced as they are (same digests, sizes and compressed
// bytes), with only their media type mapped into the output's family.

/// Manifest annotations naming the base (image-spec annotations.md).
inline constexpr const char* kBaseNameAnnotation = "org.opencontainers.image.base.name";
inline constexpr const char* kBaseDigestAnnotation = "org.opencontainers.image.base.digest";

/// One platform's image of a base, as pulled.
struct BaseImage {
  std::string name;                     ///< normalised reference ("127.0.0.1:5000/base:v1")
  std::string digest;                   ///< digest of this platform's manifest
  std::vector<oci::Descriptor> layers;  ///< as in the base manifest, in order
  std::vector<std::string> diff_ids;    ///< from the base config, one per layer
  nlohmann::json config;                ///< the base's config document, unchanged
};

/// Reads a base image from its manifest and config bytes. Accepts OCI and
/// Docker schema 2 image manifests with tar, tar+gzip and tar+zstd layers.
/// Throws rustimg::Error naming `name`: Unsupported for other manifest or
/// layer media types (schema 1, an index, foreign layers), InvalidArgument
/// for malformed documents or a diff_ids count that differs from the layers.
BaseImage parse_base_image(std::string name, std::string digest, std::string_view manifest_bytes,
                           std::string_view config_bytes);

/// The runtime fields ("config" object: User, Env, Entrypoint, Cmd,
/// WorkingDir, ExposedPorts, Labels, StopSignal, Healthcheck) of an image
/// config document, plus its platform and rootfs diff_ids. Missing or null
/// fields stay empty. Throws InvalidArgument naming `what` and the field
/// when one has the wrong type.
oci::ImageConfig read_config(const nlohmann::json& doc, const std::string& what);

/// `type` (a layer media type of either family) as the same compression in
/// `format`'s family: Docker rootfs.diff.tar.gzip <-> OCI tar+gzip, and so
/// on. Throws Unsupported naming the type for anything else (foreign or
/// non-distributable layers, encrypted layers...).
std::string layer_media_type_for(std::string_view type, oci::Format format);

/// True when the spec sets top-level `key`: listed in Spec::given, or, for
/// "cmd", "stop-signal" and "healthcheck", holding a value.
bool spec_sets(const Spec& spec, std::string_view key);

/// The runtime config of an image on `base` (the rules are in pipeline.hpp):
/// pure, so the rules are tested without a registry. Platform, created,
/// diff_ids and history are not filled in.
oci::ImageConfig merge_config(const Spec& spec, const oci::ImageConfig& base, std::string_view binary_name);

/// One platform's config and manifest on `base`: the base's layers and
/// history, then `layers`; the base config document with the merged runtime
/// fields (fields rustimg does not model, such as Volumes or Shell, are kept
/// as the base has them); manifest annotations as manifest_annotations()
/// plus kBaseNameAnnotation and kBaseDigestAnnotation (unless the spec sets
/// them).
PlatformImage assemble_on_base(const BaseImage& base, const Spec& spec, const Platform& platform,
                               std::string_view binary_name, const std::vector<AppliedLayer>& layers,
                               const ImageOptions& options);

/// An index over several platform manifests (in the given order).
oci::Blob assemble_index(const std::vector<oci::Descriptor>& manifests,
                         const std::map<std::string, std::string>& annotations, oci::Format format);

}  // namespace rustimg::image
