// rustimg push / rustimg pull.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "registry_flags.hpp"
#include "rustimg/error.hpp"
#include "rustimg/transfer.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/store.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kPushUsage =
    "usage: rustimg push [options] SRC REF...\n"
    "\n"
    "Pushes the image at SRC (oci:DIR[:TAG], oci-archive:FILE[:TAG] or\n"
    "docker-archive:FILE) to each REF (e.g. ghcr.io/org/app:v1). Blobs the\n"
    "registry has are skipped; the last line on stdout is REF@sha256:....\n"
    "\n";

constexpr const char* kPullUsage =
    "usage: rustimg pull [options] REF --output DEST [--platform P]\n"
    "\n"
    "Pulls REF into DEST (oci:DIR[:TAG], oci-archive:FILE[:TAG] or\n"
    "docker-archive:FILE[:NAME:TAG]); with --platform, only that platform of\n"
    "an index. Every digest is verified. The last line on stdout is the digest.\n"
    "\n";

struct Parsed {
  std::vector<std::string> positional;
  std::optional<std::string> output;
  std::optional<std::string> platform;
  registry::Options options;
};

/// Parses registry flags, --output and --platform (when `with_output`: pull)
/// and positionals (push: SRC REF..., pull: REF).
Parsed parse(std::span<const std::string> args, bool with_output) {
  Parsed p;
  RegistryFlags flags;
  install_interrupt_handlers();
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw Error(ErrorCode::InvalidArgument, a + " needs a value");
      return args[++i];
    };
    if (flags.parse(a, value)) continue;
    if (with_output && (a == "--output" || a == "-o")) {
      p.output = value();
    } else if (with_output && a == "--platform") {
      p.platform = value();
    } else if (a.rfind("-", 0) == 0) {
      throw Error(ErrorCode::InvalidArgument, "unknown option \"" + a + "\"");
    } else {
      p.positional.push_back(a);
    }
  }
  if (with_output) {
    if (p.positional.size() != 1) throw Error(ErrorCode::InvalidArgument, "give exactly one REF to pull");
    if (!p.output) throw Error(ErrorCode::InvalidArgument, "--output is required");
  } else if (p.positional.size() < 2) {
    throw Error(ErrorCode::InvalidArgument, "give SRC and at least one REF");
  }
  // --username is for the pulled registry, or the push targets' one.
  p.options = flags.finish([&] {
    if (with_output) return parse_reference(p.positional[0]).registry;
    const std::vector<std::string> targets(p.positional.begin() + 1, p.positional.end());
    return transfer::push_registry(targets, "--credentials-for HOST");
  });
  return p;
}

bool wants_help(std::span<const std::string> args) {
  for (const auto& a : args)
    if (a == "-h" || a == "--help") return true;
  return false;
}

}  // namespace

int exit_code_for(const Error& e) {
  switch (e.code()) {
    case ErrorCode::Registry:
    case ErrorCode::Auth:
    case ErrorCode::Verify:
    case ErrorCode::Cargo: return kExitFailed;
    case ErrorCode::Cancelled: return kExitInterrupted;
    default: return kExitBadInput;
  }
}

void report_pushed(const char* command, const transfer::PushedImage& pushed) {
  std::fprintf(stderr, "rustimg %s: %s: %u blobs uploaded, %u mounted, %u already there\n", command,
               pushed.reference.c_str(), pushed.result.blobs_uploaded, pushed.result.blobs_mounted,
               pushed.result.blobs_existing);
  std::printf("%s\n", pushed.reference.c_str());
}

int push_main(std::span<const std::string> args) {
  if (wants_help(args)) {
    std::printf("%s%s", kPushUsage, kRegistryFlagsUsage);
    return kExitOk;
  }
  try {
    Parsed p = parse(args, false);
    const store::ImageLocation source = store::parse_image_location(p.positional[0]);
    const std::vector<std::string> refs(p.positional.begin() + 1, p.positional.end());
    for (const auto& pushed : transfer::push(source, refs, p.options)) report_pushed("push", pushed);
    return kExitOk;
  } catch (const Error& e) {
    std::fprintf(stderr, "rustimg push: %s\n", e.what());
    return exit_code_for(e);
  }
}

int pull_main(std::span<const std::string> args) {
  if (wants_help(args)) {
    std::printf("%s%s", kPullUsage, kRegistryFlagsUsage);
    return kExitOk;
  }
  try {
    Parsed p = parse(args, true);
    std::optional<Platform> platform;
    if (p.platform) platform = parse_platform(*p.platform);
    const std::string digest =
        transfer::pull(p.positional[0], store::parse_image_location(*p.output), p.options, platform);
    std::fprintf(stderr, "rustimg pull: wrote %s\n", p.output->c_str());
    std::printf("%s\n", digest.c_str());
    return kExitOk;
  } catch (const Error& e) {
    std::fprintf(stderr, "rustimg pull: %s\n", e.what());
    return exit_code_for(e);
  }
}

}  // namespace rustimg::cli
