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
    "  --username USER           log in as USER; the password is read from standard input\n"
    "  --jobs N                  parallel blob uploads/downloads (default 4)\n"
    "  --chunk-size BYTES        upload blobs in chunks of BYTES (default: one request)\n"
    "  --verbose                 log every registry request (never credentials)\n"
    "Credentials otherwise come from ~/.docker/config.json ($DOCKER_CONFIG), its credential\n"
    "helpers, and podman's auth.json ($REGISTRY_AUTH_FILE).\n";

class RegistryFlags {
 public:
  /// Takes `flag` when it is a registry flag (reading its value with
  /// `value`) and returns true; false for any other flag.
  bool parse(const std::string& flag, const std::function<std::string()>& value);
  /// The options for the registry client: reads the password from standard
  /// input when --username was given, and logs to standard error.
  registry::Options finish();

 private:
  registry::Options options_;
  std::string username_;
  bool verbose_ = false;
};

}  // namespace rustimg::cli
