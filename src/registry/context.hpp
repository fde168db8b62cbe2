// What every part of the registry client shares: the options, logging,
// progress reports, cancellation and the random source for retry jitter.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "rustimg/registry.hpp"

namespace rustimg::registry::detail {

using Clock = std::chrono::steady_clock;

struct Context {
  /// Checked and normalised options (credentials keyed by registry host).
  explicit Context(Options options);

  Options opt;

  void log(const std::string& line) const {
    if (opt.log) opt.log(line);
  }
  /// Reports progress; throws ErrorCode::Cancelled when the callback asks to stop.
  void progress(std::string_view stage, const std::string& digest, std::uint64_t done, std::uint64_t total);
  bool cancelled() const { return opt.cancelled && opt.cancelled(); }
  /// A uniform draw in [0, 1), for retry jitter.
  double unit_random();

 private:
  std::mutex progress_mu_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace rustimg::registry::detail
