// rustimg/version.hpp - the library version.
#pragma once

namespace rustimg {

/// "MAJOR.MINOR.PATCH" of the library in use (which may differ from the
/// headers a program was compiled with).
const char* version_string() noexcept;

}  // namespace rustimg
