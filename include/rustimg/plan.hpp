// rustimg/plan.hpp - the plan between the spec and the stages: what to build
// for each platform, made once from the resolved spec and cargo's metadata.
//
// The spec is pure (it never runs cargo); the plan is where `cargo metadata`
// is read, where the package and bin are chosen (once), and where the spec's
// build keys become the plain values cargo consumes and its image keys the
// plain values image assembly consumes (image::ConfigOverrides).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/dependencies.hpp"
#include "rustimg/image.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/process.hpp"
#include "rustimg/spec.hpp"

namespace rustimg::pipeline {

/// A prebuilt binary and the platform it is for (architecture empty: taken
/// from the ELF header).
struct PlatformBinary {
  Platform platform;
  std::filesystem::path binary;
};

/// One platform of a build: its Rust target and where its binary comes from.
struct PlatformPlan {
  Platform platform;  ///< architecture empty: the prebuilt binary's ELF header says
  std::string triple;
  /// Built by cargo: the package, bin and per-target settings of the run.
  std::optional<cargo::BuildTarget> cargo;
  /// The binary to put in the image: prebuilt, or cargo's once it ran
  /// (build_image reads only this).
  std::filesystem::path prebuilt;
  /// Built by cargo with an SBOM asked for: the packages compiled into the
  /// binary (cargo::read_normal_dependencies for this target), for the SBOM.
  std::optional<std::vector<cargo::ResolvedPackage>> packages;
  /// Built by cargo: the command that built the binary, for the provenance.
  std::optional<cargo::CargoRun> cargo_run;
};

/// The toolchain of a cargo build: the first lines of `rustc --version` and
/// `cargo --version` ("" when they did not answer).
struct Toolchain {
  std::string rustc, cargo;
};

/// The git checkout a crate is in, as provenance records it.
struct GitCheckout {
  std::string commit;  ///< 40 (or 64, SHA-256 repositories) lowercase hex digits
  bool dirty = false;  ///< a tracked file differs from the commit (untracked files do not count)
  /// Remote "origin"'s URL with any user name and password removed
  /// ("https://user:token@host/r.git" -> "https://host/r.git"); "" when
  /// there is no such remote or it was not asked for.
  std::string remote_url;
};

/// What a build does, decided once before any stage runs.
struct Plan {
  Spec spec;                                ///< the resolved spec
  std::filesystem::path crate_dir;          ///< empty: no crate
  std::optional<cargo::Metadata> metadata;  ///< when cargo metadata was read
  std::optional<cargo::Package> package;    ///< the package chosen (with metadata)
  cargo::BuildSettings cargo;               ///< the cargo arguments every platform shares
  /// The image's runtime config values: config_overrides(spec), plus the
  /// package's metadata annotations (package_annotations, with the crate's
  /// git_revision) where the spec does not set them.
  image::ConfigOverrides config;
  /// In the spec's platform order; for prebuilt binaries, theirs.
  std::vector<PlatformPlan> platforms;
  /// A plan for an image of a crate in a git checkout: the checkout (its
  /// remote only when provenance is on).
  std::optional<GitCheckout> checkout;
  /// Built by cargo with provenance on: the toolchain that ran.
  std::optional<Toolchain> toolchain;
};

/// Reads the spec's sources (spec file, overrides) and, with a crate and
/// `options.use_cargo_metadata`, runs `cargo metadata` through `runner`,
/// chooses the package (the spec's "package", else the crate directory's,
/// else the only member) and bin (the spec's "bin", else default-run, else
/// the only bin), adds the workspace's and package's [*.metadata.rustimg]
/// below the file, and, with a package and `purpose` Image, reads the crate's
/// git_revision (through `runner`) for the image's metadata (a plan made
/// only for its spec runs no git). A package or bin the spec names but
/// the crate lacks is a diagnostic against the layer that named it. The
/// platforms are cargo-built when a package was chosen, else without a
/// binary source (see plan_prebuilt). Throws SpecError for invalid specs,
/// rustimg::Error for unreadable files or a failing cargo.
/// What a plan is made for: only its spec (load_spec, `rustimg spec`), or an
/// image to build, whose metadata also needs the crate's git revision.
enum class PlanPurpose { Spec, Image };

Plan make_plan(const SpecLoadOptions& options, ProcessRunner& runner = system_process_runner(),
               PlanPurpose purpose = PlanPurpose::Spec);

/// The plan of an already resolved spec, without cargo: crate directory
/// `crate_dir` (where assets are found), config_overrides(spec), and the
/// spec's platforms without a binary source.
Plan plan_spec(Spec spec, std::filesystem::path crate_dir);

/// Makes `binaries` the plan's platforms, one each in order, in place of
/// the spec's: prebuilt, no triple, no cargo run.
void plan_prebuilt(Plan& plan, const std::vector<PlatformBinary>& binaries);

/// The runtime config values of `spec` as image assembly takes them. On a
/// built-in base ("scratch", "static") every field but an absent
/// healthcheck is set to the spec's value, rustimg's defaults included
/// (user "65532:65532", workdir "/", cmd []...). On an image base only
/// what the spec sets, so the base's config stays for the rest (the rules
/// are in pipeline.hpp): user and workdir when listed in Spec::given; cmd
/// and stop-signal when given or not empty; the healthcheck when present;
/// entrypoint, env, ports, labels and annotations when not empty. package
/// and bin are always copied.
image::ConfigOverrides config_overrides(const Spec& spec);

/// The image metadata of `package` as OCI annotations (image-spec
/// annotations.md), each only when known: org.opencontainers.image.
/// description, version, licenses (Cargo's `license`, an SPDX expression;
/// the legacy "MIT/Apache-2.0" becomes "MIT OR Apache-2.0"; `license-file`
/// names no license and gives nothing), source (`repository`), url
/// (`homepage`) and revision (`revision`, when not empty). The title and
/// created come from image assembly (image::manifest_annotations), which
/// also makes these config labels. Pure.
std::map<std::string, std::string> package_annotations(const cargo::Package& package, const std::string& revision);


/// The checkout holding `dir` (see git_revision for when there is none),
/// with the remote's URL when `read_remote`.
std::optional<GitCheckout> git_checkout(const std::filesystem::path& dir, ProcessRunner& runner, bool read_remote);


/// "COMMIT", or "COMMIT-dirty" when tracked files differ (as `git describe
/// --dirty`): org.opencontainers.image.revision.
std::string revision_of(const GitCheckout& checkout);

/// The revision of the git checkout holding `dir`, for
/// org.opencontainers.image.revision: the commit `git rev-parse HEAD` names
/// (run through `runner` in `dir`), with "-dirty" appended when a tracked
/// file differs from it (as `git describe --dirty`: untracked files do not
/// count, so outputs written into the checkout leave it alone). Empty when
/// `dir` is in no git checkout (no .git in it or above it), git is not
/// installed, HEAD has no commit yet, or git fails (a repository git
/// refuses as unsafe, say).
std::string git_revision(const std::filesystem::path& dir, ProcessRunner& runner = system_process_runner());

/// make_plan(options, runner, PlanPurpose::Spec).spec: runs no git.
Spec load_spec(const SpecLoadOptions& options, ProcessRunner& runner = system_process_runner());

/// The spec's shared cargo arguments.
cargo::BuildSettings cargo_settings(const Spec& spec);

/// One cargo run per platform of `spec`: bin `bin` of `package`, with the
/// spec's per-target settings ("target": {"<triple>": ...}).
std::vector<cargo::BuildTarget> cargo_targets(const Spec& spec, const cargo::Package& package,
                                              const std::string& bin);

}  // namespace rustimg::pipeline
