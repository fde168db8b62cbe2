// The registry client over a scripted Transport playing a hostile registry:
// where credentials go (same origin only, realms), and the retry budget.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"
#include "scripted_transport.hpp"
#include "test_support.hpp"

namespace reg = rustimg::registry;
using namespace std::chrono_literals;

namespace {

using rustimg::test::answer;
using rustimg::test::has_prefix;
using rustimg::test::MemorySource;
using rustimg::test::ScriptedTransport;

/// One image: a config and a layer, with the manifest that names them.
struct TinyImage {
  MemorySource source;
  std::string manifest;
  TinyImage() {
    const std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    const std::string layer = "layer bytes";
    source.blobs[rustimg::oci::sha256_digest(config)] = config;
    source.blobs[rustimg::oci::sha256_digest(layer)] = layer;
    manifest = rustimg::test::oci_manifest(config, {layer}).dump();
  }
};

reg::Options options_for(std::shared_ptr<reg::Transport> t, const std::string& registry) {
  reg::Options o;
  o.transport = std::move(t);
  o.use_config_files = false;
  o.jobs = 1;
  reg::Credentials c;
  c.username = "alice";
  c.password = "secret";
  o.credentials[registry] = c;
  o.retry.initial_delay = 1ms;
  o.retry.max_delay = 2ms;
  return o;
}

/// A Basic-auth registry at https://reg.example whose upload sessions live
/// at `upload_base`.
std::function<reg::HttpResponse(const reg::HttpRequest&)> upload_steering(const std::string& upload_base) {
  return [upload_base](const reg::HttpRequest& req) {
    const bool authed = std::any_of(req.headers.begin(), req.headers.end(),
                                    [](const auto& h) { return h.first == "Authorization"; });
    if (has_prefix(req.url, "https://reg.example/") && !authed)
      return answer(401, {{"www-authenticate", "Basic realm=\"reg\""}});
    if (req.url == "https://reg.example/v2/") return answer(200);
    if (req.method == "HEAD") return answer(404);
    if (req.method == "POST") return answer(202, {{"location", upload_base + "/upload/1"}});
    if (req.method == "PUT" && req.url.find("/upload/1") != std::string::npos) return answer(201);
    if (req.method == "PUT") return answer(201);
    return answer(404);
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_hostile)

BOOST_AUTO_TEST_CASE(upload_location_credentials_follow_the_origin) {
  struct Case {
    std::string upload_base;
    bool gets_credentials;
  };
  const std::vector<Case> cases = {
      {"https://reg.example", true},      {"https://REG.example:443", true},
      {"http://reg.example", false},      // a downgrade to plain HTTP on the same host
      {"https://reg.example:8443", false}, {"https://storage.example", false},
      {"https://alice@reg.example", false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("upload at " << c.upload_base) {
      auto t = std::make_shared<ScriptedTransport>(upload_steering(c.upload_base));
      reg::Client client(options_for(t, "reg.example"));
      TinyImage image;
      client.push(rustimg::parse_reference("reg.example/app:v1"), "", image.manifest, image.source);
      int uploads = 0;
      for (const auto& s : t->seen())
        if (s.method == "PUT" && s.url.find("/upload/1") != std::string::npos) {
          ++uploads;
          BOOST_TEST(s.authorization.empty() == !c.gets_credentials, s.url << " auth: " << !s.authorization.empty());
        }
      BOOST_TEST(uploads == 2);  // config and layer
    }
  }
}

BOOST_AUTO_TEST_CASE(plain_http_realm_is_judged_by_its_own_host) {
  // The registry is loopback (plain HTTP allowed for it); its realm is not.
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "http://auth.example")) return answer(200, {}, R"({"token":"t"})");
    return answer(401, {{"www-authenticate", R"(Bearer realm="http://auth.example/token",service="s")"}});
  });
  reg::Client client(options_for(t, "127.0.0.1:5999"));
  try {
    client.get_manifest(rustimg::parse_reference("127.0.0.1:5999/app:v1"));
    BOOST_FAIL("a plain-HTTP realm on another host was accepted");
  } catch (const rustimg::Error& e) {
    BOOST_TEST((e.code() == rustimg::ErrorCode::Auth));
    BOOST_TEST(std::string(e.what()).find("not an https URL") != std::string::npos, e.what());
  }
  for (const auto& s : t->seen()) BOOST_TEST(!has_prefix(s.url, "http://auth.example"), s.url);

  // The same realm is fine once its host is named insecure.
  auto t2 = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "http://auth.example")) return answer(200, {}, R"({"token":"t"})");
    const bool bearer = std::any_of(req.headers.begin(), req.headers.end(),
                                    [](const auto& h) { return h.first == "Authorization" && h.second == "Bearer t"; });
    if (!bearer) return answer(401, {{"www-authenticate", R"(Bearer realm="http://auth.example/token",service="s")"}});
    return answer(404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]})");
  });
  auto o = options_for(t2, "127.0.0.1:5999");
  o.insecure_registries = {"auth.example"};
  reg::Client client2(o);
  BOOST_CHECK_EXCEPTION(client2.get_manifest(rustimg::parse_reference("127.0.0.1:5999/app:v1")), rustimg::Error,
                        [](const rustimg::Error& e) { return e.code() == rustimg::ErrorCode::NotFound; });
}

BOOST_AUTO_TEST_CASE(retries_stop_at_the_time_budget_and_say_so) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (req.url.find("/v2/app/") == std::string::npos) return answer(200);
    return answer(503, {{"retry-after", "2"}}, R"({"errors":[{"code":"UNAVAILABLE","message":"busy"}]})");
  });
  auto o = options_for(t, "127.0.0.1:5999");
  o.retry.max_attempts = 5;
  o.retry.max_elapsed = 1s;  // a 2 s Retry-After does not fit
  reg::Client client(o);
  try {
    client.get_manifest(rustimg::parse_reference("127.0.0.1:5999/app:v1"));
    BOOST_FAIL("a registry that is always unavailable was accepted");
  } catch (const reg::RegistryError& e) {
    BOOST_TEST(std::string(e.what()).find("gave up after 1 attempt over ") != std::string::npos, e.what());
    BOOST_TEST(e.http_status() == 503);
  }
  int tries = 0;
  for (const auto& s : t->seen()) tries += s.url.find("/v2/app/") != std::string::npos;
  BOOST_TEST(tries == 1);
}

BOOST_AUTO_TEST_CASE(cancel_stops_a_retry_wait) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (req.url.find("/v2/app/") == std::string::npos) return answer(200);
    return answer(503, {{"retry-after", "30"}});
  });
  auto o = options_for(t, "127.0.0.1:5999");
  const auto start = std::chrono::steady_clock::now();
  o.cancelled = [start] { return std::chrono::steady_clock::now() - start > 300ms; };
  reg::Client client(o);
  BOOST_CHECK_EXCEPTION(client.get_manifest(rustimg::parse_reference("127.0.0.1:5999/app:v1")), rustimg::Error,
                        [](const rustimg::Error& e) { return e.code() == rustimg::ErrorCode::Cancelled; });
}

BOOST_AUTO_TEST_SUITE_END()
