// rustimg/progress.hpp - the one progress and cancellation channel.
//
// Every long operation (build, cargo, layer writing, push, pull) reports
// through a ProgressCallback and stops when it answers true, as the C ABI's
// rustimg_progress_cb does with a non-zero return. Pollers of type
// std::function<bool()> ("cancelled") follow the same rule: true stops.
// A stopped operation throws rustimg::Error with ErrorCode::Cancelled.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace rustimg {

/// One progress event.
struct ProgressEvent {
  /// What is going on: "cargo", "verify", "pull", "layer", "image", "sbom",
  /// "provenance", "write" for a build; for a registry transfer, one of registry::stage (checking,
  /// uploading, mounted, skipped, downloading, done, manifest).
  std::string stage;
  std::string message = {};      ///< one human-readable line
  std::string digest = {};       ///< the blob or manifest concerned, if any
  std::uint64_t bytes_done = 0;  ///< bytes of `digest` (or of the layer) so far
  std::uint64_t bytes_total = 0; ///< bytes of `digest` in all; 0 when unknown
};

/// Called with each event; returning true cancels the operation. Need not be
/// thread-safe: every operation serialises its calls.
using ProgressCallback = std::function<bool(const ProgressEvent&)>;

/// Calls `callback` (when set) with `event`; throws rustimg::Error
/// (Cancelled) when it answers true.
void report_progress(const ProgressCallback& callback, const ProgressEvent& event);

}  // namespace rustimg
