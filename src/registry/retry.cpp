// Retry timing for the registry client (see retry.hpp).
#include "registry/retry.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "registry/internal.hpp"

namespace rustimg::registry::detail {

void wait(const Context& ctx, std::chrono::milliseconds delay) {
  const auto until = Clock::now() + delay;
  while (Clock::now() < until) {
    if (ctx.cancelled()) throw Error(ErrorCode::Cancelled, "cancelled while waiting to retry");
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
  }
}

std::chrono::milliseconds next_retry_delay(Context& ctx, const RegistryError& e, int attempt,
                                           Clock::time_point start, const std::string& what) {
  const RetryPolicy& policy = ctx.opt.retry;
  auto delay = backoff_delay(policy, attempt - 1, ctx.unit_random());
  if (auto* sf = dynamic_cast<const StatusFailure*>(&e); sf != nullptr && sf->retry_after())
    delay = std::min(*sf->retry_after(), policy.max_retry_after);
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (attempt >= policy.max_attempts || spent + delay > policy.max_elapsed) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(spent.count()) / 1000.0);
    throw RegistryError(e.code(),
                        std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                            (attempt == 1 ? " attempt" : " attempts") + " over " + seconds + " s)",
                        e.http_status(), e.registry_code(), e.registry_message(), false);
  }
  ctx.log("retrying " + what + " in " + std::to_string(delay.count()) + " ms (attempt " + std::to_string(attempt + 1) +
          " of " + std::to_string(policy.max_attempts) + "): " + e.what());
  return delay;
}

}  // namespace rustimg::registry::detail
