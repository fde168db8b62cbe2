// Pure parts of the registry client: challenges, credentials config, scopes,
// retry timing, URLs, error bodies, the plain-HTTP decision.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "rustimg/error.hpp"
#include "rustimg/process.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/registry.hpp"

namespace reg = rustimg::registry;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(registry)

BOOST_AUTO_TEST_CASE(www_authenticate_bearer) {
  auto c = reg::parse_www_authenticate(
      R"(Bearer realm="http://127.0.0.1:5002/token",service="test-registry",scope="repository:probe/app:pull,push",error="insufficient_scope")");
  BOOST_REQUIRE_EQUAL(c.size(), 1u);
  BOOST_TEST(c[0].scheme == "bearer");
  BOOST_TEST(c[0].params["realm"] == "http://127.0.0.1:5002/token");
  BOOST_TEST(c[0].params["service"] == "test-registry");
  BOOST_TEST(c[0].params["scope"] == "repository:probe/app:pull,push");
  BOOST_TEST(c[0].params["error"] == "insufficient_scope");
}

BOOST_AUTO_TEST_CASE(www_authenticate_several_and_quoting) {
  auto c = reg::parse_www_authenticate(
      R"(Negotiate abc123==, Basic realm="a \"quoted\", realm", charset=UTF-8, BEARER Realm=https://x/token)");
  BOOST_REQUIRE_EQUAL(c.size(), 3u);
  BOOST_TEST(c[0].scheme == "negotiate");
  BOOST_TEST(c[0].params.empty());
  BOOST_TEST(c[1].scheme == "basic");
  BOOST_TEST(c[1].params["realm"] == "a \"quoted\", realm");
  BOOST_TEST(c[1].params["charset"] == "UTF-8");
  BOOST_TEST(c[2].scheme == "bearer");
  BOOST_TEST(c[2].params["realm"] == "https://x/token");
  BOOST_TEST(reg::parse_www_authenticate("").empty());
  auto ecr = reg::parse_www_authenticate(R"(Basic realm="https://1.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com")");
  BOOST_REQUIRE_EQUAL(ecr.size(), 1u);
  BOOST_TEST(ecr[0].params["service"] == "ecr.amazonaws.com");
}

BOOST_AUTO_TEST_CASE(scopes) {
  BOOST_TEST(reg::repository_scope("org/app", "pull,push") == "repository:org/app:pull,push");
  auto merged = reg::merge_scopes({"repository:org/app:pull,push"}, {"repository:org/base:pull"});
  BOOST_REQUIRE_EQUAL(merged.size(), 2u);
  BOOST_TEST(merged[0] == "repository:org/base:pull");  // new scopes first
  BOOST_TEST(merged[1] == "repository:org/app:pull,push");
  // Same repository: actions united, no duplicate.
  merged = reg::merge_scopes({"repository:org/app:pull"}, {"repository:org/app:pull,push"});
  BOOST_REQUIRE_EQUAL(merged.size(), 1u);
  BOOST_TEST(merged[0] == "repository:org/app:pull,push");
  // A host with a port inside the name is not split on its colon.
  merged = reg::merge_scopes({"repository:host:5000/app:pull"}, {"repository:host:5000/app:push"});
  BOOST_REQUIRE_EQUAL(merged.size(), 1u);
  BOOST_TEST(merged[0] == "repository:host:5000/app:pull,push");
}

BOOST_AUTO_TEST_CASE(docker_config_auth_base64) {
  // base64("user:pa:ss") -> password keeps its colon; NUL padding trimmed.
  auto cfg = reg::parse_auth_config(R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
      "ghcr.io":{"username":"u","password":"p"},
      "tok.example":{"auth":"dTo=","identitytoken":"refresh-123"}}})",
                                    "config.json");
  BOOST_TEST(cfg.auths["https://index.docker.io/v1/"].username == "user");
  BOOST_TEST(cfg.auths["https://index.docker.io/v1/"].password == "pa:ss");
  BOOST_TEST(cfg.auths["ghcr.io"].password == "p");
  BOOST_TEST(cfg.auths["tok.example"].identity_token == "refresh-123");

  auto hub = reg::lookup_credentials(cfg, "docker.io");
  BOOST_TEST(static_cast<int>(hub.kind) == static_cast<int>(reg::CredentialSourceKind::File));
  BOOST_TEST(hub.entry.username == "user");
  BOOST_TEST(static_cast<int>(reg::lookup_credentials(cfg, "quay.io").kind) ==
             static_cast<int>(reg::CredentialSourceKind::None));
}

BOOST_AUTO_TEST_CASE(docker_config_errors_hide_secret) {
  try {
    reg::parse_auth_config(R"({"auths":{"r.example":{"auth":"bm9jb2xvbmhlcmVzZWNyZXQ="}}})", "/tmp/cfg.json");
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    std::string msg = e.what();
    BOOST_TEST(msg.find("/tmp/cfg.json") != std::string::npos);
    BOOST_TEST(msg.find("r.example") != std::string::npos);
    BOOST_TEST(msg.find("nocolonheresecret") == std::string::npos);
    BOOST_TEST(msg.find("bm9jb2xvbmhlcmVzZWNyZXQ") == std::string::npos);
  }
  BOOST_CHECK_THROW(reg::parse_auth_config("[1,2]", "x"), rustimg::Error);
  BOOST_CHECK_THROW(reg::parse_auth_config(R"({"auths":{"a":{"auth":"!!!"}}})", "x"), rustimg::Error);
}

BOOST_AUTO_TEST_CASE(cred_helpers_precedence) {
  auto cfg = reg::parse_auth_config(R"({"auths":{"ghcr.io":{"auth":"dTpw"},"my.reg:5000":{}},
      "credsStore":"desktop","credHelpers":{"ghcr.io":"gh","docker.io":"hubhelper"}})",
                                    "c");
  auto gh = reg::lookup_credentials(cfg, "ghcr.io");
  BOOST_TEST(static_cast<int>(gh.kind) == static_cast<int>(reg::CredentialSourceKind::Helper));
  BOOST_TEST(gh.helper == "gh");  // credHelpers beats auths and credsStore
  BOOST_TEST(gh.server_url == "ghcr.io");
  auto other = reg::lookup_credentials(cfg, "my.reg:5000");  // empty marker entry -> credsStore
  BOOST_TEST(other.helper == "desktop");
  // With a credsStore, an inline entry is only the fallback.
  auto stored = reg::parse_auth_config(R"({"auths":{"r.example":{"auth":"dTpw"}},"credsStore":"pass"})", "c");
  auto s = reg::lookup_credentials(stored, "r.example");
  BOOST_TEST(static_cast<int>(s.kind) == static_cast<int>(reg::CredentialSourceKind::Helper));
  BOOST_TEST(s.helper == "pass");
  BOOST_TEST(s.entry.username == "u");
  auto hub = reg::lookup_credentials(cfg, "docker.io");
  BOOST_TEST(hub.helper == "hubhelper");
  BOOST_TEST(hub.server_url == "https://index.docker.io/v1/");
  // Without helpers, a normalised key matches.
  auto plain = reg::parse_auth_config(R"({"auths":{"https://my.reg:5000/v2/":{"auth":"dTpw"}}})", "c");
  auto m = reg::lookup_credentials(plain, "my.reg:5000");
  BOOST_TEST(m.entry.username == "u");
  BOOST_TEST(m.entry.password == "p");
  BOOST_TEST(reg::normalize_auth_key("https://Index.Docker.io/v1/") == "index.docker.io");
}

namespace {
class ScriptedRunner : public rustimg::ProcessRunner {
 public:
  rustimg::ProcessResult result;
  rustimg::ProcessRequest last;
  rustimg::ProcessResult run(const rustimg::ProcessRequest& r) override {
    last = r;
    return result;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(keychain_helper_protocol) {
  ScriptedRunner runner;
  runner.result.exit_code = 0;
  runner.result.out = R"({"ServerURL":"ghcr.io","Username":"<token>","Secret":"refresh-xyz"})";
  auto dir = (std::filesystem::temp_directory_path() /
              ("rustimg-unit-keychain-" + std::to_string(::getpid()) + ".json")).string();
  {
    FILE* f = std::fopen(dir.c_str(), "w");
    BOOST_REQUIRE(f != nullptr);
    std::fputs(R"({"credHelpers":{"ghcr.io":"gh"}})", f);
    std::fclose(f);
  }
  reg::Keychain kc(&runner, {dir});
  auto c = kc.resolve("ghcr.io");
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->identity_token == "refresh-xyz");  // "<token>" user means identity token
  BOOST_TEST(c->username.empty());
  BOOST_TEST(runner.last.env["RUSTIMG_CRED_INPUT"] == "ghcr.io");
  BOOST_TEST(runner.last.argv.at(3) == "docker-credential-gh");
  BOOST_TEST(runner.last.argv.at(4) == "get");
  // "credentials not found" is anonymous, not an error.
  runner.result.exit_code = 1;
  runner.result.out = "credentials not found in native keychain";
  BOOST_TEST(!kc.resolve("ghcr.io").has_value());
  // A missing helper names the program and PATH.
  runner.result.exit_code = 127;
  try {
    kc.resolve("ghcr.io");
    BOOST_FAIL("expected an error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::Auth));
    BOOST_TEST(std::string(e.what()).find("docker-credential-gh") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("PATH") != std::string::npos);
  }
  std::remove(dir.c_str());
}

BOOST_AUTO_TEST_CASE(retry_after) {
  BOOST_TEST(reg::parse_retry_after("3").value() == 3000ms);
  BOOST_TEST(reg::parse_retry_after(" 0 ").value() == 0ms);
  BOOST_TEST(!reg::parse_retry_after("soon").has_value());
  BOOST_TEST(!reg::parse_retry_after("").has_value());
  BOOST_TEST(!reg::parse_retry_after("-1").has_value());
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  BOOST_TEST(reg::parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now).value() == 10000ms);
  BOOST_TEST(reg::parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now).value() == 0ms);
}

BOOST_AUTO_TEST_CASE(retry_after_far_future_date_is_capped_not_overflowed) {
  // Found by fuzz_www_authenticate: a date past 2262 does not fit the
  // clock's nanoseconds. Like a huge delta-seconds, it means "a year".
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  const std::chrono::milliseconds year = std::chrono::hours(24 * 365);
  BOOST_TEST(reg::parse_retry_after("Wed, 21 Oct 2415 07:28:00 GMT", now).value() == year);
  BOOST_TEST(reg::parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now).value() == year);
  BOOST_TEST(reg::parse_retry_after("Sun, 06 Nov 1995 08:49:37 GMT", now).value() == year);
  BOOST_TEST(reg::parse_retry_after("Sun, 06 Nov 1994 09:49:37 GMT", now).value() == 3600000ms);
}

BOOST_AUTO_TEST_CASE(backoff_bounds) {
  reg::RetryPolicy p;
  p.initial_delay = 100ms;
  p.max_delay = 1000ms;
  for (int retry = 0; retry < 40; ++retry) {
    auto full = std::min<long long>(1000, 100LL << std::min(retry, 20));
    auto lo = reg::backoff_delay(p, retry, 0.0);
    auto hi = reg::backoff_delay(p, retry, 0.999999);
    BOOST_TEST(lo.count() == full / 2);
    BOOST_TEST(hi.count() <= full);
    BOOST_TEST(hi.count() >= full * 99 / 100);
  }
  BOOST_TEST(reg::backoff_delay(p, 1, 0.5).count() == 150);  // 200 ms * 0.75
}

BOOST_AUTO_TEST_CASE(location_resolution) {
  const std::string base = "http://127.0.0.1:5000/v2/app/blobs/uploads/";
  BOOST_TEST(reg::resolve_location(base, "/v2/app/blobs/uploads/u1?_state=x") ==
             "http://127.0.0.1:5000/v2/app/blobs/uploads/u1?_state=x");
  BOOST_TEST(reg::resolve_location(base, "https://other.example/up?sig=1") == "https://other.example/up?sig=1");
  BOOST_TEST(reg::resolve_location(base, "//cdn.example/b") == "http://cdn.example/b");
  BOOST_TEST(reg::resolve_location(base, "u2?x=1") == "http://127.0.0.1:5000/v2/app/blobs/uploads/u2?x=1");
  BOOST_TEST(reg::resolve_location(base, "../x") == "http://127.0.0.1:5000/v2/app/blobs/x");
  BOOST_TEST(reg::resolve_location("https://h/v2/a/b?q=1", "?z=2") == "https://h/v2/a/b?z=2");
  BOOST_TEST(reg::append_query("http://h/u?_state=a", "digest", "sha256:ab") == "http://h/u?_state=a&digest=sha256%3Aab");
  BOOST_TEST(reg::append_query("http://h/u", "digest", "sha256:ab") == "http://h/u?digest=sha256%3Aab");
}

BOOST_AUTO_TEST_CASE(error_bodies) {
  auto e = reg::parse_error_body(
      R"({"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:33"},{"code":"DENIED","message":"no","detail":{"a":1}}]})");
  BOOST_REQUIRE_EQUAL(e.size(), 2u);
  BOOST_TEST(e[0].code == "MANIFEST_BLOB_UNKNOWN");
  BOOST_TEST(e[0].detail == "sha256:33");
  BOOST_TEST(e[1].detail == R"({"a":1})");
  BOOST_TEST(reg::parse_error_body("404 page not found").empty());
  BOOST_TEST(reg::parse_error_body("").empty());
  BOOST_TEST(reg::parse_error_body(R"({"errors":"x"})").empty());
  auto null_detail = reg::parse_error_body(R"({"errors":[{"code":"UNAUTHORIZED","message":"m","detail":null}]})");
  BOOST_TEST(null_detail.at(0).detail.empty());
}

BOOST_AUTO_TEST_CASE(retryable_predicate) {
  for (int s : {408, 429, 499, 500, 502, 503, 504, 522}) BOOST_TEST(reg::is_retryable_status(s));
  for (int s : {200, 400, 401, 403, 404, 416, 501}) BOOST_TEST(!reg::is_retryable_status(s));
  BOOST_TEST(reg::RegistryError(rustimg::ErrorCode::Registry, "m", 400, "TOOMANYREQUESTS").retryable());
  BOOST_TEST(!reg::RegistryError(rustimg::ErrorCode::Registry, "m", 400, "DIGEST_INVALID").retryable());
  BOOST_TEST(reg::RegistryError(rustimg::ErrorCode::Registry, "m", 0, "", "", true).retryable());
  BOOST_TEST(!reg::RegistryError(rustimg::ErrorCode::Auth, "m", 401, "UNAUTHORIZED").retryable());
}

BOOST_AUTO_TEST_CASE(plain_http_decision) {
  BOOST_TEST(reg::plain_http_allowed("localhost:5000", {}));
  BOOST_TEST(reg::plain_http_allowed("127.0.0.1:5000", {}));
  BOOST_TEST(reg::plain_http_allowed("127.1.2.3", {}));
  BOOST_TEST(reg::plain_http_allowed("[::1]:5000", {}));
  BOOST_TEST(reg::plain_http_allowed("build.localhost:80", {}));
  BOOST_TEST(!reg::plain_http_allowed("ghcr.io", {}));
  BOOST_TEST(!reg::plain_http_allowed("127.0.0.1.evil.example", {}));
  BOOST_TEST(!reg::plain_http_allowed("10.0.0.5:5000", {}));
  BOOST_TEST(reg::plain_http_allowed("10.0.0.5:5000", {"10.0.0.5:5000"}));
  BOOST_TEST(reg::plain_http_allowed("10.0.0.5:5000", {"10.0.0.5"}));
  BOOST_TEST(reg::plain_http_allowed("Reg.Example:443", {"reg.example"}));
  BOOST_TEST(!reg::plain_http_allowed("reg.example:5000", {"reg.example:6000"}));
  BOOST_TEST(reg::api_host("docker.io") == "registry-1.docker.io");
  BOOST_TEST(reg::api_host("ghcr.io") == "ghcr.io");
}

BOOST_AUTO_TEST_CASE(registry_hosts_for_credentials) {
  BOOST_TEST(reg::normalize_registry_host("ghcr.io") == "ghcr.io");
  BOOST_TEST(reg::normalize_registry_host("GHCR.io") == "ghcr.io");
  BOOST_TEST(reg::normalize_registry_host("https://127.0.0.1:5000/v2/") == "127.0.0.1:5000");
  BOOST_TEST(reg::normalize_registry_host("localhost") == "localhost");
  for (const char* hub : {"docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"})
    BOOST_TEST(reg::normalize_registry_host(hub) == "docker.io");
  // Not a host a reference could name: an error that names the input.
  for (const char* bad : {"*", "", "myregistry", "a b", "user@ghcr.io", "host:port"}) {
    try {
      reg::normalize_registry_host(bad);
      BOOST_ERROR("accepted \"" << bad << "\"");
    } catch (const rustimg::Error& e) {
      BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::InvalidArgument));
      BOOST_TEST(std::string(e.what()).find("\"" + std::string(bad) + "\"") != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_CASE(credentials_are_keyed_by_one_registry) {
  // There is no wildcard: a key that is no host is refused, not applied everywhere.
  reg::Options wildcard;
  wildcard.credentials["*"] = reg::Credentials{"u", "p", "", ""};
  try {
    reg::Client client(wildcard);
    BOOST_ERROR("a \"*\" credentials key was accepted");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::InvalidArgument));
    BOOST_TEST(std::string(e.what()).find("one registry") != std::string::npos, e.what());
  }
  reg::Options named;
  named.credentials["https://GHCR.io/"] = reg::Credentials{"u", "p", "", ""};
  BOOST_CHECK_NO_THROW(reg::Client{named});
}

BOOST_AUTO_TEST_CASE(push_registry_is_the_one_registry_of_the_targets) {
  BOOST_TEST(rustimg::transfer::push_registry({"ghcr.io/a/b:v1", "ghcr.io/c:v2"}, "--credentials-for HOST") == "ghcr.io");
  BOOST_TEST(rustimg::transfer::push_registry({"alpine"}, "x") == "docker.io");
  try {
    rustimg::transfer::push_registry({"ghcr.io/a:v1", "127.0.0.1:5000/a:v1"}, "--credentials-for HOST");
    BOOST_ERROR("targets on two registries gave one");
  } catch (const rustimg::Error& e) {
    const std::string m = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(rustimg::ErrorCode::InvalidArgument));
    BOOST_TEST((m.find("ghcr.io") != std::string::npos && m.find("127.0.0.1:5000") != std::string::npos), m);
    BOOST_TEST(m.find("--credentials-for HOST") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_SUITE_END()
