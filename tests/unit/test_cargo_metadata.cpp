// `cargo metadata` parsing, package/bin selection, and the process runner.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <signal.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/process.hpp"
#include "test_support.hpp"

using nlohmann::json;
using rustimg::ErrorCode;
namespace cargo = rustimg::cargo;
namespace fs = std::filesystem;

namespace {

// Recorded from `cargo metadata --format-version 1 --no-deps` (cargo 1.95) on
// a workspace with a bin package (two bins, default-run), a library and a
// package with a build script; paths shortened.
const char* const kRecorded = R"json({
  "packages": [
    {"name": "app", "version": "0.2.0", "id": "path+file:///ws/app#0.2.0",
     "license": null, "license_file": null, "description": null, "source": null,
     "dependencies": [{"name": "lib1", "source": null, "req": "*", "kind": null, "rename": null,
                       "optional": false, "uses_default_features": true, "features": [],
                       "target": null, "registry": null, "path": "/ws/lib1"}],
     "targets": [
       {"kind": ["bin"], "crate_types": ["bin"], "name": "app", "src_path": "/ws/app/src/main.rs",
        "edition": "2021", "doc": true, "doctest": false, "test": true},
       {"kind": ["bin"], "crate_types": ["bin"], "name": "tool", "src_path": "/ws/app/src/bin/tool.rs",
        "edition": "2021", "doc": true, "doctest": false, "test": true},
       {"kind": ["custom-build"], "crate_types": ["bin"], "name": "build-script-build",
        "src_path": "/ws/app/build.rs", "edition": "2021", "doc": false, "doctest": false, "test": false}],
     "features": {},
     "manifest_path": "/ws/app/Cargo.toml",
     "metadata": {"rustimg": {"bin": "app", "base": "scratch", "env": {"RUST_LOG": "info"}},
                  "deb": {"maintainer": "x"}},
     "publish": null, "authors": [], "categories": [], "keywords": [], "readme": null,
     "repository": null, "homepage": null, "documentation": null, "edition": "2021",
     "links": null, "default_run": "app", "rust_version": null},
    {"name": "lib1", "version": "0.1.0", "id": "path+file:///ws/lib1#0.1.0", "source": null,
     "dependencies": [],
     "targets": [{"kind": ["lib"], "crate_types": ["lib"], "name": "lib1", "src_path": "/ws/lib1/src/lib.rs"}],
     "features": {}, "manifest_path": "/ws/lib1/Cargo.toml", "metadata": null,
     "default_run": null},
    {"name": "serde", "version": "1.0.0", "id": "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0",
     "targets": [], "manifest_path": "/home/u/.cargo/registry/serde/Cargo.toml", "metadata": null}
  ],
  "workspace_members": ["path+file:///ws/app#0.2.0", "path+file:///ws/lib1#0.1.0"],
  "workspace_default_members": ["path+file:///ws/app#0.2.0", "path+file:///ws/lib1#0.1.0"],
  "resolve": null,
  "target_directory": "/ws/target",
  "build_directory": "/ws/target",
  "version": 1,
  "workspace_root": "/ws",
  "metadata": {"rustimg": {"base": "scratch"}}
})json";

template <class Fn>
rustimg::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const rustimg::Error& e) {
    return e;
  }
  BOOST_FAIL("expected a rustimg::Error");
  return rustimg::Error(ErrorCode::Generic, "");
}

void expect_error(const rustimg::Error& e, ErrorCode code, const std::string& message) {
  BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code));
  BOOST_TEST(std::string(e.what()) == message);
}

cargo::Package package(std::string name, std::vector<std::string> bins,
                       std::optional<std::string> default_run = std::nullopt) {
  cargo::Package p;
  p.name = std::move(name);
  p.bins = std::move(bins);
  p.default_run = std::move(default_run);
  return p;
}

/// A runner that records requests and replies with a canned result.
class FakeRunner final : public rustimg::ProcessRunner {
 public:
  explicit FakeRunner(rustimg::ProcessResult reply) : reply_(std::move(reply)) {}
  rustimg::ProcessResult run(const rustimg::ProcessRequest& request) override {
    requests.push_back(request);
    if (throw_not_found) throw rustimg::Error(ErrorCode::NotFound, "cannot run 'cargo': not found on PATH");
    return reply_;
  }
  std::vector<rustimg::ProcessRequest> requests;
  bool throw_not_found = false;

 private:
  rustimg::ProcessResult reply_;
};

/// A scratch directory holding a minimal crate.
struct TempCrate : rustimg::test::ScratchDir {
  TempCrate() { write("Cargo.toml", "[package]\nname = \"x\"\n"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cargo_metadata)

BOOST_AUTO_TEST_CASE(parses_a_recorded_document) {
  const cargo::Metadata m = cargo::parse_metadata(json::parse(kRecorded));
  BOOST_TEST(m.workspace_root == fs::path("/ws"));
  BOOST_TEST(m.target_directory == fs::path("/ws/target"));
  BOOST_TEST(m.workspace_metadata == json({{"rustimg", {{"base", "scratch"}}}}));
  BOOST_REQUIRE(m.packages.size() == 2u);  // the registry dependency is not a member

  const cargo::Package& app = m.packages[0];
  BOOST_TEST(app.name == "app");
  BOOST_TEST(app.version == "0.2.0");
  BOOST_TEST(app.id == "path+file:///ws/app#0.2.0");
  BOOST_TEST(app.manifest_path == fs::path("/ws/app/Cargo.toml"));
  BOOST_TEST(app.bins == (std::vector<std::string>{"app", "tool"}), boost::test_tools::per_element());
  BOOST_TEST(app.default_run.value_or("") == "app");
  BOOST_TEST(app.metadata["rustimg"]["env"]["RUST_LOG"] == "info");
  BOOST_TEST(app.metadata["deb"]["maintainer"] == "x");

  const cargo::Package& lib = m.packages[1];
  BOOST_TEST(lib.bins.empty());
  BOOST_TEST(!lib.default_run.has_value());
  BOOST_TEST(lib.metadata.is_null());
}

BOOST_AUTO_TEST_CASE(rejects_unexpected_shapes) {
  const std::string hint = "; is this cargo too old or too new for rustimg?";
  expect_error(error_of([] { cargo::parse_metadata(json::array()); }), ErrorCode::Cargo,
               "unexpected `cargo metadata` output: the document is not an object" + hint);
  json doc = json::parse(kRecorded);
  doc.erase("workspace_root");
  expect_error(error_of([&] { cargo::parse_metadata(doc); }), ErrorCode::Cargo,
               "unexpected `cargo metadata` output: the document has no string \"workspace_root\"" + hint);
  doc = json::parse(kRecorded);
  doc["packages"][0]["targets"] = nullptr;
  expect_error(error_of([&] { cargo::parse_metadata(doc); }), ErrorCode::Cargo,
               "unexpected `cargo metadata` output: package app has no array \"targets\"" + hint);
}

BOOST_AUTO_TEST_CASE(select_package_by_name_dir_or_single_member) {
  const cargo::Metadata m = cargo::parse_metadata(json::parse(kRecorded));
  BOOST_TEST(m.select_package("/ws", "lib1").name == "lib1");
  BOOST_TEST(m.select_package("/ws/lib1").name == "lib1");
  BOOST_TEST(m.select_package("/ws/app/").name == "app");

  cargo::Metadata single = m;
  single.packages.resize(1);
  BOOST_TEST(single.select_package("/ws").name == "app");
}

BOOST_AUTO_TEST_CASE(select_package_errors_name_the_candidates) {
  const cargo::Metadata m = cargo::parse_metadata(json::parse(kRecorded));
  expect_error(error_of([&] { m.select_package("/ws"); }), ErrorCode::NotFound,
               "the workspace at /ws has several packages (app, lib1); pick one with --package or \"package\" "
               "in the spec, or point rustimg at the package's directory");
  expect_error(error_of([&] { m.select_package("/ws", "nope"); }), ErrorCode::NotFound,
               "no package \"nope\" in the workspace at /ws; its packages: app, lib1");
  cargo::Metadata empty = m;
  empty.packages.clear();
  expect_error(error_of([&] { empty.select_package("/ws"); }), ErrorCode::NotFound,
               "the workspace at /ws has no packages");
}

/// A virtual workspace: two members, each with its own bin and a shared bin name.
cargo::Metadata workspace_of_two() {
  cargo::Metadata m;
  m.workspace_root = "/ws";
  m.packages = {package("alpha", {"alpha-cli", "common"}), package("beta", {"beta-cli", "common"})};
  m.packages[0].manifest_path = "/ws/alpha/Cargo.toml";
  m.packages[1].manifest_path = "/ws/beta/Cargo.toml";
  return m;
}

BOOST_AUTO_TEST_CASE(select_package_by_a_bin_unique_in_the_workspace) {
  const cargo::Metadata m = workspace_of_two();
  BOOST_TEST(m.select_package("/ws", "", "beta-cli").name == "beta");
  BOOST_TEST(m.select_package("/ws", "", "alpha-cli").name == "alpha");
  // A package named, or the crate directory's package, is cargo's choice whatever the bin.
  BOOST_TEST(m.select_package("/ws", "alpha", "common").name == "alpha");
  BOOST_TEST(m.select_package("/ws/alpha", "", "beta-cli").name == "alpha");
}

BOOST_AUTO_TEST_CASE(select_package_by_bin_errors_advise) {
  const cargo::Metadata m = workspace_of_two();
  expect_error(error_of([&] { m.select_package("/ws", "", "common"); }), ErrorCode::NotFound,
               "bin target \"common\" is in several packages of the workspace at /ws (alpha, beta); "
               "pick one with --package or \"package\" in the spec");
  expect_error(error_of([&] { m.select_package("/ws", "", "beta-clj"); }), ErrorCode::NotFound,
               "no package in the workspace at /ws has a bin target \"beta-clj\"; its bins: alpha-cli (alpha), "
               "common (alpha), beta-cli (beta), common (beta); did you mean \"beta-cli\"?");
  expect_error(error_of([&] { m.select_package("/ws", "", "zzzzzzzz"); }), ErrorCode::NotFound,
               "no package in the workspace at /ws has a bin target \"zzzzzzzz\"; "
               "its bins: alpha-cli (alpha), common (alpha), beta-cli (beta), common (beta)");
}

BOOST_AUTO_TEST_CASE(make_plan_picks_the_package_of_the_bin) {
  TempCrate crate;  // not a member's directory: a virtual workspace's root
  FakeRunner runner(rustimg::ProcessResult{0, kRecorded, ""});
  rustimg::SpecLoadOptions options;
  options.crate_dir = crate.path();
  options.overrides = json{{"bin", "tool"}};
  const rustimg::pipeline::Plan plan = rustimg::pipeline::make_plan(options, runner);
  BOOST_REQUIRE(plan.package.has_value());
  BOOST_TEST(plan.package->name == "app");
  BOOST_TEST(plan.spec.bin == "tool");
  BOOST_REQUIRE(plan.platforms.size() == 1u);
  BOOST_REQUIRE(plan.platforms[0].cargo.has_value());
  BOOST_TEST(plan.platforms[0].cargo->package == "app");

  // A bin no member has is a diagnostic against the layer that named it.
  options.overrides = json{{"bin", "tol"}};
  try {
    rustimg::pipeline::make_plan(options, runner);
    BOOST_FAIL("expected a SpecError");
  } catch (const rustimg::SpecError& e) {
    BOOST_REQUIRE(!e.diagnostics().empty());
    BOOST_TEST(e.diagnostics()[0].to_string() ==
               "command line: $.bin: no package in the workspace at /ws has a bin target \"tol\"; its bins: "
               "app (app), tool (app); did you mean \"tool\"?");
  }
}

BOOST_AUTO_TEST_CASE(select_bin_choices) {
  BOOST_TEST(cargo::select_bin(package("app", {"app", "admin"}), "admin") == "admin");
  BOOST_TEST(cargo::select_bin(package("app", {"app", "admin"}, "app")) == "app");
  BOOST_TEST(cargo::select_bin(package("app", {"only"})) == "only");
}

BOOST_AUTO_TEST_CASE(select_bin_errors) {
  expect_error(error_of([] { cargo::select_bin(package("app", {"app", "app-admin"})); }), ErrorCode::NotFound,
               "package \"app\" has several bin targets (app, app-admin) and no default-run; "
               "pick one with --bin or \"bin\" in the spec");
  expect_error(error_of([] { cargo::select_bin(package("app", {"app", "app-admin"}), "nope"); }),
               ErrorCode::NotFound, "package \"app\" has no bin target \"nope\"; its bins: app, app-admin");
  expect_error(error_of([] { cargo::select_bin(package("app", {"app", "app-admin"}), "app-admn"); }),
               ErrorCode::NotFound,
               "package \"app\" has no bin target \"app-admn\"; its bins: app, app-admin; did you mean \"app-admin\"?");
  expect_error(error_of([] { cargo::select_bin(package("lib1", {})); }), ErrorCode::NotFound,
               "package \"lib1\" has no bin targets; rustimg needs a binary crate");
  expect_error(error_of([] { cargo::select_bin(package("lib1", {}), "x"); }), ErrorCode::NotFound,
               "package \"lib1\" has no bin target \"x\"");
}

BOOST_AUTO_TEST_CASE(read_metadata_runs_cargo_in_the_crate) {
  TempCrate crate;
  FakeRunner runner(rustimg::ProcessResult{0, kRecorded, ""});
  const cargo::Metadata m = cargo::read_metadata(crate.path(), runner, "/opt/cargo");
  BOOST_TEST(m.packages.size() == 2u);
  BOOST_REQUIRE(runner.requests.size() == 1u);
  BOOST_TEST(runner.requests[0].argv ==
                 (std::vector<std::string>{"/opt/cargo", "metadata", "--format-version", "1", "--no-deps"}),
             boost::test_tools::per_element());
  BOOST_TEST(runner.requests[0].cwd == crate.path().string());
}

BOOST_AUTO_TEST_CASE(read_metadata_errors) {
  TempCrate crate;
  FakeRunner failing(rustimg::ProcessResult{101, "", "\nerror: failed to parse manifest at `x/Cargo.toml`\n\n"});
  expect_error(error_of([&] { cargo::read_metadata(crate.path(), failing); }), ErrorCode::Cargo,
               "`cargo metadata` failed in " + crate.path().string() +
                   ":\nerror: failed to parse manifest at `x/Cargo.toml`");

  FakeRunner garbage(rustimg::ProcessResult{0, "warning: not json", ""});
  expect_error(error_of([&] { cargo::read_metadata(crate.path(), garbage); }), ErrorCode::Cargo,
               "unexpected `cargo metadata` output: stdout is not JSON; is this cargo too old or too new for rustimg?");

  FakeRunner missing(rustimg::ProcessResult{});
  missing.throw_not_found = true;
  expect_error(error_of([&] { cargo::read_metadata(crate.path(), missing); }), ErrorCode::NotFound,
               "cannot run 'cargo': not found on PATH; install Rust with rustup (https://rustup.rs)");

  const fs::path no_crate = crate.path() / "empty";
  fs::create_directories(no_crate);
  expect_error(error_of([&] { cargo::read_metadata(no_crate, failing); }), ErrorCode::NotFound,
               "no Cargo.toml in " + no_crate.string() + ": point rustimg at a crate directory");
}

BOOST_AUTO_TEST_CASE(make_plan_chooses_once_and_gives_the_image_the_package_version) {
  TempCrate crate;
  FakeRunner runner(rustimg::ProcessResult{0, kRecorded, ""});
  rustimg::SpecLoadOptions options;
  options.crate_dir = crate.path();
  options.overrides = json{{"package", "app"}};
  const rustimg::pipeline::Plan plan = rustimg::pipeline::make_plan(options, runner);
  BOOST_TEST(runner.requests.size() == 1u);  // cargo metadata, once
  BOOST_REQUIRE(plan.package.has_value());
  BOOST_TEST(plan.package->name == "app");
  BOOST_TEST(plan.spec.bin == "app");
  BOOST_TEST(plan.spec.base == "scratch");  // [package.metadata.rustimg]
  BOOST_REQUIRE(plan.platforms.size() == 1u);
  BOOST_REQUIRE(plan.platforms[0].cargo.has_value());
  BOOST_TEST(plan.platforms[0].cargo->bin == "app");
  BOOST_TEST(plan.platforms[0].triple == plan.platforms[0].cargo->triple);
  // The version is the image's (config values), not the spec's.
  const char* version = rustimg::oci::annotation::kVersion;
  BOOST_TEST(plan.spec.annotations.count(version) == 0u);
  BOOST_REQUIRE(plan.config.annotations.has_value());
  BOOST_TEST(plan.config.annotations->at(version) == "0.2.0");
  BOOST_REQUIRE(plan.config.env.has_value());
  BOOST_TEST(plan.config.env->at("RUST_LOG") == "info");
  BOOST_TEST(plan.config.package == "app");

  // A version the spec sets wins.
  options.overrides = json{{"package", "app"}, {"annotations", {{version, "9.9"}}}};
  BOOST_TEST(rustimg::pipeline::make_plan(options, runner).config.annotations->at(version) == "9.9");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(process)

namespace {
rustimg::ProcessRequest request(std::vector<std::string> argv, std::string cwd = {},
                                std::map<std::string, std::string> env = {}) {
  rustimg::ProcessRequest r;
  r.argv = std::move(argv);
  r.cwd = std::move(cwd);
  r.env = std::move(env);
  return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(captures_stdout_stderr_and_exit_code) {
  const auto r = rustimg::system_process_runner().run(request({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  BOOST_TEST(r.out == "out\n");
  BOOST_TEST(r.err == "err\n");
  BOOST_TEST(r.exit_code == 3);
}

BOOST_AUTO_TEST_CASE(finds_programs_on_path_and_passes_argv_verbatim) {
  const auto r = rustimg::system_process_runner().run(request({"printf", "%s|", "a b", "$HOME", "*"}));
  BOOST_TEST(r.out == "a b|$HOME|*|");  // no shell: nothing is expanded
  BOOST_TEST(r.exit_code == 0);
}

BOOST_AUTO_TEST_CASE(sets_cwd_and_overlays_env) {
  const auto r = rustimg::system_process_runner().run(request(
      {"/bin/sh", "-c", "pwd; echo \"$RUSTIMG_TEST_VAR\"; test -n \"$PATH\" && echo path"}, "/",
      {{"RUSTIMG_TEST_VAR", "value"}}));
  BOOST_TEST(r.out == "/\nvalue\npath\n");
}

BOOST_AUTO_TEST_CASE(drains_both_pipes_without_deadlock) {
  // Each stream far exceeds a pipe buffer (64 KiB), written stderr first.
  const auto r = rustimg::system_process_runner().run(
      request({"/bin/sh", "-c", "head -c 1000000 /dev/zero >&2; head -c 2000000 /dev/zero"}));
  BOOST_TEST(r.err.size() == 1000000u);
  BOOST_TEST(r.out.size() == 2000000u);
  BOOST_TEST(r.exit_code == 0);
}

BOOST_AUTO_TEST_CASE(reports_a_signal_as_128_plus_signo) {
  const auto r = rustimg::system_process_runner().run(request({"/bin/sh", "-c", "kill -9 $$"}));
  BOOST_TEST(r.exit_code == 128 + 9);
}

BOOST_AUTO_TEST_CASE(child_gets_default_signal_handling) {
  // An ignored SIGPIPE in the parent (Python does this) must not reach the child.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  const auto r = rustimg::system_process_runner().run(request({"/bin/sh", "-c", "kill -PIPE $$; exit 0"}));
  ::sigaction(SIGPIPE, &previous, nullptr);
  BOOST_TEST(r.exit_code == 128 + SIGPIPE);
}

BOOST_AUTO_TEST_CASE(program_not_found) {
  expect_error(error_of([] { rustimg::system_process_runner().run(request({"rustimg-no-such-program"})); }),
               ErrorCode::NotFound, "cannot run 'rustimg-no-such-program': not found on PATH");
  expect_error(error_of([] { rustimg::system_process_runner().run(request({"/nonexistent/prog"})); }),
               ErrorCode::NotFound, "cannot run '/nonexistent/prog': no such file");
  expect_error(error_of([] { rustimg::system_process_runner().run(request({"/bin/sh"}, "/nonexistent-dir")); }),
               ErrorCode::NotFound, "cannot run '/bin/sh': working directory /nonexistent-dir does not exist");
}

BOOST_AUTO_TEST_SUITE_END()
