// build_image() with the built-in base's CA bundle already read (internal
// to pipeline; defined in pipeline.cpp beside the public build_image()).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "rustimg/attest.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

/// build_image(plan, options) with `ca`, read_ca_bundle(plan) made before
/// cargo ran, so that the bundle checked is the bundle written (read once).
/// nullptr: read it here, after the output checks.
BuildResult build_image(const Plan& plan, const BuildOptions& options, const layer::CaBundle* ca);

/// The key an image base must be signed by and how to name it: the
/// caller's file (BuildOptions::base_key), else the spec's "base-key" inside
/// the crate; none when neither is set. Throws for a built-in base with a
/// key, a key file that is missing, outside the crate or no public key: a
/// crate build calls it before cargo runs.
std::optional<std::pair<attest::VerifyingKey, std::string>> base_signing_key(const Plan& plan,
                                                                             const BuildOptions& options);

}  // namespace rustimg::pipeline
