// registry::BlobUpload over a scripted Transport: a blob sent while it is
// written, in PATCH chunks held in memory, completed by PUT ?digest=.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"
#include "scripted_transport.hpp"

namespace reg = rustimg::registry;
using rustimg::test::answer;
using rustimg::test::has_prefix;
using rustimg::test::Seen;
using rustimg::test::ScriptedTransport;
using namespace std::chrono_literals;

namespace {

const std::string kBlob = "0123456789";
const std::string kUploads = "https://reg.example/v2/app/blobs/uploads/";

reg::Options options_for(std::shared_ptr<reg::Transport> t, std::uint64_t chunk) {
  reg::Options o;
  o.transport = std::move(t);
  o.use_config_files = false;
  o.chunk_size = chunk;
  o.retry.initial_delay = 1ms;
  o.retry.max_delay = 2ms;
  return o;
}

/// A registry that opens session "s0", moves it to "s<n>" after every
/// PATCH (answering the Range it holds), and completes it with PUT.
/// `min_chunk` is sent as OCI-Chunk-Min-Length; `fail_first_patch` answers
/// the first PATCH with a 503.
std::function<reg::HttpResponse(const reg::HttpRequest&)> registry(std::string min_chunk = "",
                                                                   bool fail_first_patch = false) {
  auto held = std::make_shared<std::uint64_t>(0);
  auto patches = std::make_shared<int>(0);
  return [=](const reg::HttpRequest& req) {
    if (req.method == "POST") {
      std::vector<std::pair<std::string, std::string>> h = {{"location", "/v2/app/blobs/uploads/s0"}};
      if (!min_chunk.empty()) h.emplace_back("oci-chunk-min-length", min_chunk);
      return answer(202, h);
    }
    if (req.method == "PATCH") {
      if (fail_first_patch && (*patches)++ == 0) return answer(503);
      *held += static_cast<std::uint64_t>(req.body_size);
      return answer(202, {{"location", "/v2/app/blobs/uploads/s" + std::to_string(*held)},
                          {"range", "0-" + std::to_string(*held - 1)}});
    }
    if (req.method == "PUT") return answer(201, {{"docker-content-digest", rustimg::oci::sha256_digest(kBlob)}});
    return answer(200);
  };
}

std::vector<Seen> to_uploads(const std::vector<Seen>& seen) {
  std::vector<Seen> out;
  for (const auto& s : seen)
    if (has_prefix(s.url, kUploads)) out.push_back(s);
  return out;
}

void write_blob(reg::BlobUpload& up) {
  up.write(std::string_view(kBlob).substr(0, 3));
  up.write(std::string_view(kBlob).substr(3));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_upload)

BOOST_AUTO_TEST_CASE(full_chunks_are_patched_as_written_and_the_rest_is_put) {
  auto t = std::make_shared<ScriptedTransport>(registry());
  reg::Client client(options_for(t, 4));
  auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
  write_blob(*up);
  BOOST_TEST(up->size() == kBlob.size());
  const std::string digest = rustimg::oci::sha256_digest(kBlob);
  up->commit(digest);
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(seen.size() == 4u);
  BOOST_TEST(seen[0].method == "POST");
  BOOST_TEST(seen[1].method == "PATCH");
  BOOST_TEST(seen[1].url == kUploads + "s0");
  BOOST_TEST(seen[1].content_range == "0-3");
  BOOST_TEST(seen[1].body == "0123");
  BOOST_TEST(seen[2].method == "PATCH");
  BOOST_TEST(seen[2].url == kUploads + "s4");  // the Location the last answer gave
  BOOST_TEST(seen[2].content_range == "4-7");
  BOOST_TEST(seen[2].body == "4567");
  BOOST_TEST(seen[3].method == "PUT");
  BOOST_TEST(seen[3].url == kUploads + "s8?digest=" + rustimg::registry::append_query("", "d", digest).substr(3));
  BOOST_TEST(seen[3].body == "89");
}

BOOST_AUTO_TEST_CASE(the_registry_minimum_chunk_wins_over_a_smaller_one) {
  auto t = std::make_shared<ScriptedTransport>(registry("6"));
  reg::Client client(options_for(t, 4));
  auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
  write_blob(*up);
  up->commit(rustimg::oci::sha256_digest(kBlob));
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(seen.size() == 3u);
  BOOST_TEST(seen[1].content_range == "0-5");
  BOOST_TEST(seen[2].body == "6789");
}

BOOST_AUTO_TEST_CASE(a_failed_chunk_is_sent_again_from_memory) {
  auto t = std::make_shared<ScriptedTransport>(registry("", /*fail_first_patch=*/true));
  reg::Client client(options_for(t, 4));
  auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
  write_blob(*up);
  up->commit(rustimg::oci::sha256_digest(kBlob));
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(seen.size() == 5u);
  BOOST_TEST(seen[1].content_range == "0-3");
  BOOST_TEST(seen[2].content_range == "0-3");
  BOOST_TEST(seen[2].body == "0123");
  BOOST_TEST(seen[3].content_range == "4-7");
}

BOOST_AUTO_TEST_CASE(a_small_blob_goes_in_the_put) {
  auto t = std::make_shared<ScriptedTransport>(registry());
  reg::Client client(options_for(t, 0));  // the default chunk: far larger than the blob
  auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
  write_blob(*up);
  up->commit(rustimg::oci::sha256_digest(kBlob));
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[1].method == "PUT");
  BOOST_TEST(seen[1].body == kBlob);
}

BOOST_AUTO_TEST_CASE(an_uncommitted_upload_is_cancelled) {
  auto t = std::make_shared<ScriptedTransport>(registry());
  reg::Client client(options_for(t, 4));
  {
    auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
    write_blob(*up);
  }
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(seen.size() == 4u);
  BOOST_TEST(seen[3].method == "DELETE");
  BOOST_TEST(seen[3].url == kUploads + "s8");
  for (const auto& s : seen) BOOST_TEST(s.method != "PUT");
}

BOOST_AUTO_TEST_CASE(an_upload_abandoned_by_a_cancel_is_still_deleted) {
  // Ctrl-C stops the build; the session it leaves is deleted all the same,
  // with a short deadline of its own.
  auto t = std::make_shared<ScriptedTransport>(registry());
  std::atomic<bool> stop{false};
  reg::Options o = options_for(t, 4);
  o.cancelled = [&stop] { return stop.load(); };
  reg::Client client(o);
  {
    auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
    write_blob(*up);
    stop = true;
  }
  const auto seen = to_uploads(t->seen());
  BOOST_REQUIRE(!seen.empty());
  BOOST_TEST(seen.back().method == "DELETE");
  for (const auto& s : seen) BOOST_TEST(s.method != "PUT");
}

BOOST_AUTO_TEST_CASE(a_registry_that_holds_less_than_was_sent_is_an_error) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (req.method == "POST") return answer(202, {{"location", "/v2/app/blobs/uploads/s0"}});
    if (req.method == "PATCH") return answer(202, {{"range", "0-1"}});
    return answer(200);
  });
  reg::Client client(options_for(t, 4));
  auto up = client.begin_upload(rustimg::parse_reference("reg.example/app:v1"));
  BOOST_CHECK_EXCEPTION(write_blob(*up), reg::RegistryError, [](const reg::RegistryError& e) {
    return std::string(e.what()).find("holds 2 bytes") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(a_refused_session_fails_before_anything_is_written) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    return req.method == "POST" ? answer(403, {}, R"({"errors":[{"code":"DENIED","message":"no"}]})") : answer(200);
  });
  reg::Client client(options_for(t, 4));
  BOOST_CHECK_THROW(client.begin_upload(rustimg::parse_reference("reg.example/app:v1")), rustimg::Error);
}

BOOST_AUTO_TEST_SUITE_END()
