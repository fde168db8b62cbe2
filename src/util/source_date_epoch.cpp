#include "util/source_date_epoch.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

#include "rustimg/error.hpp"

namespace rustimg::util {

std::int64_t parse_source_date_epoch(std::optional<std::string_view> value) {
  if (!value || value->empty()) return 0;
  const std::string_view s = *value;
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  // Up to 9999-12-31T23:59:59Z: RFC 3339 has four-digit years.
  constexpr std::int64_t kMax = 253402300799;
  if (ec != std::errc() || end != s.data() + s.size() || out < 0 || out > kMax)
    throw Error(ErrorCode::InvalidArgument,
                "SOURCE_DATE_EPOCH=\"" + std::string(s) + "\" is not a whole number of seconds between 0 and " +
                    std::to_string(kMax) + "; fix or unset it");
  return out;
}

std::int64_t source_date_epoch_from_environment() {
  const char* v = std::getenv("SOURCE_DATE_EPOCH");
  return parse_source_date_epoch(v != nullptr ? std::optional<std::string_view>(v) : std::nullopt);
}

}  // namespace rustimg::util
