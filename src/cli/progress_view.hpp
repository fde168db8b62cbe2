// Progress for people: renders ProgressEvents on a terminal (one line per
// layer and per blob transfer, updated in place with bytes and rate) or as
// plain lines for logs (a start and a finish line per transfer, no
// updates); when quiet, only the lines cargo prints (cargo then runs with
// --quiet, so these are its errors and warnings).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "rustimg/progress.hpp"

namespace rustimg::cli {

/// True when `f` is a terminal.
bool is_terminal(std::FILE* f);

/// "512 B", "1.5 KiB", "12.3 MiB", "1.1 GiB".
std::string human_bytes(std::uint64_t n);

class ProgressView {
 public:
  struct Options {
    std::FILE* out = stderr;
    bool tty = false;    ///< update lines in place (\r, erase line)
    bool quiet = false;  ///< print cargo's lines (stage "cargo") only
    std::string prefix;  ///< "rustimg build": starts lines that are not cargo's
    /// Seconds on a monotonic clock (default: std::chrono::steady_clock).
    std::function<double()> clock;
  };

  explicit ProgressView(Options options);
  ~ProgressView();
  ProgressView(const ProgressView&) = delete;
  ProgressView& operator=(const ProgressView&) = delete;

  /// Renders one event. Thread-safe.
  void show(const ProgressEvent& e);
  /// A line that stays ("wrote oci:out"), after the prefix; nothing when quiet.
  void note(const std::string& text);
  /// Erases a line being updated in place (before an error or the end).
  void finish();

 private:
  /// A transfer or a layer under way.
  struct Active {
    double start = 0;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    bool download = false;
  };

  void permanent(const std::string& line);
  void transient(const std::string& line);
  void update(const std::string& key, const std::string& label, const ProgressEvent& e, bool download);
  void finished(const std::string& key, const ProgressEvent& e);
  std::string rate(const Active& a, std::uint64_t bytes) const;
  double now() const;

  Options o_;
  std::mutex mu_;
  std::map<std::string, Active> active_;  ///< by digest ("" for a blob streamed before its digest is known)
  std::set<std::string> reported_;        ///< digests with a finish line
  bool has_transient_ = false;
  double last_draw_ = -1;
  bool last_download_ = false;
};

}  // namespace rustimg::cli
