// rustimg/image.hpp - assembling image documents from config values and layers.
//
// Pure: takes the runtime config values (ConfigOverrides, made from the spec
// by the pipeline's plan) and already-written layers (as OCI descriptors),
// and returns serialised config, manifest and index blobs; storing them is
// the caller's business.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"

namespace rustimg::image {

/// The PATH every rustimg image gets unless the spec sets one.
inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A written layer as it appears in an image: its descriptor, the digest of
/// its uncompressed tar (rootfs.diff_ids) and its history line.
struct AppliedLayer {
  oci::Descriptor descriptor;
  std::string diff_id;
  std::string created_by;
};

/// The runtime config values an image gets from its spec. An unset field
/// means "not given": on an image base the base's value stays (see the rules
/// in pipeline.hpp); on a built-in base every field is set, rustimg's
/// defaults included (pipeline::config_overrides fills them, once).
struct ConfigOverrides {
  /// Names, used whatever the base: the package (the title annotation) and
  /// the bin (the default entrypoint /usr/local/bin/<bin>); empty: the
  /// binary's name.
  std::string package;
  std::string bin;
  /// Unset or empty: the app, /usr/local/bin/<bin>.
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::string> user;
  std::optional<std::string> workdir;
  std::optional<std::string> stop_signal;
  std::optional<oci::HealthConfig> healthcheck;
  std::optional<std::map<std::string, std::string>> env;
  std::optional<std::vector<std::string>> ports;  ///< normalised "8080/tcp"
  std::optional<std::map<std::string, std::string>> labels;
  /// Manifest annotations; the image metadata ones (metadata_labels) also
  /// become labels.
  std::optional<std::map<std::string, std::string>> annotations;
};

struct ImageOptions {
  oci::Format format = oci::Format::Oci;
  std::int64_t created = 0;           ///< seconds since the epoch (SOURCE_DATE_EPOCH or 0)
  bool has_certificates = false;      ///< a CA bundle is in the image: set SSL_CERT_FILE
};

/// The entrypoint of the image: the overrides', else "/usr/local/bin/<bin>"
/// with `bin` = overrides.bin or, when that is empty, `binary_name`.
std::vector<std::string> entrypoint(const ConfigOverrides& overrides, std::string_view binary_name);

/// Where the application binary goes: entrypoint[0] when absolute, else
/// /usr/local/bin/<entrypoint[0]> (found through PATH).
std::string binary_path(const std::vector<std::string>& entrypoint);

/// The config for one platform (see image-spec config.md).
oci::ImageConfig make_config(const ConfigOverrides& overrides, const Platform& platform, std::string_view binary_name,
                             const std::vector<AppliedLayer>& layers, const ImageOptions& options);

/// Manifest annotations: the overrides', plus org.opencontainers.image.created
/// and .title (package, bin or binary name) unless those set them.
std::map<std::string, std::string> manifest_annotations(const ConfigOverrides& overrides, std::string_view binary_name,
                                                        const ImageOptions& options);

/// The annotation keys of the image's metadata (image-spec annotations.md)
/// that are also config labels.
inline constexpr std::array<const char*, 8> kMetadataKeys = {
    oci::annotation::kTitle,  oci::annotation::kDescription, oci::annotation::kVersion,
    oci::annotation::kLicenses, oci::annotation::kSource,    oci::annotation::kUrl,
    oci::annotation::kRevision, oci::annotation::kCreated};

/// The image's metadata as config labels (docker and podman inspect show
/// labels; Docker manifests carry no annotations): the
/// org.opencontainers.image.{title, description, version, licenses, source,
/// url, revision, created} entries of manifest_annotations(), each only when
/// there. The config's labels are these, then the overrides' labels, which
/// win key by key.
std::map<std::string, std::string> metadata_labels(const ConfigOverrides& overrides, std::string_view binary_name,
                                                   const ImageOptions& options);

/// One platform's serialised config and manifest. The manifest descriptor
/// carries the platform, ready to go into an index.
struct PlatformImage {
  oci::Blob config;
  oci::Blob manifest;
};

PlatformImage assemble(const ConfigOverrides& overrides, const Platform& platform, std::string_view binary_name,
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
  oci::Format format = oci::Format::Oci;            ///< the manifest's family
  std::map<std::string, std::string> annotations;  ///< the manifest's, as written
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

/// The runtime config of an image on `base` (the rules are in pipeline.hpp):
/// pure, so the rules are tested without a registry. A field `overrides`
/// leaves unset keeps the base's value. Labels: the base's, less the image
/// metadata keys (they describe the base), then metadata_labels(), then the
/// overrides' labels. Platform, created, diff_ids and history are not
/// filled in.
oci::ImageConfig merge_config(const ConfigOverrides& overrides, const oci::ImageConfig& base,
                              std::string_view binary_name, const ImageOptions& options);

/// The build's config rules applied to `doc`, the config document of one
/// platform's image with all its layers in place (a built-in base's and the
/// build's layers on scratch, or the build's layers appended to an image
/// base): created and the platform set; the runtime fields make_config()
/// gives (`on_base` false) or merge_config() gives against `doc`'s own
/// (`on_base` true), Healthcheck only when the overrides set one; rootfs,
/// history and every field rustimg does not model kept (oci::config_on_base).
/// Pure; the one home of these rules (pipeline::build_image applies them).
nlohmann::json apply_build_config(const nlohmann::json& doc, const ConfigOverrides& overrides,
                                  const Platform& platform, std::string_view binary_name,
                                  const ImageOptions& options, bool on_base);

/// manifest_annotations() of an image on the base `base_name` whose
/// manifest (or, for an index, index) is `base_digest`: plus
/// kBaseNameAnnotation and kBaseDigestAnnotation unless the overrides set them.
std::map<std::string, std::string> manifest_annotations_on_base(const ConfigOverrides& overrides,
                                                                std::string_view binary_name,
                                                                const ImageOptions& options,
                                                                const std::string& base_name,
                                                                const std::string& base_digest);

// --- changing an image (compose) -------------------------------------------------
//
// As go-containerregistry's mutate.Append / mutate.Config and `crane mutate`:
// a config document is changed only where asked, every other field (rustimg's
// or not) stays as written, and layers are never touched.

/// The config of a built-in base on its own, before any app: the platform,
/// `options.created`, Env PATH=kDefaultPath (and SSL_CERT_FILE with
/// `options.has_certificates`, as make_config() sets them), `layers`'
/// diff_ids and history; no entrypoint, user or working directory.
oci::ImageConfig base_config(const Platform& platform, const std::vector<AppliedLayer>& layers,
                             const ImageOptions& options);

/// Changes to an image's runtime config. A field left unset (or empty, for
/// the ones that add) keeps the image's value.
struct ConfigChanges {
  std::optional<std::vector<std::string>> entrypoint;  ///< replaces; empty: none
  std::optional<std::vector<std::string>> cmd;         ///< replaces; empty: none
  /// Each variable set by name: one the image has keeps its place, new ones
  /// follow in name order.
  std::map<std::string, std::string> env;
  std::optional<std::string> user;         ///< replaces; empty: none
  std::optional<std::string> workdir;      ///< replaces; empty: none
  /// Added to the image's: "8080" (TCP), "8080/tcp", "53/udp", "9/sctp".
  std::vector<std::string> ports;
  std::map<std::string, std::string> labels;  ///< each set by key
  std::optional<std::string> stop_signal;  ///< replaces; empty: none
  std::optional<oci::HealthConfig> healthcheck;  ///< replaces
};

/// `doc` (an image config document) with `changes` applied: only the keys
/// of its "config" object that `changes` names are rewritten (written as
/// ImageConfig writes them; an empty value removes the key). Pure. The
/// values are taken as given: compose::Image::with_config checks and
/// normalises them first with the spec's readers (ports as "N/proto").
/// Throws InvalidArgument naming `what` when a runtime field of `doc` has
/// the wrong type (read_config()).
nlohmann::json apply_config_changes(const nlohmann::json& doc, const ConfigChanges& changes, const std::string& what);

/// `doc` with one more layer: `diff_id` at the end of rootfs.diff_ids and a
/// history entry {created: doc's "created" when it has one, created_by};
/// when the history describes fewer layers (entries not empty_layer) than
/// rootfs.diff_ids had, first one {created, empty_layer: false} entry per
/// missing layer, so history and diff_ids stay in step. Pure. Throws InvalidArgument naming `what` when rootfs or history is not
/// of the right shape.
nlohmann::json append_layer(const nlohmann::json& doc, const std::string& diff_id, const std::string& created_by,
                            const std::string& what);

/// An index over several platform manifests (in the given order).
oci::Blob assemble_index(const std::vector<oci::Descriptor>& manifests,
                         const std::map<std::string, std::string>& annotations, oci::Format format);

}  // namespace rustimg::image
