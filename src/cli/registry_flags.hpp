// Internal to the rustimg CLI: the registry flags shared by push, pull and
// build --push.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "rustimg/registry.hpp"

namespace rustimg::cli {

/// For the help of every command with registry options.
inline constexpr const char* kCredentialsNote =
    "Credentials otherwise come from what `rustimg login` (or podman/docker login) stored:\n"
    "podman's auth.json ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers), then\n"
    "~/.docker/config.json ($DOCKER_CONFIG) and its credential helpers.\n";

class RegistryFlags {
 public:
  /// Adds the registry options to `app` (group "registry options"), bound
  /// to this object, which must outlive the parse. Without `transfers`, only
  /// those that say how to reach a registry (no --username, --jobs, ...):
  /// for login.
  void add_to(CLI::App& app, bool transfers = true);
  /// The options for the registry client: reads the password from standard
  /// input when --username was given, and logs to standard error. The
  /// credentials are for the --credentials-for host, else for the registry
  /// `primary` returns (called only then); when that is "", they are left
  /// out for unbound_credentials().
  registry::Options finish(const std::function<std::string()>& primary);
  /// The --username credentials finish() left out (no --credentials-for and
  /// no primary registry): for a build, BuildAndPushOptions::credentials.
  const registry::Credentials& unbound_credentials() const { return unbound_; }

 private:
  std::vector<std::string> insecure_;
  std::string ca_file_;
  std::string username_;
  std::string credentials_for_;
  std::string jobs_, chunk_size_, timeout_, stall_timeout_;  ///< checked by finish()
  registry::Credentials unbound_;
  bool verbose_ = false;
};

}  // namespace rustimg::cli
