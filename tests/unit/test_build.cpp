// The build facade: verification gate, progress, cancellation, atomic output.
// Uses the host's /bin/true (a dynamically linked ELF executable).
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "rustimg/build.hpp"
#include "rustimg/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::ErrorCode;
using rustimg::test::ScratchDir;

namespace {

rustimg::build::BuildOptions options(const ScratchDir& dir) {
  rustimg::build::BuildOptions o;
  o.spec.base = "scratch";
  o.spec.user = "65532:65532";
  o.binaries = {{rustimg::Platform{}, "/bin/true"}};
  o.output = rustimg::store::parse_destination("oci:" + (dir / "out").string() + ":t");
  o.allow_dynamic = true;
  o.crate_dir = dir.path();
  return o;
}

bool leftovers(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(".rustimg-", 0) == 0) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(build)

BOOST_AUTO_TEST_CASE(dynamic_binary_refused_without_override) {
  ScratchDir dir;
  auto o = options(dir);
  o.allow_dynamic = false;
  try {
    rustimg::build::build_image(o);
    BOOST_FAIL("expected a verify error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Verify));
    const std::string msg = e.what();
    BOOST_TEST(msg.find("/bin/true") != std::string::npos, msg);
    BOOST_TEST(msg.find("--allow-dynamic") != std::string::npos, msg);
    BOOST_TEST(msg.find("crt-static") != std::string::npos, msg);
  }
  BOOST_TEST(!fs::exists(dir / "out"));
  BOOST_TEST(!leftovers(dir.path()));
}

BOOST_AUTO_TEST_CASE(progress_and_reproducible_digest) {
  ScratchDir dir;
  auto o = options(dir);
  std::vector<std::string> stages;
  o.progress = [&](const rustimg::build::ProgressEvent& e) {
    stages.push_back(e.stage);
    return true;
  };
  const auto a = rustimg::build::build_image(o);
  const auto b = rustimg::build::build_image(o);
  BOOST_TEST(a.descriptor.digest == b.descriptor.digest);
  BOOST_TEST(a.reports.size() == 1u);
  BOOST_TEST(stages.front() == "verify");
  BOOST_TEST(stages.back() == "write");
  BOOST_TEST(fs::exists(dir / "out/index.json"));
  BOOST_TEST(!leftovers(dir.path()));
}

BOOST_AUTO_TEST_CASE(cancellation_leaves_nothing) {
  ScratchDir dir;
  auto o = options(dir);
  o.progress = [](const rustimg::build::ProgressEvent& e) { return e.stage != "image"; };
  try {
    rustimg::build::build_image(o);
    BOOST_FAIL("expected cancellation");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Cancelled));
  }
  BOOST_TEST(!fs::exists(dir / "out/index.json"));
  BOOST_TEST(!leftovers(dir.path()));
}

BOOST_AUTO_TEST_CASE(platform_mismatch_is_a_verify_error) {
  ScratchDir dir;
  auto o = options(dir);
  o.binaries[0].platform = rustimg::parse_platform("linux/riscv64");
  BOOST_CHECK_EXCEPTION(rustimg::build::build_image(o), rustimg::Error, [](const rustimg::Error& e) {
    return e.code() == ErrorCode::Verify && std::string(e.what()).find("linux/riscv64") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(source_date_epoch_parsing) {
  ::unsetenv("SOURCE_DATE_EPOCH");
  BOOST_TEST(rustimg::build::source_date_epoch() == 0);
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  BOOST_TEST(rustimg::build::source_date_epoch() == 1700000000);
  for (const char* bad : {"-1", "1.5", "abc", "+5", "99999999999999"}) {
    ::setenv("SOURCE_DATE_EPOCH", bad, 1);
    BOOST_CHECK_THROW(rustimg::build::source_date_epoch(), rustimg::Error);
  }
  ::unsetenv("SOURCE_DATE_EPOCH");
}

BOOST_AUTO_TEST_SUITE_END()
