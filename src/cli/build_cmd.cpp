// rustimg build: prebuilt binaries + spec -> a reproducible OCI image.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "registry_flags.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/cargo.hpp"
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
    "options:\n"
    "  --binary PATH        a prebuilt binary (repeat, with --platform, for several platforms)\n"
    "  --platform P         with a crate: a platform to build for (repeatable; default: the spec's);\n"
    "                       with --binary: its platform (default: from the ELF header)\n"
    "  --package NAME       the cargo package (workspaces)\n"
    "  --bin NAME           the bin target\n"
    "  --base B             scratch, static or an image reference such as ghcr.io/org/base:v1\n"
    "                       (default: the spec's, else static)\n"
    "  --entrypoint CMD     the entrypoint: a path, or a JSON array [\"/app\", \"--flag\"]\n"
    "  --cmd ARG            an argument for the default command (repeatable)\n"
    "  --env K=V            an environment variable (repeatable)\n"
    "  --user U             uid[:gid] or name (default 65532:65532, nonroot)\n"
    "  --workdir DIR        working directory (default /)\n"
    "  --port P             exposed port, 8080 or 8080/udp (repeatable)\n"
    "  --label K=V          a config label (repeatable)\n"
    "  --annotation K=V     a manifest annotation (repeatable)\n"
    "  --compression C      gzip (default), zstd or none\n"
    "  --compression-level N  gzip 1-9 (default 6; 1 is crane's and ko's), zstd 1-19\n"
    "                       (default 3)\n"
    "  --format F           oci (default) or docker (Docker schema 2 media types)\n"
    "  --spec FILE          read the image spec from FILE (flags override it)\n"
    "  --crate DIR          the crate (same as CRATE_DIR): [package.metadata.rustimg],\n"
    "                       rustimg.json, asset root\n"
    "  --allow-dynamic      accept a dynamically linked binary on scratch/static\n"
    "  --base-cache DIR     keep the blobs of image bases here between builds (default:\n"
    "                       $RUSTIMG_CACHE_DIR, else $XDG_CACHE_HOME/rustimg, else\n"
    "                       ~/.cache/rustimg)\n"
    "  --no-base-cache      download image bases without a cache\n"
    "  --push REF           push the image to REF (repeatable; the last lines on stdout\n"
    "                       are then REF@sha256:...); one --push and no --output is\n"
    "                       --output docker://REF; otherwise the image is written to\n"
    "                       --output (or staged in a temporary directory) and pushed\n"
    "  -h, --help           print this help\n"
    "\n"
    "Timestamps come from SOURCE_DATE_EPOCH (default 0, 1970-01-01). The last\n"
    "line on stdout is the image (or index) digest; progress goes to stderr.\n"
    "\n"
    "exit status: 0 built, 1 cargo failed, a binary is unfit or a registry refused,\n"
    "2 bad usage or input, 130 interrupted (SIGINT/SIGTERM; the destination is left as it was).\n";

struct Options {
  std::vector<std::string> binaries;
  std::vector<std::string> platforms;
  std::optional<std::string> output;
  fs::path spec_file;
  fs::path crate_dir;
  bool allow_dynamic = false;
  std::optional<fs::path> base_cache;  ///< empty path: no cache
  oci::Format format = oci::Format::Oci;
  json overrides = json::object();
  std::vector<std::string> push;  ///< references to push the result to
  RegistryFlags registry;
};

struct UsageError {
  std::string message;
};

/// "K=V" -> (K, V); `flag` names the option in the error.
std::pair<std::string, std::string> key_value(const std::string& flag, const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError{flag + " expects KEY=VALUE, got \"" + s + "\""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

json command_value(const std::string& flag, const std::string& s) {
  if (!s.empty() && s.front() == '[') {
    try {
      return rustimg::parse_json(s, flag);
    } catch (const rustimg::JsonError&) {
      throw UsageError{flag + " looks like a JSON array but is not valid JSON: " + s};
    }
  }
  return json::array({s});
}

Options parse(std::span<const std::string> args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (const auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
      return args[++i];
    };
    if (a == "--binary") {
      o.binaries.push_back(value());
    } else if (a == "--platform") {
      o.platforms.push_back(value());
    } else if (a == "--output" || a == "-o") {
      o.output = value();
    } else if (a == "--spec") {
      o.spec_file = value();
    } else if (a == "--crate") {
      o.crate_dir = value();
    } else if (a == "--package" || a == "--bin") {
      o.overrides[a.substr(2)] = value();
    } else if (a == "--allow-dynamic") {
      o.allow_dynamic = true;
    } else if (a == "--base-cache") {
      const std::string dir = value();
      if (dir.empty()) throw UsageError{"--base-cache needs a directory (--no-base-cache turns the cache off)"};
      o.base_cache = dir;
    } else if (a == "--no-base-cache") {
      o.base_cache = fs::path();
    } else if (a == "--format") {
      const std::string f = value();
      if (f != "oci" && f != "docker") throw UsageError{"--format must be oci or docker, got \"" + f + "\""};
      o.format = f == "oci" ? oci::Format::Oci : oci::Format::Docker;
    } else if (a == "--base" || a == "--user" || a == "--workdir" || a == "--compression") {
      o.overrides[a.substr(2)] = value();
    } else if (a == "--compression-level") {
      // A number goes to the spec as one; anything else too, as a string,
      // for the spec's own error.
      const std::string v = value();
      const bool digits = !v.empty() && v.size() < 10 && std::all_of(v.begin(), v.end(), [](char ch) {
        return ch >= '0' && ch <= '9';
      });
      o.overrides["compression-level"] = digits ? json(std::stoi(v)) : json(v);
    } else if (a == "--entrypoint") {
      o.overrides["entrypoint"] = command_value(a, value());
    } else if (a == "--cmd") {
      const std::string v = value();
      if (!v.empty() && v.front() == '[') {
        o.overrides["cmd"] = command_value(a, v);
      } else {
        o.overrides["cmd"].push_back(v);
      }
    } else if (a == "--env" || a == "--label" || a == "--annotation") {
      const auto [k, v] = key_value(a, value());
      o.overrides[a == "--env" ? "env" : a == "--label" ? "labels" : "annotations"][k] = v;
    } else if (a == "--port") {
      o.overrides["ports"].push_back(value());
    } else if (a == "--push") {
      o.push.push_back(value());
    } else if (o.registry.parse(a, value)) {
      // a registry flag, for --push and for base images
    } else if (a.rfind("-", 0) != 0 && !inline_value) {
      if (!o.crate_dir.empty()) throw UsageError{"more than one crate directory given: " + o.crate_dir.string() + ", " + a};
      o.crate_dir = a;
    } else {
      throw UsageError{"unknown option \"" + a + "\""};
    }
  }
  if (!o.output && o.push.empty()) throw UsageError{"--output (or --push) is required"};
  if (o.binaries.empty()) {
    // A crate build: the platforms are the spec's, or the ones given here.
    if (o.crate_dir.empty()) {
      if (!fs::exists("Cargo.toml"))
        throw UsageError{"nothing to build: the current directory has no Cargo.toml; name a crate directory "
                         "or a prebuilt --binary PATH"};
      o.crate_dir = ".";
    }
    for (const auto& p : o.platforms) o.overrides["platforms"].push_back(p);
  } else if (!o.platforms.empty() && o.platforms.size() != o.binaries.size()) {
    throw UsageError{"give one --platform per --binary (or none, to read each platform from its ELF header)"};
  }
  return o;
}

void progress_line(const ProgressEvent& e) {
  std::fprintf(stderr, "rustimg build: [%s] %s\n", e.stage.c_str(), e.message.c_str());
}

}  // namespace

int build_main(std::span<const std::string> args) {
  for (const std::string& a : args)
    if (a == "-h" || a == "--help") {
      std::fputs(kBuildUsage, stdout);
      std::fputs(kRegistryFlagsUsage, stdout);
      return kExitOk;
    }
  Options o;
  try {
    o = parse(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "rustimg build: %s\nRun 'rustimg build --help' for usage.\n", e.message.c_str());
    return kExitBadInput;
  }

  try {
    // --username is for the push target; without --push, for the base's
    // registry, which only the spec names (base_credentials).
    const std::optional<store::ImageLocation> output =
        o.output ? std::optional(store::parse_image_location(*o.output)) : std::nullopt;
    std::vector<std::string> targets = o.push;  // the registries written to
    if (output && output->kind == store::ImageLocation::Kind::Registry) targets.push_back(output->reference);
    const registry::Options registry_options = o.registry.finish([&] {
      return targets.empty() ? std::string() : transfer::push_registry(targets, "--credentials-for HOST");
    });
    pipeline::BuildAndPushOptions req;
    pipeline::BuildOptions& b = req.image;
    b.registry = registry_options;  // for a base image named by reference, and the --push targets
    b.base_credentials = o.registry.unbound_credentials();
    if (output) b.output = *output;  // else --push's registry, or staged for several
    b.format = o.format;
    b.allow_dynamic = o.allow_dynamic;
    if (o.base_cache) b.base_cache = *o.base_cache;
    install_interrupt_handlers();
    b.progress = [](const ProgressEvent& e) {
      progress_line(e);
      return interrupted();
    };
    req.cancelled = [] { return interrupted(); };

    // The spec: crate metadata (with a crate), the spec file, then flags.
    SpecLoadOptions& load = req.spec;
    load.crate_dir = o.crate_dir;
    load.use_cargo_metadata = !o.crate_dir.empty();
    load.spec_file = o.spec_file;
    if (load.crate_dir.empty() && !o.spec_file.empty()) load.crate_dir = fs::absolute(o.spec_file).parent_path();
    load.overrides = o.overrides.empty() ? json(nullptr) : o.overrides;

    for (std::size_t i = 0; i < o.binaries.size(); ++i) {
      pipeline::PlatformBinary pb;
      pb.binary = o.binaries[i];
      if (!o.platforms.empty()) pb.platform = parse_platform(o.platforms[i]);
      req.binaries.push_back(std::move(pb));
    }
    req.push = o.push;
    req.on_built = [&o](const pipeline::BuildResult& r) {
      if (o.output) std::fprintf(stderr, "rustimg build: wrote %s\n", o.output->c_str());
      std::printf("%s\n", r.descriptor.digest.c_str());
      std::fflush(stdout);
    };
    for (const auto& pushed : pipeline::build_and_push(std::move(req)).pushed) report_pushed("build", pushed);
    return kExitOk;
  } catch (const Error& e) {
    std::fprintf(stderr, "rustimg build: %s\n", e.what());
    return exit_code_for(e);
  }
}

}  // namespace rustimg::cli
