// What a build attaches to each platform image's manifest as OCI 1.1
// artifacts: its SBOM (sbom_attach.cpp) and its provenance
// (provenance_attach.cpp). Internal to pipeline; build_image calls them for
// each platform.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/dependencies.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/error.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/store.hpp"
#include "rustimg/sbom.hpp"
#include "rustimg/attest.hpp"

namespace rustimg::pipeline {

/// Where a build writing `format` to `output` puts the SBOM and provenance
/// of each image: attached as OCI 1.1 artifacts where they can be found
/// from the image, an OCI layout (index.json) or a registry (its referrers
/// API, else the tag schema), in the OCI format; beside an archive, as
/// files (an OCI archive keeps one image in its index.json, podman load
/// refuses more, and a docker-archive has no place for them): see
/// beside_archive(); nowhere for a registry output in Docker media types.
enum class ArtifactPlace { Attached, BesideArchive, Nowhere };
ArtifactPlace artifact_place(oci::Format format, const store::ImageLocation& output);

/// The file beside the archive `output` that holds one image's SBOM or
/// provenance: "<archive>.<kind>" ("image.tar.spdx.json",
/// "image.tar.provenance.json"), with the platform for a multi-platform
/// archive ("image.tar.linux-arm64.spdx.json").
std::filesystem::path beside_archive(const store::ImageLocation& output, const std::string& platform,
                                     bool several_platforms, const std::string& kind);

/// The kinds of file beside_archive() names.
inline constexpr const char* kBesideSpdx = "spdx.json";
inline constexpr const char* kBesideCycloneDx = "cdx.json";
inline constexpr const char* kBesideProvenance = "provenance.json";
inline constexpr const char* kBesideArchiveKinds[] = {kBesideSpdx, kBesideCycloneDx, kBesideProvenance};

/// The kind of file beside_archive() names for an SBOM of `format`.
inline const char* beside_sbom_kind(attest::SbomFormat format) {
  return format == attest::SbomFormat::Spdx ? kBesideSpdx : kBesideCycloneDx;
}

/// The files in the archive `output`'s directory that beside_archive()
/// names for it (any platform) and whose kind `kinds` lists, sorted by
/// name; regular files only (not symlinks). Another archive's files and
/// names whose middle part is no platform ("ARCHIVE.v2-rc.spdx.json") are
/// not among them.
std::vector<std::filesystem::path> files_beside_archive(const store::ImageLocation& output,
                                                        const std::vector<std::string>& kinds);

/// Removes the files beside the archive `output` that an earlier build
/// wrote (beside_archive() names of any platform and kind) and `keep` does
/// not list, so that what lies beside an archive describes it. Returns
/// those removed; a file that cannot be removed is left (and not returned).
std::vector<std::filesystem::path> remove_stale_beside_archive(const store::ImageLocation& output,
                                                               const std::vector<std::filesystem::path>& keep);

/// A cosign signature or attestation image ("sha256-<hex>.sig" / ".att")
/// tagged in an OCI layout.
struct LayoutSignatureImage {
  oci::Descriptor manifest;                 ///< its index.json entry
  std::string bytes;                        ///< the manifest, matching its digest
  std::vector<attest::SignedLayer> layers;  ///< attest::read_signature_image
};

/// Reads the signature image tagged `tag` in the OCI layout `dir`, bounded
/// as one from a registry (attest::read_signature_image; its config within
/// oci::kMaxConfigBytes), every blob checked against its digest; none when
/// index.json has no such tag. A tagged image whose blobs are missing or
/// damaged is an error (InvalidArgument naming the tag), never "no
/// signatures".
std::optional<LayoutSignatureImage> read_layout_signature_image(const std::filesystem::path& dir,
                                                                const std::string& tag);

/// Whether a build with `spec` writing `format` to `output` makes SBOMs.
bool sbom_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output);

/// Whether it makes provenance (for the images cargo built; a prebuilt
/// binary's build is unknown to rustimg).
bool provenance_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output);

/// Whether the provenance is only the default (no source set
/// "provenance"): then provenance that cannot be made costs the provenance,
/// with a warning, not the image (as sbom_optional).
bool provenance_optional(const Spec& spec);

/// Whether the SBOM is only the default (no source set "sbom"): then an
/// SBOM that cannot be made (cargo metadata failing, crates cargo-auditable
/// or SPDX cannot tell apart) costs the SBOM, with a warning, not the image.
/// Asked for explicitly, it fails the build.
bool sbom_optional(const Spec& spec);

/// The warning for an SBOM left out (stage "sbom").
void report_sbom_skipped(const ProgressCallback& progress, const Error& why);

/// What build_image knows of one platform image when it writes the SBOM
/// and the provenance.
struct ImageFacts {
  const Plan& plan;
  const PlatformPlan& binary;
  std::string platform;            ///< "linux/amd64"
  std::string binary_path;         ///< where the binary is in the image
  /// The files the image gets besides the binary: the built-in base's and
  /// the assets (either may be empty).
  const layer::FileTree& base_files;
  const layer::FileTree& assets;
  /// An image base: the reference as the spec gives it and the digest of
  /// the manifest built upon.
  std::optional<std::string> base_reference, base_digest;
  std::int64_t created = 0;
};

/// The crates of cargo's resolution as SBOM packages: crates.io packages
/// with their download URL, git packages as "git+URL@REV", path packages
/// with no download location; dependencies by "NAME@VERSION". Pure.
std::vector<attest::SbomPackage> sbom_packages(const std::vector<cargo::ResolvedPackage>& packages);

/// The SBOM input for `facts`: the packages of the binary's cargo
/// resolution (PlatformPlan::packages), else of the `cargo auditable` data
/// in the binary, else none with dependencies_known false.
attest::SbomInput sbom_input(const ImageFacts& facts);

/// The SBOM of `facts` in `format` as an artifact about `subject`.
oci::Artifact sbom_artifact(const ImageFacts& facts, attest::SbomFormat format, const oci::Descriptor& subject);

/// The provenance of `facts` (PlatformPlan::cargo_run set): the crate, its
/// checkout (Plan::checkout), the resolved spec, the cargo run, the
/// toolchain (Plan::toolchain), the base and Cargo.lock's digest; started
/// and finished at `created`, so the same build gives the same bytes. The
/// value of a variable whose name suggests a secret (TOKEN, PASSWORD,
/// SECRET, KEY, AUTH..., or a part PASS, PAT, PW...) or that is a URL with
/// a password is "<redacted>", in the cargo environment, in cargo's
/// `--config env.NAME.value=` arguments and in the spec's per-target env:
/// the statement is published with the image.
attest::ProvenanceInput provenance_input(const ImageFacts& facts);

/// The in-toto statement (SLSA Provenance v1) of `facts` as an artifact
/// about `subject`: artifactType and content application/vnd.in-toto+json,
/// the predicate type in the manifest's "in-toto.io/predicate-type".
oci::Artifact provenance_artifact(const ImageFacts& facts, const oci::Descriptor& subject);

// --- reading artifacts back (artifacts.cpp) -------------------------------------

/// Where the artifacts about a manifest are read from: an OCI layout or a
/// registry. Each function bounds what it reads and checks it against its
/// digest.
struct ArtifactReader {
  std::string name;  ///< the source, for messages
  /// The bytes of a manifest by its descriptor.
  std::function<std::string(const oci::Descriptor&)> manifest;
  /// What the source lists about a manifest (index.json, the referrers API
  /// or the tag schema): hints, each checked by find_artifacts.
  std::function<std::vector<oci::Descriptor>(const std::string& subject)> referrers;
  /// An artifact's content blob, at most `max_bytes`.
  std::function<std::string(const oci::Descriptor&, std::uint64_t max_bytes)> content;
};

/// The reader of an OCI layout's artifacts (store::layout_referrers);
/// `image` must outlive it.
ArtifactReader layout_artifact_reader(const store::StoredImage& image, const std::filesystem::path& dir);
/// The reader of a registry's (registry::Client::referrers); `client` must
/// outlive it.
ArtifactReader registry_artifact_reader(registry::Client& client, const Reference& repo);

/// An artifact about a manifest, with its own manifest.
struct FoundArtifact {
  oci::Descriptor descriptor;
  oci::Manifest manifest;
};

/// The artifacts `reader` lists about `subject` whose own manifest has an
/// artifactType `wanted` accepts, names `subject` as its subject and has
/// one layer, in the order listed. A list's artifactType is only a hint (a
/// registry may list the config's media type instead): an entry whose
/// listed type is neither empty, kOciEmpty nor wanted is not fetched. An
/// entry that is not such an artifact (another subject or type, an index,
/// a digest other than sha256, missing or malformed) is passed over and,
/// with `skipped`, named there with the reason ("DIGEST: why"; without
/// `skipped`, a missing or malformed one is an error). With `only`, an
/// entry whose digest it does not list is not fetched and not named.
std::vector<FoundArtifact> find_artifacts(const ArtifactReader& reader, const std::string& subject,
                                          const std::function<bool(const std::string&)>& wanted,
                                          std::vector<std::string>* skipped = nullptr,
                                          const std::vector<std::string>* only = nullptr);

}  // namespace rustimg::pipeline
