// Credentials from docker's config.json, podman's auth.json and the
// docker-credential-* helper protocol.
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "registry/internal.hpp"
#include "rustimg/json.hpp"
#include "rustimg/process.hpp"
#include "rustimg/registry.hpp"
#include "util/base64.hpp"

namespace rustimg::registry {

using namespace detail;

namespace {

std::string get_string(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// Docker Hub is stored under its legacy index URL.
bool is_docker_hub(const std::string& registry) {
  return registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io";
}
constexpr const char* kDockerHubKey = "https://index.docker.io/v1/";

}  // namespace

AuthConfig parse_auth_config(std::string_view json_text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = parse_json(json_text, source);
  } catch (const JsonError& e) {
    throw Error(ErrorCode::InvalidArgument, std::string(e.what()) + "; fix or remove the file");
  }
  if (!doc.is_object())
    throw Error(ErrorCode::InvalidArgument,
                source + ": not a JSON object; fix or remove the file");
  AuthConfig cfg;
  cfg.creds_store = get_string(doc, "credsStore");
  if (auto h = doc.find("credHelpers"); h != doc.end() && h->is_object()) {
    for (const auto& [host, helper] : h->items())
      if (helper.is_string()) cfg.cred_helpers[host] = helper.get<std::string>();
  }
  if (auto a = doc.find("auths"); a != doc.end() && a->is_object()) {
    for (const auto& [key, val] : a->items()) {
      if (!val.is_object()) continue;
      AuthConfigEntry e;
      e.username = get_string(val, "username");
      e.password = get_string(val, "password");
      e.identity_token = get_string(val, "identitytoken");
      e.registry_token = get_string(val, "registrytoken");
      std::string auth = get_string(val, "auth");
      if (!auth.empty()) {
        std::string decoded;
        try {
          decoded = util::base64_decode(auth, "auth", util::Base64Input::Lenient);
        } catch (const Error&) {
          throw Error(ErrorCode::InvalidArgument,
                      source + ": auths[\"" + key + "\"].auth is not valid base64; log in again, or remove the entry");
        }
        auto colon = decoded.find(':');
        if (colon == std::string::npos)
          throw Error(ErrorCode::InvalidArgument,
                      source + ": auths[\"" + key + "\"].auth does not hold \"user:password\"; log in again, or remove the entry");
        e.username = decoded.substr(0, colon);
        std::string pw = decoded.substr(colon + 1);
        while (!pw.empty() && pw.back() == '\0') pw.pop_back();
        e.password = pw;
        if (e.username.empty() && e.identity_token.empty())
          throw Error(ErrorCode::InvalidArgument,
                      source + ": auths[\"" + key + "\"].auth has an empty user name; log in again, or remove the entry");
      }
      cfg.auths[key] = std::move(e);
    }
  }
  return cfg;
}

AuthConfig detail::parse_auth_file(std::string_view json_text, const std::string& source, bool docker_config) {
  try {
    return parse_auth_config(json_text, source);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) +
                              (docker_config ? " (`rustimg login HOST` writes docker's config anew)"
                                             : " (this is podman's auth file, read before docker's config; "
                                               "`podman login HOST` writes it anew, `rustimg login` does not)"));
  }
}

std::string normalize_auth_key(std::string_view key) {
  std::string k(key);
  if (auto p = k.find("://"); p != std::string::npos) k = k.substr(p + 3);
  if (auto s = k.find('/'); s != std::string::npos) k.resize(s);
  return to_lower(k);
}

std::string normalize_registry_host(std::string_view text) {
  const std::string host = normalize_auth_key(text);
  if (is_docker_hub(host)) return "docker.io";
  // A host is what a reference could name as its registry.
  bool valid = false;
  if (!host.empty()) {
    try {
      valid = parse_reference(host + "/x").registry == host;
    } catch (const Error&) {
      valid = false;
    }
  }
  if (!valid)
    throw Error(ErrorCode::InvalidArgument, "\"" + std::string(text) +
                                                "\" is not a registry host; name one as host[:port], the way an image "
                                                "reference does (ghcr.io, 127.0.0.1:5000)");
  return host;
}

CredentialLookup lookup_credentials(const AuthConfig& config, const std::string& registry) {
  CredentialLookup out;
  const bool hub = is_docker_hub(registry);
  const std::string server_url = hub ? kDockerHubKey : registry;
  auto helper = config.cred_helpers.find(registry);
  if (helper == config.cred_helpers.end() && hub) helper = config.cred_helpers.find(kDockerHubKey);
  if (helper != config.cred_helpers.end() && !helper->second.empty()) {
    out.kind = CredentialSourceKind::Helper;
    out.helper = helper->second;
    out.server_url = server_url;
    return out;
  }
  // Exact key, then keys normalised to host[:port].
  const AuthConfigEntry* found = nullptr;
  for (const auto& key : {registry, server_url}) {
    if (auto it = config.auths.find(key); it != config.auths.end()) {
      found = &it->second;
      break;
    }
  }
  if (found == nullptr) {
    const std::string want = hub ? std::string("index.docker.io") : to_lower(registry);
    for (const auto& [key, entry] : config.auths) {
      std::string norm = normalize_auth_key(key);
      if (norm == want || (hub && is_docker_hub(norm))) {
        found = &entry;
        break;
      }
    }
  }
  bool has_secret = found != nullptr && (!found->password.empty() || !found->identity_token.empty() ||
                                         !found->registry_token.empty());
  if (!config.creds_store.empty()) {
    // Like docker: the store wins; an inline entry is only a fallback when
    // the store has nothing for this registry.
    out.kind = CredentialSourceKind::Helper;
    out.helper = config.creds_store;
    out.server_url = server_url;
    if (has_secret) out.entry = *found;
    return out;
  }
  if (found != nullptr && (has_secret || !found->username.empty())) {
    out.kind = CredentialSourceKind::File;
    out.entry = *found;
    out.server_url = server_url;
  }
  return out;
}

Keychain::Keychain(ProcessRunner* runner, std::vector<std::string> files)
    : runner_(runner), files_(files.empty() ? default_files() : std::move(files)) {}

AuthFileEnvironment AuthFileEnvironment::current() {
  AuthFileEnvironment e;
  e.home = env("HOME");
  e.docker_config = env("DOCKER_CONFIG");
  e.registry_auth_file = env("REGISTRY_AUTH_FILE");
  e.xdg_runtime_dir = env("XDG_RUNTIME_DIR");
  e.xdg_config_home = env("XDG_CONFIG_HOME");
  e.uid = static_cast<unsigned>(::getuid());
  return e;
}

std::string docker_config_file(const AuthFileEnvironment& env) {
  if (!env.docker_config.empty()) return env.docker_config + "/config.json";
  if (!env.home.empty()) return env.home + "/.docker/config.json";
  return {};
}

std::vector<std::string> auth_file_search_list(const AuthFileEnvironment& env) {
  std::vector<std::string> out;
  // podman's primary (read/write) file, or the explicit override.
  if (!env.registry_auth_file.empty())
    out.push_back(env.registry_auth_file);
  else if (!env.xdg_runtime_dir.empty())
    out.push_back(env.xdg_runtime_dir + "/containers/auth.json");
  else
    out.push_back("/run/containers/" + std::to_string(env.uid) + "/auth.json");
  if (!env.xdg_config_home.empty())
    out.push_back(env.xdg_config_home + "/containers/auth.json");
  else if (!env.home.empty())
    out.push_back(env.home + "/.config/containers/auth.json");
  if (auto docker = docker_config_file(env); !docker.empty()) out.push_back(docker);
  return out;
}

std::vector<std::string> Keychain::default_files() { return auth_file_search_list(AuthFileEnvironment::current()); }

ProcessResult detail::run_credential_helper(ProcessRunner& runner, const std::string& helper,
                                            const std::string& verb, const std::string& input) {
  // ProcessRunner gives the child /dev/null as stdin, and the helper protocol
  // reads its input from stdin: feed it through sh (printf is a builtin, so
  // the input is in no command line), passed in the environment (never
  // interpolated into the script) and unset before the helper starts.
  ProcessRequest req;
  req.argv = {"/bin/sh", "-c",
              "command -v \"$0\" >/dev/null 2>&1 || exit 127; i=$RUSTIMG_CRED_INPUT; unset RUSTIMG_CRED_INPUT; "
              "printf '%s' \"$i\" | exec \"$0\" \"$1\"",
              "docker-credential-" + helper, verb};
  req.env["RUSTIMG_CRED_INPUT"] = input;
  return runner.run(req);
}

namespace {

Credentials from_entry(const AuthConfigEntry& e) {
  Credentials c;
  c.username = e.username;
  c.password = e.password;
  c.identity_token = e.identity_token;
  c.registry_token = e.registry_token;
  return c;
}

std::optional<Credentials> run_helper(ProcessRunner& runner, const std::string& helper,
                                      const std::string& server_url, const std::string& config_file) {
  const std::string program = "docker-credential-" + helper;
  ProcessResult res = run_credential_helper(runner, helper, "get", server_url);
  if (res.exit_code == 127)
    throw Error(ErrorCode::Auth, config_file + " names the credential helper \"" + helper + "\" for " + server_url +
                                     ", but " + program +
                                     " is not on PATH: install it, add its directory to PATH, or remove the "
                                     "helper from the config file");
  if (res.exit_code != 0) {
    std::string text = trim(res.out + " " + res.err);
    if (text.find("credentials not found") != std::string::npos) return std::nullopt;
    // Helper output is an error text, not a secret; keep it short anyway.
    if (text.size() > 300) text = text.substr(0, 300) + "...";
    throw Error(ErrorCode::Auth, program + " get failed for " + server_url + " (exit " +
                                     std::to_string(res.exit_code) + "): " + text);
  }
  auto doc = try_parse_json(res.out).value_or(nullptr);
  if (doc.is_discarded() || !doc.is_object())
    throw Error(ErrorCode::Auth, program + " get returned no JSON object for " + server_url +
                                     "; check that the helper works: echo " + server_url + " | " + program + " get");
  Credentials c;
  std::string user = get_string(doc, "Username");
  std::string secret = get_string(doc, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.empty()) return std::nullopt;
  return c;
}

}  // namespace

std::optional<std::string> detail::read_auth_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorCode::Io, path + ": cannot read: " + ec.message());
  const auto too_large = [&] {
    return Error(ErrorCode::InvalidArgument, path + ": larger than the " + std::to_string(kMaxAuthFileBytes >> 20) +
                                                 " MiB rustimg reads, which no auth file is; check the file (or "
                                                 "DOCKER_CONFIG, REGISTRY_AUTH_FILE)");
  };
  if (size > kMaxAuthFileBytes) throw too_large();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, path + ": cannot read: " + std::strerror(errno));
  // Bounded again while reading: the file may have grown since it was measured.
  std::string text;
  std::array<char, 1 << 16> buf{};
  while (in && text.size() <= kMaxAuthFileBytes) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    text.append(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(ErrorCode::Io, path + ": cannot read");
  if (text.size() > kMaxAuthFileBytes) throw too_large();
  return text;
}

std::optional<Credentials> Keychain::resolve(const std::string& registry) const {
  const std::string docker_config = docker_config_file(AuthFileEnvironment::current());
  for (const auto& file : files_) {
    const std::optional<std::string> text = read_auth_file(file);
    if (!text) continue;
    AuthConfig cfg = parse_auth_file(*text, file, file == docker_config);
    CredentialLookup look = lookup_credentials(cfg, registry);
    if (look.kind == CredentialSourceKind::File) return from_entry(look.entry);
    if (look.kind == CredentialSourceKind::Helper) {
      ProcessRunner& runner = runner_ != nullptr ? *runner_ : system_process_runner();
      auto c = run_helper(runner, look.helper, look.server_url, file);
      if (c) return c;
      if (!look.entry.username.empty() || !look.entry.identity_token.empty() || !look.entry.registry_token.empty())
        return from_entry(look.entry);
    }
  }
  return std::nullopt;
}

}  // namespace rustimg::registry
