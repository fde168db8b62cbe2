// Build, then push what was built: the one composition the CLI's --push and
// the Python module's push= share.
#include <filesystem>
#include <optional>
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::pipeline {

BuildAndPushResult build_and_push(BuildAndPushOptions o) {
  using Kind = store::ImageLocation::Kind;
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
    staging.emplace(std::filesystem::temp_directory_path());
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
    result.build = build_crate(std::move(c));
  } else {
    BinaryBuildOptions b;
    b.spec = std::move(o.spec);
    b.binaries = std::move(o.binaries);
    b.image = std::move(o.image);
    result.build = build_binaries(std::move(b));
  }
  if (result.build.pushed) result.pushed.push_back(*result.build.pushed);
  if (o.on_built) o.on_built(result.build);
  if (!o.push.empty()) result.pushed = transfer::push(output, o.push, push_options, result.build.tags);
  return result;
}

nlohmann::json to_json(const BuildAndPushResult& result) {
  nlohmann::json j = to_json(result.build);
  nlohmann::json pushed = nlohmann::json::array();
  for (const auto& p : result.pushed) pushed.push_back(transfer::to_json(p));
  j["pushed"] = std::move(pushed);
  return j;
}

}  // namespace rustimg::pipeline
