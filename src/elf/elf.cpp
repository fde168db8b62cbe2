// ELF inspection: a bounds-checked reader over a byte span and the
// "fit for a scratch image" verdict built on top of it.
//
// Every integer comes from the file through Reader, which checks the offset
// and size against the span (overflow-safe) and assembles the value in the
// file's byte order. Nothing is reinterpret_cast, so misaligned, truncated or
// hostile input can only end in rustimg::Error (code Elf).
#include "rustimg/elf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string_view>
#include <system_error>
#include <utility>

#include "rustimg/error.hpp"

namespace rustimg::elf {
namespace {

// --- constants from the System V ABI / glibc elf.h ---------------------------
constexpr std::uint8_t kClass32 = 1, kClass64 = 2;
constexpr std::uint8_t kDataLsb = 1, kDataMsb = 2;
constexpr std::uint8_t kOsAbiSysv = 0, kOsAbiGnu = 3;

constexpr std::uint16_t kEtRel = 1, kEtExec = 2, kEtDyn = 3, kEtCore = 4;

constexpr std::uint16_t kEm386 = 3, kEmPpc64 = 21, kEmS390 = 22, kEmArm = 40, kEmX8664 = 62,
                        kEmAarch64 = 183, kEmRiscv = 243, kEmLoongarch = 258;

constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3, kPtNote = 4;

constexpr std::uint32_t kShtSymtab = 2, kShtDynamic = 6, kShtNote = 7, kShtNobits = 8,
                        kShtArmAttributes = 0x70000003;

constexpr std::uint64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtRpath = 15,
                        kDtRunpath = 29, kDtFlags1 = 0x6ffffffb;
constexpr std::uint64_t kDf1Pie = 0x08000000;

constexpr std::uint32_t kNtGnuAbiTag = 1, kNtGnuBuildId = 3;

// ARM EABI build attributes: Tag_File scope and Tag_CPU_arch.
constexpr std::uint64_t kArmTagFile = 1, kArmTagCpuArch = 6;

// Sanity limits for values that are not already bounded by the file size.
constexpr std::size_t kMaxNeeded = 4096;     // DT_NEEDED entries kept
constexpr std::size_t kMaxEvidence = 8;      // NSS evidence strings kept
constexpr std::size_t kMaxEvidenceLen = 64;  // length of one evidence string

std::string hex(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + out;
}

[[noreturn]] void fail(const std::string& message) { throw Error(ErrorCode::Elf, message); }

/// True when [offset, offset + size) lies inside a buffer of `total` bytes,
/// computed without overflow.
bool in_bounds(std::uint64_t offset, std::uint64_t size, std::uint64_t total) {
  return offset <= total && size <= total - offset;
}

/// Bounds-checked, byte-order aware access to the file.
class Reader {
 public:
  Reader(std::span<const std::byte> data, bool big_endian, bool is64)
      : data_(data), big_endian_(big_endian), is64_(is64) {}

  std::uint64_t size() const { return data_.size(); }
  bool is64() const { return is64_; }
  bool fits(std::uint64_t offset, std::uint64_t length) const { return in_bounds(offset, length, size()); }

  std::uint8_t u8(std::uint64_t offset, const char* what) const {
    return static_cast<std::uint8_t>(uint(offset, 1, what));
  }
  std::uint16_t u16(std::uint64_t offset, const char* what) const {
    return static_cast<std::uint16_t>(uint(offset, 2, what));
  }
  std::uint32_t u32(std::uint64_t offset, const char* what) const {
    return static_cast<std::uint32_t>(uint(offset, 4, what));
  }
  std::uint64_t u64(std::uint64_t offset, const char* what) const { return uint(offset, 8, what); }
  /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
  std::uint64_t word(std::uint64_t offset, const char* what) const { return uint(offset, is64_ ? 8 : 4, what); }

  std::span<const std::byte> bytes(std::uint64_t offset, std::uint64_t length, const std::string& what) const {
    if (!fits(offset, length))
      fail(what + " extends past end of file (offset " + hex(offset) + ", " + std::to_string(length) +
           " bytes, file is " + std::to_string(size()) + " bytes)");
    return data_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
  }

 private:
  std::uint64_t uint(std::uint64_t offset, unsigned width, const char* what) const {
    if (!fits(offset, width))
      fail(std::string("truncated file: ") + what + " at offset " + hex(offset) + " needs " +
           std::to_string(width) + " bytes, file is " + std::to_string(size()) + " bytes");
    std::uint64_t v = 0;
    for (unsigned i = 0; i < width; ++i) {
      const auto b = static_cast<std::uint64_t>(data_[static_cast<std::size_t>(offset) + i]);
      v |= big_endian_ ? b << (8 * (width - 1 - i)) : b << (8 * i);
    }
    return v;
  }

  std::span<const std::byte> data_;
  bool big_endian_;
  bool is64_;
};

/// Little/big-endian reads inside an already bounds-checked sub-span (used
/// for note and attribute payloads).
std::uint32_t load_u32(std::span<const std::byte> s, std::size_t at, bool big_endian) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto b = static_cast<std::uint32_t>(s[at + i]);
    v |= big_endian ? b << (8 * (3 - i)) : b << (8 * i);
  }
  return v;
}

std::string_view as_chars(std::span<const std::byte> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

/// Checks that a table of `count` entries of `entsize` bytes at `offset` lies
/// inside the file; `name` is e.g. "section header table".
void check_table(const Reader& r, const char* name, std::uint64_t offset, std::uint64_t count,
                 std::uint64_t entsize) {
  // count and entsize are 16-bit header fields, so the product cannot overflow.
  if (!r.fits(offset, count * entsize))
    fail(std::string(name) + " extends past end of file (offset " + hex(offset) + ", " + std::to_string(count) +
         " entries of " + std::to_string(entsize) + " bytes, file is " + std::to_string(r.size()) + " bytes)");
}

struct Header {
  std::uint16_t type = 0;
  std::uint16_t machine = 0;
  std::uint8_t osabi = 0;
  std::uint64_t phoff = 0, shoff = 0;
  std::uint16_t phentsize = 0, phnum = 0, shentsize = 0, shnum = 0, shstrndx = 0;
};

struct Segment {
  std::uint32_t type = 0;
  std::uint64_t offset = 0, vaddr = 0, filesz = 0, align = 0;
};

struct Section {
  std::uint32_t name = 0, type = 0, link = 0;
  std::uint64_t offset = 0, size = 0, align = 0;
  std::string_view name_text;
};

Header read_header(const Reader& r) {
  Header h;
  const bool is64 = r.is64();
  h.osabi = r.u8(7, "EI_OSABI");
  h.type = r.u16(16, "e_type");
  h.machine = r.u16(18, "e_machine");
  h.phoff = r.word(is64 ? 32 : 28, "e_phoff");
  h.shoff = r.word(is64 ? 40 : 32, "e_shoff");
  const std::uint64_t base = is64 ? 54 : 42;
  h.phentsize = r.u16(base, "e_phentsize");
  h.phnum = r.u16(base + 2, "e_phnum");
  h.shentsize = r.u16(base + 4, "e_shentsize");
  h.shnum = r.u16(base + 6, "e_shnum");
  h.shstrndx = r.u16(base + 8, "e_shstrndx");
  return h;
}

std::vector<Segment> read_segments(const Reader& r, const Header& h) {
  std::vector<Segment> out;
  if (h.phnum == 0) return out;
  const std::uint16_t min_size = r.is64() ? 56 : 32;
  if (h.phentsize < min_size)
    fail("e_phentsize is " + std::to_string(h.phentsize) + ", a program header needs at least " +
         std::to_string(min_size) + " bytes");
  check_table(r, "program header table", h.phoff, h.phnum, h.phentsize);
  out.reserve(h.phnum);
  for (std::uint64_t i = 0; i < h.phnum; ++i) {
    const std::uint64_t at = h.phoff + i * h.phentsize;
    Segment s;
    s.type = r.u32(at, "p_type");
    if (r.is64()) {
      s.offset = r.u64(at + 8, "p_offset");
      s.vaddr = r.u64(at + 16, "p_vaddr");
      s.filesz = r.u64(at + 32, "p_filesz");
      s.align = r.u64(at + 48, "p_align");
    } else {
      s.offset = r.u32(at + 4, "p_offset");
      s.vaddr = r.u32(at + 8, "p_vaddr");
      s.filesz = r.u32(at + 16, "p_filesz");
      s.align = r.u32(at + 28, "p_align");
    }
    out.push_back(s);
  }
  return out;
}

// Extended section numbering (e_shnum == 0 with the count in section 0) is
// only produced for relocatable objects with 65280+ sections; such a file
// reads as having no section headers, which cannot change the verdict.
std::vector<Section> read_sections(const Reader& r, const Header& h) {
  std::vector<Section> out;
  if (h.shnum == 0) return out;
  const std::uint16_t min_size = r.is64() ? 64 : 40;
  if (h.shentsize < min_size)
    fail("e_shentsize is " + std::to_string(h.shentsize) + ", a section header needs at least " +
         std::to_string(min_size) + " bytes");
  check_table(r, "section header table", h.shoff, h.shnum, h.shentsize);
  out.reserve(h.shnum);
  for (std::uint64_t i = 0; i < h.shnum; ++i) {
    const std::uint64_t at = h.shoff + i * h.shentsize;
    Section s;
    s.name = r.u32(at, "sh_name");
    s.type = r.u32(at + 4, "sh_type");
    if (r.is64()) {
      s.offset = r.u64(at + 24, "sh_offset");
      s.size = r.u64(at + 32, "sh_size");
      s.link = r.u32(at + 40, "sh_link");
      s.align = r.u64(at + 48, "sh_addralign");
    } else {
      s.offset = r.u32(at + 16, "sh_offset");
      s.size = r.u32(at + 20, "sh_size");
      s.link = r.u32(at + 24, "sh_link");
      s.align = r.u32(at + 32, "sh_addralign");
    }
    out.push_back(s);
  }
  if (h.shstrndx == 0) return out;  // SHN_UNDEF: sections have no names
  if (h.shstrndx >= out.size())
    fail("e_shstrndx " + std::to_string(h.shstrndx) + " is not a section (the file has " +
         std::to_string(out.size()) + " sections)");
  const Section& names = out[h.shstrndx];
  const auto table = as_chars(r.bytes(names.offset, names.size, "section name table"));
  for (Section& s : out) {
    if (s.name >= table.size())
      fail("section name offset " + hex(s.name) + " is past the end of the section name table (" +
           std::to_string(table.size()) + " bytes)");
    const auto rest = table.substr(s.name);
    const auto end = rest.find('\0');
    if (end == std::string_view::npos)
      fail("section name at offset " + hex(s.name) + " is not NUL-terminated inside the section name table");
    s.name_text = rest.substr(0, end);
  }
  return out;
}

/// A string table located in the file; lookups are bounds-checked.
struct StringTable {
  std::string_view text;
  std::string get(std::uint64_t offset, const char* what) const {
    if (offset >= text.size())
      fail(std::string(what) + " string offset " + hex(offset) + " is past the end of the dynamic string table (" +
           std::to_string(text.size()) + " bytes)");
    const auto rest = text.substr(static_cast<std::size_t>(offset));
    const auto end = rest.find('\0');
    if (end == std::string_view::npos)
      fail(std::string(what) + " string at offset " + hex(offset) +
           " is not NUL-terminated inside the dynamic string table");
    return std::string(rest.substr(0, end));
  }
};

/// Maps a virtual address to a file offset through the PT_LOAD segments and
/// returns how many file bytes follow it inside that segment.
std::optional<std::pair<std::uint64_t, std::uint64_t>> vaddr_to_offset(const std::vector<Segment>& segments,
                                                                      std::uint64_t vaddr) {
  for (const Segment& s : segments) {
    if (s.type != kPtLoad || vaddr < s.vaddr) continue;
    const std::uint64_t delta = vaddr - s.vaddr;
    if (delta >= s.filesz) continue;
    return std::pair{s.offset + delta, s.filesz - delta};
  }
  return std::nullopt;
}

std::vector<std::string> split_path_list(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto colon = list.find(':', start);
    out.push_back(list.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

struct DynamicInfo {
  bool present = false;
  std::vector<std::string> needed;
  std::vector<std::string> rpath, runpath;
  std::uint64_t flags_1 = 0;
};

DynamicInfo read_dynamic(const Reader& r, const std::vector<Segment>& segments,
                         const std::vector<Section>& sections) {
  DynamicInfo info;
  const auto dyn = std::find_if(segments.begin(), segments.end(),
                                [](const Segment& s) { return s.type == kPtDynamic; });
  if (dyn == segments.end()) return info;
  info.present = true;

  const auto table = r.bytes(dyn->offset, dyn->filesz, "dynamic segment (PT_DYNAMIC)");
  const std::uint64_t entsize = r.is64() ? 16 : 8;
  const std::uint64_t count = table.size() / entsize;
  std::vector<std::uint64_t> needed_offsets, rpath_offsets, runpath_offsets;
  std::optional<std::uint64_t> strtab_addr;
  std::uint64_t strsz = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = dyn->offset + i * entsize;
    const std::uint64_t tag = r.word(at, "d_tag");
    const std::uint64_t val = r.word(at + entsize / 2, "d_val");
    if (tag == kDtNull) break;
    switch (tag) {
      case kDtNeeded:
        if (needed_offsets.size() >= kMaxNeeded)
          fail("dynamic segment has more than " + std::to_string(kMaxNeeded) + " DT_NEEDED entries");
        needed_offsets.push_back(val);
        break;
      case kDtRpath: rpath_offsets.push_back(val); break;
      case kDtRunpath: runpath_offsets.push_back(val); break;
      case kDtStrtab: strtab_addr = val; break;
      case kDtStrsz: strsz = val; break;
      case kDtFlags1: info.flags_1 = val; break;
      default: break;
    }
  }
  if (needed_offsets.empty() && rpath_offsets.empty() && runpath_offsets.empty()) return info;

  // Locate the dynamic string table: DT_STRTAB through PT_LOAD, else the
  // section that the SHT_DYNAMIC section links to (.dynstr).
  StringTable strings;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> where;
  if (strtab_addr) where = vaddr_to_offset(segments, *strtab_addr);
  if (where) {
    const std::uint64_t length = std::min(strsz == 0 ? where->second : strsz, where->second);
    strings.text = as_chars(r.bytes(where->first, length, "dynamic string table (DT_STRTAB)"));
  } else {
    const auto dynsec = std::find_if(sections.begin(), sections.end(),
                                     [](const Section& s) { return s.type == kShtDynamic; });
    if (dynsec == sections.end() || dynsec->link == 0 || dynsec->link >= sections.size()) {
      if (strtab_addr)
        fail("DT_STRTAB address " + hex(*strtab_addr) +
             " is not inside any PT_LOAD segment and there is no .dynstr section to fall back on");
      fail("dynamic segment has DT_NEEDED/DT_RPATH/DT_RUNPATH entries but no DT_STRTAB");
    }
    const Section& dynstr = sections[dynsec->link];
    strings.text = as_chars(r.bytes(dynstr.offset, dynstr.size, "dynamic string table (.dynstr)"));
  }
  for (auto off : needed_offsets) info.needed.push_back(strings.get(off, "DT_NEEDED"));
  for (auto off : rpath_offsets)
    for (auto& p : split_path_list(strings.get(off, "DT_RPATH"))) info.rpath.push_back(std::move(p));
  for (auto off : runpath_offsets)
    for (auto& p : split_path_list(strings.get(off, "DT_RUNPATH"))) info.runpath.push_back(std::move(p));
  return info;
}

struct NoteInfo {
  bool gnu_abi_tag = false;
  std::optional<std::string> build_id;
};

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

/// Parses the notes in `block` (a PT_NOTE segment or SHT_NOTE section).
void read_notes(std::span<const std::byte> block, std::uint64_t align, bool big_endian, const std::string& where,
                NoteInfo& info) {
  // Notes are 4-byte aligned, except GNU property notes in 8-aligned blocks.
  const std::uint64_t a = align == 8 ? 8 : 4;
  std::uint64_t pos = 0;
  while (block.size() - pos >= 12) {
    const std::uint64_t namesz = load_u32(block, static_cast<std::size_t>(pos), big_endian);
    const std::uint64_t descsz = load_u32(block, static_cast<std::size_t>(pos + 4), big_endian);
    const std::uint32_t type = load_u32(block, static_cast<std::size_t>(pos + 8), big_endian);
    const std::uint64_t name_at = pos + 12;
    const std::uint64_t left = block.size() - name_at;
    if (namesz > left)
      fail("note in " + where + " has name size " + hex(namesz) + " but only " + std::to_string(left) +
           " bytes are left in the note block");
    const std::uint64_t desc_at = std::min<std::uint64_t>(align_up(name_at + namesz, a), block.size());
    if (descsz > block.size() - desc_at)
      fail("note in " + where + " has descriptor size " + hex(descsz) + " but only " +
           std::to_string(block.size() - desc_at) + " bytes are left in the note block");
    auto name = as_chars(block.subspan(static_cast<std::size_t>(name_at), static_cast<std::size_t>(namesz)));
    if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
    const auto desc = block.subspan(static_cast<std::size_t>(desc_at), static_cast<std::size_t>(descsz));
    if (name == "GNU") {
      if (type == kNtGnuAbiTag) info.gnu_abi_tag = true;
      if (type == kNtGnuBuildId && !desc.empty() && !info.build_id) {
        static constexpr char digits[] = "0123456789abcdef";
        std::string id;
        for (std::byte b : desc) {
          const auto v = std::to_integer<unsigned>(b);
          id += digits[v >> 4];
          id += digits[v & 0xf];
        }
        info.build_id = std::move(id);
      }
    }
    pos = std::min<std::uint64_t>(align_up(desc_at + descsz, a), block.size());
  }
}

std::uint64_t read_uleb128(std::string_view s, std::size_t& pos) {
  std::uint64_t v = 0;
  for (unsigned shift = 0; pos < s.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(s[pos++]);
    if (shift < 64) v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  fail("malformed .ARM.attributes section: ULEB128 value runs past the end of its subsection");
}

void skip_ntbs(std::string_view s, std::size_t& pos) {
  const auto end = s.find('\0', pos);
  if (end == std::string_view::npos)
    fail("malformed .ARM.attributes section: string attribute is not NUL-terminated");
  pos = end + 1;
}

/// Returns Tag_CPU_arch from the "aeabi" File-scope attributes, if present.
std::optional<std::uint64_t> arm_cpu_arch(std::span<const std::byte> section, bool big_endian) {
  const auto s = as_chars(section);
  if (s.empty() || s[0] != 'A')
    fail("malformed .ARM.attributes section: format version is not 'A'");
  std::size_t pos = 1;
  while (s.size() - pos >= 4) {
    const std::uint32_t length = load_u32(section, pos, big_endian);
    if (length < 4 || length > s.size() - pos)
      fail("malformed .ARM.attributes section: subsection length " + std::to_string(length) + " at offset " +
           std::to_string(pos) + " does not fit the " + std::to_string(s.size()) + "-byte section");
    const auto sub = s.substr(pos + 4, length - 4);
    pos += length;
    const auto vendor_end = sub.find('\0');
    if (vendor_end == std::string_view::npos || sub.substr(0, vendor_end) != "aeabi") continue;
    std::size_t p = vendor_end + 1;
    while (sub.size() - p >= 5) {  // tag byte + 4-byte size
      const std::size_t start = p;
      const std::uint64_t scope = read_uleb128(sub, p);
      if (sub.size() - p < 4) break;
      const std::uint32_t size = load_u32(section, static_cast<std::size_t>(sub.data() - s.data()) + p, big_endian);
      if (size < p - start + 4 || size > sub.size() - start)
        fail("malformed .ARM.attributes section: attribute block size " + std::to_string(size) +
             " does not fit its subsection");
      const auto attrs = sub.substr(p + 4, size - (p - start) - 4);
      p = start + size;
      if (scope != kArmTagFile) continue;
      std::size_t q = 0;
      while (q < attrs.size()) {
        const std::uint64_t tag = read_uleb128(attrs, q);
        if (tag == kArmTagCpuArch) return read_uleb128(attrs, q);
        // AEABI: Tag_compatibility (32) is ULEB128 + string; Tag_CPU_raw_name
        // (4) and Tag_CPU_name (5) are strings; above 32, odd tags are strings.
        if (tag == 32) {
          read_uleb128(attrs, q);
          skip_ntbs(attrs, q);
        } else if (tag == 4 || tag == 5 || (tag > 32 && tag % 2 == 1)) {
          skip_ntbs(attrs, q);
        } else {
          read_uleb128(attrs, q);
        }
      }
    }
  }
  return std::nullopt;
}

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
  if (rep.nss_risk)
    rep.warnings.push_back(
        "statically linked glibc with NSS (" + join(rep.nss_evidence, ", ") +
        "): user, group and host lookups (getaddrinfo, getpwnam, ...) will try to dlopen libnss_* "
        "modules, which a scratch image lacks; use a musl target, avoid NSS lookups, or use the "
        "static base with /etc/nsswitch.conf");
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
  if (data.empty()) fail("not an ELF file (it is empty)");
  if (data.size() < 4 || data[0] != std::byte{0x7f} || data[1] != std::byte{'E'} || data[2] != std::byte{'L'} ||
      data[3] != std::byte{'F'})
    fail("not an ELF file (no \\x7fELF magic at the start)");
  if (data.size() < 16)
    fail("truncated ELF header: the file is " + std::to_string(data.size()) + " bytes, e_ident alone needs 16");
  const auto ei_class = std::to_integer<std::uint8_t>(data[4]);
  const auto ei_data = std::to_integer<std::uint8_t>(data[5]);
  if (ei_class != kClass32 && ei_class != kClass64)
    fail("unsupported ELF class " + std::to_string(ei_class) + " (EI_CLASS must be 1 for ELF32 or 2 for ELF64)");
  if (ei_data != kDataLsb && ei_data != kDataMsb)
    fail("unsupported ELF byte order " + std::to_string(ei_data) + " (EI_DATA must be 1 for LSB or 2 for MSB)");
  const bool is64 = ei_class == kClass64;
  const bool big_endian = ei_data == kDataMsb;
  const std::size_t header_size = is64 ? 64 : 52;
  if (data.size() < header_size)
    fail("truncated ELF header: the file is " + std::to_string(data.size()) + " bytes, an ELF" +
         (is64 ? "64" : "32") + " header needs " + std::to_string(header_size));

  const Reader r(data, big_endian, is64);
  const Header h = read_header(r);
  const auto segments = read_segments(r, h);
  auto sections = read_sections(r, h);

  Report rep;
  rep.elf_class = is64 ? 64 : 32;
  rep.big_endian = big_endian;
  rep.machine = h.machine;

  // Program headers: interpreter, notes; then the dynamic section.
  NoteInfo notes;
  for (const Segment& s : segments) {
    if (s.type == kPtInterp) {
      auto text = as_chars(r.bytes(s.offset, s.filesz, "interpreter path (PT_INTERP)"));
      text = text.substr(0, text.find('\0'));
      rep.interpreter = std::string(text);
    } else if (s.type == kPtNote) {
      read_notes(r.bytes(s.offset, s.filesz, "note segment (PT_NOTE)"), s.align, big_endian, "PT_NOTE segment",
                 notes);
    }
  }
  const DynamicInfo dyn = read_dynamic(r, segments, sections);
  rep.needed = dyn.needed;
  rep.rpath = dyn.rpath;
  rep.runpath = dyn.runpath;

  // Section headers: symbols, debug info, notes, ARM attributes.
  rep.stripped = true;
  std::optional<std::uint64_t> cpu_arch;
  for (const Section& s : sections) {
    if (s.type == kShtSymtab) rep.stripped = false;
    if (s.name_text == ".debug_info" || s.name_text == ".zdebug_info") rep.debug_info = true;
    if (s.type == kShtNobits) continue;
    if (s.type == kShtNote) {
      const std::string where = "section " + (s.name_text.empty() ? "SHT_NOTE" : std::string(s.name_text));
      read_notes(r.bytes(s.offset, s.size, where), s.align, big_endian, where, notes);
    } else if (s.type == kShtArmAttributes && h.machine == kEmArm && !cpu_arch) {
      cpu_arch = arm_cpu_arch(r.bytes(s.offset, s.size, ".ARM.attributes section"), big_endian);
    }
  }
  rep.build_id = notes.build_id;

  // File type and linkage (file(1) rules, see specs.md §5.1).
  switch (h.type) {
    case kEtRel: rep.type = FileType::Relocatable; break;
    case kEtExec: rep.type = FileType::Executable; break;
    case kEtDyn:
      rep.type = (dyn.flags_1 & kDf1Pie) != 0 || rep.interpreter ? FileType::PieExecutable : FileType::SharedObject;
      break;
    case kEtCore: rep.type = FileType::Core; break;
    default: rep.type = FileType::Other; break;
  }
  if (rep.interpreter || !rep.needed.empty())
    rep.linkage = Linkage::Dynamic;
  else
    rep.linkage = dyn.present ? Linkage::StaticPie : Linkage::Static;

  // Architecture.
  const MachineInfo mi = describe_machine(h.machine, is64, big_endian);
  rep.machine_name = mi.name ? mi.name : "unknown machine " + hex(h.machine);
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
  if (notes.gnu_abi_tag || contains(bytes, "GLIBC_")) rep.libc = LibcKind::Glibc;
  if (rep.linkage != Linkage::Dynamic && rep.libc == LibcKind::Glibc) {
    if (contains(bytes, "/etc/nsswitch.conf")) rep.nss_evidence.emplace_back("/etc/nsswitch.conf");
    for (auto& s : libnss_strings(bytes)) rep.nss_evidence.push_back(std::move(s));
    rep.nss_risk = !rep.nss_evidence.empty();
  }

  add_verdict(rep, h.osabi, mi.why_not);
  return rep;
}

namespace {

/// A read-only view of a whole file: mmap'd when possible, else read.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(path, "cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      throw_errno(path, "cannot stat");
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw Error(ErrorCode::Io, path.string() + ": is a directory, not an ELF file");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error(ErrorCode::Io, path.string() + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        errno = e;
        throw_errno(path, "cannot map");
      }
      data_ = p;
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

 private:
  [[noreturn]] static void throw_errno(const std::filesystem::path& path, const char* what) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) throw Error(ErrorCode::NotFound, path.string() + ": no such file");
    throw Error(ErrorCode::Io, path.string() + ": " + what + ": " + std::generic_category().message(e));
  }

  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

Report inspect_file(const std::filesystem::path& path) {
  const MappedFile file(path);
  try {
    return inspect(file.bytes());
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
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
