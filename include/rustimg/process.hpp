// rustimg/process.hpp - running external programs (cargo) without a shell.
//
// Everything that starts a process goes through ProcessRunner, so tests can
// substitute a recorded or scripted runner and assert the exact command line
// and environment.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rustimg {

struct ProcessRequest {
  std::vector<std::string> argv;            ///< argv[0] is looked up on PATH
  std::string cwd;                          ///< empty: inherit
  std::map<std::string, std::string> env;   ///< set on top of the inherited environment
  /// Called with each complete line (without the newline) as it arrives;
  /// the output is captured in ProcessResult all the same.
  std::function<void(std::string_view line)> on_stdout_line;
  std::function<void(std::string_view line)> on_stderr_line;
  /// Polled about ten times a second while the process runs. When it returns
  /// true, the process and everything it started (its process group) are
  /// killed, and run() throws rustimg::Error (Cancelled).
  std::function<bool()> cancelled;
};

struct ProcessResult {
  int exit_code = -1;   ///< exit status, or 128+signal when killed
  std::string out;      ///< captured standard output
  std::string err;      ///< captured standard error
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  /// Runs the request to completion. Throws rustimg::Error (NotFound) when the
  /// program cannot be started, (Cancelled) when `cancelled` said so; a
  /// non-zero exit is reported, not thrown.
  virtual ProcessResult run(const ProcessRequest& request) = 0;
};

/// The real runner: posix_spawnp with pipes, no shell; each child leads a
/// process group of its own so cancellation reaches its children too.
ProcessRunner& system_process_runner();

}  // namespace rustimg
