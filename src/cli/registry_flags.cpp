#include "registry_flags.hpp"

#include <cstdio>
#include <iostream>

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

}  // namespace

bool RegistryFlags::parse(const std::string& flag, const std::function<std::string()>& value) {
  if (flag == "--insecure-registry") {
    options_.insecure_registries.push_back(value());
  } else if (flag == "--registry-ca") {
    options_.ca_file = value();
  } else if (flag == "--username") {
    username_ = value();
  } else if (flag == "--credentials-for") {
    const std::string host = value();
    try {
      credentials_for_ = registry::normalize_registry_host(host);
    } catch (const Error& e) {
      throw Error(ErrorCode::InvalidArgument, std::string("--credentials-for: ") + e.what());
    }
  } else if (flag == "--jobs") {
    const auto n = number(flag, value());
    if (n == 0 || n > 64) throw Error(ErrorCode::InvalidArgument, "--jobs must be between 1 and 64");
    options_.jobs = static_cast<unsigned>(n);
  } else if (flag == "--timeout" || flag == "--stall-timeout") {
    const auto n = number(flag, value());
    if (n == 0 || n > 86400) throw Error(ErrorCode::InvalidArgument, flag + " takes seconds, from 1 to 86400");
    (flag == "--timeout" ? options_.request_timeout : options_.stall_timeout) = std::chrono::seconds(n);
  } else if (flag == "--chunk-size") {
    options_.chunk_size = number(flag, value());
  } else if (flag == "--verbose") {
    verbose_ = true;
  } else {
    return false;
  }
  return true;
}

registry::Options RegistryFlags::finish(const std::function<std::string()>& primary) {
  if (!credentials_for_.empty() && username_.empty())
    throw Error(ErrorCode::InvalidArgument, "--credentials-for " + credentials_for_ +
                                                " names the registry of --username's credentials; give --username too");
  if (!username_.empty()) {
    // For one registry only: never sent to another one the command talks to.
    const std::string host = !credentials_for_.empty() ? credentials_for_ : primary();
    // Never on the command line: read the password from standard input.
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty())
      throw Error(ErrorCode::InvalidArgument, "--username " + username_ + " needs the password on standard input");
    registry::Credentials c;
    c.username = username_;
    c.password = password;
    if (host.empty()) {
      unbound_ = c;
    } else {
      options_.credentials[host] = c;
    }
  }
  options_.cancelled = [] { return interrupted(); };
  if (verbose_) options_.log = [](const std::string& line) { std::fprintf(stderr, "rustimg: %s\n", line.c_str()); };
  return options_;
}

}  // namespace rustimg::cli
