// The registry client's auth layer over a scripted Transport: ping, Basic and
// Bearer challenges, the token request and its cache, insufficient_scope
// widening, identity/refresh tokens, and the HTTPS -> HTTP fallback.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../../src/registry/internal.hpp"  // TransportFailure: what the curl transport throws
#include "rustimg/error.hpp"
#include "rustimg/registry.hpp"
#include "scripted_transport.hpp"
#include "../../src/util/base64.hpp"

namespace reg = rustimg::registry;
using rustimg::test::answer;
using rustimg::test::has_prefix;
using rustimg::test::header_of;
using rustimg::test::Seen;
using rustimg::test::ScriptedTransport;
using namespace std::chrono_literals;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kRealm = "https://auth.example/token";
const std::string kBearer = R"(Bearer realm="https://auth.example/token",service="reg")";

reg::Options options_for(std::shared_ptr<reg::Transport> t) {
  reg::Options o;
  o.transport = std::move(t);
  o.use_config_files = false;
  o.jobs = 1;
  o.retry.initial_delay = 1ms;
  o.retry.max_delay = 2ms;
  return o;
}

reg::Options with_password(reg::Options o, const std::string& registry, const std::string& password = "secret") {
  reg::Credentials c;
  c.username = "alice";
  c.password = password;
  o.credentials[registry] = c;
  return o;
}

bool blob_exists(reg::Client& client, const std::string& repo = "reg.example/app") {
  return client.blob_exists(rustimg::parse_reference(repo + ":x"), kDigest);
}

std::vector<Seen> to_host(const std::vector<Seen>& seen, const std::string& prefix) {
  std::vector<Seen> out;
  std::copy_if(seen.begin(), seen.end(), std::back_inserter(out), [&](const Seen& s) { return has_prefix(s.url, prefix); });
  return out;
}

std::vector<Seen> heads(const std::vector<Seen>& seen) {
  std::vector<Seen> out;
  std::copy_if(seen.begin(), seen.end(), std::back_inserter(out), [](const Seen& s) { return s.method == "HEAD"; });
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_auth)

BOOST_AUTO_TEST_CASE(anonymous_registry_gets_no_authorization) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest&) { return answer(200); });
  reg::Client client(options_for(t));
  BOOST_TEST(blob_exists(client));
  const auto seen = t->seen();
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[0].method == "GET");
  BOOST_TEST(seen[0].url == "https://reg.example/v2/");
  BOOST_TEST(seen[0].verify_tls);
  BOOST_TEST(seen[1].method == "HEAD");
  BOOST_TEST(seen[1].url == "https://reg.example/v2/app/blobs/" + kDigest);
  for (const auto& s : seen) BOOST_TEST(s.authorization.empty(), s.url);
}

BOOST_AUTO_TEST_CASE(basic_challenge_is_answered_with_basic) {
  // The ping is anonymous and succeeds; the repository asks for Basic.
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (req.url == "https://reg.example/v2/") return answer(200);
    if (header_of(req, "Authorization") != "Basic YWxpY2U6c2VjcmV0")
      return answer(401, {{"www-authenticate", R"(Basic realm="reg")"}});
    return answer(200);
  });
  reg::Client client(with_password(options_for(t), "reg.example"));
  BOOST_TEST(blob_exists(client));
  const auto h = heads(t->seen());
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_TEST(h[0].authorization.empty());
  BOOST_TEST(h[1].authorization == "Basic YWxpY2U6c2VjcmV0");  // alice:secret
  // The scheme is remembered: the next request sends Basic at once.
  BOOST_TEST(blob_exists(client));
  const auto h2 = heads(t->seen());
  BOOST_REQUIRE(h2.size() == 3u);
  BOOST_TEST(h2[2].authorization == "Basic YWxpY2U6c2VjcmV0");
}

BOOST_AUTO_TEST_CASE(bearer_challenge_fetches_a_token_for_service_and_scope) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/")) return answer(200, {}, R"({"token":"T1","expires_in":300})");
    if (header_of(req, "Authorization") != "Bearer T1") return answer(401, {{"www-authenticate", kBearer}});
    return answer(200);
  });
  reg::Client client(with_password(options_for(t), "reg.example"));
  BOOST_TEST(blob_exists(client));
  const auto seen = t->seen();
  const auto tokens = to_host(seen, "https://auth.example/");
  BOOST_REQUIRE(tokens.size() == 1u);
  BOOST_TEST(tokens[0].method == "GET");
  BOOST_TEST(tokens[0].url == kRealm + "?service=reg&scope=repository%3Aapp%3Apull&client_id=rustimg"
                                       "&account=alice&offline_token=true");
  BOOST_TEST(tokens[0].authorization == "Basic YWxpY2U6c2VjcmV0");
  const auto h = heads(seen);
  BOOST_REQUIRE(h.size() == 1u);
  BOOST_TEST(h[0].authorization == "Bearer T1");
}

BOOST_AUTO_TEST_CASE(token_is_cached_per_scope) {
  int issued = 0;
  auto t = std::make_shared<ScriptedTransport>([&issued](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/"))
      return answer(200, {}, R"({"token":"T)" + std::to_string(++issued) + R"(","expires_in":300})");
    if (!has_prefix(header_of(req, "Authorization"), "Bearer T")) return answer(401, {{"www-authenticate", kBearer}});
    return answer(200);
  });
  reg::Client client(with_password(options_for(t), "reg.example"));
  BOOST_TEST(blob_exists(client));
  BOOST_TEST(blob_exists(client));
  BOOST_TEST(to_host(t->seen(), "https://auth.example/").size() == 1u);
  for (const auto& h : heads(t->seen())) BOOST_TEST(h.authorization == "Bearer T1");
  // Another repository needs another scope, hence another token.
  BOOST_TEST(blob_exists(client, "reg.example/other"));
  const auto tokens = to_host(t->seen(), "https://auth.example/");
  BOOST_REQUIRE(tokens.size() == 2u);
  BOOST_TEST(tokens[1].url.find("scope=repository%3Aother%3Apull") != std::string::npos, tokens[1].url);
  BOOST_TEST(heads(t->seen()).back().authorization == "Bearer T2");
}

BOOST_AUTO_TEST_CASE(insufficient_scope_widens_the_scope_and_fetches_a_new_token) {
  const std::string wide = R"(Bearer realm="https://auth.example/token",service="reg",)"
                           R"(scope="repository:base:pull",error="insufficient_scope")";
  auto t = std::make_shared<ScriptedTransport>([&wide](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/")) {
      const bool widened = req.url.find("repository%3Abase%3Apull") != std::string::npos;
      return answer(200, {}, widened ? R"({"token":"WIDE"})" : R"({"token":"NARROW"})");
    }
    const std::string auth = header_of(req, "Authorization");
    if (auth == "Bearer WIDE") return answer(200);
    if (auth == "Bearer NARROW") return answer(401, {{"www-authenticate", wide}});
    return answer(401, {{"www-authenticate", kBearer}});
  });
  reg::Client client(with_password(options_for(t), "reg.example"));
  BOOST_TEST(blob_exists(client));
  auto tokens = to_host(t->seen(), "https://auth.example/");
  BOOST_REQUIRE(tokens.size() == 2u);
  BOOST_TEST(tokens[0].url.find("repository%3Abase") == std::string::npos, tokens[0].url);
  // Both scopes, the new one first (some registries read only the first).
  const auto base_at = tokens[1].url.find("scope=repository%3Abase%3Apull");
  const auto app_at = tokens[1].url.find("scope=repository%3Aapp%3Apull");
  BOOST_TEST(base_at != std::string::npos, tokens[1].url);
  BOOST_TEST(app_at != std::string::npos, tokens[1].url);
  BOOST_TEST(base_at < app_at);
  const auto h = heads(t->seen());
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_TEST(h[0].authorization == "Bearer NARROW");
  BOOST_TEST(h[1].authorization == "Bearer WIDE");
  // The learned scope is kept: the next request asks for the wide token at once.
  BOOST_TEST(blob_exists(client));
  BOOST_TEST(to_host(t->seen(), "https://auth.example/").size() == 2u);
  BOOST_TEST(heads(t->seen()).back().authorization == "Bearer WIDE");
}

BOOST_AUTO_TEST_CASE(a_rejected_cached_token_is_refetched) {
  // The registry stops accepting the first token (it expired on its clock).
  int issued = 0;
  bool first_expired = false;
  auto t = std::make_shared<ScriptedTransport>([&](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/"))
      return answer(200, {}, R"({"token":"T)" + std::to_string(++issued) + R"(","expires_in":3600})");
    const std::string auth = header_of(req, "Authorization");
    if (auth == "Bearer T2" || (auth == "Bearer T1" && !first_expired)) return answer(200);
    return answer(401, {{"www-authenticate", kBearer + R"(,error="invalid_token")"}});
  });
  reg::Client client(with_password(options_for(t), "reg.example"));
  BOOST_TEST(blob_exists(client));
  BOOST_TEST(to_host(t->seen(), "https://auth.example/").size() == 1u);
  first_expired = true;
  BOOST_TEST(blob_exists(client));
  BOOST_TEST(to_host(t->seen(), "https://auth.example/").size() == 2u);
  const auto h = heads(t->seen());
  BOOST_REQUIRE(h.size() == 3u);
  BOOST_TEST(h[1].authorization == "Bearer T1");
  BOOST_TEST(h[2].authorization == "Bearer T2");
}

BOOST_AUTO_TEST_CASE(identity_token_is_posted_to_the_realm_and_the_refresh_token_kept) {
  int issued = 0;
  auto t = std::make_shared<ScriptedTransport>([&](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/")) {
      ++issued;
      return answer(200, {}, R"({"access_token":"A)" + std::to_string(issued) + R"(","refresh_token":"R)" +
                                 std::to_string(issued) + R"("})");
    }
    if (header_of(req, "Authorization") == "Bearer A2") return answer(200);
    if (header_of(req, "Authorization") == "Bearer A1" && req.url.find("/other/") == std::string::npos)
      return answer(200);
    return answer(401, {{"www-authenticate", kBearer}});
  });
  auto o = options_for(t);
  reg::Credentials c;
  c.identity_token = "IDT-secret";
  o.credentials["reg.example"] = c;
  reg::Client client(o);
  BOOST_TEST(blob_exists(client));
  auto tokens = to_host(t->seen(), "https://auth.example/");
  BOOST_REQUIRE(tokens.size() == 1u);
  BOOST_TEST(tokens[0].method == "POST");
  BOOST_TEST(tokens[0].url == kRealm);
  BOOST_TEST(tokens[0].authorization.empty());
  BOOST_TEST(tokens[0].body == "grant_type=refresh_token&refresh_token=IDT-secret&service=reg&client_id=rustimg"
                               "&scope=repository%3Aapp%3Apull");
  BOOST_TEST(heads(t->seen()).back().authorization == "Bearer A1");
  // A new scope: the refresh token the server handed out replaces the identity token.
  BOOST_TEST(blob_exists(client, "reg.example/other"));
  tokens = to_host(t->seen(), "https://auth.example/");
  BOOST_REQUIRE(tokens.size() == 2u);
  BOOST_TEST(tokens[1].method == "POST");
  BOOST_TEST(tokens[1].body.find("refresh_token=R1&") != std::string::npos, tokens[1].body);
  BOOST_TEST(heads(t->seen()).back().authorization == "Bearer A2");
}

BOOST_AUTO_TEST_CASE(refusal_after_a_fresh_token_is_an_auth_error_without_secrets) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    if (has_prefix(req.url, "https://auth.example/")) return answer(200, {}, R"({"token":"tok-SECRET"})");
    return answer(401, {{"www-authenticate", kBearer}},
                  R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
  });
  reg::Client client(with_password(options_for(t), "reg.example", "pw-SECRET"));
  try {
    blob_exists(client);
    BOOST_FAIL("a registry refusing every token was accepted");
  } catch (const reg::RegistryError& e) {
    const std::string what = e.what();
    BOOST_TEST((e.code() == rustimg::ErrorCode::Auth));
    BOOST_TEST(e.http_status() == 401);
    BOOST_TEST(what.find("alice") != std::string::npos, what);
    BOOST_TEST(what.find("pw-SECRET") == std::string::npos, what);
    BOOST_TEST(what.find("tok-SECRET") == std::string::npos, what);
    BOOST_TEST(what.find(rustimg::util::base64_encode("alice:pw-SECRET")) == std::string::npos, what);
  }
  // One retry with a freshly fetched token, then the refusal stands.
  const auto h = heads(t->seen());
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_TEST(h[0].authorization == "Bearer tok-SECRET");
  BOOST_TEST(h[1].authorization == "Bearer tok-SECRET");
  BOOST_TEST(to_host(t->seen(), "https://auth.example/").size() == 2u);
}

BOOST_AUTO_TEST_CASE(plain_http_fallback_only_where_allowed) {
  // A registry port that does not speak TLS.
  auto no_tls = [] {
    return std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) -> reg::HttpResponse {
      if (has_prefix(req.url, "https://"))
        throw reg::detail::TransportFailure(reg::detail::FailureKind::PlainHttpReply, "server answered in plain HTTP",
                                            false);
      return answer(200);
    });
  };
  struct Case {
    std::string registry;
    std::vector<std::string> insecure;
    bool falls_back;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:5999", {}, true},              // loopback
      {"localhost:5999", {}, true},              // loopback by name
      {"reg.example:5000", {}, false},           // a remote host
      {"reg.example:5000", {"reg.example:5000"}, true},  // named insecure
      {"reg.example:5000", {"other.example"}, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.registry << " insecure=" << c.insecure.size()) {
      auto t = no_tls();
      auto o = options_for(t);
      o.insecure_registries = c.insecure;
      reg::Client client(o);
      if (c.falls_back) {
        BOOST_TEST(blob_exists(client, c.registry + "/app"));
        const auto h = heads(t->seen());
        BOOST_REQUIRE(h.size() == 1u);
        BOOST_TEST(h[0].url == "http://" + c.registry + "/v2/app/blobs/" + kDigest);
      } else {
        BOOST_CHECK_THROW(blob_exists(client, c.registry + "/app"), reg::RegistryError);
        for (const auto& s : t->seen()) BOOST_TEST(!has_prefix(s.url, "http://"), s.url);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(failed_certificate_never_downgrades) {
  auto t = std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) -> reg::HttpResponse {
    if (has_prefix(req.url, "https://") && req.verify_tls)
      throw reg::detail::TransportFailure(reg::detail::FailureKind::TlsVerify, "certificate verify failed", false);
    return answer(200);
  });
  reg::Client client(options_for(t));
  BOOST_CHECK_THROW(blob_exists(client, "127.0.0.1:5999/app"), reg::RegistryError);
  const auto seen = t->seen();
  for (const auto& s : seen) BOOST_TEST(!has_prefix(s.url, "http://"), s.url);
  // The first, unverified handshake only learns that the port speaks TLS.
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(!seen[0].verify_tls);
  BOOST_TEST(seen[1].verify_tls);
}

BOOST_AUTO_TEST_SUITE_END()
