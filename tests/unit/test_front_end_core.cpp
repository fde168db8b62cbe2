// The core calls every front end (CLI, C API, Python) shares: verification
// against a platform, the push-result JSON, build-then-push (the pushes
// themselves are tested against a real registry in tests/integration) and the default
// creation time.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/registry.hpp"
#include "rustimg/transfer.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
namespace reg = rustimg::registry;
using rustimg::ErrorCode;
using rustimg::Platform;
using rustimg::test::ScopedEnv;
using rustimg::test::ScratchDir;

namespace {

/// The host binary the tests inspect: an ELF executable for this machine.
const char* const kHostBinary = "/bin/true";

/// A platform the host binary is not for.
Platform other_platform(const rustimg::elf::Report& r) {
  return r.platform.architecture == "amd64" ? Platform{"linux", "arm64", ""} : Platform{"linux", "amd64", ""};
}

/// A transport whose every request fails with a status that is not retried.
class RefusingRegistry final : public reg::Transport {
 public:
  reg::HttpResponse perform(const reg::HttpRequest&) override {
    reg::HttpResponse resp;
    resp.status = 403;
    resp.body = R"({"errors":[{"code":"DENIED","message":"no pushing here"}]})";
    return resp;
  }
};

/// build_and_push options for the host binary on scratch, written to `output`.
rustimg::pipeline::BuildAndPushOptions request(const ScratchDir& dir, const std::string& output) {
  rustimg::pipeline::BuildAndPushOptions o;
  o.spec.crate_dir = dir.path();
  o.spec.use_cargo_metadata = false;
  o.spec.overrides = {{"base", "scratch"}};
  o.binaries = {{Platform{}, kHostBinary}};
  if (!output.empty()) o.image.output = rustimg::store::parse_image_location(output);
  o.image.created = 0;
  o.image.allow_dynamic = true;
  o.image.base_cache.clear();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(front_end_core)

BOOST_AUTO_TEST_CASE(verify_without_platform_checks_none) {
  const auto r = rustimg::elf::verify_file(kHostBinary);
  BOOST_TEST(!r.wanted_platform.has_value());
  BOOST_TEST(r.platform_match());
  const auto j = rustimg::elf::to_json(r);
  BOOST_TEST(!j.contains("platform_match"));
  BOOST_TEST(j["problems"].size() == r.problems.size());
}

BOOST_AUTO_TEST_CASE(verify_against_own_platform_matches) {
  const auto plain = rustimg::elf::inspect_file(kHostBinary);
  const auto r = rustimg::elf::verify_file(kHostBinary, plain.platform);
  BOOST_REQUIRE(r.wanted_platform.has_value());
  BOOST_TEST(r.wanted_platform->to_string() == plain.platform.to_string());
  BOOST_TEST(r.platform_match());
  BOOST_TEST(r.problems.size() == plain.problems.size());
  const auto j = rustimg::elf::to_json(r);
  BOOST_TEST(j["platform_match"] == true);
  BOOST_TEST(j["fit_for_scratch"] == plain.fit_for_scratch());
}

BOOST_AUTO_TEST_CASE(verify_against_other_platform_adds_a_problem) {
  const auto plain = rustimg::elf::inspect_file(kHostBinary);
  const Platform other = other_platform(plain);
  const auto r = rustimg::elf::verify_file(kHostBinary, other);
  BOOST_TEST(!r.platform_match());
  BOOST_TEST(!r.fit_for_scratch());
  BOOST_REQUIRE_EQUAL(r.problems.size(), plain.problems.size() + 1);
  BOOST_TEST(static_cast<int>(r.problems.back().kind) ==
             static_cast<int>(rustimg::elf::ProblemKind::PlatformMismatch));
  BOOST_TEST(r.problems.back().message.find(other.to_string()) != std::string::npos, r.problems.back().message);
  const auto j = rustimg::elf::to_json(r);
  BOOST_TEST(j["platform_match"] == false);
  BOOST_TEST(j["fit_for_scratch"] == false);
  BOOST_TEST(j["problem_kinds"].back() == "platform-mismatch");
  BOOST_TEST(j["problems"].back() == r.problems.back().message);
}

BOOST_AUTO_TEST_CASE(verify_buffer_is_verify_file) {
  std::ifstream in(kHostBinary, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto span = std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
  const Platform other = other_platform(rustimg::elf::inspect(span));
  BOOST_TEST(rustimg::elf::to_json(rustimg::elf::verify(span, other)) ==
             rustimg::elf::to_json(rustimg::elf::verify_file(kHostBinary, other)));
  BOOST_CHECK_THROW(rustimg::elf::verify(span.first(10), other), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(check_platform_returns_the_match) {
  auto r = rustimg::elf::inspect_file(kHostBinary);
  BOOST_TEST(rustimg::elf::check_platform(r, r.platform));
  BOOST_TEST(!rustimg::elf::check_platform(r, other_platform(r)));
  BOOST_TEST(!r.platform_match());
}

BOOST_AUTO_TEST_CASE(pushed_image_json) {
  rustimg::transfer::PushedImage p;
  p.reference = "127.0.0.1:5000/app:v1@sha256:abc";
  p.result.digest = "sha256:abc";
  p.result.blobs_uploaded = 3;
  p.result.blobs_mounted = 2;
  p.result.blobs_existing = 1;
  p.result.bytes_uploaded = 12345;
  p.result.references = {"127.0.0.1:5000/app:v1@sha256:abc", "127.0.0.1:5000/app:latest@sha256:abc"};
  rustimg::registry::ReferrerPushResult sbom;
  sbom.digest = "sha256:def";
  sbom.subject = "sha256:abc";
  sbom.artifact_type = "application/spdx+json";
  sbom.via = rustimg::registry::ReferrersVia::TagSchema;
  p.referrers = {sbom};
  p.signatures = {"127.0.0.1:5000/app:sha256-abc.sig@sha256:123"};
  const nlohmann::json want = {{"reference", "127.0.0.1:5000/app:v1@sha256:abc"},
                               {"referrers",
                                {{{"digest", "sha256:def"},
                                  {"subject", "sha256:abc"},
                                  {"artifact_type", "application/spdx+json"},
                                  {"via", "tag-schema"}}}},
                               {"signatures", {"127.0.0.1:5000/app:sha256-abc.sig@sha256:123"}},
                               {"references", {"127.0.0.1:5000/app:v1@sha256:abc",
                                               "127.0.0.1:5000/app:latest@sha256:abc"}},
                               {"digest", "sha256:abc"},
                               {"blobs_uploaded", 3},
                               {"blobs_mounted", 2},
                               {"blobs_existing", 1},
                               {"bytes_uploaded", 12345}};
  BOOST_TEST(rustimg::transfer::to_json(p) == want);
}

BOOST_AUTO_TEST_CASE(pushed_images_add_every_reference_in_order) {
  rustimg::transfer::PushedImage a, b;
  a.reference = "h/a:v1@sha256:1";
  a.result.references = {"h/a:v1@sha256:1", "h/a:latest@sha256:1"};
  b.reference = "g/b:v1@sha256:1";
  b.result.references = {"g/b:v1@sha256:1"};
  nlohmann::json doc = {{"digest", "sha256:1"}};
  rustimg::transfer::add_pushed(doc, {a, b});
  BOOST_TEST(doc["pushed"].size() == 2U);
  BOOST_TEST(doc["pushed"][1] == rustimg::transfer::to_json(b));
  BOOST_TEST(doc["references"] == nlohmann::json({"h/a:v1@sha256:1", "h/a:latest@sha256:1", "g/b:v1@sha256:1"}));
  BOOST_TEST(doc["digest"] == "sha256:1");
}

BOOST_AUTO_TEST_CASE(created_defaults_to_source_date_epoch) {
  ScratchDir dir;
  auto o = request(dir, "oci:" + (dir / "a").string());
  o.image.created.reset();
  std::string digest_env, digest_zero, digest_explicit;
  {
    const ScopedEnv env("SOURCE_DATE_EPOCH", "1700000000");
    digest_env = rustimg::pipeline::build_and_push(o).build.descriptor.digest;
    auto explicit_time = request(dir, "oci:" + (dir / "b").string());
    explicit_time.image.created = 1700000000;
    digest_explicit = rustimg::pipeline::build_and_push(explicit_time).build.descriptor.digest;
  }
  {
    const ScopedEnv env("SOURCE_DATE_EPOCH", "");
    auto zero = request(dir, "oci:" + (dir / "c").string());
    zero.image.created.reset();
    digest_zero = rustimg::pipeline::build_and_push(zero).build.descriptor.digest;
  }
  BOOST_TEST(digest_env == digest_explicit);
  BOOST_TEST(digest_env != digest_zero);
  {
    const ScopedEnv env("SOURCE_DATE_EPOCH", "yesterday");
    auto bad = request(dir, "oci:" + (dir / "d").string());
    bad.image.created.reset();
    BOOST_CHECK_THROW(rustimg::pipeline::build_and_push(bad), rustimg::Error);
    // A time given explicitly does not read the environment.
    BOOST_CHECK_NO_THROW(rustimg::pipeline::build_and_push(request(dir, "oci:" + (dir / "e").string())));
  }
}

BOOST_AUTO_TEST_CASE(build_without_push_writes_the_output) {
  ScratchDir dir;
  auto o = request(dir, "oci:" + (dir / "out").string() + ":v1");
  int built = 0;
  std::string seen;
  o.on_built = [&](const rustimg::pipeline::BuildResult& r) {
    ++built;
    seen = r.descriptor.digest;
  };
  const auto result = rustimg::pipeline::build_and_push(o);
  BOOST_TEST(built == 1);
  BOOST_TEST(seen == result.build.descriptor.digest);
  BOOST_TEST(result.pushed.empty());
  BOOST_TEST(fs::exists(dir / "out/index.json"));
  const auto j = rustimg::pipeline::to_json(result);
  BOOST_TEST(j["digest"] == result.build.descriptor.digest);
  BOOST_TEST(j["pushed"] == nlohmann::json::array());
  BOOST_TEST(j["reports"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(no_output_and_no_push_is_refused) {
  ScratchDir dir;
  try {
    rustimg::pipeline::build_and_push(request(dir, ""));
    BOOST_FAIL("expected InvalidArgument");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::InvalidArgument));
  }
}

BOOST_AUTO_TEST_CASE(failed_push_keeps_the_written_output) {
  ScratchDir dir;
  auto o = request(dir, "oci:" + (dir / "out").string());
  o.image.registry.transport = std::make_shared<RefusingRegistry>();
  o.image.registry.use_config_files = false;
  o.push = {"127.0.0.1:5000/app:v1"};
  bool built = false;
  o.on_built = [&](const rustimg::pipeline::BuildResult&) { built = true; };
  BOOST_CHECK_THROW(rustimg::pipeline::build_and_push(o), rustimg::Error);
  BOOST_TEST(built);
  BOOST_TEST(fs::exists(dir / "out/index.json"));
}

BOOST_AUTO_TEST_SUITE_END()
