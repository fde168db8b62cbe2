// rustimg sbom: print the SBOM `rustimg build` attached to an image.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output.hpp"
#include "rustimg/json.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/store.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kUsage =
    "usage: rustimg sbom [--platform P] oci:DIR[:TAG]\n"
    "\n"
    "Prints the SBOM (SPDX 2.3 or CycloneDX 1.5 JSON, as built) that `rustimg\n"
    "build` attached to the image tagged TAG (default: latest, else the only\n"
    "image) in the OCI layout DIR: an OCI 1.1 artifact whose subject is the\n"
    "image's manifest, listed in index.json, where `oras discover --oci-layout`\n"
    "finds it too. Each platform of a multi-platform image has its own: choose\n"
    "it with --platform. With --json: {\"media_type\", \"image_digest\",\n"
    "\"artifact_digest\", \"sbom\"} with the SBOM as a JSON value.\n";

struct Options {
  CLI::App* app = nullptr;
  std::vector<std::string> positional;
  std::string platform;
  OutputFlags out;
};

int run_sbom(Options& o) {
  reject_extras(*o.app, "give exactly one image to rustimg sbom; unexpected");
  if (o.positional.size() != 1) throw UsageError{"give exactly one image: rustimg sbom oci:DIR[:TAG]"};
  const store::ImageLocation source = store::parse_image_location(o.positional.front(), "input");
  std::optional<Platform> platform;
  if (!o.platform.empty()) platform = parse_platform(o.platform);
  const pipeline::AttachedSbom sbom = pipeline::read_attached_sbom(source, platform);
  if (o.out.json) {
    print_json({{"media_type", sbom.media_type},
                {"image_digest", sbom.image_digest},
                {"artifact_digest", sbom.artifact_digest},
                {"sbom", parse_json(sbom.document, "the SBOM " + sbom.artifact_digest + " of " + source.to_string())}});
    return kExitOk;
  }
  std::fwrite(sbom.document.data(), 1, sbom.document.size(), stdout);
  if (sbom.document.empty() || sbom.document.back() != '\n') std::fputc('\n', stdout);
  return kExitOk;
}

}  // namespace

Command add_sbom(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "sbom", "print the SBOM attached to an image", kUsage);
  o->app->add_option("IMAGE", o->positional, "oci:DIR[:TAG]");
  o->app->add_option("--platform", o->platform, "the platform of a multi-platform image (linux/arm64)")
      ->type_name("P");
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_sbom(*o); }); }};
}

}  // namespace rustimg::cli
