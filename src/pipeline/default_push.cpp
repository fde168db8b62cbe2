// `rustimg build --push` without a reference: the default repository
// (RUSTIMG_REPO or the spec's "repository") and the package's name and
// version decide where the image goes.
#include <algorithm>
#include <cctype>

#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::pipeline {

std::vector<std::string> default_push_references(const Plan& plan, std::string_view env_repository) {
  std::string repository(!env_repository.empty() ? env_repository : std::string_view(plan.spec.repository));
  if (repository.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string("--push without a reference needs a default repository: set ") + kDefaultRepositoryEnv +
                    " (e.g. " + kDefaultRepositoryEnv +
                    "=ghcr.io/org) or the spec key \"repository\", or name the reference (--push HOST/REPO:TAG)");
  while (!repository.empty() && repository.back() == '/') repository.pop_back();
  if (!plan.package || plan.package->name.empty() || plan.package->version.empty())
    throw Error(ErrorCode::InvalidArgument,
                "--push without a reference pushes to " + repository +
                    "/<package>:<version>, which needs a crate; for prebuilt binaries name the reference "
                    "(--push " + repository + "/NAME:TAG)");
  std::string name = plan.package->name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
  std::string version = plan.package->version;
  std::replace(version.begin(), version.end(), '+', '_');

  std::vector<std::string> tags{version};
  for (const auto& t : plan.spec.tags)
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  const std::string source = !env_repository.empty() ? std::string(kDefaultRepositoryEnv) : "the spec's \"repository\"";
  std::vector<std::string> refs;
  for (const auto& tag : tags) {
    const std::string ref = repository + "/" + name + ":" + tag;
    try {
      parse_reference(ref);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidArgument,
                  "the default push reference " + ref + " (from " + source + ") is invalid: " + e.what());
    }
    refs.push_back(ref);
  }
  return refs;
}

}  // namespace rustimg::pipeline
