// rustimg build: prebuilt binaries + spec -> a reproducible OCI image.
#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "output.hpp"
#include "registry_flags.hpp"
#include "spec_flags.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/signing.hpp"
#include "rustimg/cargo.hpp"
#include "rustimg/compose.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "rustimg/spec.hpp"
#include "rustimg/store.hpp"

namespace rustimg::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;


constexpr const char* kBuildUsage =
    "usage: rustimg build [CRATE_DIR] [options] --output DEST\n"
    "       rustimg build --binary PATH [options] --output DEST\n"
    "\n"
    "Builds the crate in CRATE_DIR (default: the current directory) with cargo\n"
    "for every platform of its spec, or takes prebuilt binaries (--binary), and\n"
    "puts them into a minimal, reproducible image. Every binary is verified\n"
    "first (see 'rustimg verify').\n"
    "\n"
    "output (DEST):\n"
    "  oci:DIR[:TAG]                    OCI image layout directory (tag default: latest;\n"
    "                                   other images in DIR are kept)\n"
    "  oci-archive:FILE[:TAG]           tar of an OCI image layout\n"
    "  docker-archive:FILE[:NAME:TAG]   'docker save' tarball for docker/podman load\n"
    "  docker://HOST/REPO:TAG           a registry: each layer is uploaded while it is\n"
    "                                   written (nothing staged on disk); the last line\n"
    "                                   on stdout is then HOST/REPO:TAG@sha256:...\n"
    "\n"
    "Timestamps come from SOURCE_DATE_EPOCH (default 0, 1970-01-01). The last\n"
    "line on stdout is the image (or index) digest; progress goes to stderr.\n";

constexpr const char* kBuildFooter =
    "exit status: 0 built, 1 cargo failed, a binary is unfit or a registry refused,\n"
    "2 bad usage or input, 130 interrupted (SIGINT/SIGTERM; the destination is left as it was).\n";

struct Options {
  CLI::App* app = nullptr;
  std::vector<std::string> binaries;
  std::vector<std::string> platforms;
  std::string output;
  std::string spec_file;
  std::string crate_flag;  ///< --crate
  std::string crate_arg;   ///< CRATE_DIR
  std::string package, bin, base, user, workdir, compression, compression_level, entrypoint, format, sbom;
  std::vector<std::string> cmd, env, labels, annotations, ports;
  bool allow_dynamic = false;
  bool provenance = false, no_provenance = false;
  std::string sign_key, sign_key_password_env, base_key;
  std::string base_cache;
  bool no_base_cache = false;
  std::vector<std::string> push;  ///< references to push the result to
  SpecFlags spec_flags;  ///< --set and cargo's flags (--features, --locked, ...)
  RegistryFlags registry;
  OutputFlags out;
};

/// What the flags set, checked: the spec overrides, the crate directory,
/// the output format and the base cache.
struct Resolved {
  json overrides = json::object();
  fs::path crate_dir;
  oci::Format format = oci::Format::Oci;
  std::optional<fs::path> base_cache;  ///< empty path: no cache
};

Resolved resolve(const Options& o) {
  reject_extras(*o.app, "more than one crate directory given:");
  Resolved r;
  if (!o.crate_flag.empty() && !o.crate_arg.empty())
    throw UsageError{"more than one crate directory given: " + o.crate_flag + ", " + o.crate_arg};
  r.crate_dir = !o.crate_arg.empty() ? o.crate_arg : o.crate_flag;
  o.spec_flags.apply(r.overrides);  // the named flags below override a --set of the same key
  auto set = [&](const char* key, const std::string& v) {
    if (!v.empty()) r.overrides[key] = v;
  };
  set("package", o.package);
  set("bin", o.bin);
  set("base", o.base);
  set("user", o.user);
  set("workdir", o.workdir);
  set("compression", o.compression);
  set("sbom", o.sbom);
  if (o.provenance && o.no_provenance) throw UsageError{"give --provenance or --no-provenance, not both"};
  if (o.provenance || o.no_provenance) r.overrides["provenance"] = o.provenance;
  if (o.app->count("--base-cache") > 0 && o.base_cache.empty())
    throw UsageError{"--base-cache needs a directory (--no-base-cache turns the cache off)"};
  if (o.no_base_cache) {
    if (!o.base_cache.empty()) throw UsageError{"give --base-cache DIR or --no-base-cache, not both"};
    r.base_cache = fs::path();
  } else if (!o.base_cache.empty()) {
    r.base_cache = o.base_cache;
  }
  if (!o.format.empty()) {
    r.format = compose::format_named(o.format, "--format");
  }
  if (!o.compression_level.empty()) {
    // A number goes to the spec as one; anything else too, as a string,
    // for the spec's own error.
    const std::string& v = o.compression_level;
    const bool digits = v.size() < 10 && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    r.overrides["compression-level"] = digits ? json(std::stoi(v)) : json(v);
  }
  if (o.app->count("--entrypoint") > 0) r.overrides["entrypoint"] = command_value("--entrypoint", o.entrypoint);
  // A repeatable flag replaces a --set of its key: a list starts anew, a map
  // keeps --set's entries only when --set gave a map.
  const auto fresh_list = [&r](const char* key) { r.overrides[key] = json::array(); };
  const auto map_of = [&r](const char* key) -> json& {
    json& m = r.overrides[key];
    if (!m.is_object()) m = json::object();
    return m;
  };
  if (!o.cmd.empty()) fresh_list("cmd");
  for (const std::string& v : o.cmd) {
    if (!v.empty() && v.front() == '[') {
      r.overrides["cmd"] = command_value("--cmd", v);
    } else {
      r.overrides["cmd"].push_back(v);
    }
  }
  for (const auto& e : o.env) map_of("env")[key_value("--env", e).first] = key_value("--env", e).second;
  for (const auto& e : o.labels) map_of("labels")[key_value("--label", e).first] = key_value("--label", e).second;
  for (const auto& e : o.annotations)
    map_of("annotations")[key_value("--annotation", e).first] = key_value("--annotation", e).second;
  if (!o.ports.empty()) fresh_list("ports");
  for (const auto& p : o.ports) r.overrides["ports"].push_back(p);
  if (o.output.empty() && o.push.empty()) throw UsageError{"--output (or --push) is required"};
  if (o.binaries.empty()) {
    // A crate build: the platforms are the spec's, or the ones given here.
    if (r.crate_dir.empty()) {
      if (!fs::exists("Cargo.toml"))
        throw UsageError{"nothing to build: the current directory has no Cargo.toml; name a crate directory "
                         "or a prebuilt --binary PATH"};
      r.crate_dir = ".";
    }
    if (!o.platforms.empty()) fresh_list("platforms");
    for (const auto& p : o.platforms) r.overrides["platforms"].push_back(p);
  } else if (const auto cargo_flags = o.spec_flags.cargo_flags_given(); !cargo_flags.empty()) {
    std::string names;
    for (const auto& f : cargo_flags) names += (names.empty() ? "" : ", ") + f;
    throw UsageError{names + (cargo_flags.size() == 1 ? " applies" : " apply") +
                     " to crate builds; --binary compiles nothing (drop " +
                     (cargo_flags.size() == 1 ? "it" : "them") + ", or build the crate)"};
  } else if (!o.platforms.empty() && o.platforms.size() != o.binaries.size()) {
    throw UsageError{"give one --platform per --binary (or none, to read each platform from its ELF header)"};
  }
  return r;
}

int run_build(Options& o) {
  const Resolved r = resolve(o);
  // A failure reaches main() through run_with_json_errors, as push's and pull's do.
  const std::optional<store::ImageLocation> output =
      !o.output.empty() ? std::optional(store::parse_image_location(o.output)) : std::nullopt;
  // --push without a reference: the default repository (RUSTIMG_REPO, else the spec's).
  std::vector<std::string> refs;
  for (const auto& p : o.push)
    if (!p.empty()) refs.push_back(p);
  const bool push_default = refs.size() < o.push.size();
  const char* env_repository = std::getenv(pipeline::kDefaultRepositoryEnv);
  const std::string default_repository = env_repository != nullptr ? env_repository : "";
  // --username without --credentials-for: the core gives the credentials
  // to the registry pushed to (the default references resolved), else to
  // the base's, which only the spec names.
  const registry::Options registry_options = o.registry.finish([] { return std::string(); });
  pipeline::BuildAndPushOptions req;
  // The signing key first: a wrong passphrase fails before cargo runs.
  if (!o.sign_key.empty())
    req.sign_key = std::make_shared<const attest::SigningKey>(
        pipeline::read_signing_key(o.sign_key, o.sign_key_password_env));
  else if (!o.sign_key_password_env.empty())
    throw UsageError{"--sign-key-password-env names the passphrase of a --sign-key; give the key"};
  pipeline::BuildOptions& b = req.image;
  b.registry = registry_options;  // for a base image named by reference, and the --push targets
  req.credentials = o.registry.unbound_credentials();
  req.credentials_registry_option = "--credentials-for HOST";
  if (output) b.output = *output;  // else --push's registry, or staged for several
  b.format = r.format;
  b.allow_dynamic = o.allow_dynamic;
  if (r.base_cache) b.base_cache = *r.base_cache;
  if (!o.base_key.empty()) b.base_key = fs::absolute(o.base_key);
  install_interrupt_handlers();
  const auto view = o.out.view("rustimg build");
  b.progress = progress_to(*view);
  b.registry.progress = b.progress;  // layers uploaded, pushes, a base pulled
  req.cancelled = [] { return interrupted(); };
  req.cargo_quiet = o.out.quiet;

  // The spec: crate metadata (with a crate), the spec file, then flags.
  SpecLoadOptions& load = req.spec;
  load.crate_dir = r.crate_dir;
  load.use_cargo_metadata = !r.crate_dir.empty();
  load.spec_file = o.spec_file;
  if (load.crate_dir.empty() && !o.spec_file.empty()) load.crate_dir = fs::absolute(o.spec_file).parent_path();
  load.overrides = r.overrides.empty() ? json(nullptr) : r.overrides;

  for (std::size_t i = 0; i < o.binaries.size(); ++i) {
    pipeline::PlatformBinary pb;
    pb.binary = o.binaries[i];
    if (!o.platforms.empty()) pb.platform = parse_platform(o.platforms[i]);
    req.binaries.push_back(std::move(pb));
  }
  req.push = refs;
  req.push_default = push_default;
  req.default_repository = default_repository;
  req.on_built = [&o, &view](const pipeline::BuildResult& built) {
    if (!o.output.empty()) view->note("wrote " + o.output);
    if (o.out.json) return;
    std::printf("%s\n", built.descriptor.digest.c_str());
    std::fflush(stdout);
  };
  const pipeline::BuildAndPushResult result = pipeline::build_and_push(std::move(req));
  view->finish();
  if (o.out.json) {
    nlohmann::json doc = pipeline::to_json(result);
    if (!o.output.empty()) doc["output"] = o.output;
    print_json(doc);
    return kExitOk;
  }
  for (const auto& pushed : result.pushed) report_pushed(*view, pushed);
  for (const auto& s : result.signed_images)
    view->note((s.predicate_type.empty() ? "signed " : "attested " + s.predicate_type + " for ") + s.digest + ": " +
               s.signature_ref);
  return kExitOk;
}

}  // namespace

Command add_build(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  CLI::App& app = *add_command(parent, "build", "build a crate (or take a binary) into an image", kBuildUsage,
                               std::string(kBuildFooter) + "\n" + kCredentialsNote);
  o->app = &app;
  app.add_option("CRATE_DIR", o->crate_arg, "the crate (default: the current directory)");
  app.add_option("-o,--output", o->output, "where to write the image (see output above)")->type_name("DEST");
  add_repeatable(app, "--binary", o->binaries, "a prebuilt binary (repeat, with --platform, for several platforms)",
                 "PATH");
  add_repeatable(app, "--platform", o->platforms,
                 "with a crate: a platform to build for (repeatable; default: the spec's);\n"
                 "with --binary: its platform (default: from the ELF header)",
                 "P");
  app.add_option("--package", o->package, "the cargo package (workspaces)")->type_name("NAME");
  app.add_option("--bin", o->bin,
                 "the bin target (in a workspace, the package that has it\n"
                 "when no --package is given and only one has it)")
      ->type_name("NAME");
  o->spec_flags.add_to(app);
  app.add_option("--base", o->base,
                 "scratch, static or an image reference such as ghcr.io/org/base:v1\n"
                 "(default: the spec's, else static)")
      ->type_name("B");
  app.add_option("--entrypoint", o->entrypoint, "the entrypoint: a path, or a JSON array [\"/app\", \"--flag\"]")
      ->type_name("CMD");
  add_repeatable(app, "--cmd", o->cmd, "an argument for the default command (repeatable)", "ARG");
  add_repeatable(app, "--env", o->env, "an environment variable (repeatable)", "K=V");
  app.add_option("--user", o->user, "uid[:gid] or name (default 65532:65532, nonroot)")->type_name("U");
  app.add_option("--workdir", o->workdir, "working directory (default /)")->type_name("DIR");
  add_repeatable(app, "--port", o->ports, "exposed port, 8080 or 8080/udp (repeatable)", "P");
  add_repeatable(app, "--label", o->labels, "a config label (repeatable)", "K=V");
  add_repeatable(app, "--annotation", o->annotations, "a manifest annotation (repeatable)", "K=V");
  app.add_option("--compression", o->compression, "gzip (default), zstd or none")->type_name("C");
  app.add_option("--compression-level", o->compression_level,
                 "gzip 1-9 (default 6; 1 is crane's and ko's), zstd 1-19 (default 3)")
      ->type_name("N");
  app.add_option("--sbom", o->sbom,
                 "the SBOM of each platform image (attached in an oci: layout or a\n"
                 "registry, beside an archive):\n"
                 "spdx (default, SPDX 2.3 JSON), cyclonedx (CycloneDX 1.5) or none")
      ->type_name("FORMAT");
  app.add_flag("--provenance", o->provenance,
               "SLSA provenance (an in-toto statement) for each image cargo built\n"
               "(the default): attached, or a file beside an archive");
  app.add_flag("--no-provenance", o->no_provenance, "attach no provenance (\"provenance\": false)");
  app.add_option("--base-key", o->base_key,
                 "build only on an image base signed by this PEM public key\n"
                 "(cosign.pub), as `rustimg verify-image` checks; wins over\n"
                 "the spec's \"base-key\"")
      ->type_name("PUB");
  app.add_option("--sign-key", o->sign_key,
                 "after pushing, sign each pushed image and attest its SBOM and\n"
                 "provenance with this PEM ECDSA P-256 key, as `rustimg sign` does")
      ->type_name("KEY");
  app.add_option("--sign-key-password-env", o->sign_key_password_env,
                 "the variable holding --sign-key's passphrase (default COSIGN_PASSWORD)")
      ->type_name("VAR");
  app.add_option("--format", o->format, "oci (default) or docker (Docker schema 2 media types)")->type_name("F");
  app.add_option("--spec", o->spec_file, "read the image spec from FILE (flags override it)")->type_name("FILE");
  app.add_option("--crate", o->crate_flag,
                 "the crate (same as CRATE_DIR): [package.metadata.rustimg],\n"
                 "rustimg.json, asset root")
      ->type_name("DIR");
  app.add_flag("--allow-dynamic", o->allow_dynamic, "accept a dynamically linked binary on scratch/static");
  app.add_option("--base-cache", o->base_cache,
                 "keep the blobs of image bases here between builds (default:\n"
                 "$RUSTIMG_CACHE_DIR, else $XDG_CACHE_HOME/rustimg, else\n"
                 "~/.cache/rustimg)")
      ->type_name("DIR");
  app.add_flag("--no-base-cache", o->no_base_cache, "download image bases without a cache");
  add_repeatable(app, "--push", o->push,
                 "push the image to REF (repeatable; the last lines on stdout\n"
                 "are then REF@sha256:...); one --push and no --output is\n"
                 "--output docker://REF; otherwise the image is written to\n"
                 "--output (or staged in a temporary directory) and pushed.\n"
                 "--push without REF: to $RUSTIMG_REPO/<package> (else the spec's\n"
                 "\"repository\"), tagged with the package version and the spec's\n"
                 "tags (put CRATE_DIR before a bare --push)",
                 "[REF]")
      ->expected(0, 1);
  o->registry.add_to(app);
  o->out.add_to(app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_build(*o); }); }};
}

}  // namespace rustimg::cli
