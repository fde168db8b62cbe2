// Internal to the elf module: reading glibc's version from a binary's bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rustimg::elf::detail {

/// glibc's version ("2.36") from the banner every static glibc embeds
/// ("GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.");
/// else a lower bound (">=2.35") from the tunables it names; nullopt when
/// neither tells. Pure, linear in `bytes`.
std::optional<std::string> glibc_version_in(std::string_view bytes);

}  // namespace rustimg::elf::detail
