// The cargo command lines rustimg runs, through a scripted process runner,
// and the real runner's streaming and cancellation.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/spec.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
using Argv = std::vector<std::string>;

rustimg::cargo::Metadata workspace() {
  rustimg::cargo::Metadata md;
  md.workspace_root = "/work/ws";
  md.target_directory = "/work/ws/target";
  md.packages.push_back({"app", "0.2.0", "path+file:///work/ws/app#0.2.0", "/work/ws/app/Cargo.toml",
                         {"app", "app-admin"}, std::string("app"), nullptr});
  md.packages.push_back({"tool", "0.1.0", "path+file:///work/ws/tool#0.1.0", "/work/ws/tool/Cargo.toml",
                         {"tool"}, std::nullopt, nullptr});
  return md;
}

rustimg::Spec spec_from(json value) {
  value["package"] = "app";
  return rustimg::resolve_spec({{"test", value}}, "/work/ws/app");
}

rustimg::cargo::BuildEnvironment env_with(std::map<std::string, std::string> vars = {}) {
  rustimg::cargo::BuildEnvironment env;
  env.vars = {{"HOME", "/home/dev"}};
  for (auto& [k, v] : vars) env.vars[k] = v;
  return env;
}

/// The plan's cargo run of bin "app" of package "app" for `triple`.
rustimg::cargo::BuildTarget target_for(rustimg::Spec spec, const rustimg::cargo::Metadata& md,
                                      const std::string& triple) {
  spec.targets = {triple};
  spec.platforms = {rustimg::find_rust_target(triple)->platform};
  return rustimg::pipeline::cargo_targets(spec, md.packages[0], "app").at(0);
}

rustimg::ProcessRequest command_for(const rustimg::Spec& spec, const std::string& triple,
                                    const rustimg::cargo::BuildEnvironment& env) {
  static const auto md = workspace();
  return rustimg::cargo::build_command(rustimg::pipeline::cargo_settings(spec), target_for(spec, md, triple),
                                       {"/work/ws/app", md.workspace_root}, env);
}

/// cargo::build over the plan of `spec` (bin "app" of package "app").
std::vector<rustimg::cargo::Binary> build_spec(const rustimg::Spec& spec, const rustimg::cargo::Metadata& md,
                                               const rustimg::cargo::BuildEnvironment& env,
                                               rustimg::ProcessRunner& runner,
                                               const rustimg::cargo::BuildCallbacks& callbacks = {}) {
  return rustimg::cargo::build(rustimg::pipeline::cargo_settings(spec),
                               rustimg::pipeline::cargo_targets(spec, md.packages[0], "app"),
                               {"/work/ws/app", md.workspace_root}, env, runner, callbacks);
}

const Argv kHead(const std::string& triple) {
  return {"cargo", "build", "--message-format=json-render-diagnostics", "--manifest-path",
          "/work/ws/app/Cargo.toml", "--target", triple, "-p", "app", "--bin", "app"};
}

/// The default ("size-optimize": "release"): the crate's release profile, stripped.
const Argv kSizeProfile = {"--profile", "rustimg",
                           "--config", "profile.rustimg.inherits=\"release\"",
                           "--config", "profile.rustimg.strip=\"symbols\""};

const std::string kRemap =
    "\"--remap-path-prefix=/work/ws=/src\", \"--remap-path-prefix=/home/dev/.cargo=/cargo\", "
    "\"--remap-path-prefix=/home/dev/.rustup=/rustup\"";

/// The same maps for C compilers (CFLAGS/CXXFLAGS; see test_build_script_env.cpp).
const std::string kCMaps =
    "-ffile-prefix-map=/work/ws=/src -ffile-prefix-map=/home/dev/.cargo=/cargo "
    "-ffile-prefix-map=/home/dev/.rustup=/rustup";

Argv concat(std::initializer_list<Argv> parts) {
  Argv out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// Records each request and answers with a scripted result.
class ScriptedRunner : public rustimg::ProcessRunner {
 public:
  std::vector<rustimg::ProcessRequest> requests;
  std::function<rustimg::ProcessResult(const rustimg::ProcessRequest&)> answer;

  rustimg::ProcessResult run(const rustimg::ProcessRequest& request) override {
    requests.push_back(request);
    rustimg::ProcessResult r = answer(request);
    // deliver output the way the real runner does, line by line
    auto feed = [](const std::string& text, const std::function<void(std::string_view)>& sink) {
      if (!sink) return;
      std::size_t start = 0;
      for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        sink(std::string_view(text).substr(start, nl - start));
    };
    feed(r.out, request.on_stdout_line);
    feed(r.err, request.on_stderr_line);
    return r;
  }
};

std::string artifact(const std::string& package_id, const std::string& kind, const std::string& name,
                     const std::string& executable) {
  json m = {{"reason", "compiler-artifact"},
            {"package_id", package_id},
            {"target", {{"kind", {kind}}, {"name", name}}},
            {"executable", executable.empty() ? json(nullptr) : json(executable)},
            {"fresh", false}};
  return m.dump() + "\n";
}

const std::string kFinishedOk = "{\"reason\":\"build-finished\",\"success\":true}\n";
const std::string kFinishedFail = "{\"reason\":\"build-finished\",\"success\":false}\n";

template <typename Fn>
rustimg::cargo::CargoError cargo_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const rustimg::cargo::CargoError& e) {
    return e;
  }
  BOOST_FAIL("expected a CargoError");
  throw std::logic_error("unreachable");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cargo_build)

BOOST_AUTO_TEST_CASE(host_gnu_command_line) {
  const auto req = command_for(spec_from({{"platforms", {"linux/amd64"}}}), "x86_64-unknown-linux-gnu", env_with());
  const Argv want = concat({kHead("x86_64-unknown-linux-gnu"), kSizeProfile,
                            {"--locked", "--config",
                             "build.rustflags=[\"-C\", \"target-feature=+crt-static\", " + kRemap + "]"}});
  BOOST_TEST(req.argv == want, boost::test_tools::per_element());
  BOOST_TEST(req.cwd == "/work/ws/app");
  BOOST_TEST(req.env.at("CARGO_TERM_COLOR") == "never");
  BOOST_TEST(req.env.count("RUSTFLAGS") == 0u);
  BOOST_TEST(req.env.count("CARGO_ENCODED_RUSTFLAGS") == 0u);
}

BOOST_AUTO_TEST_CASE(size_optimize_choices_shape_the_rustimg_profile) {
  const auto profile_of = [](const json& choice) {
    const auto argv = command_for(spec_from({{"size-optimize", choice}}), "x86_64-unknown-linux-gnu", env_with()).argv;
    const auto from = std::find(argv.begin(), argv.end(), "--profile");
    const auto to = std::find(from, argv.end(), "--locked");
    return Argv(from, to);
  };
  const Argv head = {"--profile", "rustimg", "--config", "profile.rustimg.inherits=\"release\""};
  const std::string p = "profile.rustimg.";
  BOOST_TEST(profile_of("release") == kSizeProfile, boost::test_tools::per_element());
  BOOST_TEST(profile_of("none") == head, boost::test_tools::per_element());
  BOOST_TEST(profile_of(false) == head, boost::test_tools::per_element());
  BOOST_TEST(profile_of("small") == concat({head, {"--config", p + "lto=true", "--config", p + "codegen-units=1",
                                                   "--config", p + "strip=\"symbols\""}}),
             boost::test_tools::per_element());
  const Argv min = concat({head, {"--config", p + "opt-level=\"z\"", "--config", p + "lto=true", "--config",
                                  p + "codegen-units=1", "--config", p + "panic=\"abort\"", "--config",
                                  p + "strip=\"symbols\""}});
  BOOST_TEST(profile_of("min") == min, boost::test_tools::per_element());
  BOOST_TEST(profile_of(true) == min, boost::test_tools::per_element());  // old specs: true meant "min"

  // a profile of the user's own is used as it is, whatever size-optimize says
  const auto own = command_for(spec_from({{"profile", "release"}, {"size-optimize", "min"}}),
                               "x86_64-unknown-linux-gnu", env_with()).argv;
  BOOST_TEST(std::count_if(own.begin(), own.end(), [](const std::string& a) { return a.find("profile.") == 0; }) == 0);
}

BOOST_AUTO_TEST_CASE(musl_aarch64_with_linker_and_own_flags) {
  const auto spec = spec_from({{"libc", "musl"},
                               {"platforms", {"linux/arm64"}},
                               {"target",
                                {{"aarch64-unknown-linux-musl",
                                  {{"linker", "aarch64-linux-musl-gcc"},
                                   {"rustflags", {"-C", "target-cpu=neoverse-n1"}},
                                   {"env", {{"CC_aarch64_unknown_linux_musl", "aarch64-linux-musl-gcc"}}}}}}}});
  BOOST_TEST(spec.targets == Argv{"aarch64-unknown-linux-musl"}, boost::test_tools::per_element());
  auto env = env_with();
  env.source_date_epoch = 1700000000;
  const auto req = command_for(spec, "aarch64-unknown-linux-musl", env);
  const Argv want = concat(
      {kHead("aarch64-unknown-linux-musl"), kSizeProfile,
       {"--locked", "--config",
        "build.rustflags=[\"-C\", \"target-feature=+crt-static\", \"-C\", \"link-self-contained=yes\", " + kRemap +
            ", \"-C\", \"target-cpu=neoverse-n1\"]"}});
  BOOST_TEST(req.argv == want, boost::test_tools::per_element());
  const std::map<std::string, std::string> want_env = {
      {"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "aarch64-linux-musl-gcc"},
      {"CC_aarch64_unknown_linux_musl", "aarch64-linux-musl-gcc"},
      {"CARGO_TERM_COLOR", "never"},
      {"SOURCE_DATE_EPOCH", "1700000000"},
      {"CFLAGS", kCMaps},
      {"CXXFLAGS", kCMaps}};
  BOOST_TEST(req.env == want_env);
}

BOOST_AUTO_TEST_CASE(armv7_keeps_user_target_rustflags) {
  auto env = env_with();
  env.configs = {rustimg::cargo::parse_config_rustflags(
      "[target.armv7-unknown-linux-gnueabihf]\nrustflags = [\"-Cx\"]\n", "/work/ws/.cargo/config.toml")};
  const auto spec = spec_from({{"platforms", {"linux/arm/v7"}}, {"size-optimize", false}});
  BOOST_TEST(spec.targets == Argv{"armv7-unknown-linux-gnueabihf"}, boost::test_tools::per_element());
  const auto req = command_for(spec, "armv7-unknown-linux-gnueabihf", env);
  const Argv want = concat(
      {kHead("armv7-unknown-linux-gnueabihf"),
       {"--profile", "rustimg", "--config", "profile.rustimg.inherits=\"release\"", "--locked", "--config",
        "target.armv7-unknown-linux-gnueabihf.rustflags=[\"-C\", \"target-feature=+crt-static\", " + kRemap + "]"}});
  BOOST_TEST(req.argv == want, boost::test_tools::per_element());

  // CARGO_TARGET_<T>_RUSTFLAGS in the environment counts as target flags too
  const auto req2 = command_for(spec, "armv7-unknown-linux-gnueabihf",
                                env_with({{"CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS", "-Copt-level=2"}}));
  BOOST_TEST(req2.argv.back().rfind("target.armv7-unknown-linux-gnueabihf.rustflags=", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(rustflags_env_is_extended_not_replaced) {
  const auto spec = spec_from({});
  auto req = command_for(spec, "x86_64-unknown-linux-gnu", env_with({{"RUSTFLAGS", " --cfg  userflag "}}));
  const std::string want = std::string("--cfg\x1fuserflag\x1f-C\x1ftarget-feature=+crt-static\x1f") +
                           "--remap-path-prefix=/work/ws=/src\x1f--remap-path-prefix=/home/dev/.cargo=/cargo\x1f" +
                           "--remap-path-prefix=/home/dev/.rustup=/rustup";
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS") == want);
  for (const auto& a : req.argv) BOOST_TEST(a.find("rustflags") == std::string::npos);

  req = command_for(spec, "x86_64-unknown-linux-gnu", env_with({{"CARGO_ENCODED_RUSTFLAGS", "-Cfoo\x1f-Cbar baz"}}));
  BOOST_TEST(req.env.at("CARGO_ENCODED_RUSTFLAGS").rfind("-Cfoo\x1f-Cbar baz\x1f-C\x1ftarget-feature=+crt-static", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(cargo_flags_from_the_spec) {
  const auto spec = spec_from({{"offline", true},
                               {"features", {"tls", "metrics"}},
                               {"default-features", false},
                               {"all-features", true},
                               {"profile", "release"}});
  const auto req = command_for(spec, "x86_64-unknown-linux-gnu", env_with({{"CARGO_HOME", "/opt/cargo"}}));
  const Argv want = concat({kHead("x86_64-unknown-linux-gnu"),
                            {"--profile", "release", "--frozen", "--all-features", "--no-default-features",
                             "--features", "tls,metrics", "--config",
                             "build.rustflags=[\"-C\", \"target-feature=+crt-static\", "
                             "\"--remap-path-prefix=/work/ws=/src\", \"--remap-path-prefix=/opt/cargo=/cargo\", "
                             "\"--remap-path-prefix=/home/dev/.rustup=/rustup\"]"}});
  BOOST_TEST(req.argv == want, boost::test_tools::per_element());
  BOOST_TEST(command_for(spec_from({{"locked", false}}), "x86_64-unknown-linux-gnu", env_with()).argv.size() ==
             kHead("x").size() + kSizeProfile.size() + 2);
}

BOOST_AUTO_TEST_CASE(quiet_runs_cargo_quiet) {
  const auto md = workspace();
  const auto spec = spec_from({{"platforms", {"linux/amd64"}}});
  rustimg::cargo::BuildSettings settings = rustimg::pipeline::cargo_settings(spec);
  settings.quiet = true;
  const auto req = rustimg::cargo::build_command(settings, target_for(spec, md, "x86_64-unknown-linux-gnu"),
                                                 {"/work/ws/app", md.workspace_root}, env_with());
  const Argv want = concat({kHead("x86_64-unknown-linux-gnu"), kSizeProfile,
                            {"--locked", "--quiet", "--config",
                             "build.rustflags=[\"-C\", \"target-feature=+crt-static\", " + kRemap + "]"}});
  BOOST_TEST(req.argv == want, boost::test_tools::per_element());
  BOOST_TEST(req.env.count("CARGO_TERM_QUIET") == 0u);
}

BOOST_AUTO_TEST_CASE(paths_with_quotes_are_escaped_for_toml) {
  auto md = workspace();
  md.workspace_root = "/work/we\"ird\\ws";
  const auto spec = spec_from({});
  const auto req = rustimg::cargo::build_command(rustimg::pipeline::cargo_settings(spec),
                                                 target_for(spec, md, "x86_64-unknown-linux-gnu"),
                                                 {"/work/ws/app", md.workspace_root}, env_with());
  BOOST_TEST(req.argv.back().find("\"--remap-path-prefix=/work/we\\\"ird\\\\ws=/src\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(build_finds_the_bin_artifact_per_platform) {
  const auto md = workspace();
  const auto spec = spec_from({{"platforms", {"linux/amd64", "linux/arm64"}}});
  // the aarch64 cross gcc rustimg picks, with its static libc (check_toolchain)
  const rustimg::test::ScratchDir tools;
  tools.write("bin/aarch64-linux-gnu-gcc", "");
  tools.write("aarch64-linux-gnu/lib/libc.a", "");
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest& req) {
    if (req.argv.at(0) == "rustc") return rustimg::ProcessResult{1, "", "no sysroot here\n"};
    const std::string triple = req.argv.at(6);
    const std::string dir = "/work/ws/target/" + triple + "/rustimg/";
    rustimg::ProcessResult r;
    r.exit_code = 0;
    r.out = artifact("path+file:///work/ws/app#0.2.0", "custom-build", "build-script-build", "") +
            artifact("path+file:///work/ws/tool#0.1.0", "bin", "app", dir + "wrong-package") +
            "not json, printed by a proc-macro\n" +
            artifact("path+file:///work/ws/app#0.2.0", "bin", "app-admin", dir + "app-admin") +
            artifact("path+file:///work/ws/app#0.2.0", "bin", "app", dir + "app") + kFinishedOk;
    r.err = "   Compiling app v0.2.0\n    Finished\n";
    return r;
  };
  std::vector<std::string> log;
  rustimg::cargo::BuildCallbacks cb;
  cb.progress = [&log](const rustimg::ProgressEvent& e) {
    // cargo's lines are stage "cargo"; rustimg's own "building ..." is "build".
    BOOST_TEST(e.stage == (e.message.rfind("building ", 0) == 0 ? "build" : "cargo"));
    log.push_back(e.message);
    return false;
  };
  const auto bins = build_spec(spec, md, env_with({{"PATH", (tools / "bin").string()}}), runner, cb);
  BOOST_REQUIRE_EQUAL(bins.size(), 2u);
  BOOST_TEST(bins[0].triple == "x86_64-unknown-linux-gnu");
  BOOST_TEST(bins[0].platform.to_string() == "linux/amd64");
  BOOST_TEST(bins[0].path == "/work/ws/target/x86_64-unknown-linux-gnu/rustimg/app");
  BOOST_TEST(bins[1].triple == "aarch64-unknown-linux-gnu");
  BOOST_TEST(bins[1].path == "/work/ws/target/aarch64-unknown-linux-gnu/rustimg/app");
  BOOST_TEST(runner.requests.size() == 3u);  // rustc --print sysroot, then cargo twice
  BOOST_TEST(runner.requests[2].env.at("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER") == "aarch64-linux-gnu-gcc");
  BOOST_TEST(std::count(log.begin(), log.end(), "   Compiling app v0.2.0") == 2);
}

BOOST_AUTO_TEST_CASE(missing_target_std_names_rustup) {
  const auto md = workspace();
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 101;
    r.out = kFinishedFail;
    r.err = "   Compiling app v0.2.0\nerror[E0463]: can't find crate for `std`\n  |\n  = note: the "
            "`aarch64-unknown-linux-gnu` target may not be installed\n  = help: consider downloading the target "
            "with `rustup target add aarch64-unknown-linux-gnu`\n\nerror: could not compile `app`\n";
    return r;
  };
  // cargo's own E0463 (when check_toolchain could not ask rustc) still becomes advice
  const auto spec = spec_from({{"platforms", {"linux/arm64"}},
                               {"target", {{"aarch64-unknown-linux-gnu", {{"linker", "aarch64-linux-gnu-gcc"}}}}}});
  const auto e = cargo_error_of([&] { build_spec(spec, md, env_with(), runner); });
  BOOST_TEST(std::string(e.what()) ==
             "the Rust standard library for aarch64-unknown-linux-gnu (platform linux/arm64) is not installed: run "
             "`rustup target add aarch64-unknown-linux-gnu` (or pick another platform/libc in the spec)");
  BOOST_TEST(e.exit_code() == 101);
  BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::Cargo));
}

BOOST_AUTO_TEST_CASE(cross_link_and_c_compiler_failures_name_the_fix) {
  // the host's linker for an arm64 link (rust-lld's words), as when the user sets "cc"
  const auto md = workspace();
  std::string err = "error: linking with `cc` failed: exit status: 1\n  = note: rust-lld: error: "
                    "/t/symbols.o is incompatible with elf64-x86-64\n";
  ScriptedRunner runner;
  runner.answer = [&err](const rustimg::ProcessRequest&) { return rustimg::ProcessResult{101, kFinishedFail, err}; };
  const auto with_linker = [](const std::string& triple, const std::string& linker, const std::string& platform,
                              const std::string& libc) {
    return spec_from({{"platforms", {platform}}, {"libc", libc}, {"target", {{triple, {{"linker", linker}}}}}});
  };
  std::string msg = cargo_error_of([&] {
    build_spec(with_linker("aarch64-unknown-linux-gnu", "cc", "linux/arm64", "gnu"), md, env_with(), runner);
  }).what();
  BOOST_TEST(msg.find("linking for aarch64-unknown-linux-gnu used a linker for another architecture") == 0u, msg);
  BOOST_TEST(msg.find("apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross") != std::string::npos, msg);

  // the right linker, but a C library a build script compiled for the host: CC_<triple>, not the linker
  for (const char* lib :
       {"/usr/bin/aarch64-linux-gnu-ld: skipping incompatible /w/target/aarch64-unknown-linux-gnu/rustimg/build/"
        "app-1f/out/libfoo.a when searching for -lfoo\n",
        "rust-lld: error: /w/target/aarch64-unknown-linux-musl/rustimg/build/app-1f/out/foo.o is incompatible with "
        "elf64-x86-64\n"}) {
    err = "error: linking with `aarch64-linux-gnu-gcc` failed: exit status: 1\n  = note: " + std::string(lib);
    msg = cargo_error_of([&] {
      build_spec(with_linker("aarch64-unknown-linux-gnu", "aarch64-linux-gnu-gcc", "linux/arm64", "gnu"), md,
                 env_with(), runner);
    }).what();
    BOOST_TEST(msg.find("a C library built for another architecture") != std::string::npos, msg);
    BOOST_TEST(msg.find("\"CC_aarch64_unknown_linux_gnu\": \"aarch64-linux-gnu-gcc\"") != std::string::npos, msg);
    BOOST_TEST(msg.find("PKG_CONFIG_SYSROOT_DIR") != std::string::npos, msg);
    BOOST_TEST(msg.find("used a linker for another architecture") == std::string::npos, msg);
  }

  // a build script's C compiler is missing: the package, or CC_<triple> to set
  err = "error: failed to run custom build command for `app v0.2.0`\n  error occurred in cc-rs: failed to find "
        "tool \"aarch64-linux-gnu-gcc\": No such file or directory (os error 2)\n";
  msg = cargo_error_of([&] {
    build_spec(with_linker("aarch64-unknown-linux-gnu", "aarch64-linux-gnu-gcc", "linux/arm64", "gnu"), md, env_with(),
               runner);
  }).what();
  BOOST_TEST(msg.find("a build script compiles C for aarch64-unknown-linux-gnu, but its C compiler "
                      "aarch64-linux-gnu-gcc is not installed: apt-get install gcc-aarch64-linux-gnu") == 0u, msg);
  err = "error occurred in cc-rs: failed to find tool \"aarch64-linux-musl-gcc\": No such file or directory\n";
  msg = cargo_error_of([&] {
    build_spec(with_linker("aarch64-unknown-linux-musl", "rust-lld", "linux/arm64", "musl"), md, env_with(), runner);
  }).what();
  BOOST_TEST(msg.find("Debian has no C compiler for aarch64-unknown-linux-musl") != std::string::npos, msg);
  BOOST_TEST(msg.find("\"CC_aarch64_unknown_linux_musl\"") != std::string::npos, msg);
  BOOST_TEST(msg.find("\"libc\": \"gnu\"") != std::string::npos, msg);
  err = "error occurred in cc-rs: failed to find tool \"x86_64-linux-musl-gcc\": No such file or directory\n";
  msg = cargo_error_of([&] { build_spec(spec_from({{"libc", "musl"}}), md, env_with(), runner); }).what();
  BOOST_TEST(msg.find("apt-get install musl-tools") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(compile_error_names_file_and_line) {
  const auto md = workspace();
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 101;
    r.out = kFinishedFail;
    r.err = "   Compiling app v0.2.0\nwarning: unused variable\n --> src/lib.rs:1:1\n\nerror[E0308]: mismatched "
            "types\n --> src/main.rs:2:21\n  |\n2 |     let port: u32 = \"8080\";\n\nerror: could not compile `app`\n";
    return r;
  };
  const auto e = cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner); });
  const std::string msg = e.what();
  BOOST_TEST(msg.find("cargo build for x86_64-unknown-linux-gnu failed (exit 101):\nerror[E0308]: mismatched types\n"
                      " --> src/main.rs:2:21") == 0u, msg);
  BOOST_TEST(msg.find("unused variable") == std::string::npos);
  BOOST_TEST(e.diagnostics().find("error: could not compile `app`") != std::string::npos);
  BOOST_TEST(e.stderr_tail().find("Compiling app") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failure_without_json_keeps_stderr) {
  const auto md = workspace();
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 101;
    r.err = "error: no matching package named `serde` found\n";
    return r;
  };
  const auto e = cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner); });
  BOOST_TEST(std::string(e.what()).find("no matching package named `serde`") != std::string::npos);

  // cargo's lines also went to the progress callback, once; the message
  // keeps the first error for callers that only see the exception
  std::vector<std::string> shown;
  rustimg::cargo::BuildCallbacks callbacks;
  callbacks.progress = [&shown](const rustimg::ProgressEvent& ev) {
    shown.push_back(ev.message);
    return false;
  };
  const auto streamed = cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner, callbacks); });
  BOOST_TEST(std::string(streamed.what()).find("no matching package named `serde`") != std::string::npos,
             streamed.what());
  BOOST_TEST(streamed.diagnostics().find("no matching package named `serde`") != std::string::npos);
  BOOST_TEST(std::count(shown.begin(), shown.end(), "error: no matching package named `serde` found") == 1);

  // cargo's hint about a --locked flag the user never passed becomes advice
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 101;
    r.err = "error: cannot create the lock file /work/ws/Cargo.lock because --locked was passed to prevent this\n"
            "help: to generate the lock file without accessing the network, remove the --locked flag and use "
            "--offline instead.\n";
    return r;
  };
  const std::string lock = cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner); }).what();
  BOOST_TEST(lock.find("cargo generate-lockfile") != std::string::npos, lock);
  BOOST_TEST(lock.find("/work/ws") != std::string::npos, lock);
  BOOST_TEST(lock.find("remove the --locked flag") == std::string::npos, lock);
}

BOOST_AUTO_TEST_CASE(a_locked_build_needs_cargo_lock) {
  const auto dir = std::filesystem::temp_directory_path() / ("rustimg-lock-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  rustimg::cargo::BuildSettings settings;
  try {
    rustimg::cargo::check_lockfile(settings, dir);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::NotFound));
    BOOST_TEST(msg.find(dir.string() + " has no Cargo.lock") == 0u, msg);
    BOOST_TEST(msg.find("cargo generate-lockfile") != std::string::npos, msg);
    BOOST_TEST(msg.find("\"locked\": false") != std::string::npos, msg);
  }
  settings.locked = false;
  rustimg::cargo::check_lockfile(settings, dir);  // cargo may write it
  settings.locked = true;
  std::ofstream(dir / "Cargo.lock") << "version = 4\n";
  rustimg::cargo::check_lockfile(settings, dir);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(success_needs_build_finished_and_an_executable) {
  const auto md = workspace();
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 0;  // exit 0 but no build-finished: not a success
    return r;
  };
  cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner); });
  runner.answer = [](const rustimg::ProcessRequest&) {
    rustimg::ProcessResult r;
    r.exit_code = 0;
    r.out = kFinishedOk;
    return r;
  };
  const auto e = cargo_error_of([&] { build_spec(spec_from({}), md, env_with(), runner); });
  BOOST_TEST(std::string(e.what()).find("reported no executable for bin \"app\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(build_crate_runs_the_callers_cargo_through_its_runner) {
  // The runner and cargo program a build is given reach every cargo run:
  // metadata, the version probe a config `include` needs, and the build.
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  dir.write("crate/Cargo.toml", "[package]\nname = \"app\"\n");
  dir.write("crate/Cargo.lock", "version = 4\n");
  dir.write("crate/.cargo/config.toml", "include = [{ path = \"absent.toml\", optional = true }]\n");
  const json metadata = {
      {"packages", json::array({{{"name", "app"},
                                 {"version", "0.1.0"},
                                 {"id", "path+file:///crate#app@0.1.0"},
                                 {"manifest_path", (dir / "crate" / "Cargo.toml").string()},
                                 {"targets", json::array({{{"kind", {"bin"}}, {"name", "app"}}})},
                                 {"metadata", nullptr},
                                 {"default_run", nullptr}}})},
      {"workspace_members", {"path+file:///crate#app@0.1.0"}},
      {"workspace_root", (dir / "crate").string()},
      {"target_directory", (dir / "crate" / "target").string()}};
  ScriptedRunner runner;
  runner.answer = [&metadata](const rustimg::ProcessRequest& req) {
    if (req.argv.at(1) == "metadata") return rustimg::ProcessResult{0, metadata.dump(), ""};
    if (req.argv.at(1) == "--version") return rustimg::ProcessResult{0, "cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n", ""};
    return rustimg::ProcessResult{101, "", "error: scripted failure\n"};
  };
  rustimg::pipeline::CrateBuildOptions o;
  o.spec.crate_dir = dir / "crate";
  o.spec.cargo = "/opt/rust/bin/cargo";
  o.image.output = {rustimg::store::ImageLocation::Kind::OciLayout, dir / "out", "latest", {}};
  o.runner = &runner;
  BOOST_CHECK_THROW(rustimg::pipeline::build_crate(std::move(o)), rustimg::cargo::CargoError);
  BOOST_TEST_REQUIRE(runner.requests.size() == 4u);
  BOOST_TEST(runner.requests[0].argv.at(1) == "metadata");
  BOOST_TEST(runner.requests[1].argv == (Argv{"/opt/rust/bin/cargo", "--version"}), boost::test_tools::per_element());
  // check_toolchain asks rustc (as cargo does: $RUSTC, else rustc) in the crate directory
  BOOST_TEST(runner.requests[2].argv == (Argv{"rustc", "--print", "sysroot"}), boost::test_tools::per_element());
  BOOST_TEST(runner.requests[2].cwd == (dir / "crate").string());
  BOOST_TEST(runner.requests[3].argv.at(1) == "build");
  for (const auto& r : runner.requests)
    if (r.argv.at(0) != "rustc") BOOST_TEST(r.argv.at(0) == "/opt/rust/bin/cargo");
}

BOOST_AUTO_TEST_CASE(detect_reads_config_files_from_the_crate_up_and_cargo_home) {
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  using rustimg::cargo::BuildEnvironment;
  using rustimg::cargo::UserRustflags;
  // The caller's cargo answers the version probe (a cargo that reads includes).
  ScriptedRunner runner;
  runner.answer = [](const rustimg::ProcessRequest&) {
    return rustimg::ProcessResult{0, "cargo 1.95.0 (f2d3ce0bd 2026-03-21)\n", ""};
  };
  const std::string cargo = "/opt/rust/bin/cargo";

  dir.write("crate/.cargo/config.toml", "[build]\nrustflags = [\"--cfg\", \"x\"]\n");
  dir.write("cargo-home/config.toml", "[build]\nrustflags = [\"--cfg\", \"home\"]\n");
  auto env = BuildEnvironment::detect(dir / "crate", runner, cargo);
  auto user = rustimg::cargo::user_rustflags(env, "x86_64-unknown-linux-gnu");
  BOOST_TEST(user.flags == (Argv{"--cfg", "home", "--cfg", "x"}), boost::test_tools::per_element());
  BOOST_TEST(env.cargo == cargo);  // the build runs the caller's cargo
  BOOST_TEST(runner.requests.empty());  // no include: no version probe

  // a parent directory's config applies too, and dotted keys count
  dir.write(".cargo/config.toml", "# comment\ntarget.x86_64-unknown-linux-gnu.rustflags = [\"-Cx\"]\n");
  env = BuildEnvironment::detect(dir / "crate", runner, cargo);
  user = rustimg::cargo::user_rustflags(env, "x86_64-unknown-linux-gnu");
  BOOST_TEST((user.source == UserRustflags::Source::Target));
  BOOST_TEST(user.flags == (Argv{"-Cx"}), boost::test_tools::per_element());
  BOOST_TEST(env.vars.at("CARGO_HOME") == (dir / "cargo-home").string());

  // includes come before the file that names them; a missing one is named
  dir.write("crate/.cargo/config.toml",
            "include = [\"more.toml\", { path = \"absent.toml\", optional = true }]\n"
            "[build]\nrustflags = [\"--cfg\", \"x\"]\n");
  dir.write("crate/.cargo/more.toml", "[build]\nrustflags = [\"--cfg\", \"more\"]\n");
  std::filesystem::remove(dir / ".cargo" / "config.toml");
  env = BuildEnvironment::detect(dir / "crate", runner, cargo);
  user = rustimg::cargo::user_rustflags(env, "x86_64-unknown-linux-gnu");
  BOOST_TEST(user.flags == (Argv{"--cfg", "home", "--cfg", "more", "--cfg", "x"}), boost::test_tools::per_element());
  // the version probe ran the caller's cargo, not the one on PATH
  BOOST_TEST_REQUIRE(runner.requests.size() == 1u);
  BOOST_TEST(runner.requests[0].argv == (Argv{cargo, "--version"}), boost::test_tools::per_element());
  dir.write("crate/.cargo/config.toml", "include = [\"gone.toml\"]\n");
  try {
    BuildEnvironment::detect(dir / "crate", runner, cargo);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find("gone.toml") != std::string::npos, e.what());
  }

  // a malformed file: an error naming it and the line
  dir.write("crate/.cargo/config.toml", "[build]\nrustflags = [\"--cfg\"\n");
  try {
    BuildEnvironment::detect(dir / "crate", runner, cargo);
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find((dir / "crate" / ".cargo" / "config.toml").string()) != std::string::npos,
               e.what());
    BOOST_TEST(std::string(e.what()).find("line") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(process_streaming)

BOOST_AUTO_TEST_CASE(lines_arrive_through_callbacks) {
  rustimg::ProcessRequest req;
  req.argv = {"/bin/sh", "-c", "printf 'a\\nb\\n'; printf 'e1\\ne2' >&2"};
  std::vector<std::string> out, err;
  req.on_stdout_line = [&out](std::string_view l) { out.emplace_back(l); };
  req.on_stderr_line = [&err](std::string_view l) { err.emplace_back(l); };
  const auto r = rustimg::system_process_runner().run(req);
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(out == (Argv{"a", "b"}), boost::test_tools::per_element());
  BOOST_TEST(err == (Argv{"e1", "e2"}), boost::test_tools::per_element());  // the unterminated last line too
  BOOST_TEST(r.out == "a\nb\n");
}

BOOST_AUTO_TEST_CASE(cancel_kills_the_whole_process_group) {
  rustimg::ProcessRequest req;
  // The child starts a grandchild and reports both pids.
  req.argv = {"/bin/sh", "-c", "sleep 300 & echo $!; echo ready; wait"};
  std::vector<std::string> lines;
  req.on_stdout_line = [&lines](std::string_view l) { lines.emplace_back(l); };
  req.cancelled = [&lines] { return lines.size() >= 2; };
  try {
    rustimg::system_process_runner().run(req);
    BOOST_FAIL("expected cancellation");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::Cancelled));
  }
  BOOST_REQUIRE(!lines.empty());
  const std::string grandchild = lines[0];
  // The grandchild is gone (or at most a zombie waiting for init to reap it).
  bool alive = false;
  for (int i = 0; i < 50; ++i) {
    std::ifstream stat("/proc/" + grandchild + "/stat");
    std::string pid, comm, state;
    alive = static_cast<bool>(stat >> pid >> comm >> state) && state != "Z";
    if (!alive) break;
    ::usleep(100 * 1000);
  }
  BOOST_TEST(!alive, "grandchild " << grandchild << " survived the cancellation");
}

BOOST_AUTO_TEST_CASE(an_exception_in_a_callback_stops_the_child) {
  rustimg::ProcessRequest req;
  req.argv = {"/bin/sh", "-c", "echo one; sleep 300"};
  req.on_stdout_line = [](std::string_view) { throw std::runtime_error("callback failed"); };
  BOOST_CHECK_THROW(rustimg::system_process_runner().run(req), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
