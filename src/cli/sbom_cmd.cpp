// rustimg sbom: print the SBOM `rustimg build` attached to an image.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output.hpp"
#include "registry_flags.hpp"
#include "rustimg/json.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/store.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kUsage =
    "usage: rustimg sbom [--platform P] [registry options] oci:DIR[:TAG] | REF\n"
    "\n"
    "Prints the SBOM (SPDX 2.3 or CycloneDX 1.5 JSON, as built) that `rustimg\n"
    "build` attached to an image: in the OCI layout DIR, the image tagged TAG\n"
    "(default: latest, else the only image), where index.json lists it and\n"
    "`oras discover --oci-layout` finds it too; in a registry (REF, or\n"
    "docker://REF), through its referrers API or the sha256-<hex> tag schema.\n"
    "It is an OCI 1.1 artifact whose subject is the image's manifest. Each\n"
    "platform of a multi-platform image has its own: choose it with\n"
    "--platform. With --json: {\"media_type\", \"image_digest\",\n"
    "\"artifact_digest\", \"sbom\"} with the SBOM as a JSON value.\n";

struct Options {
  CLI::App* app = nullptr;
  std::vector<std::string> positional;
  std::string platform;
  RegistryFlags registry;
  OutputFlags out;
};

int run_sbom(Options& o) {
  reject_extras(*o.app, "give exactly one image to rustimg sbom; unexpected");
  if (o.positional.size() != 1) throw UsageError{"give exactly one image: rustimg sbom oci:DIR[:TAG] or REF"};
  const std::string& given = o.positional.front();
  const bool prefixed = given.rfind("oci:", 0) == 0 || given.rfind("oci-archive:", 0) == 0 ||
                     given.rfind("docker-archive:", 0) == 0 || given.rfind("docker://", 0) == 0;
  const store::ImageLocation source = store::parse_image_location(prefixed ? given : "docker://" + given, "input");
  std::optional<Platform> platform;
  if (!o.platform.empty()) platform = parse_platform(o.platform);
  registry::Options options;
  if (source.kind == store::ImageLocation::Kind::Registry)
    options = o.registry.finish([&] { return parse_reference(source.reference).registry; });
  const pipeline::AttachedSbom sbom = pipeline::read_attached_sbom(source, platform, options);
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
  o->app->add_option("IMAGE", o->positional, "oci:DIR[:TAG], or a registry reference");
  o->app->add_option("--platform", o->platform, "the platform of a multi-platform image (linux/arm64)")
      ->type_name("P");
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_sbom(*o); }); }};
}

}  // namespace rustimg::cli
