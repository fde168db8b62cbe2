// rustimg append / rustimg mutate: crane's append and mutate over the
// compose values (compose.hpp), so an image from anywhere gets a layer or a
// config change without a build.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "output.hpp"
#include "registry_flags.hpp"
#include "rustimg/compose.hpp"
#include "rustimg/error.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"
#include "rustimg/transfer.hpp"

namespace rustimg::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImageForms =
    "images (BASE, SRC):\n"
    "  scratch, static                  rustimg's built-in bases (as 'rustimg build' makes them)\n"
    "  oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE\n"
    "                                   a local image (from an index, the --platform one)\n"
    "  HOST/REPO:TAG, docker://HOST/REPO:TAG, ...@sha256:...\n"
    "                                   a registry image, pulled (every digest verified)\n"
    "\n"
    "output (DEST): oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG]\n"
    "or docker://HOST/REPO:TAG (the last line on stdout is then HOST/REPO:TAG@sha256:...;\n"
    "layers pulled from the same registry are mounted, not uploaded). Nothing is\n"
    "written when the command fails.\n";

constexpr const char* kAppendUsage =
    "usage: rustimg append --base BASE --layer DIR_OR_TAR... --output DEST [options]\n"
    "\n"
    "Puts one layer per --layer on top of BASE, in order (as 'crane append'): a\n"
    "directory becomes a layer of its files (at --layer-path, default /; modes\n"
    "0755 for files with an execute bit, else 0644; owner root; symlinks kept),\n"
    "a file is a tar (plain, gzip or zstd) whose entries are the layer as they\n"
    "are. BASE's layers are kept byte for byte. File times are SOURCE_DATE_EPOCH\n"
    "(default 0), so the same inputs give the same digest. The last line on\n"
    "stdout is the image digest.\n";

constexpr const char* kMutateUsage =
    "usage: rustimg mutate SRC [--env K=V] [--entrypoint CMD] [--cmd ARG] ... --output DEST\n"
    "\n"
    "Changes the config (and manifest annotations) of SRC, as 'crane mutate': only\n"
    "what a flag names changes; the layers never do, so only the config and\n"
    "manifest digests change. The last line on stdout is the image digest.\n";

/// The options of both commands (each adds its own).
struct Options {
  CLI::App* app = nullptr;
  std::string base;                    ///< append: --base; mutate: SRC
  std::string platform;
  std::string output;
  std::vector<std::string> layers;     ///< append
  std::string layer_path;              ///< append
  std::string compression = "gzip";    ///< append
  int compression_level = 0;           ///< append
  std::string entrypoint, user, workdir, stop_signal, healthcheck;  ///< mutate
  std::int64_t created = 0;            ///< mutate
  std::vector<std::string> cmd, env, labels, annotations, ports, unset;
  RegistryFlags registry;
  OutputFlags out;
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// The registry reference `text` names (see kImageForms), or nullopt for a
/// built-in base or a local image.
std::optional<std::string> registry_reference(const std::string& text) {
  if (layer::is_builtin_base(text) || starts_with(text, "oci:") || starts_with(text, "oci-archive:") ||
      starts_with(text, "docker-archive:"))
    return std::nullopt;
  return starts_with(text, "docker://") ? text.substr(9) : text;
}

/// The image `text` names (see kImageForms). `flag` names it in errors.
/// Without --platform: linux/amd64 for a built-in base, a registry image's
/// only one or from an index linux/amd64 (as crane), a local image's only one.
compose::Image open_image(const Options& o, const std::string& flag, const std::string& text,
                          const registry::Options& options) {
  const std::optional<Platform> platform =
      o.app->count("--platform") > 0 ? std::optional(parse_platform(o.platform)) : std::nullopt;
  if (layer::is_builtin_base(text))
    return compose::Image::builtin(text, platform.value_or(parse_platform(std::string(compose::Image::kDefaultPlatform))));
  if (const auto reference = registry_reference(text)) {
    std::error_code ec;
    if (reference->size() == text.size() && fs::exists(text, ec))
      throw UsageError{flag + " " + text + " is a local path, and a bare name is a registry reference; write oci:" +
                       text + " (an OCI layout), oci-archive:" + text + " or docker-archive:" + text};
    return compose::Image::pull(*reference, platform, options);
  }
  return compose::Image::load(store::parse_image_location(text, flag), platform);
}

/// The registry whose credentials --username gives: the output's when it
/// is a registry, else the source's ("" for none: --credentials-for).
std::string credentials_registry(const std::string& source, const std::string& output) {
  if (starts_with(output, "docker://")) return parse_reference(output.substr(9)).registry;
  const auto reference = registry_reference(source);
  return reference ? parse_reference(*reference).registry : "";
}

/// Writes `img` to --output and reports it as push and pull do: the digest
/// (and REF@digest for a registry), or with --json the image and the push.
int write_and_report(const Options& o, const compose::Image& img, const registry::Options& options,
                     const std::string& command) {
  const store::ImageLocation dest = store::parse_image_location(o.output);
  const auto view = o.out.view(command);
  registry::Options with_progress = options;
  with_progress.progress = progress_to(*view);
  const compose::WriteResult written = img.write(dest, with_progress);
  view->note("wrote " + o.output);
  view->finish();
  std::vector<transfer::PushedImage> pushed;
  if (written.pushed) pushed.push_back(*written.pushed);
  if (!o.out.json) {
    std::printf("%s\n", written.descriptor.digest.c_str());
    for (const auto& p : pushed) report_pushed(*view, p);
    return kExitOk;
  }
  // The image's documents are in memory: the summary reads them from there.
  const transfer::ImageSummary summary =
      transfer::summarize(written.descriptor, [&img](const oci::Descriptor& d) -> std::string {
        if (d.digest == img.digest()) return img.manifest().bytes;
        if (d.digest == img.config().descriptor.digest) return img.config().bytes;
        throw Error(ErrorCode::NotFound, "no document " + d.digest + " in the image written");
      });
  nlohmann::json doc = transfer::to_json(summary);
  doc["output"] = o.output;
  transfer::add_pushed(doc, pushed);
  print_json(doc);
  return kExitOk;
}

int run_append(Options& o) {
  reject_extras(*o.app);
  if (o.base.empty()) throw UsageError{"--base is required (scratch, static, or an image)"};
  if (o.layers.empty()) throw UsageError{"give at least one --layer DIR_OR_TAR"};
  if (o.output.empty()) throw UsageError{"--output is required"};
  store::check_output_location(store::parse_image_location(o.output));  // before any pull or layer
  const bool layer_path_given = o.app->count("--layer-path") > 0;
  for (const std::string& l : o.layers) {
    std::error_code ec;
    const fs::file_status st = fs::status(l, ec);
    if (!fs::exists(st))
      throw Error(ErrorCode::NotFound, "--layer " + l + " does not exist; give a directory or a tar file");
    if (layer_path_given && !fs::is_directory(st))
      throw UsageError{"--layer-path places a directory's files, and --layer " + l +
                       " is a tar (its entries keep their own paths); drop --layer-path or give a directory"};
  }
  // Checked here too, before any pull, so the error names the flag ("/" is the image's root).
  if (layer_path_given && o.layer_path.find_first_not_of('/') != std::string::npos) {
    try {
      layer::FileTree::normalize(o.layer_path);
    } catch (const Error& e) {
      throw UsageError{std::string("--layer-path: ") + e.what() + "; give a path in the image such as /opt/app"};
    }
  }
  compose::LayerSettings settings;
  settings.compression = compose::compression_named(o.compression, "--compression");
  settings.level = o.compression_level;
  // The level is checked where the layer is compressed ("gzip level 12 is not between 1 and 9").
  install_interrupt_handlers();
  const registry::Options options = o.registry.finish([&] { return credentials_registry(o.base, o.output); });
  // The layers first: a missing or hostile input fails before any pull.
  std::vector<compose::Layer> layers;
  for (const std::string& l : o.layers)
    layers.push_back(fs::is_directory(l) ? compose::LayerBuilder()
                                               .add_tree(layer_path_given ? o.layer_path : "/", l)
                                               .build(settings)
                                         : compose::Layer::from_tar(l, settings));
  compose::Image img = open_image(o, "--base", o.base, options);
  // Media types follow the base's format (append maps them).
  for (const compose::Layer& layer : layers) img = img.append(layer, "rustimg append");
  return write_and_report(o, img, options, "rustimg append");
}

/// The config changes the flags of `rustimg mutate` give, as the document
/// compose::parse_config_changes reads (the spec's keys and readers, the one
/// home of their rules), each flag's value checked under the flag's name.
image::ConfigChanges config_changes(const Options& o) {
  nlohmann::json doc = nlohmann::json::object();
  std::map<std::string, std::string> flag_of;
  const auto put = [&](const std::string& key, const std::string& flag, nlohmann::json value) {
    flag_of[key] = flag;
    doc[key] = std::move(value);
  };
  const auto given = [&o](const char* flag) { return o.app->count(flag) > 0; };
  if (given("--entrypoint")) put("entrypoint", "--entrypoint", command_value("--entrypoint", o.entrypoint));
  // Each --cmd is one argument, or a JSON array is the whole command ('[]': none).
  if (!o.cmd.empty()) {
    nlohmann::json cmd = nlohmann::json::array();
    for (const std::string& v : o.cmd) {
      const nlohmann::json args = command_value("--cmd", v);
      if (args.is_array()) cmd.insert(cmd.end(), args.begin(), args.end());
      else cmd.push_back(args);
    }
    put("cmd", "--cmd", std::move(cmd));
  }
  const auto pairs = [](const char* flag, const std::vector<std::string>& values) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& v : values) {
      auto [k, val] = key_value(flag, v);
      out[k] = val;
    }
    return out;
  };
  if (!o.env.empty()) put("env", "--env", pairs("--env", o.env));
  if (!o.labels.empty()) put("labels", "--label", pairs("--label", o.labels));
  if (!o.ports.empty()) put("ports", "--port", o.ports);
  if (given("--user")) put("user", "--user", o.user);
  if (given("--workdir")) put("workdir", "--workdir", o.workdir);
  if (given("--stop-signal")) put("stop-signal", "--stop-signal", o.stop_signal);
  if (given("--healthcheck")) {
    try {
      put("healthcheck", "--healthcheck", nlohmann::json::parse(o.healthcheck));
    } catch (const nlohmann::json::parse_error&) {
      throw UsageError{"--healthcheck takes JSON as the spec's \"healthcheck\" key, e.g. "
                       "'{\"test\": [\"CMD\", \"/app\", \"--check\"], \"interval\": \"30s\"}' or null (none); got " +
                       o.healthcheck};
    }
  }
  // --unset KEY: null, which removes the field (parse_config_changes says
  // which keys can be removed, and suggests one for a misspelt key).
  for (const std::string& key : o.unset) {
    if (doc.contains(key)) throw UsageError{"--unset " + key + " and a flag setting " + key + " both given; keep one"};
    put(key, "--unset", nullptr);
  }
  // Each flag on its own first, so an error names the flag that gave it.
  for (const auto& [key, value] : doc.items()) compose::parse_config_changes({{key, value}}, flag_of.at(key));
  return compose::parse_config_changes(doc, "rustimg mutate");
}

int run_mutate(Options& o) {
  reject_extras(*o.app, "give exactly one SRC; unexpected");
  if (o.base.empty()) throw UsageError{"give SRC, the image to change"};
  if (o.output.empty()) throw UsageError{"--output is required"};
  const store::ImageLocation dest = store::parse_image_location(o.output);
  store::check_output_location(dest);
  if (!o.annotations.empty() && dest.kind == store::ImageLocation::Kind::DockerArchive)
    throw UsageError{"--annotation: a docker-archive output carries no manifest annotations; write oci: or "
                     "oci-archive:, or use --label (a config label) instead"};
  const image::ConfigChanges changes = config_changes(o);
  std::map<std::string, std::string> annotations;
  for (const auto& e : o.annotations)
    annotations.insert_or_assign(key_value("--annotation", e).first, key_value("--annotation", e).second);
  install_interrupt_handlers();
  const registry::Options options = o.registry.finish([&] { return credentials_registry(o.base, o.output); });
  compose::Image img = open_image(o, "SRC", o.base, options).with_config(changes).with_annotations(annotations);
  if (o.app->count("--created") > 0) img = img.with_created(o.created);
  return write_and_report(o, img, options, "rustimg mutate");
}

void add_common(Options& o) {
  o.app->add_option("-o,--output", o.output, "where to write the image (see output above)")->type_name("DEST");
  o.app->add_option("--platform", o.platform,
                    "the platform to take from an index or a registry, and of a built-in\n"
                    "base (default: an image's only one; from a registry index, and for a\n"
                    "built-in base, linux/amd64)")
      ->type_name("P");
}

}  // namespace

Command add_append(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "append", "put layers on top of an image", std::string(kAppendUsage) + "\n" + kImageForms,
                       kCredentialsNote);
  o->app->add_option("--base", o->base, "the image to start from (see images above)")->type_name("BASE");
  add_repeatable(*o->app, "--layer", o->layers, "a directory or tar file to add as one layer (repeatable, in order)",
                 "DIR_OR_TAR");
  o->app->add_option("--layer-path", o->layer_path, "where a directory layer's files go in the image (default /)")
      ->type_name("PATH");
  o->app->add_option("--compression", o->compression, "gzip (default), zstd or none")->type_name("C");
  o->app->add_option("--compression-level", o->compression_level,
                     "gzip 1..9, zstd 1..19 (default: gzip 6, zstd 3)")
      ->type_name("N");
  add_common(*o);
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_append(*o); }); }};
}

Command add_mutate(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "mutate", "change an image's config", std::string(kMutateUsage) + "\n" + kImageForms,
                       kCredentialsNote);
  CLI::App& app = *o->app;
  app.add_option("SRC", o->base, "the image to change (see images above)");
  app.add_option("--entrypoint", o->entrypoint, "the entrypoint: a path, or a JSON array (\"[]\": none)")
      ->type_name("CMD");
  add_repeatable(app, "--cmd", o->cmd, "an argument of the default command (repeatable; a JSON array: all\n"
                                       "of them; \"[]\": none)", "ARG");
  add_repeatable(app, "--env", o->env, "set an environment variable (repeatable)", "K=V");
  app.add_option("--user", o->user, "uid[:gid] or name")->type_name("U");
  app.add_option("--workdir", o->workdir, "working directory")->type_name("DIR");
  add_repeatable(app, "--port", o->ports, "expose a port, 8080 or 8080/udp (repeatable, added)", "P");
  add_repeatable(app, "--label", o->labels, "set a config label (repeatable)", "K=V");
  app.add_option("--stop-signal", o->stop_signal, "the stop signal, e.g. SIGINT")->type_name("SIG");
  add_repeatable(app, "--unset", o->unset,
                 "remove a field: entrypoint, cmd, user, workdir or stop-signal\n"
                 "(healthcheck: turn it off, as [\"NONE\"]; repeatable)",
                 "KEY");
  app.add_option("--healthcheck", o->healthcheck,
                 "the healthcheck as the spec's JSON, e.g. '{\"test\": [\"CMD\", \"/app\",\n"
                 "\"--check\"], \"interval\": \"30s\"}' (null: none)")
      ->type_name("JSON");
  app.add_option("--created", o->created, "the config's creation time, seconds since the epoch")
      ->type_name("SECONDS")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{253402300799}));  // to the end of year 9999
  add_repeatable(app, "--annotation", o->annotations, "set a manifest annotation (repeatable; OCI images)", "K=V");
  add_common(*o);
  o->registry.add_to(app);
  o->out.add_to(app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_mutate(*o); }); }};
}

}  // namespace rustimg::cli
