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

/// The C library a binary was linked against, as far as its bytes tell:
/// glibc by its ABI note or symbol versions; musl by its loader, or, when
/// static, by musl's own strerror texts (it embeds no name or version).
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

/// A C library linked into the binary, recognised by the identifying strings
/// it embeds (its version text, copyright or source id). Only libraries whose
/// markers survived linking are found: a miss is possible, a false claim is
/// avoided (a Rust crate's text that merely mentions "OpenSSL" is no marker).
struct LinkedLibrary {
  std::string name;     ///< "OpenSSL", "BoringSSL", "AWS-LC", "LibreSSL", "zlib", "SQLite", "libcurl", "bzip2"
  std::string version;  ///< e.g. "3.0.19"; empty when the bytes do not tell it
  bool operator==(const LinkedLibrary&) const = default;
};

/// "OpenSSL 3.0.19", or the name alone when the version is unknown.
std::string to_string(const LinkedLibrary& l);

/// The C libraries recognised in an ELF image's bytes, at most one entry per
/// name, in a fixed order (TLS libraries, then zlib, SQLite, libcurl, bzip2).
/// Pure and linear in the size of `data`.
std::vector<LinkedLibrary> linked_libraries(std::span<const std::byte> data);

/// An NSS lookup a statically linked glibc cannot answer as nsswitch.conf
/// asks: the service is not built into the binary's libc, so it needs a
/// loadable module (libnss_SERVICE.so.2), which a static binary can load
/// only from the identical glibc's shared libraries (absent from scratch and
/// the static base).
/// glibc 2.34 and later build "files" and "dns" in; older ones build in none.
struct NssLookup {
  std::string database;  ///< "hosts", "passwd", "group", ...
  std::string service;   ///< "mdns4_minimal", "sss", "compat"; "files"/"dns" before glibc 2.34
  std::string module;    ///< "libnss_mdns4_minimal.so.2"
  /// No built-in service can be reached for the database: every such lookup
  /// fails (else only the answers this service alone would give are missing).
  bool every_lookup = false;
  bool operator==(const NssLookup&) const = default;
};

/// The /etc/nsswitch.conf a binary will see at run time, for judge_nss().
struct NssSwitch {
  std::optional<std::string> text;  ///< nullopt: no file (glibc's built-in defaults)
  std::string origin;               ///< what it is, for messages: "the static base's /etc/nsswitch.conf"
};

/// Largest nsswitch.conf judged; callers reading one refuse bigger files.
inline constexpr std::size_t kMaxNsswitchBytes = 64 * 1024;

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
  /// glibc's version: "2.36" from the banner a static glibc embeds ("GNU C
  /// Library ... release version 2.36."), else a lower bound (">=2.35") from
  /// the tunables it names; nullopt when the bytes do not tell (a dynamic
  /// binary, musl, an old glibc without either).
  std::optional<std::string> glibc_version;
  /// A statically linked glibc binary with the NSS machinery, some of whose
  /// lookups cannot be answered as the judged /etc/nsswitch.conf asks (see
  /// nss_failing and judge_nss()): true only for such a real risk.
  bool nss_risk = false;
  /// Strings found in the binary that show it has the NSS machinery
  /// ("/etc/nsswitch.conf", "libnss_%s.so%s", ...).
  std::vector<std::string> nss_evidence;
  /// The lookups that need a module the binary cannot load (nss_risk).
  std::vector<NssLookup> nss_failing;
  /// The /etc/nsswitch.conf the NSS verdict was judged against ("glibc's
  /// defaults (no /etc/nsswitch.conf, as in scratch)", "the static base's
  /// /etc/nsswitch.conf", ...); empty when there was nothing to judge.
  std::string nss_checked_against;
  /// C libraries statically linked into the binary (linked_libraries()).
  std::vector<LinkedLibrary> linked_libraries;

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

/// (Re)judges the NSS verdict of `report` against `conf`: sets nss_risk,
/// nss_failing and nss_checked_against, and replaces the NSS warning. Only a
/// statically linked glibc binary with NSS machinery (nss_evidence) can be
/// at risk; with glibc_version unknown, the lookups that would fail before
/// glibc 2.34 are reported and the message says the version is unknown.
/// musl has no NSS: for a musl binary nothing is at risk and there is no
/// NSS warning.
/// inspect() judges against NssSwitch{} (glibc's defaults, as in scratch).
/// Follows glibc's [STATUS=action] blocks: a module reached only after a
/// built-in service failed (e.g. "files [NOTFOUND=return] mdns4") is no
/// risk; a syntax error there is a risk (glibc rejects the whole file).
/// Pure: `conf.text` is the file's content; throws InvalidArgument, naming
/// `conf.origin`, when it is over kMaxNsswitchBytes.
void judge_nss(Report& report, const NssSwitch& conf);

/// Reads the nsswitch.conf at `path` (a regular file or a pipe) for
/// judge_nss(), described as `origin`. Throws NotFound when it is missing,
/// Io when unreadable, InvalidArgument when it is a directory or another
/// kind of file, or over kMaxNsswitchBytes; each names the path.
NssSwitch read_nsswitch(const std::filesystem::path& path, std::string origin);

/// The messages of `problems`, in order.
std::vector<std::string> messages(const std::vector<Problem>& problems);

/// The report as JSON, the shape `rustimg verify --json` prints (without
/// "path"): architecture, variant, type, linkage, interpreter (null when
/// none), needed, rpath, runpath, stripped, debug_info, build_id, libc,
/// glibc_version (null when unknown), nss_risk, nss_evidence, nss_failing
/// ([{"database", "service", "module", "every_lookup"}]), nss_checked_against
/// (null when not judged), linked_libraries ([{"name", "version"}], version
/// null when unknown), fit_for_scratch, problems (the messages),
/// problem_kinds (to_string of each problem's kind, in the same order), warnings, elf_class,
/// endianness, machine; libc_version (glibc_version for glibc, null otherwise:
/// a musl program carries no version of its libc); and platform_match (bool) only when the report was
/// checked against a platform (wanted_platform set).
nlohmann::json to_json(const Report& report);

}  // namespace rustimg::elf
