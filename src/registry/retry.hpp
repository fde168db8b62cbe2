// Retrying registry operations: backoff with jitter, Retry-After, and the
// attempt and time budgets of RetryPolicy.
#pragma once

#include <chrono>
#include <string>

#include "registry/context.hpp"

namespace rustimg::registry::detail {

/// Sleeps `delay`, waking every 100 ms to honour cancellation.
void wait(const Context& ctx, std::chrono::milliseconds delay);

/// After attempt number `attempt` (1-based) of `what`, started at `start`,
/// failed with the retryable `e`: returns the delay before the next attempt
/// (logging it), or throws the final error, which says how many attempts
/// over how long, when the policy's budget is spent.
std::chrono::milliseconds next_retry_delay(Context& ctx, const RegistryError& e, int attempt,
                                           Clock::time_point start, const std::string& what);

/// Runs `fn`, repeating it after a retryable RegistryError with backoff (or
/// the server's Retry-After) while both the attempt and the time budget of
/// RetryPolicy last.
template <typename F>
auto with_retry(Context& ctx, const std::string& what, F&& fn) -> decltype(fn()) {
  const auto start = Clock::now();
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const RegistryError& e) {
      if (!e.retryable()) throw;
      wait(ctx, next_retry_delay(ctx, e, attempt, start, what));
    }
  }
}

}  // namespace rustimg::registry::detail
