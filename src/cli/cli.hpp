// Internal to the rustimg CLI: one function per subcommand, parsed by CLI11.
//
// Adding a subcommand: write `Command add_NAME(CLI::App& parent)` in its own
// file: create it with add_command() (its help: usage lines and what it does,
// then the footer), bind its options to a shared Options struct with
// add_option/add_flag (repeatable ones with add_repeatable()), and return a
// runner that throws UsageError for bad usage and Error for failures. Then
// list it in main.cpp (kCommands and the usage text).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace rustimg {
class Error;
namespace transfer {
struct PushedImage;
}
}  // namespace rustimg

namespace rustimg::cli {

class ProgressView;

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // the check ran and said no (unfit binary, ...)
inline constexpr int kExitBadInput = 2;  // bad usage, missing file, invalid spec, corrupt input
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

/// Bad usage: printed as "rustimg CMD: MESSAGE" and a pointer to
/// 'rustimg CMD --help'; exit status 2.
struct UsageError {
  std::string message;
};

/// One subcommand: its CLI11 app (options and help) and what runs it once the
/// command line is parsed (returns the exit code).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_verify(CLI::App& parent);
Command add_spec(CLI::App& parent);
Command add_build(CLI::App& parent);
Command add_push(CLI::App& parent);
Command add_pull(CLI::App& parent);
Command add_login(CLI::App& parent);
Command add_logout(CLI::App& parent);
Command add_append(CLI::App& parent);
Command add_mutate(CLI::App& parent);
Command add_sign(CLI::App& parent);
Command add_verify_image(CLI::App& parent);
Command add_sbom(CLI::App& parent);

/// Adds subcommand `name` to `parent`. `summary` is one line; `description`
/// starts its help (the usage lines, then what it does); the options added
/// to it are listed next, each with its description; `footer` ends it
/// (exit status, ...).
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& description, const std::string& footer = "");

/// An option that may be given several times, one value each time
/// (`--env A=1 --env B=2`), in order.
CLI::Option* add_repeatable(CLI::App& app, const std::string& name, std::vector<std::string>& into,
                            const std::string& description, const std::string& value_name);

/// `args` (what follows the subcommand's name) with each option of `app`
/// that needs a value joined to the argument after it ("--cmd" "-v" ->
/// "--cmd=-v", "-o" "X" -> "--output=X"), so that argument is the value whatever it
/// starts with, as it always was; after "--" nothing is joined.
std::vector<std::string> join_option_values(const CLI::App& app, std::vector<std::string> args);

/// "K=V" -> (K, V) (V may be empty or hold '='); UsageError naming `flag`
/// when there is no "K=".
std::pair<std::string, std::string> key_value(const std::string& flag, const std::string& s);

/// A command line given to --entrypoint or --cmd: a JSON array
/// ("[\"/app\", \"-v\"]") as it is, anything else as the one argument.
nlohmann::json command_value(const std::string& flag, const std::string& s);

/// Throws UsageError for the first argument `app` did not take: an unknown
/// option (with "did you mean" when one is close) or a surplus positional,
/// which `surplus` describes when given ("more than one crate directory").
void reject_extras(const CLI::App& app, const std::string& surplus = "");

/// The exact subcommand `typed` was probably meant to be, as
/// "; did you mean NAME?", or "".
std::string did_you_mean(const std::string& typed, std::span<const std::string> names);

/// SIGINT/SIGTERM set a flag that `interrupted()` reads, so the work in
/// progress is cancelled at its next check (within a second) and removes its
/// temporary files; a second signal terminates at once (SA_RESETHAND).
void install_interrupt_handlers();
bool interrupted();

/// One line from standard input, without its line end; `what` names it in
/// errors ("the password"). At most 64 KiB (else Error InvalidArgument).
/// `hidden`: on a terminal, echo is off while it is typed and comes back
/// however the read ends, a signal included.
std::string read_stdin_line(const char* what, bool hidden = false);

/// Prints what a push did (stderr, through `view`) and "REF@sha256:..." (stdout).
void report_pushed(ProgressView& view, const transfer::PushedImage& pushed);

/// The exit code for a failure: 1 when a registry, cargo or the verifier said
/// no, 130 when cancelled, 2 for bad input.
int exit_code_for(const Error& e);

}  // namespace rustimg::cli
