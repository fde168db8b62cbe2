// rustimg/suggest.hpp - "did you mean ...?": the closest of the names a user
// could have meant, for unknown spec keys and unknown command-line options
// and subcommands alike.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace rustimg::suggest {

/// Edit distance counting an adjacent transposition as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The index of the candidate `typed` was probably meant to be: the nearest
/// one within max(1, size / 3) edits; nullopt when none is that close.
std::optional<std::size_t> closest(std::string_view typed, std::span<const std::string_view> candidates);

}  // namespace rustimg::suggest
