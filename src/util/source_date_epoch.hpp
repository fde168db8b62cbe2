// SOURCE_DATE_EPOCH, the one parser: the pipeline's image timestamps and
// cargo's build scripts read it the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rustimg::util {

/// A SOURCE_DATE_EPOCH value: 0 when unset (nullopt) or empty, else a whole
/// number of seconds from 0 to 253402300799 (9999-12-31T23:59:59Z). Throws
/// rustimg::Error (InvalidArgument) naming the value and the fix otherwise. Pure.
std::int64_t parse_source_date_epoch(std::optional<std::string_view> value);

/// parse_source_date_epoch() of the process environment's SOURCE_DATE_EPOCH.
std::int64_t source_date_epoch_from_environment();

}  // namespace rustimg::util
