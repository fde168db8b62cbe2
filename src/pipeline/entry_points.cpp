// The facade's entry points: from a crate (spec from the crate, cargo for
// every platform) and from prebuilt binaries; both end in build_image().
#include "entry_points.hpp"

#include <utility>

#include "build_image.hpp"
#include "attachments.hpp"
#include "builtin_base.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/dependencies.hpp"
#include "rustimg/error.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

BuildResult build_crate(CrateBuildOptions o) {
  if (o.spec.crate_dir.empty()) throw Error(ErrorCode::InvalidArgument, "build_crate: no crate directory given");
  o.spec.use_cargo_metadata = true;
  Plan plan = make_plan(o.spec, o.runner != nullptr ? *o.runner : system_process_runner(), PlanPurpose::Image);
  return build_crate(std::move(plan), std::move(o));
}

BuildResult build_crate(Plan plan, CrateBuildOptions o) {
  if (o.spec.crate_dir.empty()) throw Error(ErrorCode::InvalidArgument, "build_crate: no crate directory given");
  ProcessRunner& runner = o.runner != nullptr ? *o.runner : system_process_runner();
  // Fail on a bad destination or SOURCE_DATE_EPOCH before spending minutes in cargo.
  store::check_output_location(o.image.output);
  if (!o.image.created) o.image.created = source_date_epoch();
  cargo::check_lockfile(plan.cargo, plan.metadata->workspace_root);
  // A CA bundle that is no bundle fails here, not after cargo; the image
  // gets the bundle read here.
  const layer::CaBundle ca = read_ca_bundle(plan);
  base_signing_key(plan, o.image);  // a base key that cannot be used fails here, not after cargo
  plan.cargo.quiet = o.cargo_quiet;

  cargo::BuildCallbacks callbacks{o.image.progress, o.cancelled};
  std::vector<cargo::BuildTarget> targets;
  for (const PlatformPlan& p : plan.platforms)
    if (p.cargo) targets.push_back(*p.cargo);
  cargo::BuildEnvironment env = cargo::BuildEnvironment::detect(o.spec.crate_dir, runner, o.spec.cargo);
  env.source_date_epoch = *o.image.created;  // build scripts and C compilers see the image's epoch
  const std::vector<cargo::Binary> binaries = cargo::build(
      plan.cargo, targets,
      cargo::BuildPaths{o.spec.crate_dir, plan.metadata->workspace_root, plan.metadata->target_directory}, env,
      runner, callbacks);
  if (o.cancelled && o.cancelled()) throw Error(ErrorCode::Cancelled, "build cancelled");

  // The image holds what cargo built (one binary per cargo run, in order).
  std::vector<PlatformPlan> built;
  std::size_t next = 0;
  for (PlatformPlan& p : plan.platforms) {
    if (!p.cargo || next >= binaries.size()) continue;
    p.platform = binaries[next].platform;
    p.cargo_run = binaries[next].run;
    p.prebuilt = binaries[next++].path;
    // The SBOM's crates: what cargo compiled into this binary for this target.
    if (sbom_attached(plan.spec, o.image.format, o.image.output)) {
      try {
        p.packages = cargo::read_normal_dependencies(runner, o.spec.crate_dir, plan.cargo, p.triple,
                                                     p.cargo->package_id, env.cargo);
      } catch (const Error& e) {
        if (!sbom_optional(plan.spec)) throw;
        report_sbom_skipped(o.image.progress, e);
        plan.spec.sbom.clear();
      }
    }
    built.push_back(std::move(p));
  }
  plan.platforms = std::move(built);
  if (provenance_attached(plan.spec, o.image.format, o.image.output))
    plan.toolchain = Toolchain{cargo::tool_version(env.rustc, o.spec.crate_dir, runner),
                               cargo::tool_version(env.cargo, o.spec.crate_dir, runner)};
  return build_image(plan, o.image, &ca);
}

BuildResult build_binaries(BinaryBuildOptions o) {
  Plan plan = make_plan(o.spec, system_process_runner(), PlanPurpose::Image);
  return build_binaries(std::move(plan), std::move(o));
}

BuildResult build_binaries(Plan plan, BinaryBuildOptions o) {
  if (plan.crate_dir.empty()) plan.crate_dir = std::filesystem::current_path();
  plan_prebuilt(plan, o.binaries);
  return build_image(plan, o.image);
}

nlohmann::json to_json(const BuildResult& result) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : result.reports) reports.push_back(elf::to_json(r));
  nlohmann::json j = transfer::to_json(result.image);
  j["reports"] = std::move(reports);
  if (!result.beside.empty()) {
    nlohmann::json beside = nlohmann::json::array();
    for (const auto& file : result.beside) beside.push_back(file.string());
    j["beside"] = std::move(beside);
  }
  if (result.pushed) transfer::add_pushed(j, {*result.pushed});
  return j;
}

}  // namespace rustimg::pipeline
