// rustimg/pipeline.hpp - the facade: prebuilt binaries + spec -> image at a
// destination.
//
//   verify each binary (ELF) -> base layer + assets layer + app layer
//   -> config + manifest per platform (-> index)
//   -> OCI layout / OCI archive / docker-archive / registry (docker://).
//
// Base images. When spec.base is an image reference ("host/repo:tag",
// "host/repo@sha256:..."; anything but "scratch" and "static"), the base is
// pulled for every platform built (the platform's manifest is picked from an
// index) into the build's staging store, and each platform's image is:
//
//   layers   the base's layers exactly as the base has them (same digests,
//            sizes and compressed bytes, never recompressed), then the
//            assets layer and the app layer. No built-in base files
//            (passwd, CA bundle, tzdata) are added: the base provides them,
//            and "ca-certificates"/"tzdata" apply only to the built-in bases.
//            Layer media types are mapped into the output's family with the
//            same compression (Docker rootfs.diff.tar.gzip <-> OCI
//            tar+gzip, tar, zstd), so a Docker schema 2 base gives an OCI
//            image in oci:/oci-archive: outputs, and Docker types in a
//            docker-archive built with the Docker format.
//   history  the base's entries, then rustimg's.
//   config   the base's config document, with these runtime fields:
//     Entrypoint  the spec's, else the app (/usr/local/bin/<bin>), as ko
//                 does: the image runs the app, never the base's entrypoint.
//     Cmd         the spec's when it sets "cmd" (even to []); else the
//                 base's only if the resulting entrypoint equals the base's
//                 (the base's arguments were meant for its own entrypoint);
//                 else none.
//     User, WorkingDir, StopSignal, Healthcheck
//                 the spec's when it sets the key (Spec::given), else the
//                 base's, even when empty: rustimg's defaults ("65532:65532",
//                 "/") apply only to the built-in bases.
//     Env         the base's entries in order, each replaced by the spec's
//                 value for the same name; then the spec's other entries.
//                 PATH is the base's (or the spec's); the default PATH is
//                 added only when neither sets one. SSL_CERT_FILE is not added.
//     ExposedPorts the base's plus the spec's.
//     Labels      the base's less its org.opencontainers.image metadata
//                 (image::kMetadataKeys: they describe the base), overridden
//                 by this image's metadata (image::metadata_labels),
//                 overridden by the spec's labels.
//                 Other config fields (Volumes, Shell, OnBuild...) and
//                 top-level fields are kept; "created" is this build's.
//   manifest annotations
//                 as for any rustimg image, plus
//                 org.opencontainers.image.base.name (the normalised
//                 reference, e.g. "127.0.0.1:5000/base:v1") and
//                 org.opencontainers.image.base.digest (the digest of the
//                 platform's base manifest; an index over several platforms
//                 records the digest the reference resolved to) unless the
//                 spec sets them.
//
// The same base digest and the same inputs give the same image digest: pin
// the base by digest ("repo@sha256:...") for builds that must not change
// when the base's tag moves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/option_names.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/signing.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/store.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::pipeline {

/// The default cache of image-base blobs: $RUSTIMG_CACHE_DIR when set (set
/// and empty: no cache), else $XDG_CACHE_HOME/rustimg, else
/// $HOME/.cache/rustimg; empty when none of these is known.
std::filesystem::path default_base_cache();

struct BuildOptions {
  Spec spec;
  std::vector<PlatformBinary> binaries;
  store::ImageLocation output;
  /// Where asset globs are resolved (empty: the current directory).
  std::filesystem::path crate_dir;
  /// Seconds since the epoch for every timestamp; nullopt: the build reads
  /// source_date_epoch() (SOURCE_DATE_EPOCH, else 0) before any work.
  std::optional<std::int64_t> created;
  oci::Format format = oci::Format::Oci;
  /// Put a binary that needs a dynamic loader or shared libraries on a
  /// scratch/static base anyway.
  bool allow_dynamic = false;
  /// How messages name the caller's options (--platform, --allow-dynamic,
  /// --base...).
  OptionNames option_names;
  /// One event per step (stages "build", "cargo", "verify", "pull",
  /// "layer", "image", "sbom", "provenance", "write"); returning true cancels the
  /// build (rustimg::Error, code Cancelled) at that step.
  ProgressCallback progress;
  /// How to reach the registry of an image base (spec.base) and of a
  /// docker:// output (and, in build_and_push(), of the push targets):
  /// insecure registries, a CA file, credentials, retries, the transport.
  /// Loopback registries speak plain HTTP without being listed. Pull progress is reported through `progress` (stage
  /// "pull") as well as through `registry.progress` when that is set.
  registry::Options registry;
  /// Credentials for the registry of an image base, whichever host spec.base
  /// names (for callers that learn the base only from the spec); they are
  /// sent to that registry and no other, in place of an entry for that host
  /// in `registry.credentials`. Empty: none.
  registry::Credentials base_credentials;
  /// A PEM public key file (cosign.pub) the image base must be signed by, as
  /// the spec's "base-key" but any path (the caller's, not the crate's); it
  /// wins over the spec's. Empty: the spec's, if any.
  std::filesystem::path base_key;
  /// Where blobs of image bases are kept between builds, so a base is
  /// downloaded once: DIR/blobs/sha256/<hex>, shared by every build that
  /// names it. A cached blob is hashed before each use (one that does not
  /// match its digest is downloaded again); only manifests are fetched
  /// every time, so a moved tag is seen. Empty: no cache. A cache that
  /// cannot be created or written is skipped with a warning.
  std::filesystem::path base_cache = default_base_cache();
};

struct BuildResult {
  /// The manifest (one platform) or index (several) written to the sink.
  oci::Descriptor descriptor;
  std::vector<elf::Report> reports;  ///< one per binary, in order
  /// What was built: each platform's manifest, config and layers.
  transfer::ImageSummary image;
  /// For a registry output (docker://): the push that ended the build.
  std::optional<transfer::PushedImage> pushed;
  /// The spec's "tags": what a push of the image to a reference without a
  /// tag puts it under (see transfer::push).
  std::vector<std::string> tags;
  /// For an archive output, which cannot carry them: the SBOM and
  /// provenance files written beside it ("app.tar.spdx.json", ...).
  std::vector<std::filesystem::path> beside;
};

/// Runs the whole pipeline for options.spec and options.binaries (their
/// plan: plan_spec, then plan_prebuilt). Throws rustimg::Error: Verify when
/// a binary is unfit for the base or does not match its platform (the
/// message says how to fix it), NotFound/Io for missing or unreadable
/// inputs, InvalidArgument for inconsistent options; for an image base,
/// what the registry client throws (registry::RegistryError, Auth, NotFound
/// when the base has no image for a platform), with a message naming the
/// base reference.
///
/// A registry output (docker://HOST/REPO:TAG) gets each layer uploaded
/// while it is written (registry::BlobUpload: nothing of it on disk), the
/// configs, manifests and index from memory, and then one push of the root
/// with options.registry (a base's layers, pulled to a temporary store,
/// are mounted from the base's repository on the same registry, else
/// uploaded). BuildResult::pushed says what was pushed.
BuildResult build_image(const BuildOptions& options);

/// The pipeline for `plan`, each of whose platforms names its binary
/// (PlatformPlan::prebuilt): the plan's spec, config values and crate
/// directory (where assets are found; empty: the current directory) take
/// the place of options.spec, options.binaries and options.crate_dir, which
/// are not read. Throws as build_image(options).
BuildResult build_image(const Plan& plan, const BuildOptions& options);

/// A build from a crate: the spec comes from the crate (Cargo.toml metadata,
/// rustimg.json) plus `spec` (file and overrides), cargo builds the bin for
/// every platform of the spec, and build_image() assembles the result.
struct CrateBuildOptions {
  /// Where the spec comes from; `spec.crate_dir` is the crate (required).
  SpecLoadOptions spec;
  /// Output, timestamps, format, progress... `image.spec`, `image.binaries`
  /// and `image.crate_dir` are not read: the plan made from the crate
  /// (make_plan, then cargo's binaries) takes their place.
  BuildOptions image;
  /// Polled while cargo runs (as well as the progress callback's answer);
  /// true kills cargo and everything it started, and nothing is written.
  std::function<bool()> cancelled;
  /// Runs cargo with --quiet (cargo::BuildSettings::quiet): its diagnostics
  /// only, no progress lines.
  bool cargo_quiet = false;
  /// Runs cargo; tests substitute a scripted runner.
  ProcessRunner* runner = nullptr;
};

/// Builds the crate and its image. Throws what load_spec(), cargo::build()
/// (CargoError) and build_image() throw; rustimg::Error (Cancelled) when
/// cancelled, in which case no output exists.
BuildResult build_crate(CrateBuildOptions options);

/// A build from prebuilt binaries: the spec comes from `spec` (a spec file
/// and overrides, and the crate's metadata when `spec.crate_dir` is set and
/// `spec.use_cargo_metadata`), and the crate directory (else the current
/// one) is where assets are found.
struct BinaryBuildOptions {
  SpecLoadOptions spec;
  std::vector<PlatformBinary> binaries;
  /// As for CrateBuildOptions: `image.spec`, `image.binaries` and
  /// `image.crate_dir` are not read (the plan's are used).
  BuildOptions image;
};

/// Loads the spec and runs build_image().
BuildResult build_binaries(BinaryBuildOptions options);

/// transfer::to_json(result.image) ({"digest", "media_type", "size",
/// "manifests"}) plus "reports": [elf::to_json per binary], and "pushed":
/// [transfer::to_json()] and "references" (every REF@digest) for a
/// registry output, and "beside": [the files written beside an archive]
/// when there are any: what the bindings and `rustimg build --json` hand back.
nlohmann::json to_json(const BuildResult& result);

/// A build and a push of what it wrote: what `rustimg build --push` and
/// rustimg.build(push=...) do.
struct BuildAndPushOptions {
  /// Where the spec comes from, as for CrateBuildOptions and
  /// BinaryBuildOptions.
  SpecLoadOptions spec;
  /// Prebuilt binaries; empty: build the crate at spec.crate_dir with cargo.
  std::vector<PlatformBinary> binaries;
  /// Output, timestamps, format, progress, registry... as for build_image().
  /// No output (an empty image.output.path) and one `push` reference is
  /// the registry output docker://REF (layers streamed, nothing staged).
  /// No output and several references, or a docker:// output and
  /// references (the output then comes first among them), stage the image
  /// in a temporary OCI layout under the system temporary directory,
  /// removed when done.
  BuildOptions image;
  /// Polled while cargo runs (crate builds), as CrateBuildOptions::cancelled.
  std::function<bool()> cancelled;
  /// Crate builds: cargo --quiet, as CrateBuildOptions::cargo_quiet.
  bool cargo_quiet = false;
  /// References the image is pushed to once written, in order, reached with
  /// image.registry (image.base_credentials are for the base only).
  std::vector<std::string> push;
  /// Push to the default repository too (`rustimg build --push` without a
  /// reference): to default_push_references(plan, default_repository),
  /// after `push`.
  bool push_default = false;
  /// The default repository from the environment (RUSTIMG_REPO); it wins
  /// over the spec's "repository". Read only with push_default.
  std::string default_repository;
  /// Credentials given without a registry host (the CLI's --username
  /// without --credentials-for). They go to the registry the image is pushed
  /// to, the one host of the docker:// output, `push` and the default
  /// references (resolved first), in place of its entry in
  /// image.registry.credentials; InvalidArgument, naming
  /// `credentials_registry_option`, when those are on several registries.
  /// When nothing is pushed they are the base's (image.base_credentials,
  /// unless that is set). Never sent to any other registry. Empty: none.
  registry::Credentials credentials;
  /// How the caller names the one registry `credentials` are for, for that
  /// error (e.g. "--credentials-for HOST").
  std::string credentials_registry_option = "a registry host for the credentials";
  /// Called once the image is written, before the first push.
  std::function<void(const BuildResult&)> on_built;
  /// When set, each pushed image is signed after the pushes (sign_image())
  /// and the SBOM and provenance this build pushed with it attested
  /// (attest_image(), only those). The key is read by the caller, so a
  /// wrong passphrase fails before the build. InvalidArgument before
  /// anything is built when nothing is pushed; a signing failure names the
  /// pushed reference.
  std::shared_ptr<const attest::SigningKey> sign_key;
};

/// The environment variable that names the default repository.
inline constexpr const char* kDefaultRepositoryEnv = "RUSTIMG_REPO";

/// Where a push to the default repository goes, as ko does with
/// KO_DOCKER_REPO: REPO/<package> under the package's version ("+" becomes
/// "_", which tags cannot hold), then under each of the spec's tags (no
/// duplicates). REPO is `env_repository` (RUSTIMG_REPO) when not empty,
/// else plan.spec.repository; the package name is lower-cased, as
/// repositories must be. Pure. Throws rustimg::Error (InvalidArgument)
/// naming RUSTIMG_REPO and the spec key when neither names a repository,
/// and when the plan has no package (prebuilt binaries without a crate),
/// or the result is not a valid reference.
std::vector<std::string> default_push_references(const Plan& plan, std::string_view env_repository);

struct BuildAndPushResult {
  BuildResult build;
  /// One per reference (a docker:// output, then `push`), in order.
  std::vector<transfer::PushedImage> pushed;
  /// With a sign_key: what sign_image() signed, then attest_image()
  /// attested, for each push, in order.
  std::vector<ImageSignature> signed_images;
};

/// build_crate() or build_binaries(), then transfer::push() to every `push`
/// reference. Throws what those throw; InvalidArgument when there is
/// neither an output nor a reference to push to. A failed push leaves the
/// written output in place.
BuildAndPushResult build_and_push(BuildAndPushOptions options);

/// to_json(result.build) with "pushed": [transfer::to_json() of each push]
/// and "references": every REF@digest of every push, in order; with a
/// signing key, "signed": to_json(signed_images).
nlohmann::json to_json(const BuildAndPushResult& result);

/// An SBOM attached to an image (an OCI 1.1 artifact in an OCI layout or a registry).
struct AttachedSbom {
  std::string media_type;     ///< attest::kSpdxMediaType or kCycloneDxMediaType
  std::string image_digest;   ///< the platform manifest it describes
  std::string artifact_digest;///< the artifact manifest
  std::string document;       ///< the SBOM's bytes
};

/// The largest SBOM read back (a crate with thousands of dependencies
/// stays far below).
inline constexpr std::uint64_t kMaxSbomBytes = 64u << 20;

/// The SBOM attached to the image at `source` (an oci: layout, or a
/// registry reached with `registry`, through its referrers API or the tag
/// schema; for an index, the manifest of `platform`, which may be omitted
/// when the index has one platform). Every document read is bounded and
/// checked against its digest; a listed artifact counts only when its own
/// manifest is an SBOM about that manifest. Throws rustimg::Error: NotFound
/// when the image has none (built with --sbom none) or the index has no
/// such platform, InvalidArgument for an archive (they carry none), an
/// index without `platform`, or an SBOM over kMaxSbomBytes; what
/// store::StoredImage or the registry client throws.
AttachedSbom read_attached_sbom(const store::ImageLocation& source, const std::optional<Platform>& platform,
                                const registry::Options& registry = {});

/// SOURCE_DATE_EPOCH from the environment: 0 when unset or empty. Throws
/// rustimg::Error (InvalidArgument) when it is not a decimal integer.
std::int64_t source_date_epoch();

}  // namespace rustimg::pipeline
