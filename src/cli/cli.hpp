// Internal to the rustimg CLI: one function per subcommand.
#pragma once

#include <span>
#include <string>

namespace rustimg {
class Error;
namespace transfer {
struct PushedImage;
}
}  // namespace rustimg

namespace rustimg::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // the check ran and said no (unfit binary, ...)
inline constexpr int kExitBadInput = 2;  // bad usage, missing file, invalid spec, corrupt input
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

// Each takes the arguments after the subcommand name and returns the exit code.
int verify_main(std::span<const std::string> args);
int spec_main(std::span<const std::string> args);
int build_main(std::span<const std::string> args);
int push_main(std::span<const std::string> args);
int pull_main(std::span<const std::string> args);

/// SIGINT/SIGTERM set a flag that `interrupted()` reads, so the work in
/// progress is cancelled at its next check (within a second) and removes its
/// temporary files; a second signal terminates at once (SA_RESETHAND).
void install_interrupt_handlers();
bool interrupted();

/// Prints what a push did (stderr) and "REF@sha256:..." (stdout).
void report_pushed(const char* command, const transfer::PushedImage& pushed);

/// The exit code for a failure: 1 when a registry, cargo or the verifier said
/// no, 130 when cancelled, 2 for bad input.
int exit_code_for(const Error& e);

}  // namespace rustimg::cli
