// The "fit for a scratch image" verdict: judges what the bounds-checked
// reader (reader.cpp) found in the bytes. Pure: no I/O (inspect_file, the
// file edge, is in file.cpp).
#include "rustimg/elf.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

#include "elf/nss.hpp"
#include "elf/reader.hpp"

namespace rustimg::elf {
namespace {

using namespace detail;

// Sanity limits for the NSS evidence kept from the bytes.
constexpr std::size_t kMaxEvidence = 8;      // NSS evidence strings kept
constexpr std::size_t kMaxEvidenceLen = 64;  // length of one evidence string
// What inspect() judges NSS against: a scratch image, no nsswitch.conf.
constexpr const char* kNoNsswitch = "no /etc/nsswitch.conf (glibc's defaults, as in a scratch image)";

/// Finds `needle` anywhere in the bytes.
bool contains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(),
                     std::boyer_moore_horspool_searcher(needle.begin(), needle.end())) != haystack.end();
}

/// The NUL-terminated printable strings starting with "libnss_" (e.g.
/// "libnss_files.so.2", "libnss_%s.so%s"), deduplicated, in file order.
std::vector<std::string> libnss_strings(std::string_view bytes) {
  constexpr std::string_view prefix = "libnss_";
  std::vector<std::string> out;
  const std::boyer_moore_horspool_searcher searcher(prefix.begin(), prefix.end());
  auto it = bytes.begin();
  while (out.size() < kMaxEvidence) {
    it = std::search(it, bytes.end(), searcher);
    if (it == bytes.end()) break;
    auto end = it;
    while (end != bytes.end() && static_cast<std::size_t>(end - it) < kMaxEvidenceLen &&
           static_cast<unsigned char>(*end) >= 0x20 && static_cast<unsigned char>(*end) < 0x7f)
      ++end;
    std::string found(it, end);
    if (std::find(out.begin(), out.end(), found) == out.end()) out.push_back(std::move(found));
    it = end;
  }
  return out;
}

/// musl, for a binary without glibc's markers: a dynamic one names musl's
/// loader (/lib/ld-musl-ARCH.so.1) or libc (libc.musl-ARCH.so.1); a static one carries no name or version
/// string, only musl's strerror table, which Rust's std always links
/// (io::Error's Display). Two of its texts differ from glibc's ("Success",
/// "Invalid or incomplete multibyte or wide character"); the table's order
/// changes between musl releases, so each text is looked for on its own.
bool is_musl(const Report& rep, std::string_view bytes) {
  using namespace std::string_view_literals;
  if (rep.interpreter) return rep.interpreter->rfind("/lib/ld-musl-", 0) == 0;
  for (const auto& n : rep.needed)
    if (n.rfind("libc.musl-", 0) == 0) return true;  // Alpine's name for musl's libc.so
  return rep.linkage != Linkage::Dynamic && contains(bytes, "No error information\0"sv) &&
         contains(bytes, "Illegal byte sequence\0"sv);
}

struct MachineInfo {
  const char* name;
  const char* arch_alias;  // ELF-style name for normalize_architecture; nullptr: no OCI platform
  const char* why_not;     // when arch_alias is nullptr for this class/byte order
};

MachineInfo describe_machine(std::uint16_t machine, bool is64, bool big_endian) {
  switch (machine) {
    case kEmX8664:
      if (!is64) return {"x86-64", nullptr, "32-bit x86-64 (the x32 ABI)"};
      return {"x86-64", "x86_64", nullptr};
    case kEmAarch64:
      if (!is64) return {"AArch64", nullptr, "32-bit AArch64 (ILP32)"};
      if (big_endian) return {"AArch64", nullptr, "big-endian AArch64"};
      return {"AArch64", "aarch64", nullptr};
    case kEmArm:
      if (big_endian) return {"ARM", nullptr, "big-endian ARM"};
      return {"ARM", "arm", nullptr};
    case kEmRiscv:
      if (!is64) return {"RISC-V", nullptr, "32-bit RISC-V"};
      return {"RISC-V", "riscv64", nullptr};
    case kEm386: return {"Intel 80386", "i386", nullptr};
    case kEmPpc64:
      if (!is64) return {"PowerPC64", nullptr, "32-bit PowerPC64"};
      return {"PowerPC64", big_endian ? "ppc64" : "ppc64le", nullptr};
    case kEmS390:
      if (!is64) return {"IBM S/390", nullptr, "31-bit S/390"};
      return {"IBM S/390", "s390x", nullptr};
    case kEmLoongarch:
      if (!is64) return {"LoongArch", nullptr, "32-bit LoongArch"};
      return {"LoongArch", "loongarch64", nullptr};
    case 2: return {"SPARC", nullptr, nullptr};
    case 8: return {"MIPS", nullptr, nullptr};
    case 20: return {"PowerPC", nullptr, nullptr};
    case 43: return {"SPARC V9", nullptr, nullptr};
    default: return {nullptr, nullptr, nullptr};
  }
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

void add_verdict(Report& rep, std::uint8_t osabi, const char* missing_arch_reason) {
  switch (rep.type) {
    case FileType::Executable:
    case FileType::PieExecutable: break;
    case FileType::Relocatable:
      rep.problems.push_back({ProblemKind::NotExecutable,
                              "it is a relocatable object file (ET_REL), not an executable; link it first"});
      break;
    case FileType::SharedObject:
      rep.problems.push_back({ProblemKind::NotExecutable,
                              "it is a shared object (ET_DYN without DF_1_PIE or PT_INTERP), not an executable"});
      break;
    case FileType::Core:
      rep.problems.push_back({ProblemKind::NotExecutable, "it is a core dump (ET_CORE), not an executable"});
      break;
    case FileType::Other:
      rep.problems.push_back({ProblemKind::NotExecutable, "it is not an executable (unknown e_type)"});
      break;
  }
  if (rep.linkage == Linkage::Dynamic) {
    std::string what;
    if (rep.interpreter) what = "the dynamic loader " + *rep.interpreter;
    if (!rep.needed.empty()) {
      if (!what.empty()) what += " and ";
      what += join(rep.needed, ", ");
    }
    rep.problems.push_back({ProblemKind::Dynamic, "it is dynamically linked: it needs " + what +
                                                      ", which a scratch image lacks; build with -C "
                                                      "target-feature=+crt-static or a musl target"});
  }
  if (rep.platform.architecture.empty()) {
    std::string reason = missing_arch_reason ? missing_arch_reason : rep.machine_name;
    rep.problems.push_back({ProblemKind::UnknownArchitecture, "unknown architecture: " + reason + " (e_machine " +
                                                                  std::to_string(rep.machine) + ") has no OCI platform"});
  }
  if (osabi != kOsAbiSysv && osabi != kOsAbiGnu)
    rep.problems.push_back({ProblemKind::NotLinux, "EI_OSABI is " + std::to_string(osabi) +
                                                       ", not System V or GNU/Linux: the binary is not built for "
                                                       "Linux"});
}

}  // namespace

const char* to_string(ProblemKind k) noexcept {
  switch (k) {
    case ProblemKind::NotExecutable: return "not-executable";
    case ProblemKind::Dynamic: return "dynamic";
    case ProblemKind::UnknownArchitecture: return "unknown-architecture";
    case ProblemKind::NotLinux: return "not-linux";
    case ProblemKind::PlatformMismatch: return "platform-mismatch";
  }
  return "not-executable";
}

std::vector<std::string> messages(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  out.reserve(problems.size());
  for (const auto& p : problems) out.push_back(p.message);
  return out;
}

const char* to_string(FileType t) noexcept {
  switch (t) {
    case FileType::Relocatable: return "relocatable";
    case FileType::Executable: return "executable";
    case FileType::PieExecutable: return "pie-executable";
    case FileType::SharedObject: return "shared-object";
    case FileType::Core: return "core";
    case FileType::Other: return "other";
  }
  return "other";
}

const char* to_string(Linkage l) noexcept {
  switch (l) {
    case Linkage::Static: return "static";
    case Linkage::StaticPie: return "static-pie";
    case Linkage::Dynamic: return "dynamic";
  }
  return "dynamic";
}

const char* to_string(LibcKind l) noexcept {
  switch (l) {
    case LibcKind::Unknown: return "unknown";
    case LibcKind::Glibc: return "glibc";
    case LibcKind::Musl: return "musl";
  }
  return "unknown";
}

Report inspect(std::span<const std::byte> data) {
  const ElfFile f = read_elf(data);

  Report rep;
  rep.elf_class = f.is64 ? 64 : 32;
  rep.big_endian = f.big_endian;
  rep.machine = f.machine;
  rep.interpreter = f.interpreter;
  rep.needed = f.needed;
  rep.rpath = f.rpath;
  rep.runpath = f.runpath;
  rep.stripped = !f.has_symtab;
  rep.debug_info = f.debug_info;
  rep.build_id = f.build_id;
  const std::optional<std::uint64_t>& cpu_arch = f.arm_cpu_arch;

  // File type and linkage (file(1) rules, see specs.md §5.1).
  switch (f.type) {
    case kEtRel: rep.type = FileType::Relocatable; break;
    case kEtExec: rep.type = FileType::Executable; break;
    case kEtDyn:
      rep.type = (f.flags_1 & kDf1Pie) != 0 || rep.interpreter ? FileType::PieExecutable : FileType::SharedObject;
      break;
    case kEtCore: rep.type = FileType::Core; break;
    default: rep.type = FileType::Other; break;
  }
  if (rep.interpreter || !rep.needed.empty())
    rep.linkage = Linkage::Dynamic;
  else
    rep.linkage = f.has_dynamic ? Linkage::StaticPie : Linkage::Static;

  // Architecture.
  const MachineInfo mi = describe_machine(f.machine, f.is64, f.big_endian);
  rep.machine_name = mi.name ? mi.name : "unknown machine " + hex(f.machine);
  if (mi.arch_alias) {
    if (auto arch = normalize_architecture(mi.arch_alias)) rep.platform.architecture = *arch;
  }
  if (rep.platform.architecture == "arm") {
    rep.platform.variant = "v7";  // canonical default (containerd)
    if (cpu_arch && *cpu_arch >= 6 && *cpu_arch <= 9)
      rep.platform.variant = "v6";
    else if (cpu_arch && *cpu_arch == 14)
      rep.platform.variant = "v8";
    else if (!cpu_arch)
      rep.warnings.emplace_back("no Tag_CPU_arch in .ARM.attributes: assuming ARM variant v7");
  }

  // C library and NSS.
  const std::string_view bytes = as_chars(data);
  if (f.gnu_abi_tag || contains(bytes, "GLIBC_"))
    rep.libc = LibcKind::Glibc;
  else if (is_musl(rep, bytes))
    rep.libc = LibcKind::Musl;
  if (rep.linkage != Linkage::Dynamic && rep.libc == LibcKind::Glibc) {
    if (contains(bytes, "/etc/nsswitch.conf")) rep.nss_evidence.emplace_back("/etc/nsswitch.conf");
    for (auto& s : libnss_strings(bytes)) rep.nss_evidence.push_back(std::move(s));
  }
  if (rep.libc == LibcKind::Glibc) rep.glibc_version = glibc_version_in(bytes);

  rep.linked_libraries = linked_libraries(data);
  add_verdict(rep, f.osabi, mi.why_not);
  judge_nss(rep, NssSwitch{std::nullopt, kNoNsswitch});
  return rep;
}

std::vector<std::string> platform_mismatch(const Report& report, const Platform& wanted) {
  std::vector<std::string> out;
  if (report.platform.architecture.empty()) {
    out.push_back("the binary's machine (" + report.machine_name + ") has no OCI platform, but the image is for " +
                  wanted.to_string());
  } else if (!report.platform.satisfies(wanted)) {
    out.push_back("the binary is for " + report.platform.to_string() + ", but the image is for " +
                  wanted.to_string());
  }
  return out;
}

}  // namespace rustimg::elf
