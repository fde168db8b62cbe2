// rustimg/compose.hpp - layers and images as values: make a layer from host
// files or a tar, start an image from scratch, a built-in base, a local image
// or a registry, append layers, change its config, write it anywhere.
//
// Modelled on go-containerregistry (v1.Image, mutate.Append, mutate.Config,
// crane append / mutate) and jib-core (from(base).addLayer(..).containerize):
//
//   Layer app = LayerBuilder().add_file("/usr/local/bin/app", "target/app")
//                             .add_bytes("/etc/app.toml", config, 0644, 65532, 65532)
//                             .build();
//   Image img = Image::builtin("static", parse_platform("linux/amd64"))
//                   .append(app, "app")
//                   .with_config({.entrypoint = {{"/usr/local/bin/app"}}});
//   img.write(store::parse_image_location("oci:out:latest"));
//
// Values. Layer, Image and Index are immutable: every change returns a new
// value, and copies are cheap (they share their state). A Layer's blob lives
// in a private temporary directory under the system's (TMPDIR), removed when
// the last copy of the layer and of every image holding it is gone; a loaded
// or pulled image keeps its source alive the same way. Values may be used
// from several threads at once.
//
// Determinism. The same inputs give the same digests, from every caller and
// language: a layer's bytes depend only on its entries (paths, modes, owners,
// contents, symlink targets), the mtime and the compression settings (see
// layer.hpp's rules), never on the host's umask, file times, owners, locale
// or the order of the add_* calls (except a directory added twice: the
// later call's mode and owner win); an image's on its source, its layers, its config
// changes and its created time. Timestamps not given are source_date_epoch()
// (SOURCE_DATE_EPOCH, else 0), read when the value is made.
//
// Changes keep everything they do not name: a loaded or pulled image written
// unchanged keeps its manifest and config bytes (same digest); a change
// rewrites the config document only where asked (fields rustimg does not
// model stay, see image::apply_config_changes) and the manifest from its
// parts; layers and their bytes never change.
//
// Errors are rustimg::Error naming the input at fault and the fix;
// nothing is left behind by a failed call (no temporary file, no partial
// output: destinations are written by store::publish, atomically).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/image.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::compose {

/// How a layer's bytes are made: the same settings as the pipeline's layers
/// (layer::LayerOptions), with the mtime rule of the compose values.
struct LayerSettings {
  oci::Compression compression = oci::Compression::Gzip;
  /// gzip 1..9, zstd 1..19; 0 is the default (gzip 6, zstd 3). Part of the
  /// layer's identity.
  int level = 0;
  /// Every entry's mtime; nullopt: source_date_epoch(), read when the layer
  /// is built. Not used by Layer::from_tar (a tar keeps its own times).
  std::optional<std::int64_t> mtime;
  /// The media type family of the layer (an image maps it into its own).
  oci::Format format = oci::Format::Oci;
};

/// The compression `name` gives: "gzip", "zstd" or "none" (the spec's
/// names), for the APIs and the CLI that take it as text. Throws
/// Error(InvalidArgument) naming `argument` (how the caller spells it:
/// "--compression", "compression=") and the three names for another.
oci::Compression compression_named(std::string_view name, std::string_view argument);
/// The media type family `name` gives, "oci" or "docker"; as compression_named.
oci::Format format_named(std::string_view name, std::string_view argument);
/// "oci" or "docker".
const char* format_name(oci::Format format) noexcept;

class Image;

/// A written layer: a compressed tar blob with its digests.
class Layer {
 public:
  /// The entries of `tree`, written by layer::write_layer (the writer and
  /// compression every rustimg layer uses). Throws what write_tar() throws
  /// (a host file missing, unreadable, or changing size while read).
  static Layer from_tree(const layer::FileTree& tree, const LayerSettings& settings = {});
  /// An existing tar file (plain, gzip or zstd), checked as hostile input
  /// and written again by rustimg's own tar writer, so what was checked is
  /// exactly what the layer holds: each entry's cleaned name, type, mode,
  /// uid/gid, the tar's own mtime (whole seconds; settings.mtime is not
  /// used), link target and data, in the tar's order (user and group
  /// names, extended attributes, ACLs and sub-second times are dropped).
  /// A tar rustimg wrote keeps its diff_id; compressed as `settings` say.
  /// See layer::import_tar for the checks and errors.
  static Layer from_tar(const std::filesystem::path& tar_file, const LayerSettings& settings = {});

  const oci::Descriptor& descriptor() const noexcept;  ///< media type, digest, size of the blob
  const std::string& digest() const noexcept;          ///< of the compressed blob
  const std::string& diff_id() const noexcept;         ///< of the uncompressed tar
  std::int64_t size() const noexcept;                  ///< of the compressed blob
  const std::string& media_type() const noexcept;
  std::uint64_t uncompressed_size() const noexcept;

  struct Impl;

 private:
  friend class Image;
  friend struct BuildAccess;  // pipeline::build_image's parts (src/pipeline/compose_build.hpp)
  explicit Layer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

/// Collects the entries of one layer (a layer::FileTree), then builds it.
/// Paths in the image follow layer::FileTree::normalize ("/etc//x" is
/// "etc/x"; "..", NUL and the root itself are refused); parent directories
/// nobody adds appear as 0755 root:root; adding a path twice is an error
/// naming it, except a directory twice (the later owner and mode win).
/// Host files are read when the layer is built, not when added.
class LayerBuilder {
 public:
  /// The host file `host_path` at `image_path`. `mode` unset: 0755 when the
  /// host file has any execute bit, else 0644 (layer::host_file_mode, the
  /// assets' rule). Throws NotFound when it does not exist, InvalidArgument
  /// when it is not a regular file.
  LayerBuilder& add_file(std::string_view image_path, const std::filesystem::path& host_path,
                         std::optional<std::uint32_t> mode = std::nullopt, std::uint32_t uid = 0,
                         std::uint32_t gid = 0);
  LayerBuilder& add_directory(std::string_view image_path, std::uint32_t mode = 0755, std::uint32_t uid = 0,
                              std::uint32_t gid = 0);
  /// What the host directory holds, recursively, at `image_path` ("/" for
  /// the image's root): layer::add_host_tree (symlinks kept, nothing outside
  /// `host_dir` read or linked to).
  LayerBuilder& add_tree(std::string_view image_path, const std::filesystem::path& host_dir, std::uint32_t uid = 0,
                         std::uint32_t gid = 0);
  /// A symlink to `target`, verbatim (mode 0777).
  LayerBuilder& add_symlink(std::string_view image_path, std::string target, std::uint32_t uid = 0,
                            std::uint32_t gid = 0);
  /// A file holding `bytes`.
  LayerBuilder& add_bytes(std::string_view image_path, std::string bytes, std::uint32_t mode = 0644,
                          std::uint32_t uid = 0, std::uint32_t gid = 0);

  const layer::FileTree& tree() const noexcept { return tree_; }
  bool empty() const noexcept { return tree_.empty(); }

  /// Layer::from_tree(tree(), settings). The builder is unchanged: building
  /// twice with the same settings gives the same layer.
  Layer build(const LayerSettings& settings = {}) const;

 private:
  layer::FileTree tree_;
};

/// What write() did.
struct WriteResult {
  /// The manifest (an Image) or index (an Index) written; no platform.
  oci::Descriptor descriptor;
  /// For a registry destination: the push.
  std::optional<transfer::PushedImage> pushed;

  /// The transfer result every API returns for a write: the push's
  /// (transfer::to_json), else {"reference": `destination` as given,
  /// "digest", and 0 blobs and bytes}.
  nlohmann::json to_json(std::string_view destination) const;
};

/// One platform's image: config, manifest and the layers they name.
class Image {
 public:
  /// An image without layers or config values, for `platform` (its config:
  /// os, architecture, variant, created = source_date_epoch()).
  static Image scratch(const Platform& platform, oci::Format format = oci::Format::Oci);
  /// A built-in base, "scratch" or "static", exactly as a build makes it:
  /// the layer of layer::base_files(base, options) written with `settings`
  /// (the same digest as a build's base layer with the same options), and a
  /// config with PATH (and SSL_CERT_FILE when it has a CA bundle), created =
  /// the layer's mtime, no entrypoint, user or working directory. "scratch"
  /// without CA bundle or tzdata is Image::scratch(). Throws Unsupported for
  /// any other base (load or pull an image base), and what
  /// layer::read_ca_bundle() and layer::base_files() throw.
  static Image builtin(std::string_view base, const Platform& platform, const layer::BaseOptions& options = {},
                       const LayerSettings& settings = {});
  /// A local image: "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]",
  /// "docker-archive:FILE" (store::parse_image_location, read through
  /// store::StoredImage, every blob checked). From an index, the manifest
  /// for `platform`; without one, the index's only manifest. Throws NotFound
  /// when the index has no image for `platform` and InvalidArgument when no
  /// platform is given and it has several (both listing the platforms it
  /// has), InvalidArgument for a registry reference (use pull()), and what
  /// StoredImage and image::parse_base_image() throw.
  static Image load(std::string_view location, const std::optional<Platform>& platform = std::nullopt);
  static Image load(const store::ImageLocation& location, const std::optional<Platform>& platform = std::nullopt);
  /// `reference`'s image for `platform`, pulled through the registry client
  /// (every digest verified) into a private temporary store. nullopt: a
  /// single image whatever its platform, from an index kDefaultPlatform's
  /// (as crane without --platform). Throws what the client throws
  /// (registry::RegistryError, Auth, NotFound naming the reference and
  /// platform) and what image::parse_base_image() throws.
  static Image pull(std::string_view reference, const std::optional<Platform>& platform,
                    const registry::Options& options = {});
  /// What pull() takes from an index when no platform is asked for.
  static constexpr std::string_view kDefaultPlatform = "linux/amd64";

  /// This image with `layer` on top: its descriptor in the manifest (the
  /// media type mapped into this image's family, same bytes), its diff_id
  /// and a history entry (`created_by`, and the config's created time) in
  /// the config (image::append_layer).
  Image append(const Layer& layer, std::string created_by = {}) const;
  /// This image with `changes` applied to its config
  /// (image::apply_config_changes): config and manifest digests change,
  /// layers never. `changes` are checked by the spec's rules, as
  /// parse_config_changes() checks a document: SpecError (ErrorCode::Spec)
  /// naming the field's JSON path for a bad value.
  Image with_config(const image::ConfigChanges& changes) const;
  /// This image with each of `annotations` set in its manifest. Throws
  /// InvalidArgument for a Docker-format image (Docker manifests carry none:
  /// use labels).
  Image with_annotations(const std::map<std::string, std::string>& annotations) const;
  /// This image with the config's "created" set to `seconds` since the epoch.
  Image with_created(std::int64_t seconds) const;

  const Platform& platform() const noexcept;
  oci::Format format() const noexcept;
  /// The config document (every field, as the config blob holds it).
  const nlohmann::json& config_json() const noexcept;
  const oci::Blob& config() const noexcept;
  /// The manifest's bytes and descriptor (the descriptor carries the
  /// platform, ready for an index).
  const oci::Blob& manifest() const noexcept;
  const std::string& digest() const noexcept;  ///< of the manifest
  const std::vector<oci::Descriptor>& layers() const noexcept;
  const std::map<std::string, std::string>& annotations() const noexcept;

  /// Writes the image to `dest`: oci:, oci-archive: and docker-archive: by
  /// store::publish (atomically; blobs staged beside the destination), a
  /// registry (docker://HOST/REPO:TAG) by a push reached with `options`
  /// (layers pulled from the same registry are mounted, not uploaded).
  /// Throws InvalidArgument for an image without layers (append one), or a
  /// destination that cannot take it (store::check_output_location), and
  /// what publish and the registry client throw.
  WriteResult write(const store::ImageLocation& dest, const registry::Options& options = {}) const;

  struct Impl;

 private:
  friend class Index;
  friend struct BuildAccess;
  explicit Image(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

/// Several platforms' images as one index.
class Index {
 public:
  /// An index over `images`, in this order, with `annotations`. Throws
  /// InvalidArgument when `images` is empty, two are for the same platform,
  /// their formats differ, or annotations are given for the Docker format.
  explicit Index(std::vector<Image> images, std::map<std::string, std::string> annotations = {});

  const std::vector<Image>& images() const noexcept;
  const oci::Blob& index() const noexcept;
  const std::string& digest() const noexcept;

  /// As Image::write, for the index and every image (a docker-archive holds
  /// one platform: InvalidArgument).
  WriteResult write(const store::ImageLocation& dest, const registry::Options& options = {}) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// Config changes written as JSON with the image spec's keys and values
/// ("entrypoint", "cmd", "env", "user", "workdir", "ports", "labels",
/// "stop-signal", "healthcheck"; read by the spec's own readers). null
/// removes entrypoint, cmd, user, workdir or stop-signal and turns a
/// healthcheck off (["NONE"]). For callers that take a document (the C
/// API). Throws SpecError listing every problem, each naming `source` and
/// its JSON path (an unknown key with "did you mean").
image::ConfigChanges parse_config_changes(const nlohmann::json& changes, const std::string& source);

/// `changes` as the document parse_config_changes() reads (an empty
/// entrypoint, cmd, user, workdir or stop-signal as null), so that
/// Image::with_config checks a ConfigChanges with the same readers.
nlohmann::json to_json(const image::ConfigChanges& changes);

}  // namespace rustimg::compose
