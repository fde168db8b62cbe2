// Registry logins: where credential files are looked for, docker's
// config.json updated and erased (pure), and login/logout over a scripted
// transport and process runner.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "expect_error.hpp"
#include "rustimg/error.hpp"
#include "rustimg/process.hpp"
#include "rustimg/registry.hpp"
#include "scripted_transport.hpp"
#include "test_support.hpp"

namespace reg = rustimg::registry;
namespace fs = std::filesystem;
using rustimg::ErrorCode;
using rustimg::test::answer;
using rustimg::test::expect_error;
using rustimg::test::header_of;
using rustimg::test::ScopedEnv;
using rustimg::test::ScriptedTransport;
using namespace std::chrono_literals;

namespace {

const std::string kPassword = "pa55-do-not-leak";

class RecordingRunner : public rustimg::ProcessRunner {
 public:
  rustimg::ProcessResult result{0, "", ""};
  std::vector<rustimg::ProcessRequest> seen;
  rustimg::ProcessResult run(const rustimg::ProcessRequest& r) override {
    seen.push_back(r);
    return result;
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("rustimg-unit-login-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

// A registry that asks for Basic and accepts alice:<kPassword> only.
std::shared_ptr<ScriptedTransport> basic_registry() {
  return std::make_shared<ScriptedTransport>([](const reg::HttpRequest& req) {
    // base64("alice:pa55-do-not-leak")
    if (header_of(req, "Authorization") == "Basic YWxpY2U6cGE1NS1kby1ub3QtbGVhaw==") return answer(200);
    return answer(401, {{"www-authenticate", R"(Basic realm="reg")"}});
  });
}

reg::Options options_for(std::shared_ptr<reg::Transport> t, rustimg::ProcessRunner* runner = nullptr) {
  reg::Options o;
  o.transport = std::move(t);
  o.process_runner = runner;
  o.retry.initial_delay = 1ms;
  o.retry.max_delay = 2ms;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_login)

BOOST_AUTO_TEST_CASE(auth_files_are_searched_in_containers_image_order) {
  reg::AuthFileEnvironment env;
  env.home = "/home/u";
  env.uid = 1000;
  // Nothing set: podman's /run/containers/<uid> file, ~/.config, then docker's.
  BOOST_TEST(reg::auth_file_search_list(env) ==
                 (std::vector<std::string>{"/run/containers/1000/auth.json", "/home/u/.config/containers/auth.json",
                                           "/home/u/.docker/config.json"}),
             boost::test_tools::per_element());
  env.xdg_runtime_dir = "/run/user/1000";
  env.xdg_config_home = "/cfg";
  env.docker_config = "/dcfg";
  BOOST_TEST(reg::auth_file_search_list(env) ==
                 (std::vector<std::string>{"/run/user/1000/containers/auth.json", "/cfg/containers/auth.json",
                                           "/dcfg/config.json"}),
             boost::test_tools::per_element());
  // $REGISTRY_AUTH_FILE replaces the primary file.
  env.registry_auth_file = "/tmp/auth.json";
  BOOST_TEST(reg::auth_file_search_list(env).front() == "/tmp/auth.json");
  BOOST_TEST(reg::auth_file_search_list(env).size() == 3u);
  BOOST_TEST(reg::docker_config_file(env) == "/dcfg/config.json");
  env.docker_config.clear();
  BOOST_TEST(reg::docker_config_file(env) == "/home/u/.docker/config.json");
  env.home.clear();
  BOOST_TEST(reg::docker_config_file(env).empty());
}

BOOST_AUTO_TEST_CASE(auth_config_keys_follow_docker) {
  BOOST_TEST(reg::auth_config_key("docker.io") == "https://index.docker.io/v1/");
  BOOST_TEST(reg::auth_config_key("index.docker.io") == "https://index.docker.io/v1/");
  BOOST_TEST(reg::auth_config_key("https://index.docker.io/v1/") == "https://index.docker.io/v1/");
  BOOST_TEST(reg::auth_config_key("GHCR.io") == "ghcr.io");
  BOOST_TEST(reg::auth_config_key("https://127.0.0.1:5000/v2/") == "127.0.0.1:5000");
  expect_error([] { reg::auth_config_key("not a host"); }, ErrorCode::InvalidArgument, "not a registry host");
}

BOOST_AUTO_TEST_CASE(store_keeps_every_other_key_and_replaces_the_hosts_entries) {
  const std::string before = R"({
  "credHelpers": {"gcr.io": "gcloud"},
  "auths": {
    "https://reg.example:5000/v1/": {"auth": "b2xkOm9sZA=="},
    "other.example": {"auth": "eDp5"}
  },
  "proxies": {"default": {"httpProxy": "http://p:3128"}}
})";
  auto doc = nlohmann::ordered_json::parse(reg::auth_config_store(before, "cfg", "reg.example:5000", "alice", "pw"));
  BOOST_TEST(doc["credHelpers"]["gcr.io"] == "gcloud");
  BOOST_TEST(doc["proxies"]["default"]["httpProxy"] == "http://p:3128");
  BOOST_TEST(doc["auths"]["other.example"]["auth"] == "eDp5");
  BOOST_TEST(!doc["auths"].contains("https://reg.example:5000/v1/"));  // one entry per host
  BOOST_TEST(doc["auths"]["reg.example:5000"]["auth"] == "YWxpY2U6cHc=");  // alice:pw
  // Keys stay in the user's order.
  BOOST_TEST(doc.begin().key() == "credHelpers");
  // The result reads back as those credentials.
  auto cfg = reg::parse_auth_config(doc.dump(), "cfg");
  auto look = reg::lookup_credentials(cfg, "reg.example:5000");
  BOOST_TEST(look.entry.username == "alice");
  BOOST_TEST(look.entry.password == "pw");

  // No file yet, and Docker Hub's key.
  auto hub = nlohmann::json::parse(reg::auth_config_store("", "cfg", "docker.io", "bob", "pw"));
  BOOST_TEST(hub["auths"]["https://index.docker.io/v1/"]["auth"] == "Ym9iOnB3");
}

BOOST_AUTO_TEST_CASE(store_refuses_bad_input_without_the_secret) {
  expect_error([] { reg::auth_config_store("{not json", "/x/config.json", "reg.example", "u", kPassword); },
               ErrorCode::InvalidArgument, "/x/config.json");
  expect_error([] { reg::auth_config_store("", "c", "reg.example", "", kPassword); }, ErrorCode::InvalidArgument,
               "user name is empty");
  expect_error([] { reg::auth_config_store("", "c", "reg.example", "a:b", kPassword); }, ErrorCode::InvalidArgument,
               "':'");
  expect_error([] { reg::auth_config_store("", "c", "reg.example", "u", ""); }, ErrorCode::InvalidArgument,
               "password is empty");
  try {
    reg::auth_config_store("", "c", "reg.example", "a:b", kPassword);
  } catch (const rustimg::Error& e) {
    BOOST_TEST(std::string(e.what()).find(kPassword) == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(erase_removes_every_spelling_of_the_host_and_nothing_else) {
  const std::string before =
      R"({"auths":{"reg.example":{"auth":"eDp5"},"https://REG.example/v1/":{"auth":"eDp5"},"b.example":{}},"credsStore":""})";
  auto after = reg::auth_config_erase(before, "cfg", "reg.example");
  BOOST_REQUIRE(after.has_value());
  auto doc = nlohmann::json::parse(*after);
  BOOST_TEST(doc["auths"].size() == 1u);
  BOOST_TEST(doc["auths"].contains("b.example"));
  BOOST_TEST(doc.contains("credsStore"));
  // Nothing for the host: nothing to do.
  BOOST_TEST(!reg::auth_config_erase(*after, "cfg", "reg.example").has_value());
  BOOST_TEST(!reg::auth_config_erase("", "cfg", "reg.example").has_value());
  BOOST_TEST(!reg::auth_config_erase(R"({"credsStore":"pass"})", "cfg", "reg.example").has_value());
}

BOOST_AUTO_TEST_CASE(login_checks_then_writes_a_private_file) {
  TempDir tmp;
  const fs::path file = tmp.path / "new" / "docker" / "config.json";
  auto t = basic_registry();
  auto res = reg::login("reg.example", "alice", kPassword, options_for(t), file.string());
  BOOST_TEST(res.registry == "reg.example");
  BOOST_TEST(res.helper.empty());
  BOOST_TEST(res.changed);
  BOOST_TEST(mode_of(file) == 0600u);
  BOOST_TEST(mode_of(file.parent_path()) == 0700u);
  auto cfg = reg::parse_auth_config(read(file), "cfg");
  BOOST_TEST(cfg.auths.at("reg.example").password == kPassword);
  // The check was an authenticated GET /v2/.
  auto seen = t->seen();
  BOOST_REQUIRE(!seen.empty());
  BOOST_TEST(seen.back().url == "https://reg.example/v2/");
  BOOST_TEST(!seen.back().authorization.empty());
}

BOOST_AUTO_TEST_CASE(a_refused_login_writes_nothing_and_hides_the_password) {
  TempDir tmp;
  const fs::path file = tmp.path / "config.json";
  write(file, R"({"auths":{"reg.example":{"auth":"YWxpY2U6b2xk"}}})");
  const std::string before = read(file);
  const std::string wrong = "wr0ng-do-not-leak";
  try {
    reg::login("reg.example", "alice", wrong, options_for(basic_registry()), file.string());
    BOOST_FAIL("expected an auth error");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Auth), msg);
    BOOST_TEST(msg.find("alice") != std::string::npos, msg);
    BOOST_TEST(msg.find("reg.example") != std::string::npos, msg);
    BOOST_TEST(msg.find(wrong) == std::string::npos, msg);
  }
  BOOST_TEST(read(file) == before);
}

BOOST_AUTO_TEST_CASE(login_and_logout_go_through_the_configured_helper) {
  TempDir tmp;
  const fs::path file = tmp.path / "config.json";
  const std::string config = R"({"credsStore":"secretservice","credHelpers":{"gcr.io":"gcloud"}})";
  write(file, config);
  RecordingRunner runner;
  auto res = reg::login("reg.example", "alice", kPassword, options_for(basic_registry(), &runner), file.string());
  BOOST_TEST(res.helper == "secretservice");
  BOOST_REQUIRE(runner.seen.size() == 1u);
  const auto& store = runner.seen[0];
  BOOST_TEST(store.argv.at(3) == "docker-credential-secretservice");
  BOOST_TEST(store.argv.at(4) == "store");
  auto payload = nlohmann::json::parse(store.env.at("RUSTIMG_CRED_INPUT"));
  BOOST_TEST(payload["ServerURL"] == "reg.example");
  BOOST_TEST(payload["Username"] == "alice");
  BOOST_TEST(payload["Secret"] == kPassword);
  // The secret went to the helper, never into a command line or the file.
  for (const auto& a : store.argv) BOOST_TEST(a.find(kPassword) == std::string::npos);
  BOOST_TEST(read(file) == config);

  // logout erases through the helper; "credentials not found" means nothing to remove.
  auto out = reg::logout("reg.example", &runner, file.string());
  BOOST_TEST(out.changed);
  BOOST_TEST(runner.seen.back().argv.at(4) == "erase");
  BOOST_TEST(runner.seen.back().env.at("RUSTIMG_CRED_INPUT") == "reg.example");
  runner.result = {1, "credentials not found in native keychain", ""};
  BOOST_TEST(!reg::logout("reg.example", &runner, file.string()).changed);
  // A missing helper says so.
  runner.result = {127, "", ""};
  expect_error([&] { reg::logout("reg.example", &runner, file.string()); }, ErrorCode::Auth,
               "docker-credential-secretservice is not on PATH");
}

BOOST_AUTO_TEST_CASE(logout_removes_the_entry_and_says_when_there_was_none) {
  TempDir tmp;
  const fs::path file = tmp.path / "config.json";
  write(file, R"({"auths":{"reg.example":{"auth":"YWxpY2U6b2xk"},"keep.example":{"auth":"eDp5"}}})");
  auto res = reg::logout("REG.example", nullptr, file.string());
  BOOST_TEST(res.changed);
  auto cfg = reg::parse_auth_config(read(file), "cfg");
  BOOST_TEST(cfg.auths.count("reg.example") == 0u);
  BOOST_TEST(cfg.auths.count("keep.example") == 1u);
  BOOST_TEST(!reg::logout("reg.example", nullptr, file.string()).changed);
  BOOST_TEST(!reg::logout("reg.example", nullptr, (tmp.path / "none.json").string()).changed);
}

BOOST_AUTO_TEST_CASE(login_notes_earlier_files_with_a_helper_for_the_host_too) {
  // podman's auth.json is read before docker's config: an entry there for
  // the host, credentials or a helper, wins over what login writes.
  TempDir tmp;
  const fs::path podman = tmp.path / "podman-auth.json";
  const fs::path docker = tmp.path / "docker" / "config.json";
  fs::create_directories(docker.parent_path());
  const ScopedEnv auth_file("REGISTRY_AUTH_FILE", podman.string());
  const ScopedEnv xdg_config("XDG_CONFIG_HOME", (tmp.path / "xdg").string());
  const ScopedEnv docker_config("DOCKER_CONFIG", docker.parent_path().string());
  const std::vector<std::string> just_podman{podman.string()};
  for (const std::string covering : {R"({"credHelpers":{"reg.example":"pass"}})", R"({"credsStore":"pass"})",
                                     R"({"auths":{"reg.example":{"auth":"YWxpY2U6b2xk"}}})"}) {
    write(podman, covering);
    auto res = reg::login("reg.example", "alice", kPassword, options_for(basic_registry()), docker.string());
    BOOST_TEST(res.also_in == just_podman, covering);
    BOOST_TEST(reg::logout("reg.example", nullptr, docker.string()).also_in == just_podman, covering);
  }
  // Entries for other hosts only: nothing to say.
  write(podman, R"({"credHelpers":{"gcr.io":"gcloud"},"auths":{"other.example":{"auth":"eDp5"}}})");
  BOOST_TEST(reg::login("reg.example", "alice", kPassword, options_for(basic_registry()), docker.string())
                 .also_in.empty());
}

BOOST_AUTO_TEST_CASE(a_broken_auth_file_gets_advice_for_its_own_kind) {
  TempDir tmp;
  const fs::path podman = tmp.path / "auth.json";
  const fs::path docker = tmp.path / "docker" / "config.json";
  fs::create_directories(docker.parent_path());
  const ScopedEnv docker_config("DOCKER_CONFIG", docker.parent_path().string());
  write(podman, "{not json");
  write(docker, R"({"auths":{"reg.example":{"auth":"!!!"}}})");
  // podman's file: only podman login writes it.
  try {
    reg::Keychain(nullptr, {podman.string(), docker.string()}).resolve("reg.example");
    BOOST_FAIL("expected a parse error");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find(podman.string()) != std::string::npos, msg);
    BOOST_TEST(msg.find("podman login") != std::string::npos, msg);
    BOOST_TEST(msg.find("`rustimg login` does not") != std::string::npos, msg);
  }
  // docker's config: rustimg login writes it, whether reading it for a push or logging in.
  expect_error([&] { reg::Keychain(nullptr, {docker.string()}).resolve("reg.example"); },
               ErrorCode::InvalidArgument, "`rustimg login HOST` writes docker's config anew");
  write(docker, "[1]");
  expect_error([&] { reg::login("reg.example", "alice", kPassword, options_for(basic_registry()), docker.string()); },
               ErrorCode::InvalidArgument, "`rustimg login HOST` writes docker's config anew");
}

BOOST_AUTO_TEST_CASE(an_oversized_auth_file_is_refused_by_every_reader) {
  // Valid JSON, so only the size can refuse it: the keychain used to read it whole.
  TempDir dir;
  const fs::path file = dir.path / "auth.json";
  write(file, R"({"auths": {}, "padding": ")" + std::string((4u << 20) + 16, 'x') + "\"}");
  const std::string limit = file.string() + ": larger than the 4 MiB rustimg reads";
  const reg::Keychain keychain(nullptr, {file.string()});
  expect_error([&] { keychain.resolve("reg.example"); }, ErrorCode::InvalidArgument, limit);
  RecordingRunner runner;
  expect_error([&] { reg::logout("reg.example", &runner, file.string()); }, ErrorCode::InvalidArgument, limit);
  // A file of ordinary size still reads.
  write(file, R"({"auths": {"reg.example": {"auth": "YWxpY2U6c2VjcmV0"}}})");
  BOOST_TEST(keychain.resolve("reg.example").value().username == "alice");
}

BOOST_AUTO_TEST_SUITE_END()
