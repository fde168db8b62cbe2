// Where cargo takes rustflags from, as rustimg works it out: each config
// form (dotted keys, tables, inline tables, cfg tables, strings, arrays),
// each environment variable, their precedence, and the command line that
// adds rustimg's flags to that source.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "test_support.hpp"

namespace {

using Argv = std::vector<std::string>;
using rustimg::cargo::BuildEnvironment;
using rustimg::cargo::UserRustflags;
using Source = UserRustflags::Source;

constexpr const char* kTriple = "x86_64-unknown-linux-gnu";

/// `rustc --print cfg --target x86_64-unknown-linux-gnu`, abridged.
const Argv kLinuxCfg = {"debug_assertions", "panic=\"unwind\"", "target_arch=\"x86_64\"", "target_env=\"gnu\"",
                        "target_family=\"unix\"", "target_feature=\"sse2\"", "target_os=\"linux\"",
                        "target_pointer_width=\"64\"", "unix"};

/// An environment with the given config files (lowest precedence first) and variables.
BuildEnvironment env_of(std::vector<std::string> files, std::map<std::string, std::string> vars = {}) {
  BuildEnvironment env;
  env.vars = {{"HOME", "/home/dev"}};
  for (auto& [k, v] : vars) env.vars[k] = v;
  int n = 0;
  for (const auto& text : files)
    env.configs.push_back(rustimg::cargo::parse_config_rustflags(text, "/c" + std::to_string(n++) + "/config.toml"));
  env.target_cfg[kTriple] = kLinuxCfg;
  return env;
}

UserRustflags user_of(std::vector<std::string> files, std::map<std::string, std::string> vars = {}) {
  return rustimg::cargo::user_rustflags(env_of(std::move(files), std::move(vars)), kTriple);
}

/// The command rustimg runs for a build of bin "app" for x86_64 with `env`.
rustimg::ProcessRequest command_with(const BuildEnvironment& env) {
  rustimg::cargo::BuildTarget t;
  t.triple = kTriple;
  t.package = "app";
  t.bin = "app";
  t.manifest_path = "/ws/Cargo.toml";
  return rustimg::cargo::build_command({}, t, {"/ws", "/ws"}, env);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const rustimg::Error& e) {
    return e.what();
  }
  BOOST_FAIL("expected a rustimg::Error");
  return {};
}

const std::string kOurs =
    "[\"-C\", \"target-feature=+crt-static\", \"--remap-path-prefix=/ws=/src\", "
    "\"--remap-path-prefix=/home/dev/.cargo=/cargo\", \"--remap-path-prefix=/home/dev/.rustup=/rustup\"]";
const std::string kOursEncoded =
    "-C\x1ftarget-feature=+crt-static\x1f--remap-path-prefix=/ws=/src\x1f"
    "--remap-path-prefix=/home/dev/.cargo=/cargo\x1f--remap-path-prefix=/home/dev/.rustup=/rustup";

}  // namespace

BOOST_AUTO_TEST_SUITE(cargo_config)

BOOST_AUTO_TEST_CASE(target_rustflags_in_every_toml_form) {
  const std::vector<std::string> forms = {
      // [target.X] table
      "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"u\"]\n",
      // dotted key at the top
      "target.x86_64-unknown-linux-gnu.rustflags = [\"--cfg\", \"u\"]\n",
      // dotted key inside [target]
      "[target]\nx86_64-unknown-linux-gnu.rustflags = [\"--cfg\", \"u\"]\n",
      // inline table inside [target] (the form the line scanner missed)
      "[target]\nx86_64-unknown-linux-gnu = { rustflags = [\"--cfg\", \"u\"] }\n",
      // inline tables all the way
      "target = { x86_64-unknown-linux-gnu = { rustflags = [\"--cfg\", \"u\"] } }\n",
      // quoted key, string form
      "[target.\"x86_64-unknown-linux-gnu\"]\nrustflags = \"--cfg   u\"\n",
  };
  for (const auto& text : forms) {
    const auto user = user_of({text});
    BOOST_TEST((user.source == Source::Target), text);
    BOOST_TEST(user.flags == (Argv{"--cfg", "u"}), boost::test_tools::per_element());
  }
  // another triple's flags do not count
  BOOST_TEST((user_of({"[target]\naarch64-unknown-linux-gnu = { rustflags = [\"-Cx\"] }\n"}).source == Source::None));
}

BOOST_AUTO_TEST_CASE(build_rustflags_in_every_form) {
  for (const std::string text : {"[build]\nrustflags = [\"--cfg\", \"b\"]\n", "build.rustflags = \"--cfg b\"\n",
                                 "build = { rustflags = [\"--cfg\", \"b\"] }\n"}) {
    const auto user = user_of({text});
    BOOST_TEST((user.source == Source::Build), text);
    BOOST_TEST(user.flags == (Argv{"--cfg", "b"}), boost::test_tools::per_element());
  }
  const auto user = user_of({}, {{"CARGO_BUILD_RUSTFLAGS", "--cfg  envb"}});
  BOOST_TEST((user.source == Source::Build));
  BOOST_TEST(user.flags == (Argv{"--cfg", "envb"}), boost::test_tools::per_element());
  BOOST_TEST((user_of({"[build]\ntarget-dir = \"t\"\n"}).source == Source::None));
}

BOOST_AUTO_TEST_CASE(cfg_tables_apply_when_the_target_matches) {
  const auto user = user_of({"[target.'cfg(all(target_os = \"linux\", not(windows)))']\nrustflags = [\"--cfg\", \"a\"]\n"
                             "[target.'cfg(windows)']\nrustflags = [\"--cfg\", \"w\"]\n"
                             "[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"u\"]\n"
                             "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"t\"]\n"
                             "[build]\nrustflags = [\"--cfg\", \"b\"]\n"});
  // the triple's own flags first, then each matching cfg key in key order
  BOOST_TEST((user.source == Source::Target));
  BOOST_TEST(user.flags == (Argv{"--cfg", "t", "--cfg", "a", "--cfg", "u"}), boost::test_tools::per_element());

  // a cfg table that does not match leaves build.rustflags in charge
  const auto other = user_of({"[target.'cfg(target_arch = \"aarch64\")']\nrustflags = [\"--cfg\", \"arm\"]\n"
                              "[build]\nrustflags = [\"--cfg\", \"b\"]\n"});
  BOOST_TEST((other.source == Source::Build));
  BOOST_TEST(other.flags == (Argv{"--cfg", "b"}), boost::test_tools::per_element());

  // without the target's cfg the answer is unknown: an error, not a guess
  auto env = env_of({"[target.'cfg(unix)']\nrustflags = [\"-Cx\"]\n"});
  BOOST_TEST(env.needs_target_cfg());
  env.target_cfg.clear();
  BOOST_TEST(error_of([&] { rustimg::cargo::user_rustflags(env, kTriple); }).find("cfg of " + std::string(kTriple)) !=
             std::string::npos);
  BOOST_TEST(!env_of({"[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Cx\"]\n"}).needs_target_cfg());
}

BOOST_AUTO_TEST_CASE(cfg_expressions) {
  using rustimg::cargo::cfg_matches;
  BOOST_TEST(cfg_matches("cfg(unix)", kLinuxCfg));
  BOOST_TEST(!cfg_matches("cfg(windows)", kLinuxCfg));
  BOOST_TEST(cfg_matches("cfg(target_os = \"linux\")", kLinuxCfg));
  BOOST_TEST(!cfg_matches("cfg(target_os=\"macos\")", kLinuxCfg));
  BOOST_TEST(cfg_matches("cfg(any(windows, target_feature = \"sse2\"))", kLinuxCfg));
  BOOST_TEST(!cfg_matches("cfg(all(unix, target_env = \"musl\"))", kLinuxCfg));
  BOOST_TEST(cfg_matches("cfg(all())", kLinuxCfg));
  BOOST_TEST(!cfg_matches("cfg(any())", kLinuxCfg));
  BOOST_TEST(cfg_matches("cfg(not(any(windows, target_os = \"macos\",)))", kLinuxCfg));
  BOOST_TEST(cfg_matches("cfg(true)", kLinuxCfg));
  BOOST_TEST(!cfg_matches("cfg(false)", kLinuxCfg));
  BOOST_TEST(!cfg_matches("x86_64-unknown-linux-gnu", kLinuxCfg));  // a triple, not a cfg key
  for (const char* bad : {"cfg(all(unix)", "cfg(target_os = linux)", "cfg(not(unix, windows))", "cfg(unix windows)",
                          "cfg(target_os = \"linux)"})
    BOOST_TEST(error_of([&] { cfg_matches(bad, kLinuxCfg); }).find("cfg expression") != std::string::npos, bad);
}

BOOST_AUTO_TEST_CASE(environment_variables_and_precedence) {
  const std::string target = "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"--cfg\", \"t\"]\n";
  const std::string build = "[build]\nrustflags = [\"--cfg\", \"b\"]\n";
  // CARGO_ENCODED_RUSTFLAGS first, even when empty
  auto user = user_of({target, build}, {{"CARGO_ENCODED_RUSTFLAGS", "-Ca b\x1f--cfg"}, {"RUSTFLAGS", "-Cr"}});
  BOOST_TEST((user.source == Source::EncodedEnv));
  BOOST_TEST(user.flags == (Argv{"-Ca b", "--cfg"}), boost::test_tools::per_element());
  user = user_of({target}, {{"CARGO_ENCODED_RUSTFLAGS", ""}});
  BOOST_TEST((user.source == Source::EncodedEnv));
  BOOST_TEST(user.flags.empty());
  // then RUSTFLAGS, split on spaces, even when empty
  user = user_of({target, build}, {{"RUSTFLAGS", "  -Cr   --cfg x "}});
  BOOST_TEST((user.source == Source::RustflagsEnv));
  BOOST_TEST(user.flags == (Argv{"-Cr", "--cfg", "x"}), boost::test_tools::per_element());
  BOOST_TEST((user_of({target}, {{"RUSTFLAGS", ""}}).source == Source::RustflagsEnv));
  // then the target's flags, config files before CARGO_TARGET_<TRIPLE>_RUSTFLAGS
  user = user_of({target, build}, {{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "--cfg e"},
                                   {"CARGO_BUILD_RUSTFLAGS", "--cfg be"}});
  BOOST_TEST((user.source == Source::Target));
  BOOST_TEST(user.flags == (Argv{"--cfg", "t", "--cfg", "e"}), boost::test_tools::per_element());
  user = user_of({build}, {{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "--cfg e"}});
  BOOST_TEST((user.source == Source::Target));
  BOOST_TEST(user.flags == (Argv{"--cfg", "e"}), boost::test_tools::per_element());
  // another target's variable is not ours
  user = user_of({build}, {{"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "--cfg e"}});
  BOOST_TEST((user.source == Source::Build));
  // an empty target array lets build.rustflags through, as in cargo
  user = user_of({"target.x86_64-unknown-linux-gnu.rustflags = []\n", build}, {{"CARGO_BUILD_RUSTFLAGS", "--cfg be"}});
  BOOST_TEST((user.source == Source::Build));
  BOOST_TEST(user.flags == (Argv{"--cfg", "b", "--cfg", "be"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rustflags_strings_split_as_cargo_splits_them) {
  const std::string text = " \t--cfg\ta  --cfg  b\t\xc2\xa0";
  // RUSTFLAGS: on ' ' only, each piece trimmed; a tab inside a flag stays
  auto user = user_of({}, {{"RUSTFLAGS", text}});
  BOOST_TEST(user.flags == (Argv{"--cfg\ta", "--cfg", "b"}), boost::test_tools::per_element());
  user = user_of({}, {{"RUSTFLAGS", "\xc2\xa0-Cx\xe2\x80\x83 -Cy\xc3\xa9"}});  // NBSP, EM SPACE; é is no space
  BOOST_TEST(user.flags == (Argv{"-Cx", "-Cy\xc3\xa9"}), boost::test_tools::per_element());
  // CARGO_BUILD_RUSTFLAGS, CARGO_TARGET_<TRIPLE>_RUSTFLAGS and config strings: on any whitespace
  user = user_of({}, {{"CARGO_BUILD_RUSTFLAGS", text}});
  BOOST_TEST(user.flags == (Argv{"--cfg", "a", "--cfg", "b"}), boost::test_tools::per_element());
  user = user_of({}, {{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", text}});
  BOOST_TEST(user.flags == (Argv{"--cfg", "a", "--cfg", "b"}), boost::test_tools::per_element());
  user = user_of({"build.rustflags = \"--cfg\\ta\\n-Cz\\u00a0-Cw\"\n"});
  BOOST_TEST(user.flags == (Argv{"--cfg", "a", "-Cz", "-Cw"}), boost::test_tools::per_element());
}

namespace {

/// Answers `cargo --version` with `version` and records the requests.
class VersionRunner : public rustimg::ProcessRunner {
 public:
  explicit VersionRunner(std::string version) : version_(std::move(version)) {}
  std::vector<rustimg::ProcessRequest> requests;
  rustimg::ProcessResult run(const rustimg::ProcessRequest& request) override {
    requests.push_back(request);
    return {0, version_ + "\n", ""};
  }

 private:
  std::string version_;
};

/// The rustflags for kTriple of a crate whose .cargo/config.toml is `config`
/// next to the given other files of .cargo, as cargo `version` reads them.
Argv flags_with_include(const std::string& version, const std::string& config,
                        const std::map<std::string, std::string>& others = {}) {
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  dir.write("crate/.cargo/config.toml", config);
  for (const auto& [name, text] : others) dir.write("crate/.cargo/" + name, text);
  VersionRunner runner(version);
  const auto env = BuildEnvironment::detect(dir / "crate", runner);
  BOOST_TEST_REQUIRE(runner.requests.size() == 1u);
  BOOST_TEST(runner.requests[0].argv == (Argv{"cargo", "--version"}), boost::test_tools::per_element());
  BOOST_TEST(runner.requests[0].cwd == (dir / "crate").string());
  return rustimg::cargo::user_rustflags(env, kTriple).flags;
}

const std::string kIncludes = "include = [\"more.toml\"]\n[build]\nrustflags = [\"--cfg\", \"x\"]\n";
const std::map<std::string, std::string> kMore = {{"more.toml", "[build]\nrustflags = [\"--cfg\", \"more\"]\n"}};
const std::string kUnstable = "[unstable]\nconfig-include = true\n";

}  // namespace

BOOST_AUTO_TEST_CASE(config_include_is_read_by_cargo_1_93_and_later) {
  using rustimg::cargo::cargo_reads_config_include;
  BOOST_TEST(cargo_reads_config_include("cargo 1.93.0 (083ac5135 2025-12-15)", false, false));
  BOOST_TEST(cargo_reads_config_include("cargo 1.95.0 (f2d3ce0bd 2026-03-21)", false, false));
  BOOST_TEST(cargo_reads_config_include("cargo 2.0.0", false, false));
  BOOST_TEST(cargo_reads_config_include("", false, false));  // unknown: a current cargo
  BOOST_TEST(flags_with_include("cargo 1.95.0 (f2d3ce0bd 2026-03-21)", kIncludes, kMore) ==
                 (Argv{"--cfg", "more", "--cfg", "x"}),
             boost::test_tools::per_element());
  // a missing include is an error naming it, as in cargo
  try {
    flags_with_include("cargo 1.95.0 (f2d3ce0bd 2026-03-21)", kIncludes);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find("more.toml") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(config_include_is_ignored_by_older_cargo_unless_enabled) {
  using rustimg::cargo::cargo_reads_config_include;
  BOOST_TEST(!cargo_reads_config_include("cargo 1.92.0 (344c4567c 2025-10-21)", false, false));
  BOOST_TEST(!cargo_reads_config_include("cargo 1.92.0 (344c4567c 2025-10-21)", false, true));  // stable ignores [unstable]
  BOOST_TEST(!cargo_reads_config_include("cargo 1.92.0-beta.3 (344c4567c 2025-10-21)", false, true));
  BOOST_TEST(!cargo_reads_config_include("cargo 1.92.0-nightly (344c4567c 2025-10-21)", false, false));
  BOOST_TEST(cargo_reads_config_include("cargo 1.92.0-nightly (344c4567c 2025-10-21)", false, true));
  BOOST_TEST(cargo_reads_config_include("cargo 1.92.0 (344c4567c 2025-10-21)", true, true));  // RUSTC_BOOTSTRAP=1
  // ignored: the included flags do not apply, and a missing include is no error
  const std::string old = "cargo 1.85.0 (d73d2caf9 2024-12-31)";
  BOOST_TEST(flags_with_include(old, kIncludes, kMore) == (Argv{"--cfg", "x"}), boost::test_tools::per_element());
  BOOST_TEST(flags_with_include(old, kIncludes) == (Argv{"--cfg", "x"}), boost::test_tools::per_element());
  BOOST_TEST(flags_with_include(old, kIncludes + kUnstable, kMore) == (Argv{"--cfg", "x"}),
             boost::test_tools::per_element());
  // a nightly told so in the config reads them
  BOOST_TEST(flags_with_include("cargo 1.85.0-nightly (d73d2caf9 2024-12-31)", kIncludes + kUnstable, kMore) ==
                 (Argv{"--cfg", "more", "--cfg", "x"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(config_files_merge_like_cargo) {
  // arrays join, the higher-precedence file (later) last
  auto user = user_of({"[build]\nrustflags = [\"--cfg\", \"home\"]\n", "[build]\nrustflags = [\"--cfg\", \"crate\"]\n"});
  BOOST_TEST(user.flags == (Argv{"--cfg", "home", "--cfg", "crate"}), boost::test_tools::per_element());
  BOOST_TEST(user.joins_config_array);
  // a string replaces a string, and cannot take an array from --config
  user = user_of({"[build]\nrustflags = \"--cfg home\"\n", "[build]\nrustflags = \"--cfg crate\"\n"});
  BOOST_TEST(user.flags == (Argv{"--cfg", "crate"}), boost::test_tools::per_element());
  BOOST_TEST(!user.joins_config_array);
  // a string next to an array: cargo refuses, so does rustimg, naming both files
  const std::string msg = error_of([] {
    user_of({"[build]\nrustflags = \"--cfg home\"\n", "[build]\nrustflags = [\"--cfg\", \"crate\"]\n"});
  });
  BOOST_TEST(msg.find("/c0/config.toml") != std::string::npos, msg);
  BOOST_TEST(msg.find("/c1/config.toml") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(bad_config_text_names_the_file) {
  for (const std::string text : {"[target\n", "build.rustflags = 3\n", "build.rustflags = [\"-Cx\", 1]\n",
                                 "[target.x86_64-unknown-linux-gnu]\nrustflags = { a = 1 }\n"}) {
    const std::string msg = error_of([&] { rustimg::cargo::parse_config_rustflags(text, "/crate/.cargo/config.toml"); });
    BOOST_TEST(msg.find("/crate/.cargo/config.toml") != std::string::npos, msg);
  }
}

BOOST_AUTO_TEST_CASE(our_flags_go_where_cargo_looks) {
  // nothing set: build.rustflags through --config
  auto req = command_with(env_of({}));
  BOOST_TEST(req.argv.back() == "build.rustflags=" + kOurs);
  BOOST_TEST(req.env.count("CARGO_ENCODED_RUSTFLAGS") == 0u);

  // the user's inline target table: ours join it as target flags (cargo
  // would ignore build.rustflags)
  req = command_with(env_of({"[target]\nx86_64-unknown-linux-gnu = { rustflags = [\"--cfg\", \"u\"] }\n"}));
  BOOST_TEST(req.argv.back() == "target.x86_64-unknown-linux-gnu.rustflags=" + kOurs);
  // ... and so for a matching cfg table, the environment variable
  req = command_with(env_of({"[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"u\"]\n"}));
  BOOST_TEST(req.argv.back() == "target.x86_64-unknown-linux-gnu.rustflags=" + kOurs);
  req = command_with(env_of({}, {{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "--cfg u"}}));
  BOOST_TEST(req.argv.back() == "target.x86_64-unknown-linux-gnu.rustflags=" + kOurs);
  // a non-matching cfg table: the user's build.rustflags stay in charge
  req = command_with(env_of({"[target.'cfg(windows)']\nrustflags = [\"-Cw\"]\n[build]\nrustflags = [\"--cfg\", \"b\"]\n"}));
  BOOST_TEST(req.argv.back() == "build.rustflags=" + kOurs);

  // a string value cannot be joined: CARGO_ENCODED_RUSTFLAGS carries the
  // user's flags (all of cargo's target sources), then ours
  req = command_with(env_of({"[target.x86_64-unknown-linux-gnu]\nrustflags = \"--cfg u\"\n"
                             "[target.'cfg(unix)']\nrustflags = [\"--cfg\", \"c\"]\n"}));
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS") == "--cfg\x1f" "u\x1f--cfg\x1f" "c\x1f" + kOursEncoded);
  for (const auto& a : req.argv) BOOST_TEST(a.find("rustflags") == std::string::npos);
  req = command_with(env_of({"build.rustflags = \"--cfg b\"\n"}, {{"CARGO_BUILD_RUSTFLAGS", "--cfg e"}}));
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS") == "--cfg\x1f" "b\x1f--cfg\x1f" "e\x1f" + kOursEncoded);

  // RUSTFLAGS wins over every config: ours are added to it
  req = command_with(env_of({"[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Cx\"]\n"}, {{"RUSTFLAGS", "--cfg r"}}));
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS") == "--cfg\x1fr\x1f" + kOursEncoded);
  req = command_with(env_of({}, {{"RUSTFLAGS", ""}}));
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS") == kOursEncoded);
}

BOOST_AUTO_TEST_SUITE_END()
