// rustimg push / rustimg pull.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output.hpp"
#include "registry_flags.hpp"
#include "rustimg/error.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kPushUsage =
    "usage: rustimg push [options] SRC REF...\n"
    "\n"
    "Pushes the image at SRC (oci:DIR[:TAG], oci-archive:FILE[:TAG] or\n"
    "docker-archive:FILE) to each REF (e.g. ghcr.io/org/app:v1). Blobs the\n"
    "registry has are skipped; the last line on stdout is REF@sha256:....\n";

constexpr const char* kPullUsage =
    "usage: rustimg pull [options] REF --output DEST [--platform P]\n"
    "\n"
    "Pulls REF into DEST (oci:DIR[:TAG], oci-archive:FILE[:TAG] or\n"
    "docker-archive:FILE[:NAME:TAG]); with --platform, only that platform of\n"
    "an index. Every digest is verified. The last line on stdout is the digest.\n";

struct Options {
  CLI::App* app = nullptr;
  std::vector<std::string> positional;  ///< push: SRC REF...; pull: REF
  std::string output;                   ///< pull
  std::string platform;                 ///< pull
  RegistryFlags registry;
  OutputFlags out;
};

}  // namespace

int exit_code_for(const Error& e) {
  switch (e.code()) {
    case ErrorCode::Registry:
    case ErrorCode::Auth:
    case ErrorCode::Verify:
    case ErrorCode::Cargo: return kExitFailed;
    case ErrorCode::Cancelled: return kExitInterrupted;
    default: return kExitBadInput;
  }
}

void report_pushed(ProgressView& view, const transfer::PushedImage& pushed) {
  view.note(pushed.reference + ": " + std::to_string(pushed.result.blobs_uploaded) + " blobs uploaded, " +
            std::to_string(pushed.result.blobs_mounted) + " mounted, " +
            std::to_string(pushed.result.blobs_existing) + " already there");
  for (const registry::ReferrerPushResult& r : pushed.referrers)
    view.note("  with " + r.artifact_type + " " + r.digest +
              (r.via == registry::ReferrersVia::Api ? " (referrers API)"
                                                   : " (tag " + oci::referrers_index_tag(r.subject) + ")"));
  for (const std::string& sig : pushed.signatures) view.note("  with signatures " + sig);
  std::printf("%s\n", pushed.reference.c_str());
}

namespace {

int run_push(Options& o) {
  reject_extras(*o.app);
  if (o.positional.size() < 2) throw UsageError{"give SRC and at least one REF"};
  install_interrupt_handlers();
  const std::vector<std::string> refs(o.positional.begin() + 1, o.positional.end());
  // --username is for the push targets' registry.
  const registry::Options options =
      o.registry.finish([&] { return transfer::push_registry(refs, "--credentials-for HOST"); });
  const store::ImageLocation source = store::parse_image_location(o.positional[0], "source");
  const auto view = o.out.view("rustimg push");
  registry::Options with_progress = options;
  with_progress.progress = progress_to(*view);
  transfer::ImageSummary image;
  const std::vector<transfer::PushedImage> pushed = transfer::push(source, refs, with_progress, {}, &image);
  view->finish();
  if (!o.out.json) {
    for (const auto& p : pushed) report_pushed(*view, p);
    return kExitOk;
  }
  nlohmann::json doc = transfer::to_json(image);
  doc["source"] = o.positional[0];
  transfer::add_pushed(doc, pushed);
  print_json(doc);
  return kExitOk;
}

int run_pull(Options& o) {
  reject_extras(*o.app, "give exactly one REF to pull; unexpected");
  if (o.positional.size() != 1) throw UsageError{"give exactly one REF to pull"};
  if (o.output.empty()) throw UsageError{"--output is required"};
  install_interrupt_handlers();
  // --username is for the pulled registry.
  const registry::Options options = o.registry.finish([&] { return parse_reference(o.positional[0]).registry; });
  std::optional<Platform> platform;
  if (o.app->count("--platform") > 0) platform = parse_platform(o.platform);
  const auto view = o.out.view("rustimg pull");
  registry::Options with_progress = options;
  with_progress.progress = progress_to(*view);
  transfer::ImageSummary image;
  const std::string digest =
      transfer::pull(o.positional[0], store::parse_image_location(o.output), with_progress, platform, &image);
  view->note("wrote " + o.output);
  if (!o.out.json) {
    std::printf("%s\n", digest.c_str());
    return kExitOk;
  }
  nlohmann::json doc = transfer::to_json(image);
  doc["reference"] = o.positional[0];
  doc["output"] = o.output;
  print_json(doc);
  return kExitOk;
}

}  // namespace

Command add_push(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "push", "push an image to registries", kPushUsage, kCredentialsNote);
  o->app->add_option("SRC REF", o->positional, "the image, then where to push it");
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_push(*o); }); }};
}

Command add_pull(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "pull", "pull an image into a local format", kPullUsage, kCredentialsNote);
  o->app->add_option("REF", o->positional, "the image to pull");
  o->app->add_option("-o,--output", o->output, "where to write it: oci:DIR[:TAG], oci-archive:FILE[:TAG] or\n"
                                               "docker-archive:FILE[:NAME:TAG]")
      ->type_name("DEST");
  o->app->add_option("--platform", o->platform, "only this platform of an index (linux/arm64, ...)")->type_name("P");
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_pull(*o); }); }};
}

}  // namespace rustimg::cli
