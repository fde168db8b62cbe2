// What a command prints besides its work: --json (one JSON document on
// stdout) and --quiet (nothing on stderr but errors), and the progress view.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "progress_view.hpp"

namespace rustimg::cli {

struct OutputFlags {
  bool json = false;
  bool quiet = false;

  /// Adds --json and -q,--quiet to `app`.
  void add_to(CLI::App& app);
  /// The progress view for `command` ("rustimg build") on stderr.
  std::unique_ptr<ProgressView> view(const std::string& command) const;
};

/// The progress callback of a command: shows each event in `view` and
/// cancels the work once SIGINT/SIGTERM arrived (see interrupted()).
ProgressCallback progress_to(ProgressView& view);

/// Prints `doc` on stdout as one line (invalid UTF-8 from a binary replaced).
void print_json(const nlohmann::json& doc);

/// Prints {"error": {"code", "message", "exit_code"}} on stdout (and
/// "diagnostics" when not empty): what --json gives for a failure.
void print_error_json(const std::string& code, const std::string& message, int exit_code,
                      const std::string& diagnostics = "");

/// Runs `body` and returns its exit code; the one path by which build, push
/// and pull fail. With `json`, a failure also prints {"error": {"code",
/// "message", "exit_code"}} on stdout: UsageError (code "usage"),
/// rustimg::Error (its code name; a CargoError adds "diagnostics", cargo's
/// rendered errors), any other exception (code "internal"). The exception
/// is then rethrown for main() to report on stderr with its exit code.
int run_with_json_errors(bool json, const std::function<int()>& body);

}  // namespace rustimg::cli
