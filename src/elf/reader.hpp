// Internal to src/elf: the bounds-checked ELF reader over a byte span. It
// turns the bytes into the raw facts the linkage report (elf.cpp) judges;
// it does no I/O and throws rustimg::Error (code Elf) on malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rustimg::elf::detail {

// --- constants from the System V ABI / glibc elf.h that the report needs -----
inline constexpr std::uint8_t kOsAbiSysv = 0, kOsAbiGnu = 3;

inline constexpr std::uint16_t kEtRel = 1, kEtExec = 2, kEtDyn = 3, kEtCore = 4;

inline constexpr std::uint16_t kEm386 = 3, kEmPpc64 = 21, kEmS390 = 22, kEmArm = 40, kEmX8664 = 62,
                               kEmAarch64 = 183, kEmRiscv = 243, kEmLoongarch = 258;

inline constexpr std::uint64_t kDf1Pie = 0x08000000;

/// The bytes as characters (for string tables and byte searches).
inline std::string_view as_chars(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// "0x" and the value in lower-case hex.
std::string hex(std::uint64_t v);

/// What the reader found in a file, before any verdict.
struct ElfFile {
  bool is64 = false;
  bool big_endian = false;
  std::uint8_t osabi = 0;    ///< EI_OSABI
  std::uint16_t type = 0;    ///< e_type
  std::uint16_t machine = 0; ///< e_machine
  std::optional<std::string> interpreter;  ///< PT_INTERP, up to its first NUL
  bool has_dynamic = false;                ///< a PT_DYNAMIC segment exists
  std::vector<std::string> needed;         ///< DT_NEEDED, in file order
  std::vector<std::string> rpath, runpath;  ///< split on ':'
  std::uint64_t flags_1 = 0;               ///< DT_FLAGS_1
  bool has_symtab = false;                 ///< an SHT_SYMTAB section exists
  bool debug_info = false;                 ///< a .debug_info or .zdebug_info section exists
  bool gnu_abi_tag = false;                ///< an NT_GNU_ABI_TAG note exists
  std::optional<std::string> build_id;     ///< the first NT_GNU_BUILD_ID, lower-case hex
  std::optional<std::uint64_t> arm_cpu_arch;  ///< Tag_CPU_arch (ARM files only)
};

/// Reads the ELF header, program and section headers, the dynamic section,
/// notes and ARM attributes of `data`; throws Error (code Elf) when any of
/// them is malformed or reaches past the span.
ElfFile read_elf(std::span<const std::byte> data);

}  // namespace rustimg::elf::detail
