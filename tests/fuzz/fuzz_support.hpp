// Shared by the libFuzzer targets: the contract every parser of untrusted
// input keeps is "a value, or rustimg::Error". Any other exception escapes
// the target and libFuzzer reports it (as a crash, with the reproducer), as
// it does a sanitizer report or a failed check().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "../unit/test_support.hpp"

namespace rustimg::fuzz {

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Runs `f`; rustimg::Error is a refusal, as designed.
template <class F>
void refusable(F&& f) {
  try {
    f();
  } catch (const rustimg::Error&) {
  }
}

/// A broken invariant: print it and abort, so libFuzzer keeps the input.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

/// Splits a multi-document input at each "\n--\n" (a line "--"; it cannot
/// occur inside a JSON document, whose strings hold no raw newline).
inline std::vector<std::string> documents(std::string_view in) {
  std::vector<std::string> out;
  constexpr std::string_view kSep = "\n--\n";
  for (;;) {
    const auto at = in.find(kSep);
    out.emplace_back(in.substr(0, at));
    if (at == std::string_view::npos) return out;
    in.remove_prefix(at + kSep.size());
  }
}

/// A directory of this process under $TMPDIR (created once, kept: libFuzzer
/// exits without running destructors; scripts/fuzz.sh points TMPDIR at a
/// directory it removes).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rustimg-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

// Files and in-memory sinks: the unit tests' helpers (a failed write
// throws, which escapes the target and libFuzzer reports it).
using test::MemorySink;
using test::write_file;

}  // namespace rustimg::fuzz
