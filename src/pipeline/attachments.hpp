// What a build attaches to each platform image's manifest as OCI 1.1
// artifacts: its SBOM (sbom_attach.cpp) and its provenance
// (provenance_attach.cpp). Internal to pipeline; build_image calls them for
// each platform.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/dependencies.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/error.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/store.hpp"
#include "rustimg/sbom.hpp"
#include "rustimg/attest.hpp"

namespace rustimg::pipeline {

/// Whether a build writing `format` to `output` can attach artifacts: where
/// OCI 1.1 artifacts can be found from the image, an OCI layout
/// (index.json) or a registry (its referrers API, else the tag schema). An
/// OCI archive keeps one image in its index.json (podman load refuses
/// more), and a docker-archive has no place for them.
bool attaches_artifacts(oci::Format format, const store::ImageLocation& output);

/// Whether a build with `spec` writing `format` to `output` attaches SBOMs.
bool sbom_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output);

/// Whether it attaches provenance (to the images cargo built; a prebuilt
/// binary's build is unknown to rustimg).
bool provenance_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output);

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
/// and finished at `created`, so the same build gives the same bytes.
attest::ProvenanceInput provenance_input(const ImageFacts& facts);

/// The in-toto statement (SLSA Provenance v1) of `facts` as an artifact
/// about `subject`: artifactType and content application/vnd.in-toto+json,
/// the predicate type in the manifest's "in-toto.io/predicate-type".
oci::Artifact provenance_artifact(const ImageFacts& facts, const oci::Descriptor& subject);

}  // namespace rustimg::pipeline
