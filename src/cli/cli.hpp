// Internal to the rustimg CLI: one function per subcommand.
#pragma once

#include <span>
#include <string>

namespace rustimg::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // the check ran and said no (unfit binary, ...)
inline constexpr int kExitBadInput = 2;  // bad usage, missing file, invalid spec, corrupt input

// Each takes the arguments after the subcommand name and returns the exit code.
int verify_main(std::span<const std::string> args);
int spec_main(std::span<const std::string> args);
int build_main(std::span<const std::string> args);

}  // namespace rustimg::cli
