// The image's metadata from the crate (issue 14, item 8): what cargo says
// about the package and the git revision of its checkout, as OCI annotations
// and config labels, each omitted when unknown and each overridden by the spec.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/error.hpp"
#include "rustimg/image.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/url.hpp"
#include "rustimg/process.hpp"
#include "test_support.hpp"

using nlohmann::json;
using rustimg::ErrorCode;
using rustimg::ProcessRequest;
using rustimg::ProcessResult;
using rustimg::image::ImageOptions;
namespace cargo = rustimg::cargo;
namespace fs = std::filesystem;
namespace key = rustimg::oci::annotation;

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

/// `cargo metadata` of one package; `fields` are added to the package.
std::string metadata_json(const json& fields) {
  json pkg = {{"name", "app"},
              {"version", "1.2.3"},
              {"id", "path+file:///ws#app@1.2.3"},
              {"manifest_path", "/ws/Cargo.toml"},
              {"targets", json::array({{{"kind", {"bin"}}, {"name", "app"}}})},
              {"metadata", nullptr},
              {"default_run", nullptr}};
  pkg.update(fields);
  return json{{"packages", json::array({pkg})},
              {"workspace_members", {"path+file:///ws#app@1.2.3"}},
              {"workspace_root", "/ws"},
              {"target_directory", "/ws/target"}}
      .dump();
}

const json kFullFields = {{"description", "  A tiny web server.\n"},
                          {"license", "MIT OR Apache-2.0"},
                          {"license_file", nullptr},
                          {"repository", "https://github.com/example/app"},
                          {"homepage", "https://example.com/app"}};

/// Answers cargo metadata with `metadata` and git as a checkout at kCommit,
/// with tracked files changed when `dirty` (the exit codes of `git
/// diff-index --quiet` and `git diff --quiet`; their output is noise that
/// must not be read); records every request.
class ScriptedRunner final : public rustimg::ProcessRunner {
 public:
  explicit ScriptedRunner(std::string metadata, bool dirty = false, bool has_git = true)
      : diff_index_exit(dirty ? 1 : 0), diff_exit(dirty ? 1 : 0), metadata_(std::move(metadata)), has_git_(has_git) {}
  ProcessResult run(const ProcessRequest& request) override {
    requests.push_back(request);
    const std::vector<std::string>& a = request.argv;
    if (a.at(0) == "cargo") return {0, metadata_, ""};
    if (!has_git_) throw rustimg::Error(ErrorCode::NotFound, "cannot run 'git': not found on PATH");
    if (a.size() > 2 && a[2] == "rev-parse") return {head_exit, kCommit + "\n", ""};
    if (a.size() > 2 && a[2] == "diff-index") return {diff_index_exit, " M src/main.rs\n", ""};
    if (a.size() > 2 && a[2] == "diff") return {diff_exit, " M src/main.rs\n", ""};
    return {1, "", "unexpected"};
  }
  std::vector<ProcessRequest> requests;
  int head_exit = 0;
  int diff_index_exit, diff_exit;

 private:
  std::string metadata_;
  bool has_git_;
};

/// A crate directory; `git` makes it a checkout (a .git directory).
struct Crate : rustimg::test::ScratchDir {
  explicit Crate(bool git) {
    write("Cargo.toml", "[package]\nname = \"app\"\n");
    if (git) fs::create_directories(path() / ".git");
  }
};

rustimg::pipeline::Plan plan_of(const Crate& crate, ScriptedRunner& runner, json overrides = json::object()) {
  rustimg::SpecLoadOptions options;
  options.crate_dir = crate.path();
  options.overrides = std::move(overrides);
  return rustimg::pipeline::make_plan(options, runner, rustimg::pipeline::PlanPurpose::Image);
}

std::vector<rustimg::image::AppliedLayer> one_layer() {
  rustimg::image::AppliedLayer l;
  l.diff_id = "sha256:" + std::string(64, 'a');
  l.descriptor = {rustimg::oci::media_type::kOciLayerGzip, "sha256:" + std::string(64, 'b'), 10, {}, {}, {}};
  return {l};
}

/// The manifest annotations and config labels of the plan's image.
struct Written {
  std::map<std::string, std::string> annotations, labels;
};

Written assemble(const rustimg::pipeline::Plan& plan, rustimg::oci::Format format = rustimg::oci::Format::Oci) {
  const auto img = rustimg::image::assemble(plan.config, rustimg::parse_platform("linux/amd64"), "app", one_layer(),
                                            ImageOptions{format, 1700000000, false});
  const json m = json::parse(img.manifest.bytes), c = json::parse(img.config.bytes);
  Written w;
  if (m.contains("annotations")) w.annotations = m["annotations"].get<std::map<std::string, std::string>>();
  w.labels = c["config"]["Labels"].get<std::map<std::string, std::string>>();
  return w;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image_metadata)

BOOST_AUTO_TEST_CASE(cargo_metadata_gives_the_package_fields) {
  const cargo::Metadata full = cargo::parse_metadata(json::parse(metadata_json(kFullFields)));
  const cargo::Package& p = full.packages.at(0);
  BOOST_TEST(p.description == "  A tiny web server.\n");
  BOOST_TEST(p.license == "MIT OR Apache-2.0");
  BOOST_TEST(p.repository == "https://github.com/example/app");
  BOOST_TEST(p.homepage == "https://example.com/app");

  // null (what cargo writes for an absent field) and missing are empty.
  const json nulls = {{"description", nullptr}, {"license", nullptr}, {"repository", nullptr}};
  const cargo::Metadata with_nulls = cargo::parse_metadata(json::parse(metadata_json(nulls)));
  const cargo::Package& q = with_nulls.packages.at(0);
  BOOST_TEST(q.description.empty());
  BOOST_TEST(q.license.empty());
  BOOST_TEST(q.repository.empty());
  BOOST_TEST(q.homepage.empty());

  BOOST_CHECK_THROW(cargo::parse_metadata(json::parse(metadata_json({{"homepage", 7}}))), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(package_annotations_map_each_known_field_and_omit_the_rest) {
  cargo::Package p;
  p.name = "app";
  p.version = "1.2.3";
  p.description = "  A tiny web server.\n";
  p.license = "MIT OR Apache-2.0";
  p.repository = "https://github.com/example/app";
  p.homepage = "https://example.com/app";
  const std::map<std::string, std::string> full = rustimg::pipeline::package_annotations(p, kCommit);
  const std::map<std::string, std::string> expected = {{key::kDescription, "A tiny web server."},
                                                       {key::kVersion, "1.2.3"},
                                                       {key::kLicenses, "MIT OR Apache-2.0"},
                                                       {key::kSource, "https://github.com/example/app"},
                                                       {key::kUrl, "https://example.com/app"},
                                                       {key::kRevision, kCommit}};
  BOOST_TEST(full == expected);

  // Cargo's deprecated "/" separator is an SPDX OR.
  p.license = "MIT/Apache-2.0";
  BOOST_TEST(rustimg::pipeline::package_annotations(p, "").at(key::kLicenses) == "MIT OR Apache-2.0");

  // Unknown fields (and a package with license-file only) give nothing.
  cargo::Package bare;
  bare.name = "app";
  BOOST_TEST(rustimg::pipeline::package_annotations(bare, "").empty());
  bare.description = " \n";
  BOOST_TEST(rustimg::pipeline::package_annotations(bare, "").empty());
}

BOOST_AUTO_TEST_CASE(git_revision_is_the_commit_marked_dirty_when_tracked_files_changed) {
  const Crate crate(true);
  ScriptedRunner clean("");
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), clean) == kCommit);
  BOOST_REQUIRE(clean.requests.size() == 2u);
  BOOST_TEST(clean.requests[0].argv ==
                 (std::vector<std::string>{"git", "--no-optional-locks", "rev-parse", "--verify", "--quiet",
                                           "HEAD^{commit}"}),
             boost::test_tools::per_element());
  BOOST_TEST(clean.requests[1].argv ==
                 (std::vector<std::string>{"git", "--no-optional-locks", "diff-index", "--quiet", "HEAD", "--"}),
             boost::test_tools::per_element());
  BOOST_TEST(clean.requests[0].cwd == crate.path().string());

  ScriptedRunner dirty("", true);
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), dirty) == kCommit + "-dirty");
  BOOST_REQUIRE(dirty.requests.size() == 3u);
  BOOST_TEST(dirty.requests[2].argv ==
                 (std::vector<std::string>{"git", "--no-optional-locks", "diff", "--quiet", "--no-ext-diff",
                                           "--no-textconv", "HEAD", "--"}),
             boost::test_tools::per_element());

  // Stat data differs but the contents do not: clean.
  ScriptedRunner touched("");
  touched.diff_index_exit = 1;
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), touched) == kCommit);

  // git fails to compare (exit 128): no claim either way.
  ScriptedRunner broken("");
  broken.diff_index_exit = 128;
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), broken).empty());

  ScriptedRunner no_commit("");
  no_commit.head_exit = 128;
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), no_commit).empty());

  ScriptedRunner no_git("", false, false);
  BOOST_TEST(rustimg::pipeline::git_revision(crate.path(), no_git).empty());

  // Not a checkout: git is not even asked.
  const Crate plain(false);
  ScriptedRunner unasked("");
  BOOST_TEST(rustimg::pipeline::git_revision(plain.path(), unasked).empty());
  BOOST_TEST(unasked.requests.empty());
}

/// Runs the real git in `dir` (an identity of its own, no signing); its output.
std::string git_in(const fs::path& dir, std::vector<std::string> args) {
  ProcessRequest r;
  r.argv = {"git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"};
  r.argv.insert(r.argv.end(), args.begin(), args.end());
  r.cwd = dir.string();
  const ProcessResult res = rustimg::system_process_runner().run(r);
  BOOST_REQUIRE_MESSAGE(res.exit_code == 0, res.err);
  return res.out;
}

BOOST_AUTO_TEST_CASE(git_revision_of_a_real_checkout) {
  const rustimg::test::ScratchDir repo;
  repo.write("Cargo.toml", "[package]\nname = \"app\"\n");
  rustimg::ProcessRunner& sys = rustimg::system_process_runner();
  const auto git = [&](std::vector<std::string> args) { return git_in(repo.path(), std::move(args)); };
  git({"init", "-q"});
  BOOST_TEST(rustimg::pipeline::git_revision(repo.path(), sys).empty());  // no commit yet
  git({"add", "Cargo.toml"});
  git({"commit", "-q", "-m", "one"});
  const std::string head = git({"rev-parse", "HEAD"}).substr(0, 40);
  fs::create_directories(repo.path() / "sub");
  BOOST_TEST(rustimg::pipeline::git_revision(repo.path() / "sub", sys) == head);  // found from below
  repo.write("out.tar", "untracked");
  BOOST_TEST(rustimg::pipeline::git_revision(repo.path(), sys) == head);  // untracked files do not count
  // Rewritten with the same contents (newer stat data than the index's): clean.
  repo.write("Cargo.toml", "[package]\nname = \"app\"\n");
  fs::last_write_time(repo.path() / "Cargo.toml", fs::last_write_time(repo.path() / "Cargo.toml") + std::chrono::seconds(5));
  BOOST_TEST(rustimg::pipeline::git_revision(repo.path(), sys) == head);
  repo.write("Cargo.toml", "[package]\nname = \"changed\"\n");
  BOOST_TEST(rustimg::pipeline::git_revision(repo.path(), sys) == head + "-dirty");
}

BOOST_AUTO_TEST_CASE(remote_url_loses_its_user_name_and_password) {
  using rustimg::strip_url_userinfo;
  BOOST_TEST(strip_url_userinfo("https://user:token@git.example.com/r.git") == "https://git.example.com/r.git");
  BOOST_TEST(strip_url_userinfo("https://token@git.example.com:8443/r.git") == "https://git.example.com:8443/r.git");
  BOOST_TEST(strip_url_userinfo("ssh://git@host/org/r.git") == "ssh://host/org/r.git");
  BOOST_TEST(strip_url_userinfo("https://host/r@v2.git") == "https://host/r@v2.git");  // '@' in the path stays
  BOOST_TEST(strip_url_userinfo("https://a:b@c@host/r") == "https://host/r");         // the last '@' ends it
  BOOST_TEST(strip_url_userinfo("git@github.com:org/r.git") == "git@github.com:org/r.git");
  BOOST_TEST(strip_url_userinfo("/srv/git/r.git") == "/srv/git/r.git");
  BOOST_TEST(strip_url_userinfo("https://host/r.git?private_token=t#x") == "https://host/r.git");
  BOOST_TEST(strip_url_userinfo("https://u:p@host?token=t") == "https://host");
  BOOST_TEST(strip_url_userinfo("HTTPS://USER@HOST/r") == "HTTPS://HOST/r");
}

BOOST_AUTO_TEST_CASE(urls_with_credentials_are_found_anywhere_in_a_value) {
  using rustimg::carries_url_credentials;
  BOOST_TEST(carries_url_credentials("postgres://app:s3cret@db/app"));
  BOOST_TEST(carries_url_credentials("https://ghp_token@git.example.com/r"));  // a token as the user
  BOOST_TEST(carries_url_credentials("--a https://host/x --b https://u:p@other/y"));  // not only the first URL
  BOOST_TEST(carries_url_credentials("https://host/r.git?private_token=t"));
  BOOST_TEST(!carries_url_credentials("https://host/r@v2.git"));  // '@' in the path
  BOOST_TEST(!carries_url_credentials("https://mirror.example/index https://other/x"));
  BOOST_TEST(!carries_url_credentials("user@host"));  // no URL
  BOOST_TEST(!carries_url_credentials(""));
}

BOOST_AUTO_TEST_CASE(git_checkout_of_a_real_repository_reads_origin_when_asked) {
  const rustimg::test::ScratchDir repo;
  repo.write("Cargo.toml", "[package]\nname = \"app\"\n");
  rustimg::ProcessRunner& sys = rustimg::system_process_runner();
  const auto git = [&](std::vector<std::string> args) { return git_in(repo.path(), std::move(args)); };
  git({"init", "-q"});
  git({"add", "Cargo.toml"});
  git({"commit", "-q", "-m", "one"});
  const std::string head = git({"rev-parse", "HEAD"}).substr(0, 40);
  auto checkout = rustimg::pipeline::git_checkout(repo.path(), sys, true);
  BOOST_REQUIRE(checkout.has_value());
  BOOST_TEST(checkout->commit == head);
  BOOST_TEST(!checkout->dirty);
  BOOST_TEST(checkout->remote_url.empty());  // no origin
  git({"remote", "add", "origin", "https://ci:hunter2@git.example.com/team/app.git"});
  repo.write("Cargo.toml", "[package]\nname = \"changed\"\n");
  checkout = rustimg::pipeline::git_checkout(repo.path(), sys, true);
  BOOST_REQUIRE(checkout.has_value());
  BOOST_TEST(checkout->dirty);
  BOOST_TEST(checkout->remote_url == "https://git.example.com/team/app.git");
  BOOST_TEST(rustimg::pipeline::git_checkout(repo.path(), sys, false)->remote_url.empty());  // not asked
}

BOOST_AUTO_TEST_CASE(the_image_carries_the_crate_metadata_as_annotations_and_labels) {
  const Crate crate(true);
  ScriptedRunner runner(metadata_json(kFullFields));
  const Written w = assemble(plan_of(crate, runner));
  const std::map<std::string, std::string> expected = {{key::kTitle, "app"},
                                                       {key::kDescription, "A tiny web server."},
                                                       {key::kVersion, "1.2.3"},
                                                       {key::kLicenses, "MIT OR Apache-2.0"},
                                                       {key::kSource, "https://github.com/example/app"},
                                                       {key::kUrl, "https://example.com/app"},
                                                       {key::kRevision, kCommit},
                                                       {key::kCreated, "2023-11-14T22:13:20Z"}};
  BOOST_TEST(w.annotations == expected);
  BOOST_TEST(w.labels == expected);

  // Docker manifests have no annotations: the labels carry it all.
  BOOST_TEST(assemble(plan_of(crate, runner), rustimg::oci::Format::Docker).labels == expected);
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_absent) {
  const Crate crate(false);  // no checkout: no revision
  ScriptedRunner runner(metadata_json(json::object()));
  const Written w = assemble(plan_of(crate, runner));
  const std::map<std::string, std::string> expected = {
      {key::kTitle, "app"}, {key::kVersion, "1.2.3"}, {key::kCreated, "2023-11-14T22:13:20Z"}};
  BOOST_TEST(w.annotations == expected);
  BOOST_TEST(w.labels == expected);
  BOOST_TEST(runner.requests.size() == 1u);  // cargo metadata only
}

BOOST_AUTO_TEST_CASE(the_spec_overrides_win) {
  const Crate crate(true);
  ScriptedRunner runner(metadata_json(kFullFields), true);
  // An annotation overrides both; a label overrides the label only.
  const Written w = assemble(plan_of(
      crate, runner,
      {{"annotations", {{key::kDescription, "spec description"}, {key::kRevision, "v1.2.3"}}},
       {"labels", {{key::kLicenses, "Proprietary"}, {key::kTitle, "label title"}, {key::kCreated, "label time"}}}}));
  BOOST_TEST(w.annotations.at(key::kDescription) == "spec description");
  BOOST_TEST(w.labels.at(key::kDescription) == "spec description");
  BOOST_TEST(w.annotations.at(key::kRevision) == "v1.2.3");
  BOOST_TEST(w.labels.at(key::kRevision) == "v1.2.3");
  BOOST_TEST(w.annotations.at(key::kLicenses) == "MIT OR Apache-2.0");
  BOOST_TEST(w.labels.at(key::kLicenses) == "Proprietary");
  BOOST_TEST(w.annotations.at(key::kTitle) == "app");
  BOOST_TEST(w.labels.at(key::kTitle) == "label title");
  BOOST_TEST(w.labels.at(key::kCreated) == "label time");

  // The dirty checkout's revision, when the spec does not set one.
  BOOST_TEST(assemble(plan_of(crate, runner)).annotations.at(key::kRevision) == kCommit + "-dirty");
}

BOOST_AUTO_TEST_CASE(loading_a_spec_runs_no_git) {
  // `rustimg spec` and load_spec throw the revision away: git is not asked,
  // even in a checkout; the package's other metadata is still planned.
  Crate crate(true);
  ScriptedRunner runner(metadata_json(kFullFields));
  rustimg::SpecLoadOptions options;
  options.crate_dir = crate.path();
  const auto no_git = [&] {
    for (const ProcessRequest& r : runner.requests) BOOST_TEST(r.argv.at(0) != "git");
  };
  BOOST_TEST(rustimg::pipeline::load_spec(options, runner).package == "app");
  no_git();
  const rustimg::pipeline::Plan plan = rustimg::pipeline::make_plan(options, runner);
  no_git();
  BOOST_REQUIRE(plan.config.annotations.has_value());
  BOOST_TEST(plan.config.annotations->count(key::kRevision) == 0u);
  BOOST_TEST(plan.config.annotations->at(key::kVersion) == "1.2.3");
  BOOST_TEST(runner.requests.size() == 2u);  // cargo metadata, once each
}

BOOST_AUTO_TEST_CASE(an_image_on_a_base_replaces_the_bases_metadata_labels) {
  rustimg::oci::ImageConfig base;
  base.labels = {{key::kTitle, "base"}, {key::kDescription, "the base image"}, {"vendor", "kept"}};
  rustimg::image::ConfigOverrides o;
  o.package = "app";
  o.annotations = {{{key::kVersion, "1.2.3"}}};
  o.labels = {{{key::kVersion, "from the spec"}}};
  const auto c = rustimg::image::merge_config(o, base, "app", ImageOptions{rustimg::oci::Format::Oci, 0, false});
  const std::map<std::string, std::string> expected = {{key::kTitle, "app"},
                                                       {key::kVersion, "from the spec"},
                                                       {key::kCreated, "1970-01-01T00:00:00Z"},
                                                       {"vendor", "kept"}};
  BOOST_TEST(c.labels == expected);
}

BOOST_AUTO_TEST_SUITE_END()
