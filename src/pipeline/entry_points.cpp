// The facade's entry points: from a crate (spec from the crate, cargo for
// every platform) and from prebuilt binaries; both end in build_image().
#include <atomic>

#include "rustimg/pipeline.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"

namespace rustimg::pipeline {

namespace {

/// Adds org.opencontainers.image.version from the crate's package version
/// unless the spec sets it.
void annotate_crate_version(Spec& spec, const cargo::Metadata& metadata, const std::filesystem::path& crate_dir) {
  if (spec.annotations.count(oci::annotation::kVersion) != 0) return;
  const cargo::Package& package = metadata.select_package(crate_dir, spec.package);
  if (!package.version.empty()) spec.annotations[oci::annotation::kVersion] = package.version;
}

}  // namespace

BuildResult build_crate(CrateBuildOptions o) {
  if (o.spec.crate_dir.empty()) throw Error(ErrorCode::InvalidArgument, "build_crate: no crate directory given");
  ProcessRunner& runner = o.runner != nullptr ? *o.runner : system_process_runner();
  o.spec.use_cargo_metadata = true;

  cargo::Metadata metadata;
  Spec spec = load_spec(o.spec, runner, &metadata);
  annotate_crate_version(spec, metadata, o.spec.crate_dir);
  // Fail on a bad destination before spending minutes in cargo.
  store::check_output_location(o.image.output);

  std::atomic<bool> stop{false};
  cargo::BuildCallbacks callbacks;
  callbacks.log = [&](std::string_view line) {
    if (o.image.progress && !o.image.progress(ProgressEvent{"cargo", std::string(line)})) stop = true;
  };
  callbacks.cancelled = [&] { return stop.load() || (o.cancelled && o.cancelled()); };
  const std::vector<cargo::Binary> binaries =
      cargo::build(spec, metadata, o.spec.crate_dir, cargo::BuildEnvironment::detect(o.spec.crate_dir), runner,
                   callbacks);
  if (callbacks.cancelled()) throw Error(ErrorCode::Cancelled, "build cancelled");

  o.image.spec = std::move(spec);
  o.image.crate_dir = o.spec.crate_dir;
  o.image.binaries.clear();
  for (const auto& b : binaries) o.image.binaries.push_back(PlatformBinary{b.platform, b.path});
  return build_image(o.image);
}

BuildResult build_binaries(BinaryBuildOptions o) {
  const bool with_cargo = !o.spec.crate_dir.empty() && o.spec.use_cargo_metadata;
  cargo::Metadata metadata;
  o.image.spec = load_spec(o.spec, system_process_runner(), with_cargo ? &metadata : nullptr);
  if (with_cargo) annotate_crate_version(o.image.spec, metadata, o.spec.crate_dir);
  o.image.crate_dir = o.spec.crate_dir.empty() ? std::filesystem::current_path() : o.spec.crate_dir;
  o.image.binaries = std::move(o.binaries);
  return build_image(o.image);
}

BuildResult build_crate_or_binary(SpecLoadOptions spec, BuildOptions image,
                                  const std::optional<std::filesystem::path>& binary,
                                  const std::optional<Platform>& platform, std::function<bool()> cancelled) {
  if (!binary) {
    CrateBuildOptions c;
    c.spec = std::move(spec);
    c.image = std::move(image);
    c.cancelled = std::move(cancelled);
    return build_crate(std::move(c));
  }
  BinaryBuildOptions b;
  b.spec = std::move(spec);
  b.image = std::move(image);
  b.binaries.push_back(PlatformBinary{platform.value_or(Platform{}), *binary});
  return build_binaries(std::move(b));
}

nlohmann::json to_json(const BuildResult& result) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : result.reports) reports.push_back(elf::to_json(r));
  return {{"digest", result.descriptor.digest},
          {"media_type", result.descriptor.media_type},
          {"size", result.descriptor.size},
          {"reports", reports}};
}

}  // namespace rustimg::pipeline
