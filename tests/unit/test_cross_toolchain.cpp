// Cross toolchains: the linker and C tools rustimg picks when the user chose
// none (the user's choice always wins), and the checks before cargo runs
// (target std installed, cross linker and its libc present).
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "test_support.hpp"

namespace {

using rustimg::cargo::BuildEnvironment;
using rustimg::cargo::BuildTarget;
using rustimg::cargo::CrossDefaults;
using Vars = std::map<std::string, std::string>;

const rustimg::Platform kAmd64{"linux", "amd64", ""};
const rustimg::Platform kArm64{"linux", "arm64", ""};

BuildTarget target(const std::string& triple) {
  BuildTarget t;
  t.triple = triple;
  t.platform = rustimg::find_rust_target(triple)->platform;
  t.package = "app";
  t.manifest_path = "/work/ws/app/Cargo.toml";
  t.bin = "app";
  return t;
}

BuildEnvironment env_with(Vars vars = {}, std::string config = {}) {
  BuildEnvironment env;
  env.vars = {{"HOME", "/home/dev"}};
  for (auto& [k, v] : vars) env.vars[k] = v;
  if (!config.empty()) env.configs.push_back(rustimg::cargo::parse_config_rustflags(config, "/work/ws/.cargo/config.toml"));
  return env;
}

CrossDefaults defaults(const BuildTarget& t, const BuildEnvironment& env = env_with(),
                       const rustimg::Platform& host = kAmd64) {
  return rustimg::cargo::cross_defaults(t, env, host);
}

/// Answers `rustc --print sysroot` with a fixed text.
struct SysrootRunner : rustimg::ProcessRunner {
  std::string answer;
  int exit_code = 0;
  std::vector<rustimg::ProcessRequest> requests;
  rustimg::ProcessResult run(const rustimg::ProcessRequest& req) override {
    requests.push_back(req);
    return {exit_code, answer + "\n", ""};
  }
};

/// The message of the rustimg::Error (NotFound) that `fn` throws.
std::string not_found(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::NotFound));
    return e.what();
  }
  BOOST_FAIL("expected an error");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(cross_toolchain)

BOOST_AUTO_TEST_CASE(defaults_per_target_on_an_amd64_host) {
  const auto gnu = defaults(target("aarch64-unknown-linux-gnu"));
  BOOST_TEST(gnu.linker == "aarch64-linux-gnu-gcc");
  BOOST_TEST(gnu.rustflags.empty());
  BOOST_TEST(gnu.env == (Vars{{"AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar"},
                              {"CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc"}}));
  const auto armv7 = defaults(target("armv7-unknown-linux-gnueabihf"));
  BOOST_TEST(armv7.linker == "arm-linux-gnueabihf-gcc");
  BOOST_TEST(armv7.env.at("CC_armv7_unknown_linux_gnueabihf") == "arm-linux-gnueabihf-gcc");
  // musl: rust-lld with rustc's bundled crt and libc, a content-hash build-id, no C compiler
  for (const char* triple : {"aarch64-unknown-linux-musl", "armv7-unknown-linux-musleabihf"}) {
    const auto musl = defaults(target(triple));
    BOOST_TEST(musl.linker == "rust-lld");
    BOOST_TEST(musl.rustflags == (std::vector<std::string>{"-C", "link-arg=--build-id=sha1"}),
               boost::test_tools::per_element());
    BOOST_TEST(musl.env.empty());
  }
  // the host's own architecture keeps cargo's linker (cc)
  for (const char* triple : {"x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"}) {
    const auto host = defaults(target(triple));
    BOOST_TEST(host.linker.empty());
    BOOST_TEST(host.env.empty());
  }
  // on an arm64 host, amd64 is the cross target
  BOOST_TEST(defaults(target("x86_64-unknown-linux-gnu"), env_with(), kArm64).linker == "x86_64-linux-gnu-gcc");
  BOOST_TEST(defaults(target("aarch64-unknown-linux-gnu"), env_with(), kArm64).linker.empty());
}

BOOST_AUTO_TEST_CASE(the_users_linker_wins_wherever_it_is_set) {
  const std::string triple = "aarch64-unknown-linux-gnu";
  const auto user = [&](const BuildTarget& t, const BuildEnvironment& env) {
    const auto chosen = rustimg::cargo::user_linker(t, env);
    BOOST_TEST(defaults(t, env).linker.empty());
    BOOST_TEST(defaults(t, env).env.empty());  // the user's toolchain decides C too
    return chosen.value_or("<none>");
  };
  auto spec = target(triple);
  spec.linker = "clang";
  BOOST_TEST(user(spec, env_with()) == "clang");
  auto spec_env = target(triple);
  spec_env.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"] = "ld.lld";
  BOOST_TEST(user(spec_env, env_with()) == "ld.lld");
  auto spec_flags = target(triple);
  spec_flags.rustflags = {"-C", "linker=my-gcc"};
  BOOST_TEST(user(spec_flags, env_with()) == "my-gcc");
  BOOST_TEST(user(target(triple), env_with({{"RUSTFLAGS", "-Clinker=a-gcc"}})) == "a-gcc");
  BOOST_TEST(user(target(triple), env_with({{"CARGO_ENCODED_RUSTFLAGS", "--codegen\x1flinker=b-gcc"}})) == "b-gcc");
  BOOST_TEST(user(target(triple), env_with({{"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "c-gcc"}})) == "c-gcc");
  BOOST_TEST(user(target(triple), env_with({}, "[target.aarch64-unknown-linux-gnu]\nlinker = \"d-gcc\"\n")) == "d-gcc");
  // cargo's order: the environment variable over the config file
  BOOST_TEST(user(target(triple), env_with({{"CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "env-gcc"}},
                                           "[target.aarch64-unknown-linux-gnu]\nlinker = \"file-gcc\"\n")) == "env-gcc");
  // a linker in the config's build.rustflags counts too
  BOOST_TEST(user(target(triple), env_with({}, "[build]\nrustflags = [\"-C\", \"linker=e-gcc\"]\n")) == "e-gcc");

  // target.'cfg(...)'.linker applies when the target's cfg matches it
  auto cfg = env_with({}, "[target.'cfg(target_arch = \"aarch64\")']\nlinker = \"f-gcc\"\n");
  BOOST_TEST(cfg.needs_target_cfg());
  BOOST_CHECK_THROW(rustimg::cargo::user_linker(target(triple), cfg), rustimg::Error);  // cfg not asked yet
  cfg.target_cfg[triple] = {"unix", "target_arch=\"aarch64\"", "target_os=\"linux\""};
  BOOST_TEST(user(target(triple), cfg) == "f-gcc");
  cfg.target_cfg["armv7-unknown-linux-gnueabihf"] = {"unix", "target_arch=\"arm\"", "target_os=\"linux\""};
  BOOST_TEST(defaults(target("armv7-unknown-linux-gnueabihf"), cfg).linker == "arm-linux-gnueabihf-gcc");
}

BOOST_AUTO_TEST_CASE(the_users_c_compiler_for_the_target_wins) {
  const auto t = target("aarch64-unknown-linux-gnu");
  for (const char* name : {"CC_aarch64-unknown-linux-gnu", "CC_aarch64_unknown_linux_gnu", "TARGET_CC", "CROSS_COMPILE"}) {
    const auto d = defaults(t, env_with({{name, "my-cc"}}));
    BOOST_TEST(d.linker == "aarch64-linux-gnu-gcc");
    BOOST_TEST(d.env.count("CC_aarch64_unknown_linux_gnu") == 0u, name);
  }
  // AR is decided on its own
  BOOST_TEST(defaults(t, env_with({{"TARGET_CC", "my-cc"}})).env.at("AR_aarch64_unknown_linux_gnu") ==
             "aarch64-linux-gnu-ar");
  // a plain CC is the host's compiler: the target's still gets set, so cc does not pick the host one
  BOOST_TEST(defaults(t, env_with({{"CC", "gcc"}})).env.at("CC_aarch64_unknown_linux_gnu") == "aarch64-linux-gnu-gcc");
  auto spec_env = t;
  spec_env.env["AR_aarch64_unknown_linux_gnu"] = "llvm-ar";
  BOOST_TEST(defaults(spec_env).env.count("AR_aarch64_unknown_linux_gnu") == 0u);
}

BOOST_AUTO_TEST_CASE(a_cargo_config_c_compiler_counts_and_the_rows_gcc_keeps_cc) {
  const auto t = target("aarch64-unknown-linux-gnu");
  // CC/AR from a cargo config's [env] are the user's too (cargo gives them to build scripts)
  const auto d = defaults(t, env_with({}, "[env]\nCC_aarch64_unknown_linux_gnu = \"clang\"\nTARGET_AR = \"llvm-ar\"\n"));
  BOOST_TEST(d.linker == "aarch64-linux-gnu-gcc");
  BOOST_TEST(d.env.empty());
  // the user's linker is the row's gcc: CC/AR for build scripts still match it
  auto own = t;
  own.linker = "/usr/bin/aarch64-linux-gnu-gcc";
  const auto o = defaults(own);
  BOOST_TEST(o.linker.empty());
  BOOST_TEST(o.env.at("CC_aarch64_unknown_linux_gnu") == "aarch64-linux-gnu-gcc");
  BOOST_TEST(o.env.at("AR_aarch64_unknown_linux_gnu") == "aarch64-linux-gnu-ar");
  own.env["CC_aarch64_unknown_linux_gnu"] = "my-cc";
  BOOST_TEST(defaults(own).env.count("CC_aarch64_unknown_linux_gnu") == 0u);
}

BOOST_AUTO_TEST_CASE(build_command_carries_the_defaults) {
  // build_command asks host_platform(): the case is written for an amd64 host
  if (rustimg::host_platform().architecture != "amd64") {
    BOOST_TEST_MESSAGE("skipped: the host is not amd64");
    return;
  }
  const rustimg::cargo::BuildPaths paths{"/work/ws/app", "/work/ws"};
  auto t = target("aarch64-unknown-linux-gnu");
  t.env["CC_aarch64_unknown_linux_gnu"] = "clang --target=aarch64-linux-gnu";
  const auto req = rustimg::cargo::build_command({}, t, paths, env_with());
  BOOST_TEST(req.env.at("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER") == "aarch64-linux-gnu-gcc");
  BOOST_TEST(req.env.at("CC_aarch64_unknown_linux_gnu") == "clang --target=aarch64-linux-gnu");
  BOOST_TEST(req.env.at("AR_aarch64_unknown_linux_gnu") == "aarch64-linux-gnu-ar");

  const auto musl = rustimg::cargo::build_command({}, target("aarch64-unknown-linux-musl"), paths, env_with());
  BOOST_TEST(musl.env.at("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER") == "rust-lld");
  BOOST_TEST(contains(musl.argv.back(), "\"-C\", \"link-arg=--build-id=sha1\""), musl.argv.back());

  const auto host = rustimg::cargo::build_command({}, target("x86_64-unknown-linux-gnu"), paths, env_with());
  BOOST_TEST(host.env.count("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER") == 0u);
}

BOOST_AUTO_TEST_CASE(config_files_report_the_linker) {
  const auto c = rustimg::cargo::parse_config_rustflags(
      "[target.aarch64-unknown-linux-gnu]\nlinker = \"x-gcc\"\n[target.'cfg(unix)']\nlinker = \"y\"\n", "c.toml");
  BOOST_TEST(c.linker.at("aarch64-unknown-linux-gnu") == "x-gcc");
  BOOST_TEST(c.linker.at("cfg(unix)") == "y");
  try {
    rustimg::cargo::parse_config_rustflags("[target.x]\nlinker = 3\n", "/w/.cargo/config.toml");
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(contains(e.what(), "/w/.cargo/config.toml: target.x.linker must be a string"), e.what());
  }
}

BOOST_AUTO_TEST_CASE(a_missing_target_std_fails_before_cargo_with_rustup) {
  const rustimg::test::ScratchDir dir;
  const auto sysroot = dir / "rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu";
  dir.write("rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu/lib/rustlib/x86_64-unknown-linux-gnu/lib/libstd-1a2b.rlib", "");
  dir.write("rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld", "");
  // a directory for the target without its std (what a removed component can leave)
  dir.write("rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu/lib/rustlib/aarch64-unknown-linux-musl/lib/README", "");
  SysrootRunner runner;
  runner.answer = sysroot.string();
  const rustimg::cargo::BuildPaths paths{dir / "crate", dir / "crate"};
  rustimg::cargo::check_toolchain({target("x86_64-unknown-linux-gnu")}, paths, env_with(), runner, kAmd64);
  BOOST_TEST_REQUIRE(runner.requests.size() == 1u);
  BOOST_TEST(runner.requests[0].argv == (std::vector<std::string>{"rustc", "--print", "sysroot"}),
             boost::test_tools::per_element());
  BOOST_TEST(runner.requests[0].cwd == (dir / "crate").string());  // where rust-toolchain.toml is honoured

  const std::string msg = not_found([&] {
    rustimg::cargo::check_toolchain({target("x86_64-unknown-linux-gnu"), target("aarch64-unknown-linux-musl")}, paths,
                                    env_with(), runner, kAmd64);
  });
  BOOST_TEST(contains(msg, "the Rust standard library for aarch64-unknown-linux-musl (platform linux/arm64) is not "
                           "installed in toolchain 1.93.0-x86_64-unknown-linux-gnu"), msg);
  BOOST_TEST(contains(msg, "`rustup target add --toolchain 1.93.0-x86_64-unknown-linux-gnu aarch64-unknown-linux-musl`"),
             msg);

  // once installed, rust-lld (shipped in the sysroot) is all musl needs
  dir.write("rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu/lib/rustlib/aarch64-unknown-linux-musl/lib/libstd-9f.rlib", "");
  rustimg::cargo::check_toolchain({target("aarch64-unknown-linux-musl")}, paths, env_with(), runner, kAmd64);
  std::filesystem::remove(sysroot / "lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
  BOOST_TEST(contains(not_found([&] {
               rustimg::cargo::check_toolchain({target("aarch64-unknown-linux-musl")}, paths, env_with(), runner, kAmd64);
             }),
                      "links with rust-lld"));

  // the target's env picks cargo's rustc and toolchain: the query asks that one, once per pair
  SysrootRunner per_target;
  per_target.answer = sysroot.string();
  auto pinned = target("x86_64-unknown-linux-gnu");
  pinned.env["RUSTUP_TOOLCHAIN"] = "1.93.0";
  auto pinned_too = target("x86_64-unknown-linux-gnu");
  pinned_too.env["RUSTUP_TOOLCHAIN"] = "1.93.0";
  auto own_rustc = target("x86_64-unknown-linux-gnu");
  own_rustc.env["RUSTC"] = "/opt/rust/bin/rustc";
  rustimg::cargo::check_toolchain({pinned, pinned_too, own_rustc, target("x86_64-unknown-linux-gnu")}, paths,
                                  env_with(), per_target, kAmd64);
  BOOST_TEST_REQUIRE(per_target.requests.size() == 3u);
  BOOST_TEST(per_target.requests[0].env.at("RUSTUP_TOOLCHAIN") == "1.93.0");
  BOOST_TEST(per_target.requests[1].argv[0] == "/opt/rust/bin/rustc");
  BOOST_TEST(per_target.requests[2].env.count("RUSTUP_TOOLCHAIN") == 0u);

  // std that is not in the sysroot: build-std or another --sysroot, so no std check
  dir.write("rustup/toolchains/1.93.0-x86_64-unknown-linux-gnu/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld", "");
  auto build_std = target("armv7-unknown-linux-musleabihf");
  build_std.env["CARGO_UNSTABLE_BUILD_STD"] = "std,panic_abort";
  auto own_sysroot = target("armv7-unknown-linux-musleabihf");
  own_sysroot.rustflags = {"--sysroot=/opt/armv7-sysroot"};
  for (const auto& t : {build_std, own_sysroot})
    rustimg::cargo::check_toolchain({t}, paths, env_with(), runner, kAmd64);
  rustimg::cargo::check_toolchain({target("armv7-unknown-linux-musleabihf")}, paths,
                                  env_with({{"CARGO_UNSTABLE_BUILD_STD", "std"}}), runner, kAmd64);
  rustimg::cargo::check_toolchain({target("armv7-unknown-linux-musleabihf")}, paths,
                                  env_with({{"RUSTFLAGS", "--sysroot /opt/s"}}), runner, kAmd64);
  BOOST_TEST(contains(not_found([&] {
               rustimg::cargo::check_toolchain({target("armv7-unknown-linux-musleabihf")}, paths, env_with(), runner,
                                               kAmd64);
             }),
                      "armv7-unknown-linux-musleabihf"));

  // a Rust that is not a rustup toolchain: no rustup command, the sysroot that lacks the std
  dir.write("opt/rust/lib/rustlib/x86_64-unknown-linux-gnu/lib/libstd-1.rlib", "");
  SysrootRunner distro;
  distro.answer = (dir / "opt/rust").string();
  const std::string plain = not_found([&] {
    rustimg::cargo::check_toolchain({target("aarch64-unknown-linux-musl")}, paths, env_with(), distro, kAmd64);
  });
  BOOST_TEST(contains(plain, "in the Rust at " + (dir / "opt/rust").string() + " (not a rustup toolchain)"), plain);
  BOOST_TEST(contains(plain, "from rustup or the distribution's package"), plain);
  BOOST_TEST(!contains(plain, "rustup target add"), plain);

  // rustc without an answer: nothing to check against, cargo reports
  runner.exit_code = 1;
  rustimg::cargo::check_toolchain({target("armv7-unknown-linux-musleabihf")}, paths, env_with(), runner, kAmd64);
}

BOOST_AUTO_TEST_CASE(a_missing_cross_linker_names_the_package_and_the_spec_key) {
  const rustimg::test::ScratchDir dir;
  dir.write("sysroot/lib/rustlib/aarch64-unknown-linux-gnu/lib/libstd-1.rlib", "");
  SysrootRunner runner;
  runner.answer = (dir / "sysroot").string();
  const rustimg::cargo::BuildPaths paths{dir / "crate", dir / "crate"};
  const auto check = [&](const BuildTarget& t, const BuildEnvironment& env) {
    rustimg::cargo::check_toolchain({t}, paths, env, runner, kAmd64);
  };
  const auto path_env = env_with({{"PATH", (dir / "empty").string() + ":" + (dir / "usr/bin").string()}});
  std::string msg = not_found([&] { check(target("aarch64-unknown-linux-gnu"), path_env); });
  BOOST_TEST(contains(msg, "building for aarch64-unknown-linux-gnu (platform linux/arm64) links with "
                           "aarch64-linux-gnu-gcc, which is not installed"), msg);
  BOOST_TEST(contains(msg, "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"), msg);
  BOOST_TEST(contains(msg, "\"target\": {\"aarch64-unknown-linux-gnu\": {\"linker\": \"...\"}}"), msg);

  // the gcc without its static libc (libc6-dev-arm64-cross is only recommended)
  dir.write("usr/bin/aarch64-linux-gnu-gcc", "");
  msg = not_found([&] { check(target("aarch64-unknown-linux-gnu"), path_env); });
  BOOST_TEST(contains(msg, (dir / "usr/aarch64-linux-gnu/lib/libc.a").string() + " (the static C library"), msg);
  BOOST_TEST(contains(msg, "libc6-dev-arm64-cross"), msg);

  dir.write("usr/aarch64-linux-gnu/lib/libc.a", "");
  check(target("aarch64-unknown-linux-gnu"), path_env);
  // a merged /usr's /bin (a symlink to usr/bin) first on PATH: the libc of the real gcc
  std::filesystem::create_directory_symlink(dir / "usr/bin", dir / "bin");
  check(target("aarch64-unknown-linux-gnu"), env_with({{"PATH", (dir / "bin").string()}}));
  // ccache's symlink: <ccache dir>/aarch64-linux-gnu-gcc -> ../../bin/ccache
  dir.write("usr/bin/ccache", "");
  std::filesystem::create_directories(dir / "usr/lib/ccache");
  std::filesystem::create_symlink("../../bin/ccache", dir / "usr/lib/ccache/aarch64-linux-gnu-gcc");
  check(target("aarch64-unknown-linux-gnu"), env_with({{"PATH", (dir / "usr/lib/ccache").string()}}));

  // the user's linker is the user's business: nothing to check
  auto own = target("aarch64-unknown-linux-gnu");
  own.linker = "/opt/cross/bin/aarch64-none-linux-gnu-gcc";
  check(own, env_with());
  // a target rustimg knows no cross linker for asks for one
  dir.write("sysroot/lib/rustlib/arm-unknown-linux-gnueabihf/lib/libstd-1.rlib", "");
  msg = not_found([&] { check(target("arm-unknown-linux-gnueabihf"), path_env); });
  BOOST_TEST(contains(msg, "no cross linker for arm-unknown-linux-gnueabihf"), msg);
}

BOOST_AUTO_TEST_SUITE_END()
