// The one thread fan-out of the core: run independent jobs on a few threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace rustimg::util {

/// Runs `fn(i)` for every i in [0, count) on up to `jobs` threads, the
/// calling thread included. The first exception stops new work (jobs already
/// running finish) and is rethrown once every thread has stopped. When no
/// further thread can be started, the threads that did start (at least the
/// caller's) do all the work. Cancellation is the jobs' business: a job that
/// throws ErrorCode::Cancelled stops the rest like any other error.
inline void parallel_for(std::size_t count, unsigned jobs, const std::function<void(std::size_t)>& fn) {
  if (count == 0) return;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;
  auto worker = [&] {
    while (!failed.load()) {
      const std::size_t i = next.fetch_add(1);
      if (i >= count) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const auto threads_wanted = static_cast<unsigned>(std::min<std::size_t>(std::max(1u, jobs), count));
  std::vector<std::thread> threads;
  threads.reserve(threads_wanted);  // emplace_back never reallocates with threads running
  for (unsigned t = 1; t < threads_wanted; ++t) {
    try {
      threads.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // out of threads: carry on with those that started
    }
  }
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace rustimg::util
