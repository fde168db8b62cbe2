// The one progress channel: report_progress's cancel convention (true stops)
// and the registry client's events over a scripted transport.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/progress.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"
#include "scripted_transport.hpp"

namespace reg = rustimg::registry;
using rustimg::ErrorCode;
using rustimg::ProgressEvent;
using rustimg::test::expect_error;

namespace {

/// An image manifest naming one config blob, which the registry already has;
/// pushing it reports "checking", "skipped", then "manifest".
struct OneBlobImage {
  const std::string config = "{}";
  const std::string config_digest = rustimg::oci::sha256_digest(config);
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":)"
      R"("application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest + R"(","size":2},"layers":[]})";
};

}  // namespace

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(report_progress_cancels_on_true) {
  std::vector<std::string> seen;
  rustimg::report_progress(nullptr, ProgressEvent{"layer", "1 MiB", "", 1, 0});  // no callback: nothing happens
  const rustimg::ProgressCallback go_on = [&](const ProgressEvent& e) {
    seen.push_back(e.stage + ":" + e.message);
    return false;
  };
  rustimg::report_progress(go_on, ProgressEvent{"verify", "ok"});
  BOOST_TEST(seen == std::vector<std::string>{"verify:ok"});

  const rustimg::ProgressCallback stop = [](const ProgressEvent&) { return true; };
  expect_error([&] { rustimg::report_progress(stop, ProgressEvent{"image", "m"}); }, ErrorCode::Cancelled,
               "image");
}

BOOST_AUTO_TEST_CASE(registry_push_reports_stages_and_true_cancels) {
  const OneBlobImage img;
  rustimg::test::MemorySource source;
  source.blobs[img.config_digest] = img.config;
  auto transport = std::make_shared<rustimg::test::ScriptedTransport>([](const reg::HttpRequest& req) {
    if (req.method == "PUT") return rustimg::test::answer(201);
    return rustimg::test::answer(200);  // ping, and HEAD: the blob is there
  });
  reg::Options o;
  o.transport = transport;
  o.use_config_files = false;
  o.jobs = 1;
  std::vector<ProgressEvent> events;
  o.progress = [&](const ProgressEvent& e) {
    events.push_back(e);
    return false;
  };
  const auto target = rustimg::parse_reference("reg.example/app:v1");
  {
    reg::Client client(o);
    client.push(target, "application/vnd.oci.image.manifest.v1+json", img.manifest, source);
  }
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[0].stage == reg::stage::kChecking);
  BOOST_TEST(events[1].stage == reg::stage::kSkipped);
  BOOST_TEST(events[1].digest == img.config_digest);
  BOOST_TEST(events[1].bytes_done == 2u);
  BOOST_TEST(events[1].bytes_total == 2u);
  BOOST_TEST(!events[1].message.empty());
  BOOST_TEST(events[2].stage == reg::stage::kManifest);

  // Answering true at "skipped" stops the push before the manifest is sent.
  o.progress = [](const ProgressEvent& e) { return e.stage == reg::stage::kSkipped; };
  reg::Client client(o);
  expect_error([&] { client.push(target, "application/vnd.oci.image.manifest.v1+json", img.manifest, source); },
               ErrorCode::Cancelled, "cancelled");
  std::size_t manifest_puts = 0;
  for (const auto& s : transport->seen())
    if (s.method == "PUT" && s.url.find("/manifests/") != std::string::npos) ++manifest_puts;
  BOOST_TEST(manifest_puts == 1u);  // the first push's only
}

BOOST_AUTO_TEST_SUITE_END()
