// Storing and removing registry credentials, as `docker login` and
// `docker logout` do: in docker's config.json or through the credential
// helper it names.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "registry/auth.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "rustimg/json.hpp"
#include "rustimg/process.hpp"
#include "rustimg/registry.hpp"
#include "util/atomic_file.hpp"
#include "util/base64.hpp"

namespace rustimg::registry {

using namespace detail;

namespace {

constexpr const char* kDockerHubKey = "https://index.docker.io/v1/";

// The file as an ordered JSON object (keys stay where the user put them);
// "" is an empty object. parse_json checks the text and its depth first.
nlohmann::ordered_json parse_config(std::string_view text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return nlohmann::ordered_json::object();
  parse_auth_file(text, source, true);  // the same checks and messages as reading it
  return nlohmann::ordered_json::parse(text);
}

// True when the auths key `key` names `host` (a normalised registry host).
bool key_names_host(const std::string& key, const std::string& host) {
  try {
    return normalize_registry_host(key) == host;
  } catch (const Error&) {
    return false;
  }
}

std::string dump(const nlohmann::ordered_json& doc) { return doc.dump(1, '\t') + "\n"; }

std::string read_config(const std::string& path) {
  std::string text = read_auth_file(path).value_or(std::string());
  // An empty file is no config yet, as for docker.
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  return text;
}

// Creates the missing directories of `dir` with mode 0700 (they hold secrets).
void make_private_dirs(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || std::filesystem::is_directory(dir, ec)) return;
  make_private_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(ErrorCode::Io, "cannot create " + dir.string() + ": " + std::strerror(errno));
}

void write_config(const std::string& path, const std::string& text) {
  std::filesystem::path target(path);
  std::error_code ec;
  // A config file that is a symlink (dotfiles) is updated where it points.
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(target, ec))) {
    target = std::filesystem::canonical(target, ec);
    if (ec) throw Error(ErrorCode::Io, path + ": cannot resolve the symbolic link: " + ec.message());
  }
  make_private_dirs(target.parent_path());
  util::AtomicFile out(target.parent_path(), 0600);
  out.write(text);
  out.commit(target);
}

std::string config_path(std::string config_file) {
  if (config_file.empty()) config_file = docker_config_file(AuthFileEnvironment::current());
  if (config_file.empty())
    throw Error(ErrorCode::InvalidArgument,
                "no place to keep credentials: neither DOCKER_CONFIG nor HOME is set; set DOCKER_CONFIG to a directory");
  return config_file;
}

// The helper docker's config names for `registry`, or "".
std::string helper_for(const std::string& text, const std::string& source, const std::string& registry) {
  if (text.empty()) return {};
  AuthConfig cfg = parse_auth_file(text, source, true);
  CredentialLookup look = lookup_credentials(cfg, registry);
  return look.kind == CredentialSourceKind::Helper ? look.helper : std::string();
}

// The other credential files with an entry for `registry` (credentials,
// or a credHelpers/credsStore helper that is asked for them): before
// `file` in the search order, or anywhere when `all`.
std::vector<std::string> other_files_with(const std::string& registry, const std::string& file, bool all) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& f : Keychain::default_files()) {
    if (std::filesystem::equivalent(f, file, ec) || f == file) {
      if (!all) break;
      continue;
    }
    try {
      std::string text = read_config(f);
      if (text.empty()) continue;
      if (lookup_credentials(parse_auth_config(text, f), registry).kind != CredentialSourceKind::None)
        out.push_back(f);
    } catch (const Error&) {  // a broken file is reported when it is read for a push
    }
  }
  return out;
}

std::string server_url_of(const std::string& host) { return host == "docker.io" ? kDockerHubKey : host; }

[[noreturn]] void helper_failed(const std::string& helper, const std::string& verb, const std::string& host,
                                const ProcessResult& res) {
  const std::string program = "docker-credential-" + helper;
  if (res.exit_code == 127)
    throw Error(ErrorCode::Auth, "docker's config names the credential helper \"" + helper + "\" for " + host +
                                     ", but " + program +
                                     " is not on PATH: install it, add its directory to PATH, or remove the "
                                     "helper from the config file");
  // Helper output is an error text, never the secret (it came on stdin).
  std::string text = trim(res.err.empty() ? res.out : res.err);
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  throw Error(ErrorCode::Auth, program + " " + verb + " failed for " + host + " (exit " +
                                   std::to_string(res.exit_code) + ")" + (text.empty() ? "" : ": " + text));
}

}  // namespace

std::string auth_config_key(std::string_view registry) {
  const std::string host = normalize_registry_host(registry);
  return host == "docker.io" ? kDockerHubKey : host;
}

std::string auth_config_store(std::string_view config_text, const std::string& source, std::string_view registry,
                              const std::string& username, const std::string& password) {
  if (username.empty()) throw Error(ErrorCode::InvalidArgument, "login: the user name is empty; name the user");
  if (username.find(':') != std::string::npos)
    throw Error(ErrorCode::InvalidArgument, "login: the user name \"" + username +
                                                "\" holds a ':', which Basic authentication cannot carry");
  if (password.empty())
    throw Error(ErrorCode::InvalidArgument, "login: the password is empty; give it on standard input");
  const std::string host = normalize_registry_host(registry);
  nlohmann::ordered_json doc = parse_config(config_text, source);
  if (!doc.contains("auths") || !doc["auths"].is_object()) doc["auths"] = nlohmann::ordered_json::object();
  auto& auths = doc["auths"];
  for (auto it = auths.begin(); it != auths.end();) {
    if (key_names_host(it.key(), host))
      it = auths.erase(it);
    else
      ++it;
  }
  auths[auth_config_key(host)] = {{"auth", util::base64_encode(username + ":" + password)}};
  return dump(doc);
}

std::optional<std::string> auth_config_erase(std::string_view config_text, const std::string& source,
                                             std::string_view registry) {
  const std::string host = normalize_registry_host(registry);
  nlohmann::ordered_json doc = parse_config(config_text, source);
  auto a = doc.find("auths");
  if (a == doc.end() || !a->is_object()) return std::nullopt;
  bool removed = false;
  for (auto it = a->begin(); it != a->end();) {
    if (key_names_host(it.key(), host)) {
      it = a->erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  if (!removed) return std::nullopt;
  return dump(doc);
}

CredentialStoreResult login(std::string_view registry, const std::string& username, const std::string& password,
                            Options options, std::string config_file) {
  CredentialStoreResult result;
  result.registry = normalize_registry_host(registry);
  result.file = config_path(std::move(config_file));
  const std::string text = read_config(result.file);
  // Check the file before the registry, so a broken file fails fast; and the
  // entry itself (empty password, ':' in the user name) the same way.
  const std::string updated = auth_config_store(text, result.file, result.registry, username, password);
  result.helper = helper_for(text, result.file, result.registry);

  // The credentials given, and no others, checked with an authenticated GET /v2/.
  options.credentials = {{result.registry, Credentials{username, password, {}, {}}}};
  options.credentials_callback = nullptr;
  options.use_config_files = false;
  ProcessRunner* runner = options.process_runner;
  Context ctx(std::move(options));
  Auth auth(ctx, ctx.opt.transport);
  RegistryState& st = auth.state(result.registry);
  with_retry(ctx, "login", [&] {
    HttpResponse r = auth.send(st, {}, [](const std::string& base) {
      HttpRequest req;
      req.url = base + "/v2/";
      return req;
    });
    if (r.status < 200 || r.status >= 300) auth.fail(st, r, "the login");
    return r;
  });

  if (!result.helper.empty()) {
    nlohmann::json payload = {
        {"ServerURL", server_url_of(result.registry)}, {"Username", username}, {"Secret", password}};
    ProcessRunner& r = runner != nullptr ? *runner : system_process_runner();
    ProcessResult res = run_credential_helper(r, result.helper, "store", payload.dump());
    if (res.exit_code != 0) helper_failed(result.helper, "store", result.registry, res);
  } else {
    write_config(result.file, updated);
  }
  result.changed = true;
  result.also_in = other_files_with(result.registry, result.file, false);
  return result;
}

CredentialStoreResult logout(std::string_view registry, ProcessRunner* runner, std::string config_file) {
  CredentialStoreResult result;
  result.registry = normalize_registry_host(registry);
  result.file = config_path(std::move(config_file));
  const std::string text = read_config(result.file);
  result.helper = helper_for(text, result.file, result.registry);
  if (!result.helper.empty()) {
    ProcessRunner& r = runner != nullptr ? *runner : system_process_runner();
    ProcessResult res = run_credential_helper(r, result.helper, "erase", server_url_of(result.registry));
    if (res.exit_code == 0)
      result.changed = true;
    else if ((res.out + res.err).find("credentials not found") == std::string::npos)
      helper_failed(result.helper, "erase", result.registry, res);
  }
  if (!text.empty()) {
    if (auto updated = auth_config_erase(text, result.file, result.registry)) {
      write_config(result.file, *updated);
      result.changed = true;
    }
  }
  result.also_in = other_files_with(result.registry, result.file, true);
  return result;
}

}  // namespace rustimg::registry
