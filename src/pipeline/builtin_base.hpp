// The files of a plan's built-in base ("scratch", "static"): what the spec
// asks for, and the CA bundle, read and checked once per build (internal
// to pipeline).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rustimg/layer.hpp"
#include "rustimg/plan.hpp"

namespace rustimg::pipeline {

/// The options of the plan's built-in base. The one home of the rule for
/// "scratch": it gets what the spec asks for explicitly and nothing else,
/// never less: the CA bundle when a source sets "ca-certificates" true or
/// to a path, or gives "extra-ca-certificates"; tzdata when "tzdata" is
/// true (its default is false).
layer::BaseOptions base_options(const Plan& plan);

/// The CA bundle of the plan's base (layer::read_ca_bundle with
/// base_options): empty for an image base or a base without one. Throws as
/// layer::read_ca_bundle.
layer::CaBundle read_ca_bundle(const Plan& plan);

/// The build-output lines that say what the built-in base got besides its
/// own files: the CA bundle (its certificates and sources) and tzdata, each
/// "added to the \"scratch\" base because the spec asks for it" on scratch.
std::vector<std::string> base_file_notes(const Plan& plan, const layer::CaBundle& ca);

/// The base layer's history entry: "rustimg: base static (passwd, group,
/// nsswitch.conf, /tmp, CA certificates, tzdata)".
std::string base_history(const Plan& plan, const layer::CaBundle& ca);
/// The same for built-in base `base` with `tzdata` asked for or not.
std::string base_history(std::string_view base, bool tzdata, const layer::CaBundle& ca);

}  // namespace rustimg::pipeline
