// The facade's entry points: from a crate (spec from the crate, cargo for
// every platform) and from prebuilt binaries; both end in build_image().
#include "rustimg/pipeline.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

BuildResult build_crate(CrateBuildOptions o) {
  if (o.spec.crate_dir.empty()) throw Error(ErrorCode::InvalidArgument, "build_crate: no crate directory given");
  ProcessRunner& runner = o.runner != nullptr ? *o.runner : system_process_runner();
  o.spec.use_cargo_metadata = true;

  Plan plan = make_plan(o.spec, runner);
  // Fail on a bad destination or SOURCE_DATE_EPOCH before spending minutes in cargo.
  store::check_output_location(o.image.output);
  if (!o.image.created) o.image.created = source_date_epoch();

  cargo::BuildCallbacks callbacks{o.image.progress, o.cancelled};
  std::vector<cargo::BuildTarget> targets;
  for (const PlatformPlan& p : plan.platforms)
    if (p.cargo) targets.push_back(*p.cargo);
  const std::vector<cargo::Binary> binaries =
      cargo::build(plan.cargo, targets, cargo::BuildPaths{o.spec.crate_dir, plan.metadata->workspace_root},
                   cargo::BuildEnvironment::detect(o.spec.crate_dir), runner, callbacks);
  if (o.cancelled && o.cancelled()) throw Error(ErrorCode::Cancelled, "build cancelled");

  // The image holds what cargo built (one binary per cargo run, in order).
  std::vector<PlatformPlan> built;
  std::size_t next = 0;
  for (PlatformPlan& p : plan.platforms) {
    if (!p.cargo || next >= binaries.size()) continue;
    p.platform = binaries[next].platform;
    p.prebuilt = binaries[next++].path;
    built.push_back(std::move(p));
  }
  plan.platforms = std::move(built);
  return build_image(plan, o.image);
}

BuildResult build_binaries(BinaryBuildOptions o) {
  Plan plan = make_plan(o.spec);
  if (plan.crate_dir.empty()) plan.crate_dir = std::filesystem::current_path();
  plan_prebuilt(plan, o.binaries);
  return build_image(plan, o.image);
}

nlohmann::json to_json(const BuildResult& result) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : result.reports) reports.push_back(elf::to_json(r));
  nlohmann::json j = {{"digest", result.descriptor.digest},
                      {"media_type", result.descriptor.media_type},
                      {"size", result.descriptor.size},
                      {"reports", reports}};
  if (result.pushed) j["pushed"] = nlohmann::json::array({transfer::to_json(*result.pushed)});
  return j;
}

}  // namespace rustimg::pipeline
