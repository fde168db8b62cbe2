// Image references, platforms, the Rust target table, and reading OCI
// documents (manifest, index, config) and walking an image.
#include <boost/test/unit_test.hpp>

#include <string>

#include "rustimg/error.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "expect_error.hpp"

using rustimg::ErrorCode;
using rustimg::test::expect_error;

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(docker_hub_defaults) {
  auto r = rustimg::parse_reference("alpine");
  BOOST_TEST(r.registry == "docker.io");
  BOOST_TEST(r.repository == "library/alpine");
  BOOST_TEST(r.tag == "latest");
  BOOST_TEST(r.digest.empty());
  BOOST_TEST(r.to_string() == "docker.io/library/alpine:latest");

  BOOST_TEST(rustimg::parse_reference("org/app:1.2").to_string() == "docker.io/org/app:1.2");
  BOOST_TEST(rustimg::parse_reference("index.docker.io/library/alpine").registry == "docker.io");
  BOOST_TEST(rustimg::parse_reference("docker.io/alpine").repository == "library/alpine");
}

BOOST_AUTO_TEST_CASE(registries_ports_localhost) {
  auto r = rustimg::parse_reference("localhost:5000/app");
  BOOST_TEST(r.registry == "localhost:5000");
  BOOST_TEST(r.repository == "app");
  BOOST_TEST(r.tag == "latest");

  r = rustimg::parse_reference("localhost/app:v1");
  BOOST_TEST(r.registry == "localhost");
  BOOST_TEST(r.tag == "v1");

  r = rustimg::parse_reference("127.0.0.1:5000/team/app:v2");
  BOOST_TEST(r.registry == "127.0.0.1:5000");
  BOOST_TEST(r.repository == "team/app");
  BOOST_TEST(r.name() == "127.0.0.1:5000/team/app");

  r = rustimg::parse_reference("ghcr.io/org/sub/app");
  BOOST_TEST(r.registry == "ghcr.io");
  BOOST_TEST(r.repository == "org/sub/app");

  r = rustimg::parse_reference("[::1]:5000/app:x");
  BOOST_TEST(r.registry == "[::1]:5000");

  // a first component without '.' or ':' is a Docker Hub namespace
  r = rustimg::parse_reference("myorg/app");
  BOOST_TEST(r.registry == "docker.io");
  BOOST_TEST(r.repository == "myorg/app");
}

BOOST_AUTO_TEST_CASE(digests) {
  const std::string d = "sha256:" + std::string(64, 'a');
  auto r = rustimg::parse_reference("gcr.io/distroless/static@" + d);
  BOOST_TEST(r.digest == d);
  BOOST_TEST(r.tag.empty());
  BOOST_TEST(r.identifier() == d);
  BOOST_TEST(r.to_string() == "gcr.io/distroless/static@" + d);

  r = rustimg::parse_reference("gcr.io/distroless/static:nonroot@" + d);
  BOOST_TEST(r.tag == "nonroot");
  BOOST_TEST(r.identifier() == d);

  BOOST_TEST(rustimg::is_valid_digest(d));
  BOOST_TEST(!rustimg::is_valid_digest("sha256:" + std::string(64, 'A')));
  BOOST_TEST(!rustimg::is_valid_digest("sha256:abc"));
  BOOST_TEST(!rustimg::is_valid_digest("md5:" + std::string(32, 'a')));
  BOOST_TEST(rustimg::is_valid_digest("sha512:" + std::string(128, '0')));
}

BOOST_AUTO_TEST_CASE(tags) {
  BOOST_TEST(rustimg::is_valid_tag("v1.2.3-rc_1"));
  BOOST_TEST(rustimg::is_valid_tag("_x"));
  BOOST_TEST(!rustimg::is_valid_tag(""));
  BOOST_TEST(!rustimg::is_valid_tag(".hidden"));
  BOOST_TEST(!rustimg::is_valid_tag("-x"));
  BOOST_TEST(!rustimg::is_valid_tag("a/b"));
  BOOST_TEST(!rustimg::is_valid_tag(std::string(129, 'a')));
  BOOST_TEST(rustimg::is_valid_tag(std::string(128, 'a')));
}

BOOST_AUTO_TEST_CASE(invalid_references) {
  expect_error([] { rustimg::parse_reference(""); }, ErrorCode::InvalidArgument, "empty");
  expect_error([] { rustimg::parse_reference("Org/App"); }, ErrorCode::InvalidArgument, "lower case");
  expect_error([] { rustimg::parse_reference("app:-bad"); }, ErrorCode::InvalidArgument, "bad tag \"-bad\"");
  expect_error([] { rustimg::parse_reference("app@sha256:123"); }, ErrorCode::InvalidArgument, "bad digest");
  expect_error([] { rustimg::parse_reference("ghcr.io/"); }, ErrorCode::InvalidArgument, "missing repository");
  expect_error([] { rustimg::parse_reference("a..b/app"); }, ErrorCode::InvalidArgument, "bad registry host");
  expect_error([] { rustimg::parse_reference("host:99x/app"); }, ErrorCode::InvalidArgument, "bad registry host");
  expect_error([] { rustimg::parse_reference("ok/a--b__c..d"); }, ErrorCode::InvalidArgument,
               "bad repository path component");
  expect_error([] { rustimg::parse_reference("x.io/" + std::string(260, 'a')); }, ErrorCode::InvalidArgument,
               "255");
  // the message always quotes the input
  expect_error([] { rustimg::parse_reference("UPPER"); }, ErrorCode::InvalidArgument, "\"UPPER\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(platform)

BOOST_AUTO_TEST_CASE(canonical_forms) {
  BOOST_TEST(rustimg::parse_platform("linux/amd64").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("linux/arm64/v8").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("linux/arm64/v8.2").to_string() == "linux/arm64/v8.2");
  BOOST_TEST(rustimg::parse_platform("linux/arm").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("linux/arm/v6").to_string() == "linux/arm/v6");
  BOOST_TEST(rustimg::parse_platform("linux/arm/7").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("linux/amd64/v1").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("linux/amd64/v3").to_string() == "linux/amd64/v3");
  BOOST_TEST(rustimg::parse_platform("LINUX/AMD64").to_string() == "linux/amd64");
}

BOOST_AUTO_TEST_CASE(aliases) {
  BOOST_TEST(rustimg::parse_platform("aarch64").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("linux/aarch64").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("x86_64").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("armhf").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("armel").to_string() == "linux/arm/v6");
  BOOST_TEST(rustimg::parse_platform("i686").to_string() == "linux/386");
  BOOST_TEST(rustimg::parse_platform("ppc64el").to_string() == "linux/ppc64le");
  BOOST_TEST(rustimg::parse_platform("loongarch64").to_string() == "linux/loong64");
  BOOST_TEST(rustimg::normalize_architecture("aarch64").value() == "arm64");
  BOOST_TEST(!rustimg::normalize_architecture("vax").has_value());
}

BOOST_AUTO_TEST_CASE(invalid_platforms) {
  expect_error([] { rustimg::parse_platform(""); }, ErrorCode::InvalidArgument, "empty platform");
  expect_error([] { rustimg::parse_platform("linux/pdp11"); }, ErrorCode::InvalidArgument,
               "unknown architecture \"pdp11\"");
  expect_error([] { rustimg::parse_platform("windows/amd64"); }, ErrorCode::Unsupported, "Linux images only");
  expect_error([] { rustimg::parse_platform("linux/arm64/v8/x"); }, ErrorCode::InvalidArgument, "OS/ARCH");
  expect_error([] { rustimg::parse_platform("linux//v7"); }, ErrorCode::InvalidArgument, "OS/ARCH");
  expect_error([] { rustimg::parse_platform("linux"); }, ErrorCode::InvalidArgument, "missing architecture");
  expect_error([] { rustimg::parse_platform("linux/armhf/v6"); }, ErrorCode::InvalidArgument,
               "already means variant v7");
}

BOOST_AUTO_TEST_CASE(descriptor_variant_and_matching) {
  auto arm64 = rustimg::parse_platform("linux/arm64");
  BOOST_TEST(arm64.descriptor_variant() == "v8");
  BOOST_TEST(rustimg::parse_platform("linux/arm/v7").descriptor_variant() == "v7");
  BOOST_TEST(rustimg::parse_platform("linux/amd64").descriptor_variant() == "");

  auto v7 = rustimg::parse_platform("linux/arm/v7");
  auto v6 = rustimg::parse_platform("linux/arm/v6");
  BOOST_TEST(v7.satisfies(v7));
  BOOST_TEST(!v7.satisfies(v6));
  BOOST_TEST(!arm64.satisfies(v7));
  rustimg::Platform any_arm{"linux", "arm", ""};
  BOOST_TEST(v6.satisfies(any_arm));
}

BOOST_AUTO_TEST_CASE(rust_target_table) {
  using rustimg::Libc;
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/amd64"), Libc::Gnu).triple ==
             "x86_64-unknown-linux-gnu");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm64"), Libc::Musl).triple ==
             "aarch64-unknown-linux-musl");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v7"), Libc::Musl).triple ==
             "armv7-unknown-linux-musleabihf");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v6"), Libc::Gnu).triple ==
             "arm-unknown-linux-gnueabihf");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/riscv64"), Libc::Gnu).triple ==
             "riscv64gc-unknown-linux-gnu");
  expect_error([] { rustimg::rust_target_for(rustimg::parse_platform("linux/s390x"), Libc::Musl); },
               ErrorCode::Unsupported, "no Rust musl target for platform linux/s390x");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/amd64/v3"), Libc::Gnu).triple ==
             "x86_64-unknown-linux-gnu");
  expect_error([] { rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v8"), Libc::Gnu); },
               ErrorCode::Unsupported, "linux/arm/v8");

  auto t = rustimg::find_rust_target("aarch64-unknown-linux-gnu");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->platform.to_string() == "linux/arm64");
  BOOST_TEST(!t->crt_static_default);
  BOOST_TEST(!rustimg::find_rust_target("wasm32-unknown-unknown").has_value());

  // every row round-trips: platform + libc -> the same triple
  for (const auto& row : rustimg::rust_targets())
    BOOST_TEST(rustimg::rust_target_for(row.platform, row.libc).triple == row.triple);
  BOOST_TEST(std::string(rustimg::libc_name(Libc::Musl)) == "musl");
  BOOST_TEST((rustimg::parse_libc("glibc") == Libc::Gnu));
  BOOST_TEST(!rustimg::parse_libc("bionic").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// --- reading OCI documents and walking an image (src/oci/parse.cpp) -----------------

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"

namespace {

namespace oci = rustimg::oci;
namespace mt = rustimg::oci::media_type;
using nlohmann::json;
using oci::ParseMode;

std::string fake_digest(char c) { return "sha256:" + std::string(64, c); }

json desc(const std::string& type, char c, std::int64_t size = 10) {
  return {{"mediaType", type}, {"digest", fake_digest(c)}, {"size", size}};
}

json oci_manifest_doc() {
  return {{"schemaVersion", 2},
          {"mediaType", mt::kOciManifest},
          {"config", desc(mt::kOciConfig, 'c')},
          {"layers", {desc(mt::kOciLayerGzip, 'a'), desc(mt::kOciLayerGzip, 'b')}},
          {"annotations", {{"org.example", "yes"}}},
          {"artifactType", "unknown fields are ignored"}};
}

json index_doc(std::vector<json> children) {
  return {{"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", std::move(children)}};
}

json config_doc() {
  return {{"architecture", "amd64"},
          {"os", "linux"},
          {"created", "2020-01-01T00:00:00Z"},
          {"config",
           {{"User", "1:1"},
            {"Env", {"A=1"}},
            {"Entrypoint", {"/app"}},
            {"Cmd", {"--flag"}},
            {"WorkingDir", "/w"},
            {"ExposedPorts", {{"80/tcp", json::object()}}},
            {"Labels", {{"k", "v"}}},
            {"StopSignal", "SIGTERM"},
            {"Healthcheck", {{"Test", {"CMD", "true"}}, {"Interval", 5}, {"Retries", 3}}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {fake_digest('1'), fake_digest('2')}}}},
          {"history", {{{"created_by", "step"}, {"empty_layer", true}}}}};
}

/// Every mode gives an error with `code` whose message has `needle`.
void expect_both_modes(const std::function<void(ParseMode)>& fn, ErrorCode code, const std::string& needle) {
  for (const ParseMode mode : {ParseMode::Strict, ParseMode::Lenient}) expect_error([&] { fn(mode); }, code, needle);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_parse)

BOOST_AUTO_TEST_CASE(manifest_oci_and_docker) {
  const oci::Manifest m = oci::parse_manifest(oci_manifest_doc().dump(), ParseMode::Strict, "test manifest");
  BOOST_TEST((m.format == oci::Format::Oci));
  BOOST_TEST(m.config.digest == fake_digest('c'));
  BOOST_TEST(m.config.media_type == mt::kOciConfig);
  BOOST_REQUIRE(m.layers.size() == 2u);
  BOOST_TEST(m.layers[1].digest == fake_digest('b'));
  BOOST_TEST(m.annotations.at("org.example") == "yes");

  json docker = oci_manifest_doc();
  docker["mediaType"] = mt::kDockerManifest;
  docker["config"]["mediaType"] = mt::kDockerConfig;
  docker.erase("annotations");
  const oci::Manifest d = oci::parse_manifest(docker.dump(), ParseMode::Strict, "docker manifest");
  BOOST_TEST((d.format == oci::Format::Docker));
  BOOST_TEST(d.config.media_type == mt::kDockerConfig);

  // What we write reads back the same.
  const oci::Manifest again = oci::parse_manifest(oci::canonical_json(m.to_json()), ParseMode::Strict, "again");
  BOOST_TEST(oci::canonical_json(again.to_json()) == oci::canonical_json(m.to_json()));
}

BOOST_AUTO_TEST_CASE(manifest_strict_and_lenient_differ) {
  json no_version = oci_manifest_doc();
  no_version.erase("schemaVersion");
  expect_error([&] { oci::parse_manifest(no_version.dump(), ParseMode::Strict, "m1"); }, ErrorCode::Unsupported,
               "schema version 2");
  BOOST_TEST(oci::parse_manifest(no_version.dump(), ParseMode::Lenient, "m1").layers.size() == 2u);

  json untyped = oci_manifest_doc();
  untyped["layers"][0].erase("mediaType");
  expect_error([&] { oci::parse_manifest(untyped.dump(), ParseMode::Strict, "m2"); }, ErrorCode::InvalidArgument,
               "m2: layers[0]");
  BOOST_TEST(oci::parse_manifest(untyped.dump(), ParseMode::Lenient, "m2").layers[0].media_type == "");

  json no_type = oci_manifest_doc();
  no_type.erase("mediaType");  // optional in both modes
  BOOST_TEST(oci::parse_manifest(no_type.dump(), ParseMode::Strict, "m3").config.digest == fake_digest('c'));
}

BOOST_AUTO_TEST_CASE(manifest_malformed) {
  const auto bad = [](json doc) { return doc.dump(); };
  expect_both_modes([](ParseMode m) { oci::parse_manifest("{", m, "m"); }, ErrorCode::InvalidArgument, "m");
  expect_both_modes([](ParseMode m) { oci::parse_manifest("[1]", m, "m"); }, ErrorCode::InvalidArgument,
                    "m is not a JSON object");
  expect_both_modes([](ParseMode m) { oci::parse_manifest(std::string(128 * 3, '[') , m, "deep"); },
                    ErrorCode::InvalidArgument, "deep");
  const std::string big = "{\"x\":\"" + std::string(oci::kMaxManifestBytes, 'x') + "\"}";
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(big, m, "big"); }, ErrorCode::InvalidArgument,
                    "more than the 4 MiB");
  json no_config = oci_manifest_doc();
  no_config.erase("config");
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(no_config), m, "m"); }, ErrorCode::InvalidArgument,
                    "m has no \"config\"");
  json layers_object = oci_manifest_doc();
  layers_object["layers"] = json::object();
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(layers_object), m, "m"); },
                    ErrorCode::InvalidArgument, "\"layers\" is not an array");
  json bad_digest = oci_manifest_doc();
  bad_digest["config"]["digest"] = "sha256:XYZ";
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(bad_digest), m, "m"); }, ErrorCode::InvalidArgument,
                    "m: config: invalid OCI descriptor: bad digest");
  json negative = oci_manifest_doc();
  negative["layers"][1]["size"] = -1;
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(negative), m, "m"); }, ErrorCode::InvalidArgument,
                    "not a non-negative integer");
  json zero = oci_manifest_doc();
  zero["layers"][1]["size"] = 0;
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(zero), m, "m"); }, ErrorCode::InvalidArgument,
                    "only the empty blob has size 0");
  json no_size = oci_manifest_doc();
  no_size["layers"][0].erase("size");
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(no_size), m, "m"); }, ErrorCode::InvalidArgument,
                    "\"size\" is missing");
  json bad_platform = oci_manifest_doc();
  bad_platform["layers"][0]["platform"] = {{"os", 5}};
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(bad_platform), m, "m"); },
                    ErrorCode::InvalidArgument, "platform \"os\" is not a string");
  json type_number = oci_manifest_doc();
  type_number["mediaType"] = 7;
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(type_number), m, "m"); }, ErrorCode::InvalidArgument,
                    "\"mediaType\" is not a string");
  // Well-formed documents of another kind.
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(index_doc({})), m, "m"); }, ErrorCode::Unsupported,
                    "not an image manifest");
  json schema1 = oci_manifest_doc();
  schema1["schemaVersion"] = 1;
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(schema1), m, "m"); }, ErrorCode::Unsupported,
                    "schema version 2");
  json artifact = oci_manifest_doc();
  artifact["mediaType"] = "application/vnd.example+json";
  expect_both_modes([&](ParseMode m) { oci::parse_manifest(bad(artifact), m, "m"); }, ErrorCode::Unsupported,
                    "application/vnd.example+json");
}

BOOST_AUTO_TEST_CASE(index_oci_and_docker_with_platforms) {
  json arm = desc(mt::kOciManifest, '1');
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
  json odd = desc(mt::kOciManifest, '2');
  odd["platform"] = {{"os", "linux"}, {"architecture", "mips64le"}};
  json doc = index_doc({arm, odd});
  doc["annotations"] = {{"a", "b"}};
  const oci::Index i = oci::parse_index(doc.dump(), ParseMode::Strict, "idx");
  BOOST_TEST((i.format == oci::Format::Oci));
  BOOST_REQUIRE(i.manifests.size() == 2u);
  BOOST_TEST(i.manifests[0].platform->to_string() == "linux/arm64");  // canonical form
  BOOST_TEST(i.manifests[1].platform->architecture == "mips64le");    // unknown: kept as written
  BOOST_TEST(i.annotations.at("a") == "b");

  json list = index_doc({desc(mt::kDockerManifest, '3')});
  list["mediaType"] = mt::kDockerManifestList;
  BOOST_TEST((oci::parse_index(list.dump(), ParseMode::Strict, "list").format == oci::Format::Docker));

  json untyped = index_doc({{{"digest", fake_digest('4')}, {"size", 3}}});
  expect_error([&] { oci::parse_index(untyped.dump(), ParseMode::Strict, "idx"); }, ErrorCode::InvalidArgument,
               "idx: manifests[0]");
  BOOST_TEST(oci::parse_index(untyped.dump(), ParseMode::Lenient, "idx").manifests[0].media_type == "");

  json bad_list = index_doc({});
  bad_list["manifests"] = "x";
  expect_both_modes([&](ParseMode m) { oci::parse_index(bad_list.dump(), m, "idx"); }, ErrorCode::InvalidArgument,
                    "idx: \"manifests\" is not an array");
  expect_both_modes([](ParseMode m) { oci::parse_index(oci_manifest_doc().dump(), m, "idx"); },
                    ErrorCode::Unsupported, "not an image index");
  json shaped = oci_manifest_doc();
  shaped.erase("mediaType");
  expect_both_modes([&](ParseMode m) { oci::parse_index(shaped.dump(), m, "idx"); }, ErrorCode::Unsupported,
                    "is an image manifest");
}

BOOST_AUTO_TEST_CASE(config_fields) {
  const oci::ImageConfig c = oci::parse_config(config_doc().dump(), ParseMode::Strict, "cfg");
  BOOST_TEST(c.platform.to_string() == "linux/amd64");
  BOOST_TEST(c.created == "2020-01-01T00:00:00Z");
  BOOST_TEST(c.user == "1:1");
  BOOST_TEST(c.env == std::vector<std::string>{"A=1"});
  BOOST_TEST(c.entrypoint == std::vector<std::string>{"/app"});
  BOOST_TEST(c.cmd == std::vector<std::string>{"--flag"});
  BOOST_TEST(c.working_dir == "/w");
  BOOST_TEST(c.exposed_ports == std::vector<std::string>{"80/tcp"});
  BOOST_TEST(c.labels.at("k") == "v");
  BOOST_TEST(c.stop_signal == "SIGTERM");
  BOOST_REQUIRE(c.healthcheck.has_value());
  BOOST_TEST(c.healthcheck->interval_ns == 5);
  BOOST_TEST(c.healthcheck->retries == 3);
  BOOST_TEST(c.diff_ids == (std::vector<std::string>{fake_digest('1'), fake_digest('2')}));
  BOOST_REQUIRE(c.history.size() == 1u);
  BOOST_TEST(c.history[0].empty_layer);

  // What we write reads back the same.
  const std::string ours = oci::canonical_json(c.to_json());
  BOOST_TEST(oci::canonical_json(oci::parse_config(ours, ParseMode::Strict, "ours").to_json()) == ours);

  json arm = config_doc();
  arm["architecture"] = "aarch64";
  BOOST_TEST(oci::parse_config(arm.dump(), ParseMode::Strict, "cfg").platform.to_string() == "linux/arm64");
  arm["architecture"] = "sparc";
  BOOST_TEST(oci::parse_config(arm.dump(), ParseMode::Strict, "cfg").platform.architecture == "sparc");
}

BOOST_AUTO_TEST_CASE(config_strict_and_lenient_differ) {
  const json sparse = {{"architecture", "amd64"}};
  expect_error([&] { oci::parse_config(sparse.dump(), ParseMode::Strict, "cfg"); }, ErrorCode::InvalidArgument,
               "cfg has no \"os\"");
  BOOST_TEST(oci::parse_config(sparse.dump(), ParseMode::Lenient, "cfg").diff_ids.empty());
  json no_rootfs = config_doc();
  no_rootfs.erase("rootfs");
  expect_error([&] { oci::parse_config(no_rootfs.dump(), ParseMode::Strict, "cfg"); }, ErrorCode::InvalidArgument,
               "cfg has no \"rootfs\"");
  json odd_os = config_doc();
  odd_os["os"] = 5;
  expect_error([&] { oci::parse_config(odd_os.dump(), ParseMode::Strict, "cfg"); }, ErrorCode::InvalidArgument,
               "cfg: \"os\" is not a string");
  BOOST_TEST(oci::parse_config(odd_os.dump(), ParseMode::Lenient, "cfg").platform.os == "");
  json odd_history = config_doc();
  odd_history["history"] = "x";
  expect_error([&] { oci::parse_config(odd_history.dump(), ParseMode::Strict, "cfg"); }, ErrorCode::InvalidArgument,
               "\"history\" is not an array");
  BOOST_TEST(oci::parse_config(odd_history.dump(), ParseMode::Lenient, "cfg").history.empty());
  // The parsed-document form reads the same.
  BOOST_TEST(oci::config_from_json(config_doc(), ParseMode::Strict, "cfg").user == "1:1");
}

BOOST_AUTO_TEST_CASE(config_malformed) {
  const auto with = [](const char* key, json value) {
    json doc = config_doc();
    doc["config"][key] = std::move(value);
    return doc.dump();
  };
  expect_both_modes([&](ParseMode m) { oci::parse_config(with("Env", "A=1"), m, "cfg"); }, ErrorCode::InvalidArgument,
                    "cfg config: \"Env\" is not an array of strings");
  expect_both_modes([&](ParseMode m) { oci::parse_config(with("User", 1), m, "cfg"); }, ErrorCode::InvalidArgument,
                    "\"User\" is not a string");
  expect_both_modes([&](ParseMode m) { oci::parse_config(with("Labels", {{"k", 1}}), m, "cfg"); },
                    ErrorCode::InvalidArgument, "label \"k\" is not a string");
  expect_both_modes([&](ParseMode m) { oci::parse_config(with("ExposedPorts", json::array()), m, "cfg"); },
                    ErrorCode::InvalidArgument, "\"ExposedPorts\" is not an object");
  expect_both_modes([&](ParseMode m) { oci::parse_config(with("Healthcheck", {{"Interval", "5s"}}), m, "cfg"); },
                    ErrorCode::InvalidArgument, "\"Interval\" is not an integer");
  json bad_diff = config_doc();
  bad_diff["rootfs"]["diff_ids"] = {"sha256:nothex"};
  expect_both_modes([&](ParseMode m) { oci::parse_config(bad_diff.dump(), m, "cfg"); }, ErrorCode::InvalidArgument,
                    "diff_id \"sha256:nothex\" is not a valid digest");
  json rootfs_list = config_doc();
  rootfs_list["rootfs"] = json::array();
  expect_both_modes([&](ParseMode m) { oci::parse_config(rootfs_list.dump(), m, "cfg"); }, ErrorCode::InvalidArgument,
                    "\"rootfs\" is not an object");
  json runtime_list = config_doc();
  runtime_list["config"] = json::array();
  expect_both_modes([&](ParseMode m) { oci::parse_config(runtime_list.dump(), m, "cfg"); },
                    ErrorCode::InvalidArgument, "\"config\" is not an object");
  const std::string big = "{\"x\":\"" + std::string(oci::kMaxConfigBytes, 'x') + "\"}";
  expect_both_modes([&](ParseMode m) { oci::parse_config(big, m, "cfg"); }, ErrorCode::InvalidArgument,
                    "more than the 4 MiB");
}

BOOST_AUTO_TEST_CASE(document_by_its_own_type) {
  const oci::Document m = oci::parse_document(oci_manifest_doc().dump(), "", ParseMode::Strict, "doc");
  BOOST_TEST(m.media_type == mt::kOciManifest);
  BOOST_TEST(!m.is_index());
  BOOST_REQUIRE(m.children().size() == 3u);  // config, then layers
  BOOST_TEST(m.children()[0].digest == fake_digest('c'));
  expect_error([&] { (void)m.index(); }, ErrorCode::InvalidArgument, "not an image index");

  json list = index_doc({desc(mt::kDockerManifest, '3')});
  list.erase("mediaType");
  const oci::Document i = oci::parse_document(list.dump(), mt::kOciIndex, ParseMode::Strict, "doc");
  BOOST_TEST(i.is_index());
  BOOST_TEST(i.media_type == mt::kOciIndex);
  BOOST_TEST(i.index().manifests.size() == 1u);

  expect_both_modes([](ParseMode mode) { oci::parse_document(oci_manifest_doc().dump(), mt::kOciIndex, mode, "doc"); },
                    ErrorCode::InvalidArgument, "media type lies");
  json both = oci_manifest_doc();
  both["manifests"] = json::array();
  both.erase("mediaType");
  expect_both_modes([&](ParseMode mode) { oci::parse_document(both.dump(), "", mode, "doc"); },
                    ErrorCode::InvalidArgument, "has both");
}

BOOST_AUTO_TEST_CASE(layout_index_keeps_other_entries) {
  const oci::Descriptor top{mt::kOciManifest, fake_digest('1'), 10, {}, {}, {}};
  const json fresh = json::parse(oci::layout_index_with(std::nullopt, top, "v1", "index.json"));
  BOOST_REQUIRE(fresh["manifests"].size() == 1u);
  BOOST_TEST(fresh["manifests"][0]["annotations"][oci::annotation::kRefName] == "v1");

  json existing = fresh;
  existing["manifests"][0]["urls"] = {"kept as written"};
  existing["manifests"].push_back(desc(mt::kOciManifest, '2'));
  const oci::Descriptor next{mt::kOciManifest, fake_digest('3'), 10, {}, {}, {}};
  const json out = json::parse(oci::layout_index_with(existing.dump(), next, "v2", "index.json"));
  BOOST_REQUIRE(out["manifests"].size() == 3u);
  BOOST_TEST(out["manifests"][0]["urls"][0] == "kept as written");
  const json replaced = json::parse(oci::layout_index_with(out.dump(), next, "v1", "index.json"));
  BOOST_REQUIRE(replaced["manifests"].size() == 3u);  // the old v1 entry is gone
  BOOST_TEST(replaced["manifests"][2]["digest"] == fake_digest('3'));

  expect_error([] { oci::layout_index_with(std::string_view("{"), {}, "v1", "my index.json"); },
               ErrorCode::InvalidArgument, "repair or remove it");
  expect_error([] { oci::layout_index_with(std::string_view("{\"manifests\":5}"), {}, "v1", "my index.json"); },
               ErrorCode::InvalidArgument, "my index.json is not an OCI image index");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(oci_walk)

namespace {

/// Documents by digest (fake digests: the walker does not verify them).
struct Docs {
  std::map<std::string, std::string> by_digest;
  std::vector<std::string> fetched;

  oci::Descriptor add(char c, const std::string& type, const json& doc) {
    by_digest[fake_digest(c)] = doc.dump();
    return oci::Descriptor::from_json(desc(type, c));
  }
  oci::FetchDocument fetch() {
    return [this](const oci::Descriptor& d) {
      fetched.push_back(d.digest);
      const auto it = by_digest.find(d.digest);
      if (it == by_digest.end()) throw rustimg::Error(ErrorCode::NotFound, "no " + d.digest);
      return it->second;
    };
  }
};

json image_manifest(char config, std::vector<char> layers) {
  json list = json::array();
  for (char l : layers) list.push_back(desc(mt::kOciLayerGzip, l));
  return {{"schemaVersion", 2}, {"mediaType", mt::kOciManifest}, {"config", desc(mt::kOciConfig, config)},
          {"layers", list}};
}

std::string letters(const std::vector<oci::WalkNode>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += n.descriptor.digest.back();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(order_and_dedup) {
  // index 1 -> manifests 2 (config c, layers a, b) and 3 (config d, layers b, e)
  Docs docs;
  const oci::Descriptor m = docs.add('2', mt::kOciManifest, image_manifest('c', {'a', 'b'}));
  const oci::Descriptor n = docs.add('3', mt::kOciManifest, image_manifest('d', {'b', 'e'}));
  const oci::Descriptor i = docs.add('1', mt::kOciIndex, index_doc({m.to_json(), n.to_json()}));

  const auto parents = oci::walk(i, docs.fetch(), {}, "test image");
  BOOST_TEST(letters(parents) == "12cab3de");  // b once, where first reached
  BOOST_TEST(parents[0].depth == 0);
  BOOST_TEST(parents[1].depth == 1);
  BOOST_TEST(parents[2].depth == 2);
  BOOST_REQUIRE(parents[0].document.has_value());
  BOOST_TEST(parents[0].document->is_index());
  BOOST_TEST(!parents[2].document.has_value());  // a config is a leaf
  BOOST_TEST(parents[1].bytes == docs.by_digest[fake_digest('2')]);

  oci::WalkOptions children_first;
  children_first.order = oci::WalkOrder::ChildrenFirst;
  const auto push_order = oci::walk(i, docs.fetch(), children_first, "test image");
  BOOST_TEST(letters(push_order) == "cab2de31");  // every node after all of its children

  // A single manifest, and only documents are fetched.
  docs.fetched.clear();
  BOOST_TEST(letters(oci::walk(m, docs.fetch(), {}, "test image")) == "2cab");
  BOOST_TEST(docs.fetched == std::vector<std::string>{fake_digest('2')});
}

BOOST_AUTO_TEST_CASE(select_prunes_children) {
  Docs docs;
  const oci::Descriptor m = docs.add('2', mt::kOciManifest, image_manifest('c', {'a'}));
  const oci::Descriptor n = docs.add('3', mt::kOciManifest, image_manifest('d', {'e'}));
  const oci::Descriptor i = docs.add('1', mt::kOciIndex, index_doc({m.to_json(), n.to_json()}));
  oci::WalkOptions second_only;
  second_only.select = [](const oci::WalkNode& node, std::vector<oci::Descriptor> children) {
    if (node.document->is_index()) return std::vector<oci::Descriptor>{children.back()};
    return children;
  };
  BOOST_TEST(letters(oci::walk(i, docs.fetch(), second_only, "test image")) == "13de");
}

BOOST_AUTO_TEST_CASE(untyped_index_children_are_documents_in_lenient_mode) {
  Docs docs;
  const oci::Descriptor m = docs.add('2', mt::kOciManifest, image_manifest('c', {'a'}));
  json child = m.to_json();
  child.erase("mediaType");
  json artifact = desc("application/vnd.example.sbom", 'f');
  const oci::Descriptor i = docs.add('1', mt::kOciIndex, index_doc({child, artifact}));
  oci::WalkOptions lenient;
  lenient.mode = ParseMode::Lenient;
  const auto nodes = oci::walk(i, docs.fetch(), lenient, "test image");
  BOOST_TEST(letters(nodes) == "12caf");  // f: not a manifest type, a leaf
  BOOST_TEST(nodes[1].document->media_type == mt::kOciManifest);
  expect_error([&] { oci::walk(i, docs.fetch(), {}, "test image"); }, ErrorCode::InvalidArgument, "manifests[0]");
}

BOOST_AUTO_TEST_CASE(depth_limit) {
  // A chain of indexes: index k refers to index k+1; the last one to a manifest.
  auto chain = [](int levels) {
    Docs docs;
    oci::Descriptor below = docs.add('f', mt::kOciManifest, image_manifest('c', {'a'}));
    for (int k = levels - 1; k >= 0; --k)
      below = docs.add(static_cast<char>('0' + k), mt::kOciIndex, index_doc({below.to_json()}));
    return std::make_pair(std::move(docs), below);
  };
  {
    auto [docs, top] = chain(oci::kMaxIndexDepth);  // the manifest at depth kMaxIndexDepth: allowed
    BOOST_TEST(oci::walk(top, docs.fetch(), {}, "deep image").size() ==
               static_cast<std::size_t>(oci::kMaxIndexDepth + 3));
  }
  {
    auto [docs, top] = chain(oci::kMaxIndexDepth + 1);
    expect_error([&] { oci::walk(top, docs.fetch(), {}, "deep image"); }, ErrorCode::InvalidArgument,
                 "deep image nests indexes deeper than 8 levels");
  }
}

BOOST_AUTO_TEST_CASE(cycle_is_refused) {
  Docs docs;
  const oci::Descriptor a = oci::Descriptor::from_json(desc(mt::kOciIndex, '1'));
  const oci::Descriptor b = docs.add('2', mt::kOciIndex, index_doc({a.to_json()}));
  docs.by_digest[a.digest] = index_doc({b.to_json()}).dump();
  expect_error([&] { oci::walk(a, docs.fetch(), {}, "looping image"); }, ErrorCode::InvalidArgument, "a cycle");
  // A document that is missing: the fetch error passes through.
  const oci::Descriptor gone = oci::Descriptor::from_json(desc(mt::kOciManifest, '9'));
  expect_error([&] { oci::walk(gone, docs.fetch(), {}, "x"); }, ErrorCode::NotFound, "no " + gone.digest);
}

BOOST_AUTO_TEST_SUITE_END()
