// libFuzzer target for the header values of registry replies: WWW-Authenticate
// (challenges with quoted strings and escapes), Retry-After and Location.
#include <chrono>

#include "fuzz_support.hpp"
#include "rustimg/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace reg = rustimg::registry;
  using namespace rustimg::fuzz;
  const std::string_view header = text(data, size);
  refusable([&] {
    for (const auto& c : reg::parse_www_authenticate(header)) {
      for (const char ch : c.scheme) check(!(ch >= 'A' && ch <= 'Z'), "challenge scheme is lower-case");
      for (const auto& [key, value] : c.params) {
        check(!key.empty(), "challenge parameter names are not empty");
        for (const char ch : key) check(!(ch >= 'A' && ch <= 'Z'), "challenge parameter names are lower-case");
        static_cast<void>(value);
      }
    }
  });
  refusable([&] {
    // A fixed "now": the result may depend on it, never on the wall clock.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
    if (const auto delay = reg::parse_retry_after(header, now)) check(delay->count() >= 0, "Retry-After is not negative");
  });
  refusable([&] {
    static_cast<void>(reg::resolve_location("https://registry.example:5000/v2/app/blobs/uploads/?x=1", std::string(header)));
  });
  return 0;
}
