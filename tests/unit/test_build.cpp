// The build facade: verification gate, progress, cancellation, atomic output.
// Uses the host's /bin/true (a dynamically linked ELF executable).
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "rustimg/compose.hpp"
#include "rustimg/image.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/error.hpp"
#include "rustimg/spec.hpp"
#include "test_certificates.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using rustimg::ErrorCode;
using rustimg::test::has_temp_files;
using rustimg::test::ScratchDir;

namespace {

rustimg::pipeline::BuildOptions options(const ScratchDir& dir) {
  rustimg::pipeline::BuildOptions o;
  o.spec.base = "scratch";
  o.spec.user = "65532:65532";
  o.binaries = {{rustimg::Platform{}, "/bin/true"}};
  o.output = rustimg::store::parse_image_location("oci:" + (dir / "out").string() + ":t");
  o.allow_dynamic = true;
  o.crate_dir = dir.path();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(build)

BOOST_AUTO_TEST_CASE(dynamic_binary_refused_without_override) {
  ScratchDir dir;
  auto o = options(dir);
  o.allow_dynamic = false;
  try {
    rustimg::pipeline::build_image(o);
    BOOST_FAIL("expected a verify error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Verify));
    const std::string msg = e.what();
    BOOST_TEST(msg.find("/bin/true") != std::string::npos, msg);
    BOOST_TEST(msg.find("--allow-dynamic") != std::string::npos, msg);
    BOOST_TEST(msg.find("crt-static") != std::string::npos, msg);
  }
  BOOST_TEST(!fs::exists(dir / "out"));
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_CASE(progress_and_reproducible_digest) {
  ScratchDir dir;
  auto o = options(dir);
  std::vector<std::string> stages;
  o.progress = [&](const rustimg::ProgressEvent& e) {
    stages.push_back(e.stage);
    return false;
  };
  const auto a = rustimg::pipeline::build_image(o);
  const auto b = rustimg::pipeline::build_image(o);
  BOOST_TEST(a.descriptor.digest == b.descriptor.digest);
  BOOST_TEST(a.reports.size() == 1u);
  BOOST_TEST(stages.front() == "verify");
  BOOST_TEST(stages.back() == "write");
  BOOST_TEST(fs::exists(dir / "out/index.json"));
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_CASE(cancellation_leaves_nothing) {
  ScratchDir dir;
  auto o = options(dir);
  o.progress = [](const rustimg::ProgressEvent& e) { return e.stage == "image"; };
  try {
    rustimg::pipeline::build_image(o);
    BOOST_FAIL("expected cancellation");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Cancelled));
  }
  BOOST_TEST(!fs::exists(dir / "out/index.json"));
  BOOST_TEST(!has_temp_files(dir.path()));
}

BOOST_AUTO_TEST_CASE(platform_mismatch_is_a_verify_error) {
  ScratchDir dir;
  auto o = options(dir);
  o.binaries[0].platform = rustimg::parse_platform("linux/riscv64");
  BOOST_CHECK_EXCEPTION(rustimg::pipeline::build_image(o), rustimg::Error, [](const rustimg::Error& e) {
    return e.code() == ErrorCode::Verify && std::string(e.what()).find("linux/riscv64") != std::string::npos;
  });
}

namespace {

/// A copy of /bin/true (a dynamic x86-64 PIE) in `dir` with `value` written
/// little-endian over `width` bytes at `offset` of its ELF header.
fs::path patched_true(const ScratchDir& dir, const std::string& name, std::size_t offset, std::uint16_t value,
                      std::size_t width) {
  std::string bytes = rustimg::test::read_file("/bin/true");
  BOOST_REQUIRE(bytes.size() > 64u);
  for (std::size_t i = 0; i < width; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  const fs::path out = dir / name;
  rustimg::test::write_file(out, bytes);
  return out;
}

}  // namespace

// The build assembles its images as compose values (issue 18: "the existing
// build expressed through the same pieces"). Its digests must stay those of
// the pure rules it always had: image::assemble() over the same layers, made
// here by the compose LayerBuilder (the writer every rustimg layer uses).
// A refactor that changes one byte of a config or manifest fails here.
BOOST_AUTO_TEST_CASE(build_images_are_the_pure_assembly_of_their_layers) {
  ScratchDir dir;
  rustimg::test::write_file(dir / "app.toml", "x = 1\n");
  const std::int64_t created = 1700000000;
  for (const auto format : {rustimg::oci::Format::Oci, rustimg::oci::Format::Docker}) {
    BOOST_TEST_CONTEXT((format == rustimg::oci::Format::Oci ? "oci" : "docker")) {
      auto o = options(dir);
      o.created = created;
      o.format = format;
      o.output = rustimg::store::parse_image_location(
          format == rustimg::oci::Format::Oci ? "oci:" + (dir / "oci").string() + ":t"
                                              : "docker-archive:" + (dir / "image.tar").string());
      o.spec.assets = {{"app.toml", "/etc/app.toml", 0640, 65532, 65532}};
      o.spec.env = {{"B", "2"}, {"A", "1"}};
      o.spec.labels = {{"team", "x"}};
      o.spec.healthcheck = rustimg::oci::HealthConfig{{"CMD", "/usr/local/bin/true"}, 5000000000, 0, 0, 3};
      const rustimg::pipeline::BuildResult built = rustimg::pipeline::build_image(o);

      const rustimg::pipeline::Plan plan = rustimg::pipeline::plan_spec(o.spec, o.crate_dir);
      rustimg::compose::LayerSettings settings;
      settings.mtime = created;
      settings.format = format;
      rustimg::layer::FileTree assets;
      rustimg::layer::add_assets(assets, o.spec.assets, o.crate_dir);
      const auto assets_layer = rustimg::compose::Layer::from_tree(assets, settings);
      const auto app_layer =
          rustimg::compose::LayerBuilder().add_file("/usr/local/bin/true", "/bin/true", 0755).build(settings);
      const std::vector<rustimg::image::AppliedLayer> layers{
          {assets_layer.descriptor(), assets_layer.diff_id(), "rustimg: assets app.toml -> /etc/app.toml"},
          {app_layer.descriptor(), app_layer.diff_id(), "rustimg: app /usr/local/bin/true"}};
      const auto expected = rustimg::image::assemble(plan.config, rustimg::parse_platform("linux/amd64"), "true",
                                                     layers, {format, created, false});
      BOOST_TEST(built.descriptor.digest == expected.manifest.descriptor.digest);
      BOOST_TEST(built.descriptor.media_type == expected.manifest.descriptor.media_type);
    }
  }
}

// --allow-dynamic waives dynamic linking and nothing else: an object file, a
// core dump, a binary for another OS or another architecture stays refused.
BOOST_AUTO_TEST_CASE(allow_dynamic_waives_only_dynamic_linking) {
  ScratchDir dir;
  struct Case {
    std::string name;
    std::size_t offset;  // in the ELF header
    std::uint16_t value;
    std::size_t width;
    std::string platform;  // empty: taken from the ELF header
    std::string needle;
  };
  const std::vector<Case> cases{
      {"object.o", 16, 1, 2, "", "relocatable object file (ET_REL)"},  // e_type ET_REL
      {"core", 16, 4, 2, "", "core dump (ET_CORE)"},                  // e_type ET_CORE
      {"freebsd", 7, 9, 1, "", "not built for Linux"},                // EI_OSABI FreeBSD
      {"arm64", 18, 183, 2, "linux/amd64", "does not match platform linux/amd64"},  // e_machine AArch64
      {"unknown-arch", 18, 0x1234, 2, "linux/amd64", "does not match platform linux/amd64"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto o = options(dir);  // allow_dynamic = true
      o.binaries = {{c.platform.empty() ? rustimg::Platform{} : rustimg::parse_platform(c.platform),
                     patched_true(dir, c.name, c.offset, c.value, c.width)}};
      o.output = rustimg::store::parse_image_location("oci:" + (dir / "out").string() + "-" + c.name + ":t");
      try {
        rustimg::pipeline::build_image(o);
        BOOST_ERROR("expected a verify error");
      } catch (const rustimg::Error& e) {
        BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Verify), e.what());
        BOOST_TEST(std::string(e.what()).find(c.needle) != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find(c.name) != std::string::npos, e.what());
      }
      BOOST_TEST(!fs::exists(dir / ("out-" + c.name)));
    }
  }
  // The unpatched dynamic binary is still waived.
  BOOST_TEST(!rustimg::pipeline::build_image(options(dir)).descriptor.digest.empty());
}

// A spec's "ca-certificates" path is read from inside the crate only: a
// symlink (to a file or through a directory) that leaves it is refused.
BOOST_AUTO_TEST_CASE(ca_bundle_symlinks_out_of_the_crate_are_refused) {
  ScratchDir dir;
  const fs::path crate = dir / "crate";
  rustimg::test::write_file(dir / "secret.pem", "host secret");
  rustimg::test::write_file(crate / "certs/ca.pem", rustimg::test::test_ca_file("test-ca-one.pem"));
  fs::create_symlink(dir / "secret.pem", crate / "abs-link.pem");
  fs::create_symlink("../secret.pem", crate / "rel-link.pem");
  fs::create_directory_symlink(dir.path(), crate / "up");
  fs::create_symlink("certs/ca.pem", crate / "inside-link.pem");

  auto with_bundle = [&](const std::string& bundle) {
    auto o = options(dir);
    o.spec = rustimg::resolve_spec(
        {rustimg::SpecLayer{"rustimg.json", {{"base", "static"}, {"ca-certificates", bundle}}}}, crate);
    o.crate_dir = crate;
    return o;
  };
  for (const std::string bundle : {"abs-link.pem", "rel-link.pem", "up/secret.pem"}) {
    BOOST_TEST_CONTEXT(bundle) {
      try {
        rustimg::pipeline::build_image(with_bundle(bundle));
        BOOST_ERROR("expected the CA bundle to be refused");
      } catch (const rustimg::Error& e) {
        const std::string msg = e.what();
        BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::InvalidArgument), msg);
        BOOST_TEST(msg.find("\"ca-certificates\"") != std::string::npos, msg);
        BOOST_TEST(msg.find(bundle) != std::string::npos, msg);
        BOOST_TEST(msg.find("outside the crate directory") != std::string::npos, msg);
        BOOST_TEST(msg.find("true") != std::string::npos, msg);  // the fix: the host's bundle via true
        BOOST_TEST(msg.find("host secret") == std::string::npos, msg);
      }
      BOOST_TEST(!fs::exists(dir / "out"));
    }
  }
  // Inside the crate, symlinks included, the bundle is taken.
  BOOST_TEST(!rustimg::pipeline::build_image(with_bundle("certs/ca.pem")).descriptor.digest.empty());
  BOOST_TEST(!rustimg::pipeline::build_image(with_bundle("inside-link.pem")).descriptor.digest.empty());
}

BOOST_AUTO_TEST_CASE(source_date_epoch_parsing) {
  ::unsetenv("SOURCE_DATE_EPOCH");
  BOOST_TEST(rustimg::pipeline::source_date_epoch() == 0);
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  BOOST_TEST(rustimg::pipeline::source_date_epoch() == 1700000000);
  for (const char* bad : {"-1", "1.5", "abc", "+5", "99999999999999"}) {
    ::setenv("SOURCE_DATE_EPOCH", bad, 1);
    BOOST_CHECK_THROW(rustimg::pipeline::source_date_epoch(), rustimg::Error);
  }
  ::unsetenv("SOURCE_DATE_EPOCH");
}

BOOST_AUTO_TEST_SUITE_END()
