// The SBOM of one platform image, attached to its manifest as an OCI 1.1
// artifact (internal to pipeline; build_image calls it for each platform).
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

namespace rustimg::pipeline {

/// Whether a build with `spec` writing `format` to `output` attaches SBOMs:
/// where OCI 1.1 artifacts can be found beside the image, an OCI layout
/// (index.json). An OCI archive keeps one image in its index.json (podman
/// load refuses more), a docker-archive has no place for them, and registry
/// outputs do not get them yet.
bool sbom_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output);

/// Whether the SBOM is only the default (no source set "sbom"): then an
/// SBOM that cannot be made (cargo metadata failing, crates cargo-auditable
/// or SPDX cannot tell apart) costs the SBOM, with a warning, not the image.
/// Asked for explicitly, it fails the build.
bool sbom_optional(const Spec& spec);

/// The warning for an SBOM left out (stage "sbom").
void report_sbom_skipped(const ProgressCallback& progress, const Error& why);

/// What build_image knows of one platform image when it writes the SBOM.
struct SbomFacts {
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
attest::SbomInput sbom_input(const SbomFacts& facts);

/// The SBOM of `facts` in `format` as an artifact about `subject`.
oci::Artifact sbom_artifact(const SbomFacts& facts, attest::SbomFormat format, const oci::Descriptor& subject);

}  // namespace rustimg::pipeline
