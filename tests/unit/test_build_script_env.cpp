// What build scripts and the C compilers they run see: SOURCE_DATE_EPOCH and
// the path maps as -ffile-prefix-map in the CFLAGS/CXXFLAGS the cc crate reads.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "test_support.hpp"

namespace {

using rustimg::cargo::BuildEnvironment;
using rustimg::cargo::BuildPaths;
using rustimg::cargo::BuildSettings;
using rustimg::cargo::BuildTarget;

const std::string kMaps =
    "-ffile-prefix-map=/work/ws=/src -ffile-prefix-map=/home/dev/.cargo=/cargo "
    "-ffile-prefix-map=/home/dev/.rustup=/rustup -ffile-prefix-map=/build/out=/target";

BuildTarget host_target() {
  BuildTarget t;
  t.triple = "x86_64-unknown-linux-gnu";
  t.package = "app";
  t.manifest_path = "/work/ws/app/Cargo.toml";
  t.bin = "app";
  return t;
}

BuildEnvironment env_with(std::map<std::string, std::string> vars = {}) {
  BuildEnvironment env;
  env.vars = {{"HOME", "/home/dev"}};
  for (auto& [k, v] : vars) env.vars[k] = v;
  return env;
}

rustimg::ProcessRequest command(const BuildEnvironment& env, const BuildTarget& target = host_target()) {
  return rustimg::cargo::build_command(BuildSettings{}, target, BuildPaths{"/work/ws/app", "/work/ws", "/build/out"},
                                      env);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(build_script_env)

BOOST_AUTO_TEST_CASE(source_date_epoch_is_always_passed) {
  // 0 is false to some tools (OpenSSL's `$ENV{SOURCE_DATE_EPOCH} || time()`): 1
  BOOST_TEST(command(env_with()).env.at("SOURCE_DATE_EPOCH") == "1");
  auto env = env_with();
  env.source_date_epoch = 1700000000;
  BOOST_TEST(command(env).env.at("SOURCE_DATE_EPOCH") == "1700000000");
}

BOOST_AUTO_TEST_CASE(c_compilers_get_the_paths_rustc_remaps) {
  const auto req = command(env_with());
  BOOST_TEST(req.env.at("CFLAGS") == kMaps);
  BOOST_TEST(req.env.at("CXXFLAGS") == kMaps);
  // rustc maps the target directory (OUT_DIR) too, last, as the C compilers do.
  const std::string rustflags = req.argv.back();
  BOOST_TEST(rustflags.find("\"--remap-path-prefix=/home/dev/.rustup=/rustup\", "
                            "\"--remap-path-prefix=/build/out=/target\"") != std::string::npos, rustflags);
}

BOOST_AUTO_TEST_CASE(users_c_flags_are_kept_and_extended) {
  const auto req = command(env_with({{"CFLAGS", "-O1 -DUSER"},
                                     {"CFLAGS_x86_64_unknown_linux_gnu", "-DPER_TARGET"},
                                     {"CXXFLAGS_x86_64-unknown-linux-gnu", "-DDASHED"},
                                     {"HOST_CFLAGS", "-DHOST"},
                                     {"TARGET_CXXFLAGS", ""}}));
  BOOST_TEST(req.env.at("CFLAGS") == "-O1 -DUSER " + kMaps);
  BOOST_TEST(req.env.at("CFLAGS_x86_64_unknown_linux_gnu") == "-DPER_TARGET " + kMaps);
  BOOST_TEST(req.env.at("CXXFLAGS_x86_64-unknown-linux-gnu") == "-DDASHED " + kMaps);
  BOOST_TEST(req.env.at("HOST_CFLAGS") == "-DHOST " + kMaps);
  BOOST_TEST(req.env.at("TARGET_CXXFLAGS") == kMaps);
  BOOST_TEST(req.env.at("CXXFLAGS") == kMaps);  // unset by the user: ours alone
  BOOST_TEST(req.env.count("RUSTFLAGS") == 0u);
}

BOOST_AUTO_TEST_CASE(detect_reads_source_date_epoch_through_the_one_parser) {
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  dir.write("crate/Cargo.toml", "[package]\nname = \"app\"\n");
  {
    const rustimg::test::ScopedEnv sde("SOURCE_DATE_EPOCH", "1700000000");
    BOOST_TEST(BuildEnvironment::detect(dir / "crate").source_date_epoch == 1700000000);
  }
  {
    const rustimg::test::ScopedEnv sde("SOURCE_DATE_EPOCH", "");
    BOOST_TEST(BuildEnvironment::detect(dir / "crate").source_date_epoch == 0);
  }
  const rustimg::test::ScopedEnv sde("SOURCE_DATE_EPOCH", "1.5");
  BOOST_CHECK_THROW(BuildEnvironment::detect(dir / "crate"), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(c_flags_from_config_env_follow_cargos_rules) {
  auto env = env_with({{"CXXFLAGS", "-DSHELL"}, {"HOST_CFLAGS", "-DSHELL_HOST"}});
  env.configs = {rustimg::cargo::parse_config_rustflags(
                     "[env]\nCFLAGS = \"-DLOW\"\nHOST_CFLAGS = \"-DCONF_HOST\"\n", "/home/dev/.cargo/config.toml"),
                 rustimg::cargo::parse_config_rustflags(
                     "[env]\nCFLAGS = \"-DCONF\"\nCXXFLAGS = { value = \"-DFORCED\", force = true }\n"
                     "CFLAGS_x86_64_unknown_linux_gnu = { value = \"inc\", relative = true }\nOTHER = \"x\"\n",
                     "/work/ws/.cargo/config.toml")};
  const auto req = command(env);
  // a plain entry applies when cargo's environment lacks the variable (the higher file wins) ...
  BOOST_TEST(req.env.at("CFLAGS") == "-DCONF " + kMaps);
  BOOST_TEST(req.env.at("CFLAGS_x86_64_unknown_linux_gnu") == "/work/ws/inc " + kMaps);
  // ... and not when it has it
  BOOST_TEST(req.env.at("HOST_CFLAGS") == "-DSHELL_HOST " + kMaps);
  BOOST_TEST(req.env.count("OTHER") == 0u);  // cargo sets it itself
  // a forced one wins over the environment, and --config keeps our maps in it
  BOOST_TEST(req.env.at("CXXFLAGS") == "-DFORCED " + kMaps);
  const std::string forced = "env.CXXFLAGS.value=\"-DFORCED " + kMaps + "\"";
  const auto at = std::find(req.argv.begin(), req.argv.end(), forced);
  BOOST_TEST_REQUIRE((at != req.argv.begin() && at != req.argv.end()));
  BOOST_TEST(*(at - 1) == "--config");
  BOOST_TEST((std::find(req.argv.begin(), req.argv.end(), "env.CFLAGS.value=\"-DCONF " + kMaps + "\"") ==
              req.argv.end()));
}

BOOST_AUTO_TEST_CASE(the_targets_own_c_flags_win_over_the_process_environment) {
  BuildTarget target = host_target();
  target.env = {{"CFLAGS", "-DFROM_SPEC"}};
  const auto req = command(env_with({{"CFLAGS", "-DFROM_SHELL"}}), target);
  BOOST_TEST(req.env.at("CFLAGS") == "-DFROM_SPEC " + kMaps);
}

BOOST_AUTO_TEST_CASE(paths_cc_would_split_are_left_unmapped) {
  auto env = env_with({{"CARGO_HOME", "/home/dev/my cargo"}});
  const auto req = command(env);
  BOOST_TEST(req.env.at("CFLAGS") ==
             "-ffile-prefix-map=/work/ws=/src -ffile-prefix-map=/home/dev/.rustup=/rustup "
             "-ffile-prefix-map=/build/out=/target");
}

BOOST_AUTO_TEST_CASE(build_crate_hands_the_images_epoch_and_target_dir_to_cargo) {
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  const rustimg::test::ScopedEnv sde("SOURCE_DATE_EPOCH", "");
  dir.write("crate/Cargo.toml", "[package]\nname = \"app\"\n");
  dir.write("crate/Cargo.lock", "version = 4\n");
  const nlohmann::json metadata = {
      {"packages", nlohmann::json::array({{{"name", "app"},
                                           {"version", "0.1.0"},
                                           {"id", "path+file:///crate#app@0.1.0"},
                                           {"manifest_path", (dir / "crate" / "Cargo.toml").string()},
                                           {"targets", nlohmann::json::array({{{"kind", {"bin"}}, {"name", "app"}}})},
                                           {"metadata", nullptr},
                                           {"default_run", nullptr}}})},
      {"workspace_members", {"path+file:///crate#app@0.1.0"}},
      {"workspace_root", (dir / "crate").string()},
      {"target_directory", (dir / "elsewhere").string()}};
  struct Runner : rustimg::ProcessRunner {
    std::vector<rustimg::ProcessRequest> requests;
    std::string metadata;
    rustimg::ProcessResult run(const rustimg::ProcessRequest& req) override {
      requests.push_back(req);
      if (req.argv.at(1) == "metadata") return {0, metadata, ""};
      return {101, "", "error: scripted failure\n"};
    }
  } runner;
  runner.metadata = metadata.dump();
  rustimg::pipeline::CrateBuildOptions o;
  o.spec.crate_dir = dir / "crate";
  o.image.output = {rustimg::store::ImageLocation::Kind::OciLayout, dir / "out", "latest", {}};
  o.image.created = 1234567890;  // the caller's value wins, as for the image's timestamps
  o.runner = &runner;
  BOOST_CHECK_THROW(rustimg::pipeline::build_crate(std::move(o)), rustimg::cargo::CargoError);
  // metadata, `rustc --print sysroot` (check_toolchain), then cargo build
  BOOST_TEST_REQUIRE(runner.requests.size() == 3u);
  BOOST_TEST(runner.requests[1].argv.at(0) == "rustc");
  const auto& env = runner.requests[2].env;
  BOOST_TEST(env.at("SOURCE_DATE_EPOCH") == "1234567890");
  BOOST_TEST(env.at("CFLAGS").find("-ffile-prefix-map=" + (dir / "elsewhere").string() + "=/target") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
