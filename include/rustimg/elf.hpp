// rustimg/elf.hpp - ELF inspection and the "fit for a scratch image" verdict.
//
// The reader is bounds-checked over a byte span: every offset, size and count
// taken from the file is checked against the span before use, so truncated or
// hostile input gives rustimg::Error (code Elf), never a crash or an over-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rustimg/platform.hpp"

namespace rustimg::elf {

enum class FileType {
  Relocatable,    ///< ET_REL, an object file
  Executable,     ///< ET_EXEC, a non-PIE executable
  PieExecutable,  ///< ET_DYN with DF_1_PIE (or a PT_INTERP): a PIE executable
  SharedObject,   ///< ET_DYN without DF_1_PIE and PT_INTERP: a library
  Core,           ///< ET_CORE
  Other,          ///< any other e_type
};

enum class Linkage {
  Static,     ///< no PT_DYNAMIC at all
  StaticPie,  ///< PT_DYNAMIC but no PT_INTERP and no DT_NEEDED (self-relocating)
  Dynamic,    ///< needs a dynamic loader (PT_INTERP) or shared libraries (DT_NEEDED)
};

/// The C library a binary was linked against, as far as its bytes tell.
enum class LibcKind { Unknown, Glibc, Musl };

/// Why a binary cannot run on an empty (scratch) root file system. Callers
/// decide on kinds, never on message text (--allow-dynamic waives Dynamic
/// only).
enum class ProblemKind {
  NotExecutable,        ///< ET_REL, ET_CORE, a shared object or an unknown e_type
  Dynamic,              ///< needs a dynamic loader (PT_INTERP) or shared libraries (DT_NEEDED)
  UnknownArchitecture,  ///< e_machine (with class and byte order) has no OCI platform
  NotLinux,             ///< EI_OSABI is neither System V nor GNU/Linux
  PlatformMismatch,     ///< not the platform asked for (see platform_mismatch())
};

struct Problem {
  ProblemKind kind = ProblemKind::NotExecutable;
  std::string message;  ///< one sentence naming the cause and, where there is one, the fix
};

const char* to_string(FileType t) noexcept;  // "relocatable", "executable", "pie-executable", ...
const char* to_string(Linkage l) noexcept;   // "static", "static-pie", "dynamic"
const char* to_string(LibcKind l) noexcept;  // "unknown", "glibc", "musl"
const char* to_string(ProblemKind k) noexcept;  // "not-executable", "dynamic", "unknown-architecture", ...

struct Report {
  int elf_class = 0;        ///< 32 or 64
  bool big_endian = false;
  std::uint16_t machine = 0;  ///< e_machine
  std::string machine_name;   ///< "x86-64", "AArch64", "ARM", "RISC-V", ...
  /// OCI platform of the code (architecture empty when the machine is unknown
  /// to OCI); variant from .ARM.attributes for arm, "v8" never stored for arm64.
  Platform platform;
  FileType type = FileType::Other;
  Linkage linkage = Linkage::Static;
  std::optional<std::string> interpreter;  ///< PT_INTERP
  std::vector<std::string> needed;         ///< DT_NEEDED, in file order
  std::vector<std::string> rpath;          ///< DT_RPATH entries (split on ':')
  std::vector<std::string> runpath;        ///< DT_RUNPATH entries (split on ':')
  bool stripped = false;                   ///< no .symtab section
  bool debug_info = false;                 ///< has a .debug_info section
  std::optional<std::string> build_id;     ///< NT_GNU_BUILD_ID, lower-case hex
  LibcKind libc = LibcKind::Unknown;
  /// A statically linked glibc binary that contains the NSS machinery: it
  /// will try to dlopen libnss_* for getaddrinfo/getpwnam & co at run time.
  bool nss_risk = false;
  /// Strings found in the binary that show the NSS risk.
  std::vector<std::string> nss_evidence;

  /// Reasons the binary cannot run on an empty (scratch) root file system.
  /// Empty means fit.
  std::vector<Problem> problems;
  /// Things worth knowing that do not make the binary unfit (e.g. NSS risk).
  std::vector<std::string> warnings;
  /// The platform check_platform() compared the binary with; nullopt when
  /// it was not checked against one.
  std::optional<Platform> wanted_platform;

  bool fit_for_scratch() const noexcept { return problems.empty(); }
  /// Whether the binary matches wanted_platform: no PlatformMismatch problem.
  bool platform_match() const noexcept;
};

/// Inspects an ELF image held in memory. Throws rustimg::Error (code Elf)
/// for anything that is not a well-formed ELF file; the message says which
/// structure is broken (e.g. "program header table extends past end of file").
Report inspect(std::span<const std::byte> data);

/// Reads `path` and inspects it. Errors name the path: NotFound when it does
/// not exist, Io when it cannot be read, Elf when it is not a valid ELF file.
Report inspect_file(const std::filesystem::path& path);

/// Problems with running a binary described by `report` as an image for
/// `wanted` (architecture or variant mismatch). Empty means it matches.
std::vector<std::string> platform_mismatch(const Report& report, const Platform& wanted);

/// Checks `report` against `wanted`: records `wanted` in
/// report.wanted_platform and appends a PlatformMismatch problem for each
/// platform_mismatch() message (so a mismatch makes the binary unfit).
/// Returns whether it matched.
bool check_platform(Report& report, const Platform& wanted);

/// What `rustimg verify`, rustimg_verify_file() and rustimg.verify() do:
/// inspect_file(path), then check_platform() when `wanted` is set. Throws
/// what inspect_file() throws.
Report verify_file(const std::filesystem::path& path, const std::optional<Platform>& wanted = std::nullopt);

/// As verify_file(), over bytes in memory (inspect()).
Report verify(std::span<const std::byte> data, const std::optional<Platform>& wanted = std::nullopt);

/// The messages of `problems`, in order.
std::vector<std::string> messages(const std::vector<Problem>& problems);

/// The report as JSON, the shape `rustimg verify --json` prints (without
/// "path"): architecture, variant, type, linkage, interpreter (null when
/// none), needed, rpath, runpath, stripped, debug_info, build_id, libc,
/// nss_risk, nss_evidence, fit_for_scratch, problems (the messages),
/// problem_kinds (to_string of each problem's kind, in the same order), warnings, elf_class,
/// endianness, machine; and platform_match (bool) only when the report was
/// checked against a platform (wanted_platform set).
nlohmann::json to_json(const Report& report);

}  // namespace rustimg::elf
