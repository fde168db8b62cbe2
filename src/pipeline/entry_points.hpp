// The facade's entry points for a plan already made (internal to pipeline):
// build_and_push() reads the plan first (the default push references need
// the package), and the build then goes on from it rather than making it
// again (cargo metadata and git run once).
#pragma once

#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

/// build_crate(options) from `plan`, which is make_plan(options.spec) with
/// use_cargo_metadata set.
BuildResult build_crate(Plan plan, CrateBuildOptions options);

/// build_binaries(options) from `plan`, which is make_plan(options.spec).
BuildResult build_binaries(Plan plan, BinaryBuildOptions options);

}  // namespace rustimg::pipeline
