// Image references, platforms and the Rust target table.
#include <boost/test/unit_test.hpp>

#include <string>

#include "rustimg/error.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"

using rustimg::ErrorCode;

namespace {

// Asserts that `fn` throws rustimg::Error with `code` and a message containing `needle`.
template <typename Fn>
void expect_error(Fn&& fn, ErrorCode code, const std::string& needle) {
  try {
    fn();
    BOOST_FAIL("expected an error containing \"" << needle << "\"");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code));
    BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, "message: " << e.what());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(docker_hub_defaults) {
  auto r = rustimg::parse_reference("alpine");
  BOOST_TEST(r.registry == "docker.io");
  BOOST_TEST(r.repository == "library/alpine");
  BOOST_TEST(r.tag == "latest");
  BOOST_TEST(r.digest.empty());
  BOOST_TEST(r.to_string() == "docker.io/library/alpine:latest");

  BOOST_TEST(rustimg::parse_reference("org/app:1.2").to_string() == "docker.io/org/app:1.2");
  BOOST_TEST(rustimg::parse_reference("index.docker.io/library/alpine").registry == "docker.io");
  BOOST_TEST(rustimg::parse_reference("docker.io/alpine").repository == "library/alpine");
}

BOOST_AUTO_TEST_CASE(registries_ports_localhost) {
  auto r = rustimg::parse_reference("localhost:5000/app");
  BOOST_TEST(r.registry == "localhost:5000");
  BOOST_TEST(r.repository == "app");
  BOOST_TEST(r.tag == "latest");

  r = rustimg::parse_reference("localhost/app:v1");
  BOOST_TEST(r.registry == "localhost");
  BOOST_TEST(r.tag == "v1");

  r = rustimg::parse_reference("127.0.0.1:5000/team/app:v2");
  BOOST_TEST(r.registry == "127.0.0.1:5000");
  BOOST_TEST(r.repository == "team/app");
  BOOST_TEST(r.name() == "127.0.0.1:5000/team/app");

  r = rustimg::parse_reference("ghcr.io/org/sub/app");
  BOOST_TEST(r.registry == "ghcr.io");
  BOOST_TEST(r.repository == "org/sub/app");

  r = rustimg::parse_reference("[::1]:5000/app:x");
  BOOST_TEST(r.registry == "[::1]:5000");

  // a first component without '.' or ':' is a Docker Hub namespace
  r = rustimg::parse_reference("myorg/app");
  BOOST_TEST(r.registry == "docker.io");
  BOOST_TEST(r.repository == "myorg/app");
}

BOOST_AUTO_TEST_CASE(digests) {
  const std::string d = "sha256:" + std::string(64, 'a');
  auto r = rustimg::parse_reference("gcr.io/distroless/static@" + d);
  BOOST_TEST(r.digest == d);
  BOOST_TEST(r.tag.empty());
  BOOST_TEST(r.identifier() == d);
  BOOST_TEST(r.to_string() == "gcr.io/distroless/static@" + d);

  r = rustimg::parse_reference("gcr.io/distroless/static:nonroot@" + d);
  BOOST_TEST(r.tag == "nonroot");
  BOOST_TEST(r.identifier() == d);

  BOOST_TEST(rustimg::is_valid_digest(d));
  BOOST_TEST(!rustimg::is_valid_digest("sha256:" + std::string(64, 'A')));
  BOOST_TEST(!rustimg::is_valid_digest("sha256:abc"));
  BOOST_TEST(!rustimg::is_valid_digest("md5:" + std::string(32, 'a')));
  BOOST_TEST(rustimg::is_valid_digest("sha512:" + std::string(128, '0')));
}

BOOST_AUTO_TEST_CASE(tags) {
  BOOST_TEST(rustimg::is_valid_tag("v1.2.3-rc_1"));
  BOOST_TEST(rustimg::is_valid_tag("_x"));
  BOOST_TEST(!rustimg::is_valid_tag(""));
  BOOST_TEST(!rustimg::is_valid_tag(".hidden"));
  BOOST_TEST(!rustimg::is_valid_tag("-x"));
  BOOST_TEST(!rustimg::is_valid_tag("a/b"));
  BOOST_TEST(!rustimg::is_valid_tag(std::string(129, 'a')));
  BOOST_TEST(rustimg::is_valid_tag(std::string(128, 'a')));
}

BOOST_AUTO_TEST_CASE(invalid_references) {
  expect_error([] { rustimg::parse_reference(""); }, ErrorCode::InvalidArgument, "empty");
  expect_error([] { rustimg::parse_reference("Org/App"); }, ErrorCode::InvalidArgument, "lower case");
  expect_error([] { rustimg::parse_reference("app:-bad"); }, ErrorCode::InvalidArgument, "bad tag \"-bad\"");
  expect_error([] { rustimg::parse_reference("app@sha256:123"); }, ErrorCode::InvalidArgument, "bad digest");
  expect_error([] { rustimg::parse_reference("ghcr.io/"); }, ErrorCode::InvalidArgument, "missing repository");
  expect_error([] { rustimg::parse_reference("a..b/app"); }, ErrorCode::InvalidArgument, "bad registry host");
  expect_error([] { rustimg::parse_reference("host:99x/app"); }, ErrorCode::InvalidArgument, "bad registry host");
  expect_error([] { rustimg::parse_reference("ok/a--b__c..d"); }, ErrorCode::InvalidArgument,
               "bad repository path component");
  expect_error([] { rustimg::parse_reference("x.io/" + std::string(260, 'a')); }, ErrorCode::InvalidArgument,
               "255");
  // the message always quotes the input
  expect_error([] { rustimg::parse_reference("UPPER"); }, ErrorCode::InvalidArgument, "\"UPPER\"");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(platform)

BOOST_AUTO_TEST_CASE(canonical_forms) {
  BOOST_TEST(rustimg::parse_platform("linux/amd64").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("linux/arm64/v8").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("linux/arm64/v8.2").to_string() == "linux/arm64/v8.2");
  BOOST_TEST(rustimg::parse_platform("linux/arm").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("linux/arm/v6").to_string() == "linux/arm/v6");
  BOOST_TEST(rustimg::parse_platform("linux/arm/7").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("linux/amd64/v1").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("linux/amd64/v3").to_string() == "linux/amd64/v3");
  BOOST_TEST(rustimg::parse_platform("LINUX/AMD64").to_string() == "linux/amd64");
}

BOOST_AUTO_TEST_CASE(aliases) {
  BOOST_TEST(rustimg::parse_platform("aarch64").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("linux/aarch64").to_string() == "linux/arm64");
  BOOST_TEST(rustimg::parse_platform("x86_64").to_string() == "linux/amd64");
  BOOST_TEST(rustimg::parse_platform("armhf").to_string() == "linux/arm/v7");
  BOOST_TEST(rustimg::parse_platform("armel").to_string() == "linux/arm/v6");
  BOOST_TEST(rustimg::parse_platform("i686").to_string() == "linux/386");
  BOOST_TEST(rustimg::parse_platform("ppc64el").to_string() == "linux/ppc64le");
  BOOST_TEST(rustimg::parse_platform("loongarch64").to_string() == "linux/loong64");
  BOOST_TEST(rustimg::normalize_architecture("aarch64").value() == "arm64");
  BOOST_TEST(!rustimg::normalize_architecture("vax").has_value());
}

BOOST_AUTO_TEST_CASE(invalid_platforms) {
  expect_error([] { rustimg::parse_platform(""); }, ErrorCode::InvalidArgument, "empty platform");
  expect_error([] { rustimg::parse_platform("linux/pdp11"); }, ErrorCode::InvalidArgument,
               "unknown architecture \"pdp11\"");
  expect_error([] { rustimg::parse_platform("windows/amd64"); }, ErrorCode::Unsupported, "Linux images only");
  expect_error([] { rustimg::parse_platform("linux/arm64/v8/x"); }, ErrorCode::InvalidArgument, "OS/ARCH");
  expect_error([] { rustimg::parse_platform("linux//v7"); }, ErrorCode::InvalidArgument, "OS/ARCH");
  expect_error([] { rustimg::parse_platform("linux"); }, ErrorCode::InvalidArgument, "missing architecture");
  expect_error([] { rustimg::parse_platform("linux/armhf/v6"); }, ErrorCode::InvalidArgument,
               "already means variant v7");
}

BOOST_AUTO_TEST_CASE(descriptor_variant_and_matching) {
  auto arm64 = rustimg::parse_platform("linux/arm64");
  BOOST_TEST(arm64.descriptor_variant() == "v8");
  BOOST_TEST(rustimg::parse_platform("linux/arm/v7").descriptor_variant() == "v7");
  BOOST_TEST(rustimg::parse_platform("linux/amd64").descriptor_variant() == "");

  auto v7 = rustimg::parse_platform("linux/arm/v7");
  auto v6 = rustimg::parse_platform("linux/arm/v6");
  BOOST_TEST(v7.satisfies(v7));
  BOOST_TEST(!v7.satisfies(v6));
  BOOST_TEST(!arm64.satisfies(v7));
  rustimg::Platform any_arm{"linux", "arm", ""};
  BOOST_TEST(v6.satisfies(any_arm));
}

BOOST_AUTO_TEST_CASE(rust_target_table) {
  using rustimg::Libc;
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/amd64"), Libc::Gnu).triple ==
             "x86_64-unknown-linux-gnu");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm64"), Libc::Musl).triple ==
             "aarch64-unknown-linux-musl");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v7"), Libc::Musl).triple ==
             "armv7-unknown-linux-musleabihf");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v6"), Libc::Gnu).triple ==
             "arm-unknown-linux-gnueabihf");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/riscv64"), Libc::Gnu).triple ==
             "riscv64gc-unknown-linux-gnu");
  expect_error([] { rustimg::rust_target_for(rustimg::parse_platform("linux/s390x"), Libc::Musl); },
               ErrorCode::Unsupported, "no Rust musl target for platform linux/s390x");
  BOOST_TEST(rustimg::rust_target_for(rustimg::parse_platform("linux/amd64/v3"), Libc::Gnu).triple ==
             "x86_64-unknown-linux-gnu");
  expect_error([] { rustimg::rust_target_for(rustimg::parse_platform("linux/arm/v8"), Libc::Gnu); },
               ErrorCode::Unsupported, "linux/arm/v8");

  auto t = rustimg::find_rust_target("aarch64-unknown-linux-gnu");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->platform.to_string() == "linux/arm64");
  BOOST_TEST(!t->crt_static_default);
  BOOST_TEST(!rustimg::find_rust_target("wasm32-unknown-unknown").has_value());

  // every row round-trips: platform + libc -> the same triple
  for (const auto& row : rustimg::rust_targets())
    BOOST_TEST(rustimg::rust_target_for(row.platform, row.libc).triple == row.triple);
  BOOST_TEST(std::string(rustimg::libc_name(Libc::Musl)) == "musl");
  BOOST_TEST((rustimg::parse_libc("glibc") == Libc::Gnu));
  BOOST_TEST(!rustimg::parse_libc("bionic").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
