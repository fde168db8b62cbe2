// rustimg/build.hpp - the facade: prebuilt binaries + spec -> image in a sink.
//
//   verify each binary (ELF) -> base layer + assets layer + app layer
//   -> config + manifest per platform (-> index) -> OCI layout / archive.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/store.hpp"

namespace rustimg::build {

/// One progress message. Returning false from the callback cancels the
/// build (rustimg::Error, code Cancelled) at the next step.
struct ProgressEvent {
  std::string stage;    ///< "verify", "layer", "image", "write"
  std::string message;  ///< one human-readable line
};
using ProgressCallback = std::function<bool(const ProgressEvent&)>;

/// A prebuilt binary and the platform it is for (architecture empty: taken
/// from the ELF header).
struct PlatformBinary {
  Platform platform;
  std::filesystem::path binary;
};

struct BuildOptions {
  Spec spec;
  std::vector<PlatformBinary> binaries;
  store::Destination output;
  /// Where asset globs are resolved (empty: the current directory).
  std::filesystem::path crate_dir;
  /// Seconds since the epoch for every timestamp (see source_date_epoch()).
  std::int64_t created = 0;
  oci::Format format = oci::Format::Oci;
  /// Put a binary that needs a dynamic loader or shared libraries on a
  /// scratch/static base anyway.
  bool allow_dynamic = false;
  ProgressCallback progress;
};

struct BuildResult {
  /// The manifest (one platform) or index (several) written to the sink.
  oci::Descriptor descriptor;
  std::vector<elf::Report> reports;  ///< one per binary, in order
};

/// Runs the whole pipeline. Throws rustimg::Error: Verify when a binary is
/// unfit for the base or does not match its platform (the message says how
/// to fix it), NotFound/Io for missing or unreadable inputs, InvalidArgument
/// for inconsistent options.
BuildResult build_image(const BuildOptions& options);

/// A build from a crate: the spec comes from the crate (Cargo.toml metadata,
/// rustimg.json) plus `spec` (file and overrides), cargo builds the bin for
/// every platform of the spec, and build_image() assembles the result.
struct CrateBuildOptions {
  /// Where the spec comes from; `spec.crate_dir` is the crate (required).
  SpecLoadOptions spec;
  /// Output, timestamps, format, progress... `image.spec`, `image.binaries`
  /// and `image.crate_dir` are filled in from the crate.
  BuildOptions image;
  /// Polled while cargo runs (as well as the progress callback's answer);
  /// true kills cargo and everything it started, and nothing is written.
  std::function<bool()> cancelled;
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
  /// `image.crate_dir` are filled in.
  BuildOptions image;
};

/// Loads the spec and runs build_image().
BuildResult build_binaries(BinaryBuildOptions options);

/// {"digest", "media_type", "size", "reports": [elf::to_json per binary]}:
/// what the bindings hand back.
nlohmann::json to_json(const BuildResult& result);

/// SOURCE_DATE_EPOCH from the environment: 0 when unset or empty. Throws
/// rustimg::Error (InvalidArgument) when it is not a decimal integer.
std::int64_t source_date_epoch();

}  // namespace rustimg::build
