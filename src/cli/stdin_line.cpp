// One line from standard input for a user name or a secret: bounded in size,
// and on a terminal optionally read with echo off, restored however the read
// ends (a return, an exception, or SIGINT/SIGTERM/SIGHUP/SIGQUIT).
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "cli.hpp"
#include "rustimg/error.hpp"

namespace rustimg::cli {
namespace {

// No user name or password is near this; more is not what the user meant to give.
constexpr std::size_t kMaxStdinLine = 64u << 10;

// Read by the signal handler, so plain data set before the handlers go in.
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
struct sigaction g_previous[std::size(kSignals)];
termios g_saved{};
volatile std::sig_atomic_t g_echo_off = 0;

// Async-signal-safe: puts the terminal back, then lets the signal do what it
// did before (the default: end the process) once this handler returns.
extern "C" void restore_echo_and_reraise(int sig) {
  if (g_echo_off != 0) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
  g_echo_off = 0;
  for (std::size_t i = 0; i < std::size(kSignals); ++i)
    if (kSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  ::raise(sig);  // blocked until the handler returns
}

/// Turns echo off on the terminal on standard input for its lifetime.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &g_saved) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = restore_echo_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &sa, &g_previous[i]);
    termios quiet = g_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    g_echo_off = 1;
    if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) g_echo_off = 0;
    active_ = true;
  }
  ~EchoOff() {
    if (!active_) return;
    if (g_echo_off != 0) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
    g_echo_off = 0;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
    std::fputs("\n", stderr);  // the user's Enter was not echoed
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  bool active_ = false;
};

std::string read_bounded_line(const char* what) {
  std::string line;
  for (char c; std::cin.get(c) && c != '\n';) {
    if (line.size() == kMaxStdinLine)
      throw Error(ErrorCode::InvalidArgument, std::string(what) +
                                                  " on standard input is longer than 64 KiB, which no registry "
                                                  "accepts; give it alone on the first line");
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

std::string read_stdin_line(const char* what, bool hidden) {
  if (!hidden) return read_bounded_line(what);
  const EchoOff quiet;
  return read_bounded_line(what);
}

}  // namespace rustimg::cli
