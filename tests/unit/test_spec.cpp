// The image spec: validation messages, merging, defaults, load_spec.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/spec.hpp"
#include "test_support.hpp"

using nlohmann::json;
using rustimg::Spec;
using rustimg::test::ScratchDir;
using rustimg::SpecLayer;
namespace fs = std::filesystem;

namespace {

using Strings = std::vector<std::string>;

/// The diagnostics of resolving `layers`, as "source: path: message" lines.
Strings layer_errors(const std::vector<SpecLayer>& layers, const fs::path& crate_dir = {}) {
  try {
    rustimg::resolve_spec(layers, crate_dir);
  } catch (const rustimg::SpecError& e) {
    Strings out;
    for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
    return out;
  }
  return {};
}

/// The diagnostics of one layer read from "rustimg.json".
Strings errors_of(const json& layer) { return layer_errors({SpecLayer{"rustimg.json", layer}}); }

Spec resolve(const json& layer, const fs::path& crate_dir = {}) {
  return rustimg::resolve_spec({SpecLayer{"rustimg.json", layer}}, crate_dir);
}

/// What a rustimg function throws, for messages the spec passes through.
template <class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const rustimg::Error& e) {
    return e.what();
  }
  BOOST_FAIL("expected an error");
  return {};
}

/// Each (layer, message) pair: the layer yields exactly that one diagnostic.
void expect_each(const std::vector<std::pair<json, std::string>>& cases) {
  for (const auto& [layer, message] : cases) {
    BOOST_TEST_CONTEXT("layer " << layer.dump()) {
      BOOST_TEST(errors_of(layer) == Strings{message}, boost::test_tools::per_element());
    }
  }
}

std::string known_triples() {
  std::string out;
  for (const auto& t : rustimg::rust_targets()) out += (out.empty() ? "" : ", ") + t.triple;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spec)

// --- defaults and accepted values ----------------------------------------------

BOOST_AUTO_TEST_CASE(defaults) {
  const Spec s = resolve(json::object());
  const rustimg::Platform host = rustimg::host_platform();
  BOOST_TEST(s.package.empty());
  BOOST_TEST(s.bin.empty());
  BOOST_TEST(s.profile == "rustimg");
  BOOST_TEST(s.default_features);
  BOOST_TEST(!s.all_features);
  BOOST_TEST(std::string(rustimg::size_optimize_name(s.size_optimize)) == "release");
  BOOST_TEST(s.to_json()["size-optimize"] == "release");
  BOOST_TEST(std::string(rustimg::libc_name(s.libc)) == "gnu");
  BOOST_TEST(s.locked);
  BOOST_TEST(!s.offline);
  BOOST_TEST(s.platforms.size() == 1u);
  BOOST_TEST(s.platforms.at(0).to_string() == host.to_string());
  BOOST_TEST(s.targets == Strings{rustimg::rust_target_for(host, rustimg::Libc::Gnu).triple},
             boost::test_tools::per_element());
  BOOST_TEST(s.base == "static");
  BOOST_TEST(s.entrypoint.empty());  // no bin known
  BOOST_TEST(s.workdir == "/");
  BOOST_TEST(s.user == "65532:65532");
  BOOST_TEST(s.ports.empty());
  BOOST_TEST(!s.healthcheck.has_value());
  BOOST_TEST(std::string(rustimg::to_string(s.compression)) == "gzip");
  BOOST_TEST(s.compression_level == 0);  // the compression's default
  BOOST_TEST(s.to_json()["compression-level"].is_null());
  BOOST_TEST(s.ca_certificates);
  BOOST_TEST(s.ca_bundle.empty());
  BOOST_TEST(!s.tzdata);
}

BOOST_AUTO_TEST_CASE(size_optimize_choices_and_old_booleans) {
  using rustimg::SizeOptimize;
  for (const auto& [value, want] : std::vector<std::pair<json, std::string>>{
           {"release", "release"}, {"small", "small"}, {"min", "min"}, {"none", "none"},
           {true, "min"},  // what true always meant
           {false, "none"}}) {
    BOOST_TEST_CONTEXT("size-optimize " << value.dump()) {
      const Spec s = resolve({{"size-optimize", value}});
      BOOST_TEST(rustimg::size_optimize_name(s.size_optimize) == want);
      BOOST_TEST(s.to_json()["size-optimize"] == want);  // resolved specs show the string
    }
  }
  BOOST_TEST((resolve({{"size-optimize", "small"}}).size_optimize == SizeOptimize::Small));
}

BOOST_AUTO_TEST_CASE(entrypoint_defaults_to_the_bin) {
  BOOST_TEST(resolve({{"bin", "app"}}).entrypoint == Strings{"/usr/local/bin/app"}, boost::test_tools::per_element());
  BOOST_TEST(resolve({{"bin", "app"}, {"entrypoint", "/app"}}).entrypoint == Strings{"/app"},
             boost::test_tools::per_element());
  BOOST_TEST(resolve({{"bin", "app"}, {"entrypoint", json::array()}}).entrypoint.empty());
}

BOOST_AUTO_TEST_CASE(commands_accept_a_string_or_an_array) {
  const Spec s = resolve({{"entrypoint", "/app"}, {"cmd", {"serve", "--port", "80"}}});
  BOOST_TEST(s.entrypoint == Strings{"/app"}, boost::test_tools::per_element());
  BOOST_TEST(s.cmd == (Strings{"serve", "--port", "80"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ports_are_normalised) {
  const Spec s = resolve({{"ports", {8080, "53/udp", "8080/tcp", "9000", "132/sctp"}}});
  BOOST_TEST(s.ports == (Strings{"8080/tcp", "53/udp", "9000/tcp", "132/sctp"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(user_forms) {
  BOOST_TEST(resolve({{"user", 1000}}).user == "1000");
  BOOST_TEST(resolve({{"user", "1000:2000"}}).user == "1000:2000");
  BOOST_TEST(resolve({{"user", "nonroot"}}).user == "nonroot");
  BOOST_TEST(resolve({{"user", "app:staff"}}).user == "app:staff");
}

BOOST_AUTO_TEST_CASE(stop_signal_forms) {
  BOOST_TEST(resolve({{"stop-signal", "SIGINT"}}).stop_signal == "SIGINT");
  BOOST_TEST(resolve({{"stop-signal", "TERM"}}).stop_signal == "SIGTERM");
  BOOST_TEST(resolve({{"stop-signal", "SIGRTMIN+3"}}).stop_signal == "SIGRTMIN+3");
  BOOST_TEST(resolve({{"stop-signal", "15"}}).stop_signal == "15");
  BOOST_TEST(resolve({{"stop-signal", 9}}).stop_signal == "9");
}

BOOST_AUTO_TEST_CASE(healthcheck_durations) {
  const Spec s = resolve({{"healthcheck",
                           {{"test", {"CMD", "/app", "--health"}},
                            {"interval", "1m30s"},
                            {"timeout", "500ms"},
                            {"start-period", "1.5h"},
                            {"retries", 3}}}});
  BOOST_REQUIRE(s.healthcheck.has_value());
  BOOST_TEST(s.healthcheck->test == (Strings{"CMD", "/app", "--health"}), boost::test_tools::per_element());
  BOOST_TEST(s.healthcheck->interval_ns == 90'000'000'000);
  BOOST_TEST(s.healthcheck->timeout_ns == 500'000'000);
  BOOST_TEST(s.healthcheck->start_period_ns == 5'400'000'000'000);
  BOOST_TEST(s.healthcheck->retries == 3);
  BOOST_TEST(resolve({{"healthcheck", {{"test", {"NONE"}}, {"interval", "0"}}}}).healthcheck->interval_ns == 0);
}

BOOST_AUTO_TEST_CASE(assets_and_modes) {
  const Spec s = resolve({{"assets",
                           {{{"source", "static/**"}, {"dest", "/srv/static/"}, {"mode", "0644"}, {"owner", "1000"}},
                            {{"source", "a/../conf.toml"}, {"dest", "/etc/app.toml"}, {"mode", 493}, {"owner", 7}},
                            {{"source", "x"}, {"dest", "/x"}, {"owner", "1:2"}}}}});
  BOOST_REQUIRE(s.assets.size() == 3u);
  BOOST_TEST(s.assets[0].source == "static/**");
  BOOST_TEST(s.assets[0].dest == "/srv/static/");
  BOOST_TEST(*s.assets[0].mode == 0644u);
  BOOST_TEST(s.assets[0].uid == 1000u);
  BOOST_TEST(s.assets[0].gid == 1000u);  // gid defaults to the uid
  BOOST_TEST(*s.assets[1].mode == 0755u);
  BOOST_TEST(s.assets[1].uid == 7u);
  BOOST_TEST(!s.assets[2].mode.has_value());
  BOOST_TEST(s.assets[2].gid == 2u);
}

BOOST_AUTO_TEST_CASE(ca_certificates_forms) {
  BOOST_TEST(!resolve({{"ca-certificates", false}}).ca_certificates);
  const Spec s = resolve({{"ca-certificates", "certs/ca.pem"}}, "/src/crate");
  BOOST_TEST(s.ca_certificates);
  BOOST_TEST(s.ca_bundle == "certs/ca.pem");  // relative to the crate; the build resolves it there
  BOOST_TEST(resolve({{"ca-certificates", "./certs/x/../ca.pem"}}, "/src/crate").ca_bundle == "certs/ca.pem");
  const Spec host = resolve({{"ca-certificates", true}}, "/src/crate");
  BOOST_TEST(host.ca_certificates);
  BOOST_TEST(host.ca_bundle.empty());
}

BOOST_AUTO_TEST_CASE(platforms_map_to_targets_for_the_libc) {
  const Spec s = resolve({{"platforms", {"linux/amd64", "arm64"}}, {"libc", "musl"}});
  BOOST_TEST(s.targets == (Strings{"x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"}),
             boost::test_tools::per_element());
  BOOST_TEST(s.platforms.at(1).to_string() == "linux/arm64");
}

BOOST_AUTO_TEST_CASE(targets_give_platforms_and_libc) {
  const Spec s = resolve({{"targets", {"aarch64-unknown-linux-musl", "armv7-unknown-linux-musleabihf"}}});
  BOOST_TEST(std::string(rustimg::libc_name(s.libc)) == "musl");
  BOOST_REQUIRE(s.platforms.size() == 2u);
  BOOST_TEST(s.platforms[0].to_string() == "linux/arm64");
  BOOST_TEST(s.platforms[1].to_string() == "linux/arm/v7");
}

BOOST_AUTO_TEST_CASE(target_settings) {
  const Spec s = resolve({{"target",
                           {{"aarch64-unknown-linux-musl",
                             {{"linker", "aarch64-linux-musl-gcc"},
                              {"rustflags", {"-Ctarget-cpu=neoverse-n1"}},
                              {"env", {{"CC_aarch64_unknown_linux_musl", "aarch64-linux-musl-gcc"}}}}}}}});
  const auto& t = s.target.at("aarch64-unknown-linux-musl");
  BOOST_TEST(t.linker == "aarch64-linux-musl-gcc");
  BOOST_TEST(t.rustflags == Strings{"-Ctarget-cpu=neoverse-n1"}, boost::test_tools::per_element());
  BOOST_TEST(t.env.at("CC_aarch64_unknown_linux_musl") == "aarch64-linux-musl-gcc");
}

// --- the SBOM format ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sbom_format) {
  BOOST_TEST(resolve(json::object()).sbom == "spdx");  // on by default
  BOOST_TEST(resolve({{"sbom", "cyclonedx"}}).sbom == "cyclonedx");
  BOOST_TEST(resolve({{"sbom", "none"}}).sbom.empty());
  BOOST_TEST(resolve({{"sbom", false}}).sbom.empty());
  BOOST_TEST(resolve({{"sbom", false}}).to_json()["sbom"] == false);
  BOOST_TEST(resolve({{"sbom", "cyclonedx"}}).to_json()["sbom"] == "cyclonedx");
}

BOOST_AUTO_TEST_CASE(base_key_is_a_file_inside_the_crate) {
  BOOST_TEST(resolve(json::object()).base_key.empty());
  BOOST_TEST(resolve({{"base-key", "./keys/../keys/base.pub"}}).base_key == "keys/base.pub");
  BOOST_TEST(resolve({{"base-key", "keys/base.pub"}}).to_json()["base-key"] == "keys/base.pub");
  BOOST_TEST(resolve(json::object()).to_json()["base-key"].is_null());
  for (const auto& [value, says] : std::vector<std::pair<json, std::string>>{
           {"/etc/keys/base.pub", "rustimg.json: $.base-key: must be relative to the crate directory"},
           {"../base.pub", "rustimg.json: $.base-key: \"../base.pub\" points outside the crate directory"},
           {1, "rustimg.json: $.base-key: expected a string, got a number"}}) {
    const Strings errors = errors_of({{"base-key", value}});
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].rfind(says, 0) == 0u, errors[0]);
    if (!value.is_number()) BOOST_TEST(errors[0].find("--base-key FILE") != std::string::npos, errors[0]);
  }
}

BOOST_AUTO_TEST_CASE(provenance_switch) {
  BOOST_TEST(resolve(json::object()).provenance);  // on by default
  BOOST_TEST(!resolve({{"provenance", false}}).provenance);
  BOOST_TEST(resolve({{"provenance", false}}).to_json()["provenance"] == false);
  BOOST_TEST(resolve(json::object()).to_json()["provenance"] == true);
}

// --- wrong types ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(wrong_types) {
  expect_each({
      {{{"package", 1}}, "rustimg.json: $.package: expected a string, got a number"},
      {{{"bin", true}}, "rustimg.json: $.bin: expected a string, got a boolean"},
      {{{"profile", json::array()}}, "rustimg.json: $.profile: expected a string, got an array"},
      {{{"features", "x"}}, "rustimg.json: $.features: expected an array, got a string"},
      {{{"features", {"a", 1}}}, "rustimg.json: $.features[1]: expected a string, got a number"},
      {{{"default-features", "yes"}}, "rustimg.json: $.default-features: expected a boolean, got a string"},
      {{{"all-features", 1}}, "rustimg.json: $.all-features: expected a boolean, got a number"},
      {{{"size-optimize", json::object()}},
       "rustimg.json: $.size-optimize: expected \"release\", \"small\", \"min\" or \"none\" (or a boolean), got an object"},
      {{{"locked", "true"}}, "rustimg.json: $.locked: expected a boolean, got a string"},
      {{{"offline", 0}}, "rustimg.json: $.offline: expected a boolean, got a number"},
      {{{"tzdata", "no"}}, "rustimg.json: $.tzdata: expected a boolean, got a string"},
      {{{"sbom", 1}}, "rustimg.json: $.sbom: expected \"spdx\", \"cyclonedx\", \"none\" or false, got a number"},
      {{{"sbom", true}},
       "rustimg.json: $.sbom: expected \"spdx\", \"cyclonedx\", \"none\" or false, got a boolean"},
      {{{"provenance", "yes"}}, "rustimg.json: $.provenance: expected a boolean, got a string"},
      {{{"libc", 1}}, "rustimg.json: $.libc: expected a string, got a number"},
      {{{"platforms", "linux/amd64"}}, "rustimg.json: $.platforms: expected an array, got a string"},
      {{{"platforms", {1}}}, "rustimg.json: $.platforms[0]: expected a string, got a number"},
      {{{"targets", json::object()}}, "rustimg.json: $.targets: expected an array, got an object"},
      {{{"target", json::array()}}, "rustimg.json: $.target: expected an object, got an array"},
      {{{"target", {{"x86_64-unknown-linux-musl", "gcc"}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-musl: expected an object, got a string"},
      {{{"target", {{"x86_64-unknown-linux-musl", {{"linker", 1}}}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-musl.linker: expected a string, got a number"},
      {{{"target", {{"x86_64-unknown-linux-musl", {{"rustflags", "-Copt-level=3"}}}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-musl.rustflags: expected an array, got a string"},
      {{{"target", {{"x86_64-unknown-linux-musl", {{"env", {{"CC", 1}}}}}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-musl.env.CC: expected a string, got a number"},
      {{{"base", 1}}, "rustimg.json: $.base: expected a string, got a number"},
      {{{"entrypoint", json::object()}},
       "rustimg.json: $.entrypoint: expected an array of strings or a string, got an object"},
      {{{"cmd", {"a", false}}}, "rustimg.json: $.cmd[1]: expected a string, got a boolean"},
      {{{"env", {{"PORT", 8080}}}}, "rustimg.json: $.env.PORT: expected a string, got a number"},
      {{{"env", json::array()}}, "rustimg.json: $.env: expected an object, got an array"},
      {{{"workdir", 1}}, "rustimg.json: $.workdir: expected a string, got a number"},
      {{{"user", true}}, "rustimg.json: $.user: expected a string or a number, got a boolean"},
      {{{"ports", 8080}}, "rustimg.json: $.ports: expected an array, got a number"},
      {{{"ports", {true}}}, "rustimg.json: $.ports[0]: expected a number or a string, got a boolean"},
      {{{"labels", {{"org.example.a", nullptr}}}},
       "rustimg.json: $.labels[\"org.example.a\"]: expected a string, got null"},
      {{{"annotations", "x"}}, "rustimg.json: $.annotations: expected an object, got a string"},
      {{{"stop-signal", true}}, "rustimg.json: $.stop-signal: expected a string or a number, got a boolean"},
      {{{"healthcheck", "curl localhost"}}, "rustimg.json: $.healthcheck: expected an object, got a string"},
      {{{"healthcheck", {{"test", {"CMD", "/x"}}, {"interval", 30}}}},
       "rustimg.json: $.healthcheck.interval: expected a string, got a number"},
      {{{"healthcheck", {{"test", {"CMD", "/x"}}, {"retries", "3"}}}},
       "rustimg.json: $.healthcheck.retries: expected a number, got a string"},
      {{{"tags", "latest"}}, "rustimg.json: $.tags: expected an array, got a string"},
      {{{"compression", false}}, "rustimg.json: $.compression: expected a string, got a boolean"},
      {{{"assets", json::object()}}, "rustimg.json: $.assets: expected an array, got an object"},
      {{{"assets", {1}}}, "rustimg.json: $.assets[0]: expected an object, got a number"},
      {{{"assets", {{{"source", 1}, {"dest", "/x"}}}}},
       "rustimg.json: $.assets[0].source: expected a string, got a number"},
      {{{"assets", {{{"source", "x"}, {"dest", "/x"}, {"mode", true}}}}},
       "rustimg.json: $.assets[0].mode: expected a string or a number, got a boolean"},
      {{{"assets", {{{"source", "x"}, {"dest", "/x"}, {"owner", json::array()}}}}},
       "rustimg.json: $.assets[0].owner: expected a string or a number, got an array"},
      {{{"ca-certificates", 1}}, "rustimg.json: $.ca-certificates: expected a boolean or a string, got a number"},
  });
}

BOOST_AUTO_TEST_CASE(layer_must_be_an_object) {
  BOOST_TEST(errors_of(json::array()) == Strings{"rustimg.json: $: expected an object, got an array"},
             boost::test_tools::per_element());
  BOOST_TEST(errors_of(json(nullptr)).empty());  // a null layer contributes nothing
}

BOOST_AUTO_TEST_CASE(empty_strings) {
  expect_each({
      {{{"package", ""}}, "rustimg.json: $.package: must not be empty"},
      {{{"bin", ""}}, "rustimg.json: $.bin: must not be empty"},
      {{{"base", ""}}, "rustimg.json: $.base: must not be empty"},
      {{{"labels", {{"", "x"}}}}, "rustimg.json: $.labels[\"\"]: the name must not be empty"},
      {{{"ca-certificates", ""}}, "rustimg.json: $.ca-certificates: must not be empty"},
  });
}

// --- unknown keys --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unknown_keys_with_suggestions) {
  expect_each({
      {{{"enviroment", json::object()}}, "rustimg.json: $.enviroment: unknown key; did you mean \"env\"?"},
      {{{"size_optimize", true}}, "rustimg.json: $.size_optimize: unknown key; did you mean \"size-optimize\"?"},
      {{{"defaultFeatures", true}},
       "rustimg.json: $.defaultFeatures: unknown key; did you mean \"default-features\"?"},
      {{{"lables", json::object()}}, "rustimg.json: $.lables: unknown key; did you mean \"labels\"?"},
      {{{"expose", {80}}}, "rustimg.json: $.expose: unknown key; did you mean \"ports\"?"},
      {{{"healthcheck", {{"test", {"NONE"}}, {"intervall", "1s"}}}},
       "rustimg.json: $.healthcheck.intervall: unknown key; did you mean \"interval\"?"},
      {{{"assets", {{{"source", "x"}, {"dest", "/x"}, {"permisions", "0644"}}}}},
       "rustimg.json: $.assets[0].permisions: unknown key; did you mean \"mode\"?"},
      {{{"target", {{"x86_64-unknown-linux-musl", {{"linkr", "cc"}}}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-musl.linkr: unknown key; did you mean \"linker\"?"},
  });
}

BOOST_AUTO_TEST_CASE(misspelt_required_key_reports_both) {
  BOOST_TEST(errors_of({{"assets", {{{"src", "x"}, {"dest", "/x"}}}}}) ==
                 (Strings{"rustimg.json: $.assets[0].src: unknown key; did you mean \"source\"?",
                          "rustimg.json: $.assets[0]: missing \"source\""}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unknown_keys_without_suggestions) {
  expect_each({
      {{{"frobnicate", 1}}, "rustimg.json: $.frobnicate: unknown key"},
      {{{"assets", {{{"source", "x"}, {"dest", "/x"}, {"xyzzy", 1}}}}},
       "rustimg.json: $.assets[0].xyzzy: unknown key; expected one of: source dest mode owner"},
  });
}

// --- platforms and targets --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_platform) {
  const std::string parse_message = message_of([] { rustimg::parse_platform("bogus"); });
  BOOST_TEST(errors_of({{"platforms", {"linux/amd64", "bogus"}}}) ==
                 Strings{"rustimg.json: $.platforms[1]: " + parse_message},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(platform_unsupported_for_libc) {
  const std::string message = message_of(
      [] { rustimg::rust_target_for(rustimg::parse_platform("linux/s390x"), rustimg::Libc::Musl); });
  BOOST_TEST(errors_of({{"platforms", {"linux/amd64", "linux/s390x"}}, {"libc", "musl"}}) ==
                 Strings{"rustimg.json: $.platforms[1]: " + message},
             boost::test_tools::per_element());
  // The same platform is fine with glibc.
  BOOST_TEST(errors_of({{"platforms", {"linux/s390x"}}, {"libc", "gnu"}}).empty());
}

BOOST_AUTO_TEST_CASE(platform_list_problems) {
  expect_each({
      {{{"platforms", json::array()}}, "rustimg.json: $.platforms: must list at least one platform"},
      {{{"platforms", {"linux/arm64", "aarch64"}}},
       "rustimg.json: $.platforms[1]: repeats linux/arm64; list each platform once"},
      {{{"targets", json::array()}}, "rustimg.json: $.targets: must list at least one target"},
      {{{"targets", {"x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"}}},
       "rustimg.json: $.targets[1]: repeats \"x86_64-unknown-linux-gnu\"; list each target once"},
  });
}

BOOST_AUTO_TEST_CASE(bad_target_triple) {
  const std::string known = "; rustimg builds Linux images for: " + known_triples();
  expect_each({
      {{{"targets", {"x86_64-pc-windows-msvc"}}},
       "rustimg.json: $.targets[0]: unknown target triple \"x86_64-pc-windows-msvc\"" + known},
      {{{"target", {{"wasm32-wasi", {{"linker", "cc"}}}}}},
       "rustimg.json: $.target.wasm32-wasi: unknown target triple \"wasm32-wasi\"" + known},
  });
}

BOOST_AUTO_TEST_CASE(platforms_and_targets_conflict) {
  BOOST_TEST(errors_of({{"platforms", {"linux/amd64"}}, {"targets", {"x86_64-unknown-linux-musl"}}}) ==
                 Strings{"rustimg.json: $.targets: cannot be combined with \"platforms\"; "
                         "remove \"platforms\" or \"targets\""},
             boost::test_tools::per_element());
  BOOST_TEST(layer_errors({SpecLayer{"Cargo.toml [workspace.metadata.rustimg]", {{"platforms", {"linux/amd64"}}}},
                        SpecLayer{"rustimg.json", {{"targets", {"x86_64-unknown-linux-musl"}}}}}) ==
                 Strings{"rustimg.json: $.targets: cannot be combined with \"platforms\" (from Cargo.toml "
                         "[workspace.metadata.rustimg]); remove \"platforms\" or \"targets\""},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(targets_disagreeing_with_libc) {
  BOOST_TEST(layer_errors({SpecLayer{"Cargo.toml [package.metadata.rustimg]", {{"libc", "gnu"}}},
                        SpecLayer{"rustimg.json", {{"targets", {"x86_64-unknown-linux-musl"}}}}}) ==
                 Strings{"rustimg.json: $.targets[0]: \"x86_64-unknown-linux-musl\" is a musl target but libc is "
                         "\"gnu\" (from Cargo.toml [package.metadata.rustimg]); remove libc or list gnu targets"},
             boost::test_tools::per_element());
}

// --- values with rules ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_choices) {
  expect_each({
      {{{"libc", "uclibc"}}, "rustimg.json: $.libc: expected \"gnu\" or \"musl\", got \"uclibc\""},
      {{{"compression", "lz4"}}, "rustimg.json: $.compression: expected \"gzip\", \"zstd\" or \"none\", got \"lz4\""},
      {{{"size-optimize", "smal"}},
       "rustimg.json: $.size-optimize: expected \"release\", \"small\", \"min\" or \"none\", got \"smal\"; "
       "did you mean \"small\"?"},
      {{{"size-optimize", "fast"}},
       "rustimg.json: $.size-optimize: expected \"release\", \"small\", \"min\" or \"none\", got \"fast\""},
      {{{"profile", "my profile"}},
       "rustimg.json: $.profile: invalid profile name \"my profile\"; use letters, digits, '-' and '_'"},
  });
}

BOOST_AUTO_TEST_CASE(compression_levels) {
  BOOST_TEST(resolve({{"compression-level", 1}}).compression_level == 1);
  BOOST_TEST(resolve({{"compression-level", 9}}).to_json()["compression-level"] == 9);
  BOOST_TEST(resolve({{"compression", "zstd"}, {"compression-level", 19}}).compression_level == 19);
  BOOST_TEST(resolve({{"compression", "none"}, {"compression-level", 12}}).compression_level == 12);  // unused
  const std::string range = "expected a compression level between 1 and 19 (gzip: 1 to 9), got ";
  expect_each({
      {{{"compression-level", 0}}, "rustimg.json: $.compression-level: " + range + "0"},
      {{{"compression-level", 20}}, "rustimg.json: $.compression-level: " + range + "20"},
      {{{"compression-level", "fast"}}, "rustimg.json: $.compression-level: " + range + "\"fast\""},
      {{{"compression-level", 12}},
       "rustimg.json: $.compression-level: gzip levels are 1 to 9, got 12; pick a gzip level or set "
       "\"compression\": \"zstd\""},
  });
  // The level and the compression may come from different layers; the
  // check sees the result, and names where the level came from.
  BOOST_TEST(layer_errors({SpecLayer{"rustimg.json", {{"compression", "zstd"}, {"compression-level", 15}}},
                           SpecLayer{"--compression", {{"compression", "gzip"}}}}) ==
                 Strings{"rustimg.json: $.compression-level: gzip levels are 1 to 9, got 15; pick a gzip level or "
                         "set \"compression\": \"zstd\""},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_base_reference) {
  const std::string message = message_of([] { rustimg::parse_reference("Foo:bar:baz"); });
  BOOST_TEST(errors_of({{"base", "Foo:bar:baz"}}) == Strings{"rustimg.json: $.base: " + message},
             boost::test_tools::per_element());
  BOOST_TEST(errors_of({{"base", "gcr.io/distroless/static:nonroot"}}).empty());
  BOOST_TEST(errors_of({{"base", "scratch"}}).empty());
}

BOOST_AUTO_TEST_CASE(bad_ports) {
  expect_each({
      {{{"ports", {0}}}, "rustimg.json: $.ports[0]: port 0 is out of range; use 1-65535"},
      {{{"ports", {70000}}}, "rustimg.json: $.ports[0]: port 70000 is out of range; use 1-65535"},
      {{{"ports", {-1}}}, "rustimg.json: $.ports[0]: port -1 is out of range; use 1-65535"},
      {{{"ports", {"0/udp"}}}, "rustimg.json: $.ports[0]: port 0 is out of range; use 1-65535"},
      {{{"ports", {80, "80/xyz"}}},
       "rustimg.json: $.ports[1]: unknown protocol \"xyz\" in \"80/xyz\"; use tcp, udp or sctp"},
      {{{"ports", {"abc"}}},
       "rustimg.json: $.ports[0]: expected a port such as 8080, \"8080/tcp\" or \"53/udp\", got \"abc\""},
      {{{"ports", {80.5}}}, "rustimg.json: $.ports[0]: expected a whole port number, got 80.5"},
  });
}

BOOST_AUTO_TEST_CASE(bad_env_names) {
  const std::string rule = "invalid variable name; use letters, digits and '_', not starting with a digit";
  expect_each({
      {{{"env", {{"1BAD", "x"}}}}, "rustimg.json: $.env.1BAD: " + rule},
      {{{"env", {{"A-B", "x"}}}}, "rustimg.json: $.env.A-B: " + rule},
      {{{"env", {{"A B", "x"}}}}, "rustimg.json: $.env[\"A B\"]: " + rule},
      {{{"target", {{"x86_64-unknown-linux-gnu", {{"env", {{"", "x"}}}}}}}},
       "rustimg.json: $.target.x86_64-unknown-linux-gnu.env[\"\"]: " + rule},
  });
}

BOOST_AUTO_TEST_CASE(relative_workdir) {
  expect_each({
      {{{"workdir", "app"}}, "rustimg.json: $.workdir: must be an absolute path, got \"app\""},
      {{{"workdir", ""}}, "rustimg.json: $.workdir: must be an absolute path, got \"\""},
  });
}

BOOST_AUTO_TEST_CASE(bad_user) {
  const std::string forms = "expected \"name\", \"uid\", \"uid:gid\" or \"name:group\", got ";
  expect_each({
      {{{"user", "a:b:c"}}, "rustimg.json: $.user: " + forms + "\"a:b:c\""},
      {{{"user", ""}}, "rustimg.json: $.user: " + forms + "\"\""},
      {{{"user", "1000:"}}, "rustimg.json: $.user: " + forms + "\"1000:\""},
      {{{"user", "-x"}}, "rustimg.json: $.user: " + forms + "\"-x\""},
      {{{"user", "99999999999"}}, "rustimg.json: $.user: " + forms + "\"99999999999\""},
      {{{"user", -1}}, "rustimg.json: $.user: expected a uid between 0 and 4294967294, got -1"},
      {{{"user", 1.5}}, "rustimg.json: $.user: expected a uid between 0 and 4294967294, got 1.5"},
  });
}

BOOST_AUTO_TEST_CASE(bad_stop_signal) {
  const std::string expected = "expected a signal name such as \"SIGTERM\" or a number from 1 to 64, got ";
  expect_each({
      {{{"stop-signal", "SIGFOO"}}, "rustimg.json: $.stop-signal: " + expected + "\"SIGFOO\""},
      {{{"stop-signal", "0"}}, "rustimg.json: $.stop-signal: " + expected + "\"0\""},
      {{{"stop-signal", 65}}, "rustimg.json: $.stop-signal: " + expected + "65"},
  });
}

BOOST_AUTO_TEST_CASE(bad_tags) {
  const std::string rule = "; use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'";
  expect_each({
      {{{"tags", {"latest", "-x"}}}, "rustimg.json: $.tags[1]: invalid tag \"-x\"" + rule},
      {{{"tags", {"a/b"}}}, "rustimg.json: $.tags[0]: invalid tag \"a/b\"" + rule},
      {{{"tags", {std::string(129, 'a')}}}, "rustimg.json: $.tags[0]: invalid tag \"" + std::string(129, 'a') + "\"" + rule},
  });
}

BOOST_AUTO_TEST_CASE(repository_key) {
  BOOST_TEST(resolve(json{{"repository", "127.0.0.1:5000/team"}}).repository == "127.0.0.1:5000/team");
  const std::string fix = "; expected an image repository such as \"ghcr.io/org\" or \"127.0.0.1:5000/team\"";
  expect_each({
      {{{"repository", 5}}, "rustimg.json: $.repository: expected a string, got a number"},
      {{{"repository", "https://github.com/me/app"}},
       "rustimg.json: $.repository: expected an image repository, not a URL: \"https://github.com/me/app\"" + fix +
           " (Cargo's [package] repository is the source URL; this is where images are pushed)"},
      {{{"repository", "ghcr.io/org/app:v1"}},
       "rustimg.json: $.repository: names a tag or digest: \"ghcr.io/org/app:v1\"" + fix +
           " (the tags come from \"tags\" and the version)"},
  });
}

BOOST_AUTO_TEST_CASE(assets_escaping_the_crate) {
  auto asset = [](const std::string& source) { return json{{"assets", {{{"source", source}, {"dest", "/x"}}}}}; };
  expect_each({
      {asset("../x"), "rustimg.json: $.assets[0].source: \"../x\" points outside the crate directory; "
                      "assets must come from inside it"},
      {asset("a/../../x"), "rustimg.json: $.assets[0].source: \"a/../../x\" points outside the crate directory; "
                           "assets must come from inside it"},
      {asset("/etc/passwd"),
       "rustimg.json: $.assets[0].source: must be relative to the crate directory, got \"/etc/passwd\"; "
       "assets must come from inside it"},
      {asset(""), "rustimg.json: $.assets[0].source: must not be empty"},
  });
  BOOST_TEST(errors_of(asset("a/../b")).empty());
  BOOST_TEST(errors_of(asset("./static/**/*.css")).empty());
}

// "ca-certificates" names a file inside the crate, like an asset; the host's
// bundle is `true`.
BOOST_AUTO_TEST_CASE(ca_certificates_escaping_the_crate) {
  const std::string fix =
      "; use true for the host's CA bundle, or copy the PEM file into the crate and name it relative to the crate";
  expect_each({
      {{{"ca-certificates", "/etc/ssl/certs/ca-certificates.crt"}},
       "rustimg.json: $.ca-certificates: must be relative to the crate directory, got "
       "\"/etc/ssl/certs/ca-certificates.crt\"" + fix},
      {{{"ca-certificates", "../ca.pem"}},
       "rustimg.json: $.ca-certificates: \"../ca.pem\" points outside the crate directory" + fix},
      {{{"ca-certificates", "certs/../../ca.pem"}},
       "rustimg.json: $.ca-certificates: \"certs/../../ca.pem\" points outside the crate directory" + fix},
  });
  BOOST_TEST(errors_of({{"ca-certificates", "certs/../ca.pem"}}).empty());
}

BOOST_AUTO_TEST_CASE(bad_asset_dest_mode_owner) {
  auto asset = [](const json& extra) {
    json a = {{"source", "x"}, {"dest", "/x"}};
    a.update(extra);
    return json{{"assets", {a}}};
  };
  expect_each({
      {asset({{"dest", "etc/app"}}),
       "rustimg.json: $.assets[0].dest: must be an absolute path in the image, got \"etc/app\""},
      {asset({{"dest", "/srv/../etc/passwd"}}),
       "rustimg.json: $.assets[0].dest: must not contain \"..\", got \"/srv/../etc/passwd\""},
      {asset({{"mode", "rw-r--r--"}}),
       "rustimg.json: $.assets[0].mode: expected an octal mode such as \"0644\" or \"0755\", got \"rw-r--r--\""},
      {asset({{"mode", "0999"}}),
       "rustimg.json: $.assets[0].mode: expected an octal mode such as \"0644\" or \"0755\", got \"0999\""},
      {asset({{"mode", "17777"}}),
       "rustimg.json: $.assets[0].mode: expected an octal mode such as \"0644\" or \"0755\", got \"17777\""},
      {asset({{"mode", 5000}}), "rustimg.json: $.assets[0].mode: expected a mode between 0 and 0o7777, got 5000"},
      {asset({{"owner", "root"}}),
       "rustimg.json: $.assets[0].owner: expected \"uid\" or \"uid:gid\" with numeric ids, got \"root\""},
      {asset({{"owner", "1:x"}}),
       "rustimg.json: $.assets[0].owner: expected \"uid\" or \"uid:gid\" with numeric ids, got \"1:x\""},
      {asset({{"owner", -1}}),
       "rustimg.json: $.assets[0].owner: expected a uid between 0 and 4294967294, got -1"},
  });
  BOOST_TEST(errors_of({{"assets", {{{"dest", "/x"}}}}}) == Strings{"rustimg.json: $.assets[0]: missing \"source\""},
             boost::test_tools::per_element());
  BOOST_TEST(errors_of({{"assets", {{{"source", "x"}}}}}) == Strings{"rustimg.json: $.assets[0]: missing \"dest\""},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_healthchecks) {
  auto health = [](const json& extra) {
    json h = {{"test", {"CMD", "/app", "health"}}};
    h.update(extra);
    return json{{"healthcheck", h}};
  };
  const std::string duration = "expected a duration such as \"30s\", \"1m30s\" or \"500ms\", got ";
  expect_each({
      {health({{"interval", "30"}}), "rustimg.json: $.healthcheck.interval: " + duration + "\"30\""},
      {health({{"timeout", "1x"}}), "rustimg.json: $.healthcheck.timeout: " + duration + "\"1x\""},
      {health({{"start-period", "-5s"}}), "rustimg.json: $.healthcheck.start-period: " + duration + "\"-5s\""},
      {health({{"interval", ""}}), "rustimg.json: $.healthcheck.interval: " + duration + "\"\""},
      {health({{"interval", "1..5s"}}), "rustimg.json: $.healthcheck.interval: " + duration + "\"1..5s\""},
      {health({{"retries", -1}}),
       "rustimg.json: $.healthcheck.retries: expected a whole number between 0 and 2147483647, got -1"},
      {health({{"retries", 1.5}}),
       "rustimg.json: $.healthcheck.retries: expected a whole number between 0 and 2147483647, got 1.5"},
      {health({{"test", "curl -f localhost"}}),
       "rustimg.json: $.healthcheck.test: a string runs through a shell (CMD-SHELL), which scratch and static "
       "images do not have; give an array such as [\"CMD\", \"/usr/local/bin/app\", \"--health\"]"},
      {health({{"test", json::array()}}),
       "rustimg.json: $.healthcheck.test: must not be empty; use [\"NONE\"] to disable the check"},
      {health({{"test", {"/app", "health"}}}),
       "rustimg.json: $.healthcheck.test[0]: must be \"CMD\", \"CMD-SHELL\" or \"NONE\", got \"/app\""},
      {health({{"test", {"CMD"}}}), "rustimg.json: $.healthcheck.test: \"CMD\" needs a command after it"},
      {{{"healthcheck", {{"interval", "1s"}}}}, "rustimg.json: $.healthcheck: missing \"test\""},
  });
}

// --- collecting and merging ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_problem_is_reported_in_one_throw) {
  const std::vector<SpecLayer> layers = {
      SpecLayer{"Cargo.toml [package.metadata.rustimg]", {{"env", {{"PORT", 8080}}}, {"user", "a:b:c"}}},
      SpecLayer{"rustimg.json", {{"ports", {0, "abc"}}, {"enviroment", json::object()}, {"workdir", "app"}}},
  };
  try {
    rustimg::resolve_spec(layers, {});
    BOOST_FAIL("expected a SpecError");
  } catch (const rustimg::SpecError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::Spec));
    const Strings expected = {
        "Cargo.toml [package.metadata.rustimg]: $.env.PORT: expected a string, got a number",
        "Cargo.toml [package.metadata.rustimg]: $.user: expected \"name\", \"uid\", \"uid:gid\" or \"name:group\", "
        "got \"a:b:c\"",
        "rustimg.json: $.enviroment: unknown key; did you mean \"env\"?",
        "rustimg.json: $.workdir: must be an absolute path, got \"app\"",
        "rustimg.json: $.ports[0]: port 0 is out of range; use 1-65535",
        "rustimg.json: $.ports[1]: expected a port such as 8080, \"8080/tcp\" or \"53/udp\", got \"abc\"",
    };
    Strings got;
    for (const auto& d : e.diagnostics()) got.push_back(d.to_string());
    BOOST_TEST(got == expected, boost::test_tools::per_element());
    std::string joined;
    for (const auto& line : expected) joined += (joined.empty() ? "" : "\n") + line;
    BOOST_TEST(std::string(e.what()) == joined);
  }
}

BOOST_AUTO_TEST_CASE(precedence_across_four_layers) {
  const std::vector<SpecLayer> layers = {
      {"ws/Cargo.toml [workspace.metadata.rustimg]",
       {{"user", "1"}, {"base", "scratch"}, {"tags", {"ws"}}, {"workdir", "/ws"}, {"cmd", {"ws"}},
        {"env", {{"A", "ws"}, {"B", "ws"}, {"C", "ws"}, {"D", "ws"}}},
        {"labels", {{"l.ws", "1"}}}}},
      {"ws/app/Cargo.toml [package.metadata.rustimg]",
       {{"user", "2"}, {"tags", {"pkg1", "pkg2"}}, {"workdir", "/pkg"}, {"env", {{"B", "pkg"}, {"C", "pkg"}, {"D", "pkg"}}},
        {"labels", {{"l.pkg", "1"}}}}},
      {"rustimg.json", {{"user", "3"}, {"workdir", "/file"}, {"env", {{"C", "file"}, {"D", "file"}}}}},
      {"command line", {{"user", "4"}, {"env", {{"D", "cli"}}}, {"cmd", nullptr}}},
  };
  const Spec s = rustimg::resolve_spec(layers, {});
  BOOST_TEST(s.user == "4");                                            // command line wins
  BOOST_TEST(s.workdir == "/file");                                     // then the spec file
  BOOST_TEST(s.tags == (Strings{"pkg1", "pkg2"}), boost::test_tools::per_element());  // lists are replaced whole
  BOOST_TEST(s.base == "scratch");                                      // only the workspace sets it
  BOOST_TEST(s.cmd == Strings{"ws"}, boost::test_tools::per_element());  // null leaves the lower value
  BOOST_TEST(std::string(rustimg::to_string(s.compression)) == "gzip");              // nobody sets it: default
  const std::map<std::string, std::string> env = {{"A", "ws"}, {"B", "pkg"}, {"C", "file"}, {"D", "cli"}};
  BOOST_TEST((s.env == env));  // maps merge key by key
  BOOST_TEST(s.labels.size() == 2u);
}

BOOST_AUTO_TEST_CASE(target_tables_merge_by_triple) {
  const Spec s = rustimg::resolve_spec(
      {{"ws", {{"target", {{"aarch64-unknown-linux-musl", {{"linker", "ws-cc"}}},
                           {"x86_64-unknown-linux-musl", {{"linker", "x86-cc"}}}}}}},
       {"pkg", {{"target", {{"aarch64-unknown-linux-musl", {{"rustflags", {"-Cx"}}}}}}}}},
      {});
  BOOST_TEST(s.target.at("x86_64-unknown-linux-musl").linker == "x86-cc");
  BOOST_TEST(s.target.at("aarch64-unknown-linux-musl").linker.empty());  // one triple's table is replaced whole
  BOOST_TEST(s.target.at("aarch64-unknown-linux-musl").rustflags == Strings{"-Cx"}, boost::test_tools::per_element());
}

// --- serialisation ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(to_json_has_every_key_and_round_trips) {
  const json input = {
      {"bin", "app"},
      {"platforms", {"linux/amd64", "linux/arm/v7"}},
      {"libc", "musl"},
      {"ports", {8080, "53/udp"}},
      {"env", {{"RUST_LOG", "info"}}},
      {"healthcheck", {{"test", {"CMD", "/app"}}, {"interval", "1m30s"}, {"timeout", "1.5s"}, {"retries", 2}}},
      {"assets", {{{"source", "static/**"}, {"dest", "/srv/"}, {"mode", "0644"}, {"owner", "1:2"}}}},
      {"ca-certificates", "certs/ca.pem"},
      {"stop-signal", "TERM"},
      {"target", {{"x86_64-unknown-linux-musl", {{"linker", "cc"}}}}},
  };
  const json out = resolve(input).to_json();
  const Strings keys = {"all-features", "annotations", "assets", "base", "base-key", "bin", "ca-certificates", "cmd",
                        "compression", "compression-level", "default-features", "entrypoint", "env",
                        "extra-ca-certificates", "features", "healthcheck", "labels",
                        "libc", "locked", "offline", "package", "platforms", "ports", "profile", "provenance",
                        "repository", "sbom", "size-optimize", "stop-signal", "tags", "target", "targets", "tzdata", "user", "workdir"};
  Strings got;
  for (const auto& [key, value] : out.items()) got.push_back(key);
  BOOST_TEST(got == keys, boost::test_tools::per_element());

  BOOST_TEST(out["ports"] == json({"8080/tcp", "53/udp"}));
  BOOST_TEST(out["platforms"] == json({"linux/amd64", "linux/arm/v7"}));
  BOOST_TEST(out["targets"] == json({"x86_64-unknown-linux-musl", "armv7-unknown-linux-musleabihf"}));
  BOOST_TEST(out["healthcheck"]["interval"] == "1m30s");
  BOOST_TEST(out["healthcheck"]["timeout"] == "1s500ms");
  BOOST_TEST(out["assets"][0]["mode"] == "0644");
  BOOST_TEST(out["stop-signal"] == "SIGTERM");
  BOOST_TEST(out["package"].is_null());
  BOOST_TEST(out["entrypoint"] == json({"/usr/local/bin/app"}));

  // The output is itself a valid spec that resolves to the same thing
  // (targets left out: they are derived from platforms here).
  json again = out;
  again.erase("targets");
  BOOST_TEST(resolve(again).to_json() == out);
}

// --- load_spec --------------------------------------------------------------------------

namespace {

/// A ProcessRunner that answers `cargo metadata` with a fixed document.
class RecordedCargo final : public rustimg::ProcessRunner {
 public:
  explicit RecordedCargo(json doc) : doc_(std::move(doc)) {}
  rustimg::ProcessResult run(const rustimg::ProcessRequest& request) override {
    requests.push_back(request);
    return rustimg::ProcessResult{0, doc_.dump(), ""};
  }
  std::vector<rustimg::ProcessRequest> requests;

 private:
  json doc_;
};

json metadata_for(const fs::path& root) {
  auto bin = [](const std::string& name) { return json{{"kind", {"bin"}}, {"name", name}}; };
  return {
      {"packages",
       {{{"name", "app"},
         {"version", "0.2.0"},
         {"id", "path+file://" + root.string() + "#app@0.2.0"},
         {"manifest_path", (root / "Cargo.toml").string()},
         {"targets", {bin("app"), bin("app-admin")}},
         {"default_run", nullptr},
         {"metadata", {{"rustimg", {{"env", {{"B", "pkg"}}}, {"user", "2"}}}}}}}},
      {"workspace_members", {"path+file://" + root.string() + "#app@0.2.0"}},
      {"workspace_root", root.string()},
      {"target_directory", (root / "target").string()},
      {"metadata", {{"rustimg", {{"env", {{"A", "ws"}, {"B", "ws"}}}, {"user", "1"}, {"base", "scratch"}}}}},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(load_spec_reads_cargo_and_the_spec_file) {
  ScratchDir dir;
  dir.write("Cargo.toml", "[package]\nname = \"app\"\n");
  dir.write("rustimg.json", R"({"bin": "app-admin", "env": {"C": "file"}})");
  RecordedCargo cargo(metadata_for(dir.path()));

  rustimg::SpecLoadOptions options;
  options.crate_dir = dir.path();
  options.overrides = {{"user", "4"}};
  const Spec s = rustimg::pipeline::load_spec(options, cargo);

  BOOST_REQUIRE(cargo.requests.size() == 1u);
  BOOST_TEST(cargo.requests[0].cwd == dir.path().string());
  BOOST_TEST(s.package == "app");
  BOOST_TEST(s.bin == "app-admin");  // the spec file picks one of the two bins
  BOOST_TEST(s.entrypoint == Strings{"/usr/local/bin/app-admin"}, boost::test_tools::per_element());
  BOOST_TEST(s.user == "4");
  BOOST_TEST(s.base == "scratch");
  const std::map<std::string, std::string> env = {{"A", "ws"}, {"B", "pkg"}, {"C", "file"}};
  BOOST_TEST((s.env == env));
}

BOOST_AUTO_TEST_CASE(load_spec_names_each_layer_in_errors) {
  ScratchDir dir;
  dir.write("Cargo.toml", "[package]\nname = \"app\"\n");
  json doc = metadata_for(dir.path());
  doc["packages"][0]["metadata"]["rustimg"]["env"]["PORT"] = 8080;
  doc["metadata"]["rustimg"]["tags"] = "latest";
  RecordedCargo cargo(doc);
  rustimg::SpecLoadOptions options;
  options.crate_dir = dir.path();
  options.spec_file = dir.write("other.json", R"({"bin": "nope"})");
  options.overrides = {{"workdir", "x"}};
  options.overrides_source = "API";

  const std::string manifest = (dir.path() / "Cargo.toml").string();
  try {
    rustimg::pipeline::load_spec(options, cargo);
    BOOST_FAIL("expected a SpecError");
  } catch (const rustimg::SpecError& e) {
    Strings got;
    for (const auto& d : e.diagnostics()) got.push_back(d.to_string());
    const Strings expected = {
        options.spec_file.string() + ": $.bin: package \"app\" has no bin target \"nope\"; its bins: app, app-admin",
        manifest + " [workspace.metadata.rustimg]: $.tags: expected an array, got a string",
        manifest + " [package.metadata.rustimg]: $.env.PORT: expected a string, got a number",
        "API: $.workdir: must be an absolute path, got \"x\"",
    };
    BOOST_TEST(got == expected, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(load_spec_unknown_package_is_a_diagnostic) {
  ScratchDir dir;
  dir.write("Cargo.toml", "[package]\nname = \"app\"\n");
  RecordedCargo cargo(metadata_for(dir.path()));
  rustimg::SpecLoadOptions options;
  options.crate_dir = dir.path();
  options.overrides = {{"package", "nope"}, {"user", true}};
  try {
    rustimg::pipeline::load_spec(options, cargo);
    BOOST_FAIL("expected a SpecError");
  } catch (const rustimg::SpecError& e) {
    Strings got;
    for (const auto& d : e.diagnostics()) got.push_back(d.to_string());
    const Strings expected = {
        "command line: $.package: no package \"nope\" in the workspace at " + dir.path().string() +
            "; its packages: app",
        "command line: $.user: expected a string or a number, got a boolean",
    };
    BOOST_TEST(got == expected, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(load_spec_ambiguous_bin_is_an_error) {
  ScratchDir dir;
  dir.write("Cargo.toml", "[package]\nname = \"app\"\n");
  RecordedCargo cargo(metadata_for(dir.path()));
  rustimg::SpecLoadOptions options;
  options.crate_dir = dir.path();
  try {
    rustimg::pipeline::load_spec(options, cargo);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::NotFound));
    BOOST_TEST(std::string(e.what()) ==
               "package \"app\" has several bin targets (app, app-admin) and no default-run; "
               "pick one with --bin or \"bin\" in the spec");
  }
}

BOOST_AUTO_TEST_CASE(make_plan_chooses_the_package_once_and_plans_one_cargo_run_per_platform) {
  ScratchDir dir;
  dir.write("Cargo.toml", "[package]\nname = \"app\"\n");
  RecordedCargo cargo(metadata_for(dir.path()));
  rustimg::SpecLoadOptions options;
  options.crate_dir = dir.path();
  options.overrides = {{"bin", "app"},
                       {"platforms", {"linux/amd64", "linux/arm64"}},
                       {"features", {"tls"}},
                       {"target", {{"aarch64-unknown-linux-gnu", {{"linker", "aarch64-linux-gnu-gcc"}}}}}};
  const rustimg::pipeline::Plan plan = rustimg::pipeline::make_plan(options, cargo);
  BOOST_TEST(cargo.requests.size() == 1u);
  BOOST_REQUIRE(plan.package.has_value());
  BOOST_TEST(plan.package->name == "app");
  BOOST_TEST(plan.cargo.features == Strings{"tls"}, boost::test_tools::per_element());
  BOOST_REQUIRE(plan.platforms.size() == 2u);
  BOOST_TEST(plan.platforms[0].triple == "x86_64-unknown-linux-gnu");
  BOOST_TEST(plan.platforms[1].triple == "aarch64-unknown-linux-gnu");
  BOOST_REQUIRE(plan.platforms[0].cargo.has_value());
  BOOST_REQUIRE(plan.platforms[1].cargo.has_value());
  BOOST_TEST(plan.platforms[1].cargo->bin == "app");
  BOOST_TEST(plan.platforms[1].cargo->package == "app");
  BOOST_TEST(plan.platforms[1].cargo->manifest_path == dir.path() / "Cargo.toml");
  BOOST_TEST(plan.platforms[1].cargo->linker == "aarch64-linux-gnu-gcc");
  BOOST_TEST(plan.platforms[0].cargo->linker.empty());
}

BOOST_AUTO_TEST_CASE(make_plan_without_a_crate_has_no_cargo_runs) {
  ScratchDir dir;
  rustimg::SpecLoadOptions options;
  options.spec_file = dir.write("rustimg.json", R"({"bin": "srv"})");
  const rustimg::pipeline::Plan plan = rustimg::pipeline::make_plan(options);
  BOOST_TEST(!plan.package.has_value());
  BOOST_REQUIRE(plan.platforms.size() == 1u);
  BOOST_TEST(!plan.platforms[0].cargo.has_value());
}

BOOST_AUTO_TEST_CASE(load_spec_without_a_crate) {
  ScratchDir dir;
  rustimg::SpecLoadOptions options;
  options.spec_file = dir.write("rustimg.json", R"({"bin": "srv", "ports": [80]})");
  const Spec s = rustimg::pipeline::load_spec(options);
  BOOST_TEST(s.package.empty());
  BOOST_TEST(s.entrypoint == Strings{"/usr/local/bin/srv"}, boost::test_tools::per_element());
  BOOST_TEST(s.ports == Strings{"80/tcp"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_spec_missing_spec_file) {
  rustimg::SpecLoadOptions options;
  options.spec_file = "/nonexistent/rustimg.json";
  try {
    rustimg::pipeline::load_spec(options);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::NotFound));
    BOOST_TEST(std::string(e.what()) == "spec file /nonexistent/rustimg.json does not exist");
  }
}

BOOST_AUTO_TEST_CASE(load_spec_json_syntax_error_names_line_and_column) {
  ScratchDir dir;
  rustimg::SpecLoadOptions options;
  options.spec_file = dir.write("rustimg.json", "{\n  \"env\": {\n    \"A\": x\n  }\n}\n");
  try {
    rustimg::pipeline::load_spec(options);
    BOOST_FAIL("expected a SpecError");
  } catch (const rustimg::SpecError& e) {
    BOOST_REQUIRE(e.diagnostics().size() == 1u);
    const std::string text = e.diagnostics()[0].to_string();
    const std::string prefix = options.spec_file.string() + ":3:10: invalid JSON: ";
    BOOST_TEST(text.substr(0, prefix.size()) == prefix, "got: " << text);
  }
}

BOOST_AUTO_TEST_SUITE_END()
