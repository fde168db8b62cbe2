// rustimg login / rustimg logout: registry credentials kept as docker keeps them.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"
#include "registry_flags.hpp"
#include "rustimg/error.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kLoginUsage =
    "usage: rustimg login [options] [--username USER] [--password-stdin] HOST\n"
    "\n"
    "Checks the user name and password against the registry HOST (e.g. ghcr.io,\n"
    "127.0.0.1:5000, docker.io) and stores them as `docker login` does: through\n"
    "the credential helper docker's config names for HOST (credHelpers, else\n"
    "credsStore), else in $DOCKER_CONFIG/config.json (~/.docker/config.json),\n"
    "readable by you only. Later pushes and pulls use them. On a terminal, the\n"
    "user name is asked for without --username, the password without\n"
    "--password-stdin.\n";

constexpr const char* kLogoutUsage =
    "usage: rustimg logout HOST\n"
    "\n"
    "Removes the credentials for the registry HOST that `rustimg login` (or\n"
    "`docker login`) stored: from docker's config file, and through its\n"
    "credential helper when it names one.\n";

constexpr const char* kLoginFooter =
    "The password is never taken on the command line. podman's auth.json files\n"
    "are read before docker's config (as podman reads them); login says when\n"
    "one of them also holds credentials for HOST.\n";

struct Options {
  CLI::App* app = nullptr;
  std::string host;
  std::string username;
  bool password_stdin = false;
  RegistryFlags registry;
};

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

void note_other_files(const registry::CredentialStoreResult& r, const char* how) {
  for (const auto& f : r.also_in)
    std::fprintf(stderr, "rustimg: note: %s also holds credentials (or names a credential helper) for %s and %s; "
                 "'podman logout %s' removes them\n",
                 f.c_str(), r.registry.c_str(), how, r.registry.c_str());
}

int run_login(Options& o) {
  reject_extras(*o.app, "give one registry HOST; unexpected");
  if (o.host.empty()) throw UsageError{"give the registry HOST to log in to (e.g. ghcr.io)"};
  const bool terminal = stdin_is_terminal();
  std::string username = o.username;
  if (username.empty()) {
    if (o.password_stdin || !terminal)
      throw UsageError{"give --username USER (standard input is not a terminal to ask on)"};
    std::fputs("Username: ", stderr);
    username = read_stdin_line("the user name");
  }
  std::string password;
  if (o.password_stdin) {
    password = read_stdin_line("the password");
  } else {
    if (!terminal) throw UsageError{"give the password on standard input with --password-stdin"};
    std::fputs("Password: ", stderr);
    password = read_stdin_line("the password", /*hidden=*/true);
  }
  if (password.empty()) throw Error(ErrorCode::InvalidArgument, "no password was given for " + o.host);
  install_interrupt_handlers();
  registry::Options options = o.registry.finish([] { return std::string(); });
  const auto r = registry::login(o.host, username, password, std::move(options));
  if (r.helper.empty())
    std::fprintf(stderr, "rustimg login: logged in to %s as %s; credentials stored in %s\n", r.registry.c_str(),
                 username.c_str(), r.file.c_str());
  else
    std::fprintf(stderr, "rustimg login: logged in to %s as %s; credentials stored with docker-credential-%s (%s)\n",
                 r.registry.c_str(), username.c_str(), r.helper.c_str(), r.file.c_str());
  note_other_files(r, "is read first");
  return kExitOk;
}

int run_logout(Options& o) {
  reject_extras(*o.app, "give one registry HOST; unexpected");
  if (o.host.empty()) throw UsageError{"give the registry HOST to log out of (e.g. ghcr.io)"};
  const auto r = registry::logout(o.host);
  if (r.changed)
    std::fprintf(stderr, "rustimg logout: removed the credentials for %s (%s)\n", r.registry.c_str(),
                 r.helper.empty() ? r.file.c_str() : ("docker-credential-" + r.helper + ", " + r.file).c_str());
  else
    std::fprintf(stderr, "rustimg logout: there were no stored credentials for %s to remove (%s)\n",
                 r.registry.c_str(), r.file.c_str());
  note_other_files(r, "is still read");
  return kExitOk;
}

}  // namespace

Command add_login(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "login", "store credentials for a registry", kLoginUsage, kLoginFooter);
  o->app->add_option("HOST", o->host, "the registry");
  o->app->add_option("-u,--username", o->username, "the user name (asked for on a terminal when missing)")
      ->type_name("USER");
  o->app->add_flag("--password-stdin", o->password_stdin, "read the password (one line) from standard input");
  o->registry.add_to(*o->app, /*transfers=*/false);
  return {o->app, [o] { return run_login(*o); }};
}

Command add_logout(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "logout", "remove stored credentials for a registry", kLogoutUsage);
  o->app->add_option("HOST", o->host, "the registry");
  return {o->app, [o] { return run_logout(*o); }};
}

}  // namespace rustimg::cli
