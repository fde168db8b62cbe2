// rustimg command-line tool: CLI11 parses the command line, and each
// subcommand's runner does its work. Installed as `rustimg` and as
// `cargo-rustimg` (cargo runs `cargo-rustimg rustimg ARGS...` for
// `cargo rustimg ARGS...`).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.hpp"
#include "rustimg/error.hpp"
#include "rustimg/version.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kUsage =
    "usage: rustimg <command> [options]\n"
    "\n"
    "commands:\n"
    "  verify [--json] [--platform P] BINARY...   is each binary fit for a scratch image?\n"
    "  spec [--spec FILE] [--set KEY=VALUE]... [CRATE_DIR]\n"
    "                                             print the resolved image spec as JSON\n"
    "  build [CRATE_DIR] [options] --output DEST [--push REF]...\n"
    "  build --binary PATH [options] --output DEST\n"
    "                                             build a crate (or take a binary) into an image\n"
    "  push [options] SRC REF...                  push an image to registries\n"
    "  pull [options] REF --output DEST           pull an image into a local format\n"
    "  append --base BASE --layer DIR_OR_TAR... --output DEST\n"
    "                                             put layers on top of an image\n"
    "  mutate SRC [--env K=V] [--entrypoint CMD] ... --output DEST\n"
    "                                             change an image's config\n"
    "  sign --key KEY [--attest] REF | --identity HOST/REPO oci:DIR:TAG\n"
    "                                             sign an image, as cosign does\n"
    "  verify-image --key PUB [--attestation TYPE] REF|oci:DIR:TAG\n"
    "                                             check an image's signatures or attestations\n"
    "  sbom [--platform P] REF|oci:DIR[:TAG]      print the SBOM attached to an image\n"
    "  login [--username U] [--password-stdin] HOST\n"
    "                                             check and store credentials for a registry\n"
    "  logout HOST                                remove stored credentials for a registry\n"
    "  version                                    print the rustimg version\n"
    "  help [COMMAND]                             print this help, or a command's\n"
    "\n"
    "Run 'rustimg help <command>' or 'rustimg <command> --help' for a command's options.\n"
    "Installed as cargo-rustimg too: 'cargo rustimg build' in a crate.\n";

/// The help of `name` ("" or unknown: the overview).
std::string help_text(const std::vector<Command>& commands, const std::string& name) {
  for (const auto& c : commands)
    if (c.app->get_name() == name) return c.app->help();
  return kUsage;
}

std::vector<std::string> command_names(const std::vector<Command>& commands) {
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.app->get_name());
  return names;
}

/// "--push: 1 required REF missing" -> "--push needs a value".
std::string parse_error_message(const CLI::ParseError& e) {
  const std::string what = e.what();
  const auto colon = what.find(": ");
  if (colon != std::string::npos && what.find("required") != std::string::npos &&
      what.rfind("missing") + 7 == what.size())
    return what.substr(0, colon) + " needs a value";
  return what;
}

int run(std::vector<std::string> args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitBadInput;
  }
  CLI::App app("rustimg", "rustimg");
  app.allow_extras();  // an unknown command gets "did you mean"
  app.set_help_flag("-h,--help");
  bool version_flag = false;
  app.add_flag("--version", version_flag);

  std::vector<Command> commands = {add_verify(app), add_spec(app), add_build(app), add_push(app), add_pull(app),
                                   add_append(app), add_mutate(app), add_sign(app), add_verify_image(app), add_sbom(app),
                                   add_login(app), add_logout(app)};
  CLI::App* version = app.add_subcommand("version", "print the rustimg version");
  const std::vector<std::string> names = [&] {
    auto n = command_names(commands);
    n.insert(n.end(), {"version", "help"});
    return n;
  }();

  const std::string command = names.end() != std::find(names.begin(), names.end(), args[0]) ? args[0] : "";
  const std::string prefix = command.empty() ? "rustimg" : "rustimg " + command;
  // The argument after an option that needs a value is its value, even one
  // that starts with '-' ("--cmd -v"), which CLI11 alone would refuse.
  for (const auto& c : commands)
    if (c.app->get_name() == command) {
      std::vector<std::string> rest = join_option_values(*c.app, {args.begin() + 1, args.end()});
      rest.insert(rest.begin(), command);
      args = std::move(rest);
    }
  try {
    try {
      std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
      if (command == "help") reversed.clear();  // handled below
      app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
      std::fputs(help_text(commands, command).c_str(), stdout);
      return kExitOk;
    } catch (const CLI::ParseError& e) {
      throw UsageError{parse_error_message(e)};
    }
    // Before the command, only --help and --version are options.
    for (const std::string& extra : app.remaining())
      if (extra.size() > 1 && extra.front() == '-') {
        const std::string name = extra.substr(0, extra.find('='));
        const std::vector<std::string> top = {"--help", "--version"};
        throw UsageError{"unknown option '" + name + "'" + did_you_mean(name, top)};
      }
    if (version_flag || version->parsed()) {
      std::printf("rustimg %s\n", version_string());
      return kExitOk;
    }
    // "help [COMMAND]" (CLI11 would take COMMAND as the subcommand to run).
    if (command == "help") {
      if (args.size() > 2) throw UsageError{"give one COMMAND, or none"};
      const std::string help_topic = args.size() == 2 ? args[1] : "";
      if (!help_topic.empty() && std::find(names.begin(), names.end(), help_topic) == names.end())
        throw UsageError{"unknown command '" + help_topic + "'" + did_you_mean(help_topic, names)};
      std::fputs(help_text(commands, help_topic).c_str(), stdout);
      return kExitOk;
    }
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
    const std::string typed = app.remaining().empty() ? args[0] : app.remaining().front();
    std::fprintf(stderr, "rustimg: unknown command '%s'%s\n\n%s", typed.c_str(), did_you_mean(typed, names).c_str(),
                 kUsage);
    return kExitBadInput;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", prefix.c_str(), e.message.c_str(), prefix.c_str());
    return kExitBadInput;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", prefix.c_str(), e.what());
    return exit_code_for(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", prefix.c_str(), e.what());
    return kExitBadInput;
  }
}

}  // namespace
}  // namespace rustimg::cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // cargo runs a cargo-NAME tool as `cargo-NAME NAME ARGS...`.
  if (argc > 0 && std::filesystem::path(argv[0]).filename() == "cargo-rustimg" && !args.empty() &&
      args[0] == "rustimg")
    args.erase(args.begin());
  return rustimg::cli::run(std::move(args));
}
