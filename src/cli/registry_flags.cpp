#include "registry_flags.hpp"

#include <cstdio>

#include "cli.hpp"
#include "rustimg/error.hpp"

namespace rustimg::cli {

namespace {

std::uint64_t number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw Error(ErrorCode::InvalidArgument, flag + " expects a whole number, got \"" + text + "\"");
  return n;
}

std::chrono::seconds seconds(const std::string& flag, const std::string& text) {
  const auto n = number(flag, text);
  if (n == 0 || n > 86400) throw Error(ErrorCode::InvalidArgument, flag + " takes seconds, from 1 to 86400");
  return std::chrono::seconds(n);
}

}  // namespace

void RegistryFlags::add_to(CLI::App& app, bool transfers) {
  const std::string group = "registry options";
  add_repeatable(app, "--insecure-registry", insecure_,
                 "talk plain HTTP (or TLS without verification) to HOST[:PORT]\n"
                 "(repeatable; localhost and 127.0.0.1 need no flag)",
                 "HOST")
      ->group(group);
  app.add_option("--registry-ca", ca_file_, "trust the CA certificates in FILE (PEM) for the registry")
      ->type_name("FILE")
      ->group(group);
  if (transfers) {
    app.add_option("--username", username_,
                   "log in as USER to the command's registry: the push\n"
                   "target(s) or docker:// output (one registry), for pull the\n"
                   "pulled one, else the base's; the password is read from\n"
                   "standard input")
        ->type_name("USER")
        ->group(group);
    app.add_option("--credentials-for", credentials_for_, "the registry --username is for, instead (e.g. the base's)")
        ->type_name("HOST")
        ->group(group);
    app.add_option("--jobs", jobs_, "parallel blob uploads/downloads (default 4)")->type_name("N")->group(group);
    app.add_option("--chunk-size", chunk_size_, "upload blobs in chunks of BYTES (default: one request)")
        ->type_name("BYTES")
        ->group(group);
  }
  app.add_option("--timeout", timeout_, "give up on a request without blob data after SECONDS (default 300)")
      ->type_name("SECONDS")
      ->group(group);
  if (transfers)
    app.add_option("--stall-timeout", stall_timeout_,
                   "give up on a transfer slower than 1 KiB/s for SECONDS (default 60)")
        ->type_name("SECONDS")
        ->group(group);
  app.add_flag("--verbose", verbose_, "log every registry request (never credentials)")->group(group);
}

registry::Options RegistryFlags::finish(const std::function<std::string()>& primary) {
  registry::Options options;
  options.insecure_registries = insecure_;
  options.ca_file = ca_file_;
  if (!jobs_.empty()) {
    const auto n = number("--jobs", jobs_);
    if (n == 0 || n > 64) throw Error(ErrorCode::InvalidArgument, "--jobs must be between 1 and 64");
    options.jobs = static_cast<unsigned>(n);
  }
  if (!timeout_.empty()) options.request_timeout = seconds("--timeout", timeout_);
  if (!stall_timeout_.empty()) options.stall_timeout = seconds("--stall-timeout", stall_timeout_);
  if (!chunk_size_.empty()) options.chunk_size = number("--chunk-size", chunk_size_);
  std::string credentials_for;
  if (!credentials_for_.empty()) {
    try {
      credentials_for = registry::normalize_registry_host(credentials_for_);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidArgument, std::string("--credentials-for: ") + e.what());
    }
  }
  if (!credentials_for.empty() && username_.empty())
    throw Error(ErrorCode::InvalidArgument, "--credentials-for " + credentials_for +
                                                " names the registry of --username's credentials; give --username too");
  if (!username_.empty()) {
    // For one registry only: never sent to another one the command talks to.
    const std::string host = !credentials_for.empty() ? credentials_for : primary();
    // Never on the command line: read the password from standard input.
    const std::string password = read_stdin_line("the password");
    if (password.empty())
      throw Error(ErrorCode::InvalidArgument, "--username " + username_ + " needs the password on standard input");
    registry::Credentials c;
    c.username = username_;
    c.password = password;
    if (host.empty()) {
      unbound_ = c;
    } else {
      options.credentials[host] = c;
    }
  }
  options.cancelled = [] { return interrupted(); };
  if (verbose_) options.log = [](const std::string& line) { std::fprintf(stderr, "rustimg: %s\n", line.c_str()); };
  return options;
}

}  // namespace rustimg::cli
