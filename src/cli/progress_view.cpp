// ProgressView: ProgressEvents as lines for people (see progress_view.hpp).
#include "progress_view.hpp"

#include <unistd.h>

#include <chrono>
#include <string_view>

#include "rustimg/registry.hpp"

namespace rustimg::cli {
namespace {

namespace stage = registry::stage;

constexpr double kRedrawSeconds = 0.1;  // in-place updates at most this often
constexpr const char* kEraseLine = "\r\x1b[K";
const std::string kLayerKey = "\x01layer";  // the layer being written (one at a time)

std::string short_digest(const std::string& d) {
  if (d.empty()) return "a layer";
  return d.substr(0, 19);
}

}  // namespace

bool is_terminal(std::FILE* f) { return f != nullptr && ::isatty(::fileno(f)) == 1; }

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024.0;
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

ProgressView::ProgressView(Options options) : o_(std::move(options)) {
  if (!o_.clock)
    o_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
}

ProgressView::~ProgressView() { finish(); }

double ProgressView::now() const { return o_.clock(); }

std::string ProgressView::rate(const Active& a, std::uint64_t bytes) const {
  const double elapsed = now() - a.start;
  if (elapsed <= 0 || bytes == 0) return "";
  return ", " + human_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / elapsed)) + "/s";
}

void ProgressView::permanent(const std::string& line) {
  if (o_.tty && has_transient_) std::fputs(kEraseLine, o_.out);
  has_transient_ = false;
  std::fputs(line.c_str(), o_.out);
  std::fputc('\n', o_.out);
  std::fflush(o_.out);
}

void ProgressView::transient(const std::string& line) {
  std::fputs(kEraseLine, o_.out);
  std::fputs(line.c_str(), o_.out);
  std::fflush(o_.out);
  has_transient_ = true;
  last_draw_ = now();
}

void ProgressView::update(const std::string& key, const std::string& label, const ProgressEvent& e, bool download) {
  auto [it, fresh] = active_.try_emplace(key);
  Active& a = it->second;
  if (fresh) {
    a.start = now();
    a.download = download;
  }
  a.done = e.bytes_done;
  if (e.bytes_total != 0) a.total = e.bytes_total;
  const std::string total = a.total != 0 ? " / " + human_bytes(a.total) : "";
  if (!o_.tty) {
    // Plain lines: one when the transfer starts, one when it ends.
    if (fresh) permanent(o_.prefix + ": " + label + (a.total != 0 ? " (" + human_bytes(a.total) + ")" : ""));
    return;
  }
  if (!fresh && now() - last_draw_ < kRedrawSeconds) return;
  transient(o_.prefix + ": " + label + " " + human_bytes(a.done) + total + rate(a, a.done));
}

void ProgressView::finished(const std::string& key, const ProgressEvent& e) {
  // A blob streamed while written is known by its digest only at the end.
  auto it = active_.find(key);
  if (it == active_.end()) it = active_.find("");
  const bool known = it != active_.end();
  const Active a = known ? it->second : Active{now(), 0, 0, last_download_};
  if (known) active_.erase(it);
  reported_.insert(e.digest);
  const std::string verb = a.download ? "downloaded " : "uploaded ";
  permanent(o_.prefix + ": " + verb + short_digest(e.digest) + " " + human_bytes(e.bytes_total) +
            (known ? rate(a, e.bytes_total) : ""));
}

void ProgressView::show(const ProgressEvent& e) {
  const std::lock_guard lock(mu_);
  const std::string_view s = e.stage;
  if (s == "cargo") {
    // cargo's own lines, as cargo prints them; under --quiet cargo runs
    // quiet too, and what it still prints (its errors) is shown.
    permanent(e.message);
  } else if (o_.quiet) {
    // Nothing else.
  } else if (s == stage::kUploading || s == stage::kDownloading) {
    last_download_ = s == stage::kDownloading;
    const std::string verb = last_download_ ? "downloading " : "uploading ";
    update(e.digest, verb + short_digest(e.digest), e, last_download_);
  } else if (s == stage::kDone) {
    finished(e.digest, e);
  } else if (s == stage::kChecking) {
    // Nothing to show until data moves.
  } else if (s == stage::kMounted || s == stage::kSkipped) {
    active_.erase(e.digest);
    reported_.insert(e.digest);
    permanent(o_.prefix + ": " + short_digest(e.digest) + " " + human_bytes(e.bytes_total) +
              (s == stage::kMounted ? " mounted from another repository" : " already there"));
  } else if (s == stage::kManifest) {
    permanent(o_.prefix + ": sent manifest " + short_digest(e.digest) + " (" + human_bytes(e.bytes_total) + ")");
  } else if (s == "layer" && e.digest.empty() && e.bytes_done != 0) {
    // "WHAT: N MiB so far" while a layer is written.
    const std::string what = e.message.substr(0, e.message.find(": "));
    update(kLayerKey, "layer " + what, e, false);
  } else if (s == "pull" && !e.digest.empty() && reported_.count(e.digest) != 0) {
    // Already shown by its transfer's own events.
  } else {
    std::string line = o_.prefix + ": [" + e.stage + "] " + e.message;
    if (s == "layer" && !e.digest.empty()) {
      if (auto it = active_.find(kLayerKey); it != active_.end()) {
        line += rate(it->second, it->second.done);  // uncompressed bytes written per second
        active_.erase(it);
      }
    }
    permanent(line);
  }
}

void ProgressView::note(const std::string& text) {
  if (o_.quiet) return;
  const std::lock_guard lock(mu_);
  permanent(o_.prefix + ": " + text);
}

void ProgressView::finish() {
  const std::lock_guard lock(mu_);
  if (o_.tty && has_transient_) {
    std::fputs(kEraseLine, o_.out);
    std::fflush(o_.out);
  }
  has_transient_ = false;
}

}  // namespace rustimg::cli
