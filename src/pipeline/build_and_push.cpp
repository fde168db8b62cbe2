// Build, then push what was built: the one composition the CLI's --push and
// the Python module's push= share.
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "entry_points.hpp"
#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/signing.hpp"
#include "rustimg/transfer.hpp"
#include "util/atomic_file.hpp"

namespace rustimg::pipeline {

BuildAndPushResult build_and_push(BuildAndPushOptions o) {
  using Kind = store::ImageLocation::Kind;
  // The plan, made once: the default references need the package's name
  // and version, and the build goes on from it.
  if (o.binaries.empty()) {
    if (o.spec.crate_dir.empty()) throw Error(ErrorCode::InvalidArgument, "build_crate: no crate directory given");
    o.spec.use_cargo_metadata = true;
  }
  Plan plan = make_plan(o.spec, system_process_runner(), PlanPurpose::Image);
  if (o.push_default)
    for (auto& ref : default_push_references(plan, o.default_repository)) o.push.push_back(std::move(ref));
  // Credentials without a host: for the one registry pushed to, else the base's.
  if (!o.credentials.empty()) {
    std::vector<std::string> targets = o.push;
    if (o.image.output.kind == Kind::Registry) targets.push_back(o.image.output.reference);
    if (!targets.empty()) {
      o.image.registry.credentials[transfer::push_registry(targets, o.credentials_registry_option)] = o.credentials;
    } else if (o.image.base_credentials.empty()) {
      o.image.base_credentials = o.credentials;
    }
  }
  if (o.sign_key && o.push.empty() && o.image.output.kind != Kind::Registry)
    throw Error(ErrorCode::InvalidArgument, "a signing key signs what is pushed, and nothing is: push the image "
                                            "(an output docker://REF or a reference to push to: --push REF) or "
                                            "sign it afterwards (rustimg sign)");
  // A registry output beside other references is one of the pushes.
  if (o.image.output.kind == Kind::Registry && !o.push.empty()) {
    o.push.insert(o.push.begin(), o.image.output.reference);
    o.image.output = {};
  }
  // One reference and no output: the build writes to the registry.
  if (o.image.output.kind != Kind::Registry && o.image.output.path.empty() && o.push.size() == 1) {
    o.image.output.kind = Kind::Registry;
    o.image.output.reference = o.push.front();
    o.push.clear();
  }
  // With nowhere to write but registries, the image is staged in a
  // temporary OCI layout that lives until the pushes are done.
  std::optional<store::TempDir> staging;
  if (o.image.output.kind != Kind::Registry && o.image.output.path.empty()) {
    if (o.push.empty()) throw Error(ErrorCode::InvalidArgument, "no output and no reference to push to");
    staging.emplace(util::temp_directory());
    o.image.output = store::ImageLocation{Kind::OciLayout, staging->path() / "image", "latest", {}};
  }
  const store::ImageLocation output = o.image.output;
  const registry::Options push_options = o.image.registry;

  BuildAndPushResult result;
  if (o.binaries.empty()) {
    CrateBuildOptions c;
    c.spec = std::move(o.spec);
    c.image = std::move(o.image);
    c.cancelled = std::move(o.cancelled);
    c.cargo_quiet = o.cargo_quiet;
    result.build = build_crate(std::move(plan), std::move(c));
  } else {
    BinaryBuildOptions b;
    b.spec = std::move(o.spec);
    b.binaries = std::move(o.binaries);
    b.image = std::move(o.image);
    result.build = build_binaries(std::move(plan), std::move(b));
  }
  if (result.build.pushed) result.pushed.push_back(*result.build.pushed);
  if (o.on_built) o.on_built(result.build);
  if (!o.push.empty()) result.pushed = transfer::push(output, o.push, push_options, result.build.tags);
  // Signed after every push, and attested: the artifacts this build pushed, no others.
  if (o.sign_key)
    for (const transfer::PushedImage& pushed : result.pushed) {
      try {
        for (ImageSignature& s : sign_image(pushed.reference, *o.sign_key, push_options))
          result.signed_images.push_back(std::move(s));
        std::vector<std::string> ours;
        for (const registry::ReferrerPushResult& r : pushed.referrers) ours.push_back(r.digest);
        if (ours.empty()) continue;
        for (ImageSignature& s : attest_image(pushed.reference, *o.sign_key, push_options, &ours).attested)
          result.signed_images.push_back(std::move(s));
      } catch (const Error& e) {
        throw Error(e.code(), pushed.reference + " was pushed, but signing it failed: " + e.what() +
                                  " (sign it again with rustimg sign --key KEY --attest " + pushed.reference + ")");
      }
    }
  return result;
}

nlohmann::json to_json(const BuildAndPushResult& result) {
  nlohmann::json j = to_json(result.build);
  transfer::add_pushed(j, result.pushed);
  if (!result.signed_images.empty()) j["signed"] = to_json(result.signed_images);
  return j;
}

}  // namespace rustimg::pipeline
