// Internal to the rustimg CLI: the registry flags shared by push, pull and
// build --push.
#pragma once

#include <functional>
#include <string>

#include "rustimg/registry.hpp"

namespace rustimg::cli {

inline constexpr const char* kRegistryFlagsUsage =
    "registry options:\n"
    "  --insecure-registry HOST  talk plain HTTP (or TLS without verification) to HOST[:PORT]\n"
    "                            (repeatable; localhost and 127.0.0.1 need no flag)\n"
    "  --registry-ca FILE        trust the CA certificates in FILE (PEM) for the registry\n"
    "  --username USER           log in as USER to the command's registry (the push target;\n"
    "                            for pull, the pulled one; for build without --push, the\n"
    "                            base's); the password is read from standard input\n"
    "  --credentials-for HOST    the registry --username is for, instead (e.g. the base's)\n"
    "  --jobs N                  parallel blob uploads/downloads (default 4)\n"
    "  --chunk-size BYTES        upload blobs in chunks of BYTES (default: one request)\n"
    "  --timeout SECONDS         give up on a request without blob data after SECONDS (default 300)\n"
    "  --stall-timeout SECONDS   give up on a transfer slower than 1 KiB/s for SECONDS (default 60)\n"
    "  --verbose                 log every registry request (never credentials)\n"
    "Credentials otherwise come from ~/.docker/config.json ($DOCKER_CONFIG), its credential\n"
    "helpers, and podman's auth.json ($REGISTRY_AUTH_FILE).\n";

class RegistryFlags {
 public:
  /// Takes `flag` when it is a registry flag (reading its value with
  /// `value`) and returns true; false for any other flag.
  bool parse(const std::string& flag, const std::function<std::string()>& value);
  /// The options for the registry client: reads the password from standard
  /// input when --username was given, and logs to standard error. The
  /// credentials are for the --credentials-for host, else for the registry
  /// `primary` returns (called only then); when that is "", they are left
  /// out for unbound_credentials().
  registry::Options finish(const std::function<std::string()>& primary);
  /// The --username credentials finish() left out (no --credentials-for and
  /// no primary registry): a build's base credentials.
  const registry::Credentials& unbound_credentials() const { return unbound_; }

 private:
  registry::Options options_;
  std::string username_;
  std::string credentials_for_;  ///< normalised host
  registry::Credentials unbound_;
  bool verbose_ = false;
};

}  // namespace rustimg::cli
