// The real ProcessRunner: posix_spawnp with pipes, no shell.
//
// Standard output and standard error are drained together with poll(), so a
// child that fills one pipe while we wait on the other cannot deadlock.
// Standard input is /dev/null: cargo must never stop to ask a question.
#include "rustimg/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "rustimg/error.hpp"
#include "util/fd.hpp"

extern char** environ;

namespace rustimg {
namespace {

using util::Fd;

struct Pipe {
  Fd read;
  Fd write;
};

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void throw_spawn_error(const std::string& program, int err) {
  if (err == ENOENT) {
    const bool has_slash = program.find('/') != std::string::npos;
    throw Error(ErrorCode::NotFound, "cannot run '" + program + "': " +
                                         (has_slash ? "no such file" : "not found on PATH"));
  }
  throw Error(ErrorCode::Generic, "cannot run '" + program + "': " + errno_text(err));
}

Pipe make_pipe(const std::string& program) {
  std::array<int, 2> fds{};
  // O_CLOEXEC: a process spawned concurrently from another thread must not
  // inherit our pipe ends (it would keep them open and block our EOF).
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw_spawn_error(program, errno);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

/// posix_spawn file actions, freed on scope exit.
class FileActions {
 public:
  FileActions() { ::posix_spawn_file_actions_init(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

/// posix_spawn attributes, freed on scope exit. The child starts with default
/// signal handling and an empty signal mask: a host such as Python ignores
/// SIGPIPE, and an ignored signal would otherwise be inherited across exec.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    ::posix_spawnattr_init(&attr_);
    sigset_t all;
    sigset_t none;
    ::sigfillset(&all);
    ::sigemptyset(&none);
    ::posix_spawnattr_setsigdefault(&attr_, &all);
    ::posix_spawnattr_setsigmask(&attr_, &none);
    // A process group of its own (pgid = child pid): cancellation kills the
    // whole group, so grandchildren (cargo's rustc and build scripts) go too.
    ::posix_spawnattr_setpgroup(&attr_, 0);
    ::posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attr_); }
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_{};
};

/// The inherited environment with `overlay` set on top, as "K=V" strings.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overlay) {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view kv(*entry);
    const auto name = kv.substr(0, kv.find('='));
    if (overlay.find(std::string(name)) == overlay.end()) out.emplace_back(kv);
  }
  for (const auto& [name, value] : overlay) out.push_back(name + "=" + value);
  return out;
}

/// argv-style array of pointers into `strings`, null-terminated.
std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// Hands complete lines of `text`, from `*delivered` on, to `sink`; with
/// `flush`, also the unterminated rest.
void deliver_lines(const std::string& text, std::size_t* delivered,
                   const std::function<void(std::string_view)>& sink, bool flush) {
  if (!sink) return;
  while (true) {
    const auto nl = text.find('\n', *delivered);
    if (nl == std::string::npos) break;
    sink(std::string_view(text).substr(*delivered, nl - *delivered));
    *delivered = nl + 1;
  }
  if (flush && *delivered < text.size()) {
    sink(std::string_view(text).substr(*delivered));
    *delivered = text.size();
  }
}

/// Reads `out` and `err` until both reach end of file, passing lines to the
/// request's callbacks. Returns false when `request.cancelled` asked to stop.
bool drain(Fd& out, Fd& err, const ProcessRequest& request, ProcessResult& result) {
  std::array<char, 65536> buffer{};
  std::array<pollfd, 2> fds{pollfd{out.get(), POLLIN, 0}, pollfd{err.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  std::array<const std::function<void(std::string_view)>*, 2> line_sinks{&request.on_stdout_line,
                                                                         &request.on_stderr_line};
  std::array<std::size_t, 2> delivered{0, 0};
  const int timeout_ms = request.cancelled ? 100 : -1;
  int open_count = 2;
  while (open_count > 0) {
    if (request.cancelled && request.cancelled()) return false;
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::Io, "reading a child process's output failed: " + errno_text(errno));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
        deliver_lines(*sinks[i], &delivered[i], *line_sinks[i], false);
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // end of file (or an unreadable pipe): stop polling it
        --open_count;
        deliver_lines(*sinks[i], &delivered[i], *line_sinks[i], true);
      }
    }
  }
  return true;
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(ErrorCode::Generic, "waitpid failed: " + errno_text(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Stops the child's process group: SIGTERM, then SIGKILL for whatever is
/// still there after a grace period, and reaps the child.
void kill_group(pid_t pid) noexcept {
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {  // up to 5 s for a clean exit
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    ::usleep(100 * 1000);
  }
  ::kill(-pid, SIGKILL);  // grandchildren that outlived the leader
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

class SystemProcessRunner final : public ProcessRunner {
 public:
  ProcessResult run(const ProcessRequest& request) override {
    if (request.argv.empty()) throw Error(ErrorCode::InvalidArgument, "cannot run a process: empty argv");
    const std::string& program = request.argv.front();
    check_cwd(program, request.cwd);

    Pipe out = make_pipe(program);
    Pipe err = make_pipe(program);
    FileActions actions;
    ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(actions.get(), out.write.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(actions.get(), err.write.get(), STDERR_FILENO);
    if (!request.cwd.empty()) ::posix_spawn_file_actions_addchdir_np(actions.get(), request.cwd.c_str());

    std::vector<std::string> args = request.argv;
    std::vector<std::string> env = merged_environment(request.env);
    std::vector<char*> argv = c_array(args);
    std::vector<char*> envp = c_array(env);

    const SpawnAttributes attributes;
    pid_t pid = 0;
    const int rc =
        ::posix_spawnp(&pid, program.c_str(), actions.get(), attributes.get(), argv.data(), envp.data());
    if (rc != 0) throw_spawn_error(program, rc);

    // Close our copies of the write ends so the reads see end of file.
    out.write.reset();
    err.write.reset();
    ProcessResult result;
    bool finished = false;
    try {
      finished = drain(out.read, err.read, request, result);
    } catch (...) {
      kill_group(pid);  // a callback threw: nothing will read the output any more
      throw;
    }
    if (!finished) {
      kill_group(pid);
      throw Error(ErrorCode::Cancelled, "cancelled: '" + program + "' was stopped");
    }
    result.exit_code = wait_for_exit(pid);
    return result;
  }

 private:
  // A missing working directory would otherwise surface as ENOENT from
  // posix_spawnp, indistinguishable from a missing program.
  static void check_cwd(const std::string& program, const std::string& cwd) {
    std::error_code ec;
    if (!cwd.empty() && !std::filesystem::is_directory(cwd, ec)) {
      throw Error(ErrorCode::NotFound,
                  "cannot run '" + program + "': working directory " + cwd + " does not exist");
    }
  }
};

}  // namespace

ProcessRunner& system_process_runner() {
  static SystemProcessRunner runner;
  return runner;
}

}  // namespace rustimg
