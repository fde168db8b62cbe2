// Images on a base image: reading the base, the config merge rules
// (pipeline.hpp) and assembly on the base's layers.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/spec.hpp"

using nlohmann::json;
using rustimg::ErrorCode;
using rustimg::image::AppliedLayer;
using rustimg::image::BaseImage;
using rustimg::image::ConfigOverrides;
using rustimg::image::ImageOptions;

namespace {

namespace mt = rustimg::oci::media_type;

std::string digest_of(char c) { return "sha256:" + std::string(64, c); }

/// A base config as a registry would serve it (Docker-style keys).
json base_config_doc() {
  return json{{"architecture", "amd64"},
              {"os", "linux"},
              {"created", "2020-01-01T00:00:00Z"},
              {"author", "base author"},
              {"config",
               {{"User", "1234:1234"},
                {"Env", {"PATH=/base/bin:/usr/bin", "BASE_ONLY=1", "SHARED=base", "LANG=C.UTF-8"}},
                {"Entrypoint", {"/bin/base-entry"}},
                {"Cmd", {"--base-arg"}},
                {"WorkingDir", "/base"},
                {"ExposedPorts", {{"9000/tcp", json::object()}}},
                {"Labels", {{"base.label", "kept"}, {"shared.label", "base"}}},
                {"StopSignal", "SIGQUIT"},
                {"Healthcheck", {{"Test", {"CMD", "/bin/check"}}, {"Interval", 5000000000}, {"StartInterval", 7}}},
                {"Volumes", {{"/data", json::object()}}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {digest_of('1'), digest_of('2')}}}},
              {"history", {{{"created", "2020-01-01T00:00:00Z"}, {"created_by", "base step 1"}},
                           {{"created", "2020-01-01T00:00:00Z"}, {"created_by", "base step 2"}}}}};
}

json base_manifest_doc(const std::string& manifest_type, const std::string& config_type,
                       const std::string& layer_type) {
  return json{{"schemaVersion", 2},
              {"mediaType", manifest_type},
              {"config", {{"mediaType", config_type}, {"digest", digest_of('c')}, {"size", 100}}},
              {"layers",
               {{{"mediaType", layer_type}, {"digest", digest_of('a')}, {"size", 11}},
                {{"mediaType", layer_type}, {"digest", digest_of('b')}, {"size", 22}}}}};
}

BaseImage docker_base() {
  return rustimg::image::parse_base_image(
      "127.0.0.1:5000/base:v1", digest_of('m'),
      base_manifest_doc(mt::kDockerManifest, mt::kDockerConfig, mt::kDockerLayerGzip).dump(),
      base_config_doc().dump());
}

rustimg::Platform amd64() { return rustimg::parse_platform("linux/amd64"); }

rustimg::oci::ImageConfig base_config() { return rustimg::image::read_config(base_config_doc(), "test base"); }

/// A spec that sets nothing about the runtime (as resolved from no source).
rustimg::Spec silent_spec() {
  rustimg::Spec s = rustimg::resolve_spec({}, ".");
  s.bin = "hello";
  return s;
}

/// The config values of `spec` built on an image base: only what it sets.
ConfigOverrides on_base(rustimg::Spec spec) {
  spec.base = "127.0.0.1:5000/base:v1";
  return rustimg::pipeline::config_overrides(spec);
}

std::vector<AppliedLayer> our_layers() {
  AppliedLayer app;
  app.diff_id = digest_of('9');
  app.descriptor = {mt::kOciLayerGzip, digest_of('8'), 33, {}, {}, {}};
  app.created_by = "rustimg: app /usr/local/bin/hello";
  return {app};
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(base_image)

BOOST_AUTO_TEST_CASE(resolved_spec_records_the_keys_its_sources_set) {
  const rustimg::Spec s =
      rustimg::resolve_spec({{"file", json{{"user", "65532:65532"}, {"env", {{"A", "1"}}}}}}, ".");
  BOOST_TEST(on_base(s).user.has_value());  // the default value, but said explicitly
  BOOST_TEST(on_base(s).env.has_value());
  BOOST_TEST(!on_base(s).workdir.has_value());
  BOOST_TEST(!on_base(s).cmd.has_value());
  BOOST_TEST(!on_base(silent_spec()).user.has_value());
}

BOOST_AUTO_TEST_CASE(config_overrides_hold_every_value_on_a_builtin_base_only_what_is_set_on_an_image_base) {
  rustimg::Spec s = rustimg::resolve_spec({{"file", json{{"cmd", {"--serve"}}, {"env", {{"A", "1"}}}}}}, ".");
  s.bin = "hello";
  s.package = "hello-pkg";

  // Built-in base ("static" by default): every value, rustimg's defaults included.
  const ConfigOverrides builtin = rustimg::pipeline::config_overrides(s);
  BOOST_REQUIRE(builtin.user.has_value());
  BOOST_TEST(*builtin.user == "65532:65532");
  BOOST_REQUIRE(builtin.workdir.has_value());
  BOOST_TEST(*builtin.workdir == "/");
  BOOST_REQUIRE(builtin.cmd.has_value());
  BOOST_TEST(*builtin.cmd == std::vector<std::string>{"--serve"});
  BOOST_REQUIRE(builtin.env.has_value());
  BOOST_TEST(builtin.env->at("A") == "1");
  BOOST_TEST(builtin.stop_signal.has_value());
  BOOST_TEST(builtin.entrypoint.has_value());
  BOOST_TEST(builtin.ports.has_value());
  BOOST_TEST(builtin.labels.has_value());
  BOOST_TEST(builtin.annotations.has_value());
  BOOST_TEST(!builtin.healthcheck.has_value());  // the spec has none
  BOOST_TEST(builtin.bin == "hello");
  BOOST_TEST(builtin.package == "hello-pkg");
  const auto made = rustimg::image::make_config(builtin, amd64(), "hello", our_layers(), {});
  BOOST_TEST(made.user == "65532:65532");
  BOOST_TEST(made.working_dir == "/");

  // Image base: only what the spec sets; the base keeps the rest.
  const ConfigOverrides on_image = on_base(s);
  BOOST_TEST(!on_image.user.has_value());
  BOOST_TEST(!on_image.workdir.has_value());
  BOOST_TEST(!on_image.stop_signal.has_value());
  BOOST_TEST(!on_image.entrypoint.has_value());
  BOOST_TEST(!on_image.ports.has_value());
  BOOST_TEST(!on_image.labels.has_value());
  BOOST_TEST(!on_image.annotations.has_value());
  BOOST_TEST(!on_image.healthcheck.has_value());
  BOOST_REQUIRE(on_image.cmd.has_value());
  BOOST_TEST(*on_image.cmd == std::vector<std::string>{"--serve"});
  BOOST_REQUIRE(on_image.env.has_value());
  BOOST_TEST(on_image.env->at("A") == "1");
  BOOST_TEST(on_image.bin == "hello");
  BOOST_TEST(on_image.package == "hello-pkg");
  const auto merged = rustimg::image::merge_config(on_image, base_config(), "hello", ImageOptions{});
  BOOST_TEST(merged.user == "1234:1234");
  BOOST_TEST(merged.working_dir == "/base");

  // "cmd": [] said explicitly is set (it clears the base's); unsaid it is not.
  const rustimg::Spec cleared = rustimg::resolve_spec({{"file", json{{"cmd", json::array()}}}}, ".");
  BOOST_REQUIRE(on_base(cleared).cmd.has_value());
  BOOST_TEST(on_base(cleared).cmd->empty());
  BOOST_TEST(!on_base(silent_spec()).cmd.has_value());
}

BOOST_AUTO_TEST_CASE(a_silent_spec_keeps_the_base_config_but_runs_the_app) {
  const auto c = rustimg::image::merge_config(on_base(silent_spec()), base_config(), "hello", ImageOptions{});
  BOOST_TEST(c.entrypoint == std::vector<std::string>{"/usr/local/bin/hello"});
  BOOST_TEST(c.cmd.empty());  // the base's Cmd was for the base's entrypoint
  BOOST_TEST(c.user == "1234:1234");
  BOOST_TEST(c.working_dir == "/base");
  BOOST_TEST(c.stop_signal == "SIGQUIT");
  BOOST_REQUIRE(c.healthcheck.has_value());
  BOOST_TEST(c.healthcheck->test == (std::vector<std::string>{"CMD", "/bin/check"}));
  BOOST_TEST(c.env == (std::vector<std::string>{"PATH=/base/bin:/usr/bin", "BASE_ONLY=1", "SHARED=base",
                                                "LANG=C.UTF-8"}));
  BOOST_TEST(c.exposed_ports == std::vector<std::string>{"9000/tcp"});
  BOOST_TEST(c.labels.at("base.label") == "kept");
}

BOOST_AUTO_TEST_CASE(the_spec_overrides_what_it_sets) {
  rustimg::Spec s = rustimg::resolve_spec(
      {{"file", json{{"user", "42"},
                     {"workdir", "/srv"},
                     {"cmd", {"--serve"}},
                     {"stop-signal", "SIGTERM"},
                     {"env", {{"SHARED", "spec"}, {"NEW", "x"}, {"ALPHA", "y"}}},
                     {"labels", {{"shared.label", "spec"}, {"spec.label", "s"}}},
                     {"annotations", {{"org.opencontainers.image.version", "2.0"}}},
                     {"ports", {8080, 9000}}}}},
      ".");
  s.bin = "hello";
  const auto c = rustimg::image::merge_config(on_base(s), base_config(), "hello", ImageOptions{});
  BOOST_TEST(c.user == "42");
  BOOST_TEST(c.working_dir == "/srv");
  BOOST_TEST(c.cmd == std::vector<std::string>{"--serve"});
  BOOST_TEST(c.stop_signal == "SIGTERM");
  // Base order kept, SHARED replaced in place, new names appended by name.
  BOOST_TEST(c.env == (std::vector<std::string>{"PATH=/base/bin:/usr/bin", "BASE_ONLY=1", "SHARED=spec",
                                                "LANG=C.UTF-8", "ALPHA=y", "NEW=x"}));
  BOOST_TEST(c.labels.at("base.label") == "kept");
  BOOST_TEST(c.labels.at("shared.label") == "spec");
  BOOST_TEST(c.labels.at("spec.label") == "s");
  BOOST_TEST(c.labels.at("org.opencontainers.image.version") == "2.0");
  BOOST_TEST(c.exposed_ports == (std::vector<std::string>{"9000/tcp", "8080/tcp"}));
}

BOOST_AUTO_TEST_CASE(the_base_cmd_stays_only_when_the_entrypoint_does) {
  rustimg::Spec s = silent_spec();
  s.entrypoint = {"/bin/base-entry"};
  BOOST_TEST(rustimg::image::merge_config(on_base(s), base_config(), "hello", ImageOptions{}).cmd ==
             std::vector<std::string>{"--base-arg"});
  s.given.insert("cmd");  // "cmd": [] clears it
  BOOST_TEST(rustimg::image::merge_config(on_base(s), base_config(), "hello", ImageOptions{}).cmd.empty());
}

BOOST_AUTO_TEST_CASE(path_is_added_only_when_nobody_sets_it) {
  rustimg::oci::ImageConfig base;
  base.env = {"A=1"};
  auto c = rustimg::image::merge_config(on_base(silent_spec()), base, "hello", ImageOptions{});
  BOOST_TEST(c.env == (std::vector<std::string>{std::string("PATH=") + rustimg::image::kDefaultPath, "A=1"}));
  rustimg::Spec s = silent_spec();
  s.env = {{"PATH", "/opt/bin"}};
  c = rustimg::image::merge_config(on_base(s), base, "hello", ImageOptions{});
  BOOST_TEST(c.env == (std::vector<std::string>{"A=1", "PATH=/opt/bin"}));
  BOOST_TEST(c.user.empty());  // a root base stays root: rustimg's nonroot default is for built-in bases
  BOOST_TEST(c.working_dir.empty());
}

BOOST_AUTO_TEST_CASE(layer_media_types_map_between_families) {
  using rustimg::image::layer_media_type_for;
  using rustimg::oci::Format;
  BOOST_TEST(layer_media_type_for(mt::kDockerLayerGzip, Format::Oci) == mt::kOciLayerGzip);
  BOOST_TEST(layer_media_type_for(mt::kDockerLayerTar, Format::Oci) == mt::kOciLayerTar);
  BOOST_TEST(layer_media_type_for(mt::kDockerLayerZstd, Format::Oci) == mt::kOciLayerZstd);
  BOOST_TEST(layer_media_type_for(mt::kOciLayerGzip, Format::Docker) == mt::kDockerLayerGzip);
  BOOST_TEST(layer_media_type_for(mt::kOciLayerGzip, Format::Oci) == mt::kOciLayerGzip);
  BOOST_CHECK_EXCEPTION(layer_media_type_for("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Format::Oci),
                        rustimg::Error, [](const rustimg::Error& e) { return e.code() == ErrorCode::Unsupported; });
}

BOOST_AUTO_TEST_CASE(parse_base_rejects_what_cannot_be_a_base) {
  using rustimg::image::parse_base_image;
  const std::string config = base_config_doc().dump();
  auto code_is = [](ErrorCode want) {
    return [want](const rustimg::Error& e) {
      return e.code() == want && std::string(e.what()).find("127.0.0.1:5000/base:v1") != std::string::npos;
    };
  };
  const json index = {{"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", json::array()}};
  BOOST_CHECK_EXCEPTION(parse_base_image("127.0.0.1:5000/base:v1", digest_of('m'), index.dump(), config),
                        rustimg::Error, code_is(ErrorCode::Unsupported));
  const json artifact = base_manifest_doc(mt::kOciManifest, "application/vnd.example.sbom", mt::kOciLayerGzip);
  BOOST_CHECK_EXCEPTION(parse_base_image("127.0.0.1:5000/base:v1", digest_of('m'), artifact.dump(), config),
                        rustimg::Error, code_is(ErrorCode::Unsupported));
  const json foreign = base_manifest_doc(mt::kDockerManifest, mt::kDockerConfig,
                                         "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
  BOOST_CHECK_EXCEPTION(parse_base_image("127.0.0.1:5000/base:v1", digest_of('m'), foreign.dump(), config),
                        rustimg::Error, code_is(ErrorCode::Unsupported));
  json short_config = base_config_doc();
  short_config["rootfs"]["diff_ids"] = {digest_of('1')};
  const json ok = base_manifest_doc(mt::kOciManifest, mt::kOciConfig, mt::kOciLayerGzip);
  BOOST_CHECK_EXCEPTION(parse_base_image("127.0.0.1:5000/base:v1", digest_of('m'), ok.dump(), short_config.dump()),
                        rustimg::Error, code_is(ErrorCode::InvalidArgument));
  json bad_env = base_config_doc();
  bad_env["config"]["Env"] = "A=1";
  BOOST_CHECK_EXCEPTION(parse_base_image("127.0.0.1:5000/base:v1", digest_of('m'), ok.dump(), bad_env.dump()),
                        rustimg::Error, code_is(ErrorCode::InvalidArgument));
}

/// What a build does to a base's config: its layers appended
/// (image::append_layer, as compose::Image::append does), then the build's
/// rules (image::apply_build_config, as pipeline::build_image applies them).
json built_on(const BaseImage& base, const ConfigOverrides& overrides, const rustimg::image::ImageOptions& options) {
  json doc = base.config;
  for (const AppliedLayer& l : our_layers())
    doc = rustimg::image::append_layer(doc, l.diff_id, l.created_by, "test base config");
  doc["created"] = rustimg::oci::rfc3339(options.created);
  return rustimg::image::apply_build_config(doc, overrides, amd64(), "hello", options, true);
}

BOOST_AUTO_TEST_CASE(build_rules_on_a_base_keep_its_layers_history_and_config) {
  const BaseImage base = docker_base();
  rustimg::Spec spec = silent_spec();
  spec.env = {{"SHARED", "spec"}};
  const rustimg::image::ImageOptions options{rustimg::oci::Format::Oci, 0, false};
  const json c = built_on(base, on_base(spec), options);
  BOOST_TEST(c["rootfs"]["diff_ids"] == (json{digest_of('1'), digest_of('2'), digest_of('9')}));
  BOOST_REQUIRE(c["history"].size() == 3u);
  BOOST_TEST(c["history"][0]["created_by"] == "base step 1");
  BOOST_TEST(c["history"][2]["created_by"] == "rustimg: app /usr/local/bin/hello");
  BOOST_TEST(c["created"] == "1970-01-01T00:00:00Z");
  BOOST_TEST(c["author"] == "base author");                         // top-level fields kept
  BOOST_TEST(c["config"]["Volumes"].contains("/data"));             // unmodelled config fields kept
  BOOST_TEST(c["config"]["Healthcheck"]["StartInterval"] == 7);     // the base's healthcheck, verbatim
  BOOST_TEST(c["config"]["Entrypoint"] == json{"/usr/local/bin/hello"});
  BOOST_TEST(!c["config"].contains("Cmd"));
  BOOST_TEST(c["config"]["User"] == "1234:1234");
  BOOST_TEST(c["config"]["WorkingDir"] == "/base");
  BOOST_TEST(has(c["config"]["Env"].get<std::vector<std::string>>(), "SHARED=spec"));
  // Reproducible: the same base and inputs give the same document.
  BOOST_TEST(built_on(base, on_base(spec), options) == c);

  const auto a = rustimg::image::manifest_annotations_on_base(on_base(spec), "hello", options, base.name, base.digest);
  BOOST_TEST(a.at("org.opencontainers.image.base.name") == "127.0.0.1:5000/base:v1");
  BOOST_TEST(a.at("org.opencontainers.image.base.digest") == digest_of('m'));
}

BOOST_AUTO_TEST_SUITE_END()
