// build_image() with the built-in base's CA bundle already read (internal
// to pipeline; defined in pipeline.cpp beside the public build_image()).
#pragma once

#include "rustimg/layer.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

/// build_image(plan, options) with `ca`, read_ca_bundle(plan) made before
/// cargo ran, so that the bundle checked is the bundle written (read once).
/// nullptr: read it here, after the output checks.
BuildResult build_image(const Plan& plan, const BuildOptions& options, const layer::CaBundle* ca);

}  // namespace rustimg::pipeline
