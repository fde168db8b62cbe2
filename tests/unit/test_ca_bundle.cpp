// The CA bundle of the built-in bases: check_ca_bundle() refuses what is no
// PEM bundle of certificates, read_ca_bundle() appends the extra
// certificates, and "scratch" gets the bundle only when asked.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/spec.hpp"
#include "expect_error.hpp"
#include "test_certificates.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::ErrorCode;
using rustimg::layer::check_ca_bundle;
using rustimg::test::expect_error;
using rustimg::test::test_ca_file;

namespace {

const std::string kBadCertificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(ca_bundle)

BOOST_AUTO_TEST_CASE(pem_bundles_count_their_certificates) {
  const std::string one = test_ca_file("test-ca-one.pem");
  const std::string two = test_ca_file("test-ca-two.pem");
  BOOST_TEST(check_ca_bundle(one, "one.pem") == 1u);
  // Comments between blocks, as in Mozilla's bundle, are fine.
  BOOST_TEST(check_ca_bundle("# Issuer: CN=one\n" + one + "\n# Issuer: CN=two\n" + two, "both.pem") == 2u);
}

BOOST_AUTO_TEST_CASE(der_is_refused_with_the_conversion) {
  const std::string der = test_ca_file("test-ca-one.der");
  BOOST_REQUIRE(!der.empty());
  expect_error([&] { (void)check_ca_bundle(der, "certs/corp.der"); }, ErrorCode::InvalidArgument,
               "CA bundle certs/corp.der is DER, not PEM");
  expect_error([&] { (void)check_ca_bundle(der, "certs/corp.der"); }, ErrorCode::InvalidArgument,
               "openssl x509 -inform der -in certs/corp.der -out certs/corp.der.pem");
}

BOOST_AUTO_TEST_CASE(files_without_certificates_are_refused) {
  expect_error([] { (void)check_ca_bundle("", "empty.pem"); }, ErrorCode::InvalidArgument, "empty.pem is empty");
  expect_error([] { (void)check_ca_bundle(" \n\n", "blank.pem"); }, ErrorCode::InvalidArgument, "is empty");
  expect_error([] { (void)check_ca_bundle("[package]\nname = \"x\"\n", "Cargo.toml"); }, ErrorCode::InvalidArgument,
               "CA bundle Cargo.toml holds no certificate");
  expect_error([] { (void)check_ca_bundle(std::string("\x7f" "ELF\x02\x01\x01", 7), "app"); },
               ErrorCode::InvalidArgument, "holds no certificate");
}

BOOST_AUTO_TEST_CASE(one_bad_block_among_good_ones_is_refused) {
  const std::string one = test_ca_file("test-ca-one.pem");
  const std::string two = test_ca_file("test-ca-two.pem");
  expect_error([&] { (void)check_ca_bundle(one + kBadCertificate + two, "b.pem"); }, ErrorCode::InvalidArgument,
               "certificate #2 does not parse");
  expect_error([&] { (void)check_ca_bundle(one + two + kBadCertificate, "b.pem"); }, ErrorCode::InvalidArgument,
               "certificate #3 does not parse");
  // A private key has no place in an image.
  const std::string key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  expect_error([&] { (void)check_ca_bundle(one + key, "b.pem"); }, ErrorCode::InvalidArgument,
               "block #2 is a \"PRIVATE KEY\", not a CERTIFICATE: remove it");
  // Damaged PEM: bad base64, a block cut off, a damaged BEGIN line.
  std::string damaged = two;
  damaged.replace(damaged.find('\n') + 5, 4, "!!!!");
  expect_error([&] { (void)check_ca_bundle(one + damaged, "b.pem"); }, ErrorCode::InvalidArgument,
               "block #2 is not valid PEM");
  expect_error([&] { (void)check_ca_bundle(one + two.substr(0, two.size() / 2), "b.pem"); },
               ErrorCode::InvalidArgument, "block #2 is not valid PEM");
  expect_error([&] { (void)check_ca_bundle(one + "-----BEGIN CERTIFICATE\nAAAA\n", "b.pem"); },
               ErrorCode::InvalidArgument, "block #2 is not valid PEM");
}

BOOST_AUTO_TEST_CASE(oversized_files_are_refused) {
  std::string big = test_ca_file("test-ca-one.pem");
  big.append(rustimg::layer::kMaxCaBundleBytes, '#');
  expect_error([&] { (void)check_ca_bundle(big, "big.pem"); }, ErrorCode::InvalidArgument, "larger than 16 MiB");
}

// Extra certificates come after the bundle the image has otherwise, in the
// spec's order; alone when "ca-certificates" is false.
BOOST_AUTO_TEST_CASE(extra_certificates_are_appended_in_order) {
  rustimg::test::ScratchDir dir;
  const std::string one = test_ca_file("test-ca-one.pem");
  const std::string two = test_ca_file("test-ca-two.pem");
  rustimg::test::write_file(dir / "certs/one.pem", one);
  rustimg::test::write_file(dir / "two.pem", two);
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir.path();
  o.ca_bundle = "certs/one.pem";
  o.extra_ca_bundles = {"two.pem", "certs/one.pem"};
  const rustimg::layer::CaBundle ca = rustimg::layer::read_ca_bundle("static", o);
  BOOST_TEST(ca.pem == one + two + one);
  BOOST_TEST(ca.certificates == 3u);
  BOOST_TEST(ca.sources.size() == 3u);

  o.ca_certificates = false;
  o.extra_ca_bundles = {"two.pem"};
  BOOST_TEST(rustimg::layer::read_ca_bundle("static", o).pem == two);

  // The host's bundle (when the host has one) comes first.
  if (fs::is_regular_file(rustimg::layer::kHostCaBundle)) {
    o.ca_certificates = true;
    o.ca_bundle.clear();
    const rustimg::layer::CaBundle host = rustimg::layer::read_ca_bundle("static", o);
    BOOST_TEST(host.certificates > 1u);
    BOOST_TEST(host.pem.substr(host.pem.size() - two.size()) == two);
  }
}

BOOST_AUTO_TEST_CASE(bad_extra_files_name_the_key) {
  rustimg::test::ScratchDir dir;
  rustimg::test::write_file(dir / "crate/Cargo.toml", "[package]\n");
  rustimg::test::write_file(dir / "outside.pem", test_ca_file("test-ca-one.pem"));
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir / "crate";
  o.ca_certificates = false;
  o.extra_ca_bundles = {"Cargo.toml"};
  expect_error([&] { (void)rustimg::layer::read_ca_bundle("static", o); }, ErrorCode::InvalidArgument,
               "\"extra-ca-certificates\": CA bundle Cargo.toml holds no certificate");
  o.extra_ca_bundles = {"missing.pem"};
  expect_error([&] { (void)rustimg::layer::read_ca_bundle("static", o); }, ErrorCode::NotFound, "missing.pem");
  o.extra_ca_bundles = {"../outside.pem"};
  expect_error([&] { (void)rustimg::layer::read_ca_bundle("static", o); }, ErrorCode::InvalidArgument,
               "outside the crate directory");
  // The base layer fails the same way.
  expect_error([&] { (void)rustimg::layer::base_files("static", o); }, ErrorCode::InvalidArgument,
               "\"extra-ca-certificates\"");
}

// "scratch" stays empty unless the bundle is asked for; then it holds the
// bundle alone.
BOOST_AUTO_TEST_CASE(scratch_gets_the_bundle_only_when_asked) {
  rustimg::test::ScratchDir dir;
  rustimg::test::write_file(dir / "ca.pem", test_ca_file("test-ca-one.pem"));
  rustimg::layer::BaseOptions o;
  o.crate_dir = dir.path();
  o.ca_bundle = "ca.pem";
  BOOST_TEST(!rustimg::layer::has_ca_bundle("scratch", o));
  BOOST_TEST(rustimg::layer::base_files("scratch", o).empty());
  o.ca_on_scratch = true;
  BOOST_TEST(rustimg::layer::has_ca_bundle("scratch", o));
  const rustimg::layer::FileTree tree = rustimg::layer::base_files("scratch", o);
  BOOST_TEST(tree.contains(rustimg::layer::kCaBundlePath));
  BOOST_TEST(!tree.contains("etc/passwd"));
}

// On "scratch" the resolved spec says "no bundle" unless a source asks for
// one, so `rustimg spec` output fed back as a spec asks for nothing new.
BOOST_AUTO_TEST_CASE(scratch_default_stays_no_bundle_through_a_round_trip) {
  auto resolve = [](nlohmann::json v) {
    v.erase("targets");  // printed beside "platforms", which a spec cannot combine with it
    return rustimg::resolve_spec({rustimg::SpecLayer{"rustimg.json", v}}, "/src/crate");
  };
  const rustimg::Spec scratch = resolve({{"base", "scratch"}});
  BOOST_TEST(!scratch.ca_certificates);
  BOOST_TEST(scratch.to_json()["ca-certificates"] == false);
  const rustimg::Spec again = resolve(scratch.to_json());
  BOOST_TEST(!again.ca_certificates);
  BOOST_TEST(again.to_json() == scratch.to_json());
  // What is asked for stays asked for, and "static" keeps its default.
  BOOST_TEST(resolve({{"base", "scratch"}, {"ca-certificates", true}}).ca_certificates);
  const rustimg::Spec extras = resolve({{"base", "scratch"}, {"extra-ca-certificates", "corp.pem"}});
  BOOST_TEST(extras.ca_certificates);  // the host's bundle + the extras, as before
  BOOST_TEST(resolve(extras.to_json()).ca_certificates);
  BOOST_TEST(resolve({{"base", "static"}}).ca_certificates);
  BOOST_TEST(resolve(nlohmann::json::object()).to_json()["ca-certificates"] == true);
}

// The image gets the bundle that was checked before cargo ran: a file
// changed while cargo builds is not read again.
BOOST_AUTO_TEST_CASE(the_bundle_checked_before_cargo_is_the_bundle_written) {
  const rustimg::test::ScratchDir dir;
  const rustimg::test::ScopedEnv home("CARGO_HOME", (dir / "cargo-home").string());
  dir.write("crate/Cargo.toml", "[package]\nname = \"app\"\n");
  dir.write("crate/Cargo.lock", "version = 4\n");
  dir.write("crate/ca.pem", test_ca_file("test-ca-one.pem"));
  fs::copy_file("/bin/true", dir / "app");
  const std::string id = "path+file:///crate#app@0.1.0";
  const nlohmann::json metadata = {
      {"packages", nlohmann::json::array({{{"name", "app"},
                                           {"version", "0.1.0"},
                                           {"id", id},
                                           {"manifest_path", (dir / "crate" / "Cargo.toml").string()},
                                           {"targets", nlohmann::json::array({{{"kind", {"bin"}}, {"name", "app"}}})},
                                           {"metadata", nullptr},
                                           {"default_run", nullptr}}})},
      {"workspace_members", {id}},
      {"workspace_root", (dir / "crate").string()},
      {"target_directory", (dir / "crate" / "target").string()}};
  // cargo "builds" /bin/true and, meanwhile, the bundle becomes Cargo.toml.
  struct Runner : rustimg::ProcessRunner {
    std::string metadata, id;
    fs::path crate, executable;
    rustimg::ProcessResult run(const rustimg::ProcessRequest& req) override {
      if (req.argv.at(1) == "metadata") return {0, metadata, ""};
      if (req.argv.at(1) != "build") return {1, "", ""};
      fs::copy_file(crate / "Cargo.toml", crate / "ca.pem", fs::copy_options::overwrite_existing);
      const nlohmann::json artifact = {{"reason", "compiler-artifact"},
                                       {"package_id", id},
                                       {"target", {{"kind", {"bin"}}, {"name", "app"}}},
                                       {"executable", executable.string()}};
      req.on_stdout_line(artifact.dump());
      req.on_stdout_line(nlohmann::json{{"reason", "build-finished"}, {"success", true}}.dump());
      return {0, "", ""};
    }
  } runner;
  runner.metadata = metadata.dump();
  runner.id = id;
  runner.crate = dir / "crate";
  runner.executable = dir / "app";
  rustimg::pipeline::CrateBuildOptions o;
  o.spec.crate_dir = dir / "crate";
  // No SBOM: the fake cargo metadata above has no dependency graph.
  o.spec.overrides = {{"ca-certificates", "ca.pem"}, {"sbom", "none"}};
  o.image.output = {rustimg::store::ImageLocation::Kind::OciLayout, dir / "out", "latest", {}};
  o.image.allow_dynamic = true;  // /bin/true
  std::vector<std::string> notes;
  o.image.progress = [&notes](const rustimg::ProgressEvent& e) {
    if (e.stage == "layer") notes.push_back(e.message);
    return false;
  };
  o.runner = &runner;
  (void)rustimg::pipeline::build_crate(std::move(o));
  BOOST_TEST(std::count(notes.begin(), notes.end(),
                        std::string("CA bundle /etc/ssl/certs/ca-certificates.crt: 1 certificate from ca.pem "
                                    "(\"ca-certificates\")")) == 1);
}

BOOST_AUTO_TEST_CASE(spec_reads_a_path_or_a_list_inside_the_crate) {
  auto resolve = [](const nlohmann::json& v) {
    return rustimg::resolve_spec({rustimg::SpecLayer{"rustimg.json", {{"extra-ca-certificates", v}}}}, "/src/crate");
  };
  BOOST_TEST(resolve("certs/corp.pem").extra_ca_certificates == std::vector<std::string>{"certs/corp.pem"});
  BOOST_TEST((resolve(nlohmann::json::array({"./a.pem", "b/../b.pem"})).extra_ca_certificates ==
              std::vector<std::string>{"a.pem", "b.pem"}));
  BOOST_TEST(resolve(nlohmann::json::array()).extra_ca_certificates.empty());
  BOOST_TEST(rustimg::resolve_spec({}, "/src/crate").to_json()["extra-ca-certificates"] == nlohmann::json::array());
  for (const auto& [bad, needle] : std::vector<std::pair<nlohmann::json, std::string>>{
           {"/etc/ssl/corp.pem", "$.extra-ca-certificates: must be relative to the crate directory"},
           {nlohmann::json::array({"ok.pem", "../x.pem"}), "$.extra-ca-certificates[1]"},
           {true, "$.extra-ca-certificates: expected a string or an array of strings"},
           {"", "$.extra-ca-certificates: must not be empty"}}) {
    BOOST_TEST_CONTEXT(bad.dump()) {
      try {
        (void)resolve(bad);
        BOOST_ERROR("expected a spec error");
      } catch (const rustimg::Error& e) {
        BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, e.what());
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
