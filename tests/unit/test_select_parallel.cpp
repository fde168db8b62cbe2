// oci::select_platform / offered_platforms / config_platform (src/oci/select.cpp)
// and util::parallel_for (src/util/parallel.hpp).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "../../src/util/parallel.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"

namespace oci = rustimg::oci;

namespace {

oci::Descriptor entry(const std::string& digest_char, std::optional<rustimg::Platform> platform) {
  oci::Descriptor d;
  d.media_type = oci::media_type::kOciManifest;
  d.digest = "sha256:" + std::string(64, digest_char[0]);
  d.size = 10;
  d.platform = std::move(platform);
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(select_and_parallel)

BOOST_AUTO_TEST_CASE(select_platform_takes_the_first_match) {
  oci::Index index;
  index.manifests = {entry("a", std::nullopt), entry("b", rustimg::parse_platform("linux/amd64")),
                     entry("c", rustimg::parse_platform("linux/arm64")),
                     entry("d", rustimg::parse_platform("linux/arm64"))};
  auto got = oci::select_platform(index, rustimg::parse_platform("linux/arm64"));
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got->digest == index.manifests[2].digest);
  BOOST_TEST(!oci::select_platform(index, rustimg::parse_platform("linux/s390x")).has_value());
  BOOST_TEST(oci::offered_platforms(index) == "linux/amd64, linux/arm64, linux/arm64");
  oci::Index bare;
  bare.manifests = {entry("a", std::nullopt)};
  BOOST_TEST(oci::offered_platforms(bare) == "no platforms");
}

BOOST_AUTO_TEST_CASE(config_platform_defaults_and_canonicalises) {
  oci::ImageConfig c;
  BOOST_TEST(!oci::config_platform(c).has_value());  // no architecture: nothing to check
  c.platform.architecture = "aarch64";
  auto p = oci::config_platform(c);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(p->os == "linux");
  BOOST_TEST(p->to_string() == "linux/arm64");
  c.platform.architecture = "weird";
  BOOST_TEST(oci::config_platform(c)->to_string() == "linux/weird");
}

BOOST_AUTO_TEST_CASE(parallel_for_runs_every_job_once) {
  std::vector<std::atomic<int>> runs(100);
  rustimg::util::parallel_for(runs.size(), 4, [&](std::size_t i) { ++runs[i]; });
  for (const auto& r : runs) BOOST_TEST(r.load() == 1);
  rustimg::util::parallel_for(0, 4, [](std::size_t) { throw std::logic_error("no jobs, no calls"); });
}

BOOST_AUTO_TEST_CASE(parallel_for_rethrows_the_first_error_after_stopping) {
  std::atomic<int> started{0};
  BOOST_CHECK_EXCEPTION(rustimg::util::parallel_for(1000, 1,
                                                    [&](std::size_t i) {
                                                      ++started;
                                                      if (i == 3) throw std::runtime_error("job 3 failed");
                                                    }),
                        std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()) == "job 3 failed"; });
  BOOST_TEST(started.load() == 4);  // one thread: no job after the failing one starts
}

BOOST_AUTO_TEST_SUITE_END()
