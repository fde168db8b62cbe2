// rustimg command-line tool: dispatches to one function per subcommand.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.hpp"
#include "rustimg/version.hpp"

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
    "  version                                    print the rustimg version\n"
    "\n"
    "Run 'rustimg <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? rustimg::cli::kExitBadInput : rustimg::cli::kExitOk;
  }
  const std::string command = args[0];
  std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  try {
    if (command == "verify") return rustimg::cli::verify_main(rest);
    if (command == "spec") return rustimg::cli::spec_main(rest);
    if (command == "build") return rustimg::cli::build_main(rest);
    if (command == "push") return rustimg::cli::push_main(rest);
    if (command == "pull") return rustimg::cli::pull_main(rest);
    if (command == "version" || command == "--version") {
      std::printf("rustimg %s\n", rustimg::version_string());
      return rustimg::cli::kExitOk;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rustimg %s: %s\n", command.c_str(), e.what());
    return rustimg::cli::kExitBadInput;
  }
  std::fprintf(stderr, "rustimg: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
  return rustimg::cli::kExitBadInput;
}
