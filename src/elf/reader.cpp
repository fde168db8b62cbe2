// The bounds-checked ELF reader over a byte span (see reader.hpp).
//
// Every integer comes from the file through Reader, which checks the offset
// and size against the span (overflow-safe) and assembles the value in the
// file's byte order. Nothing is reinterpret_cast, so misaligned, truncated or
// hostile input can only end in rustimg::Error (code Elf).
#include "elf/reader.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "rustimg/error.hpp"

namespace rustimg::elf::detail {

std::string hex(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + out;
}

namespace {

// --- constants from the System V ABI / glibc elf.h ---------------------------
constexpr std::uint8_t kClass32 = 1, kClass64 = 2;
constexpr std::uint8_t kDataLsb = 1, kDataMsb = 2;

constexpr std::uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3, kPtNote = 4;

constexpr std::uint32_t kShtSymtab = 2, kShtDynamic = 6, kShtNote = 7, kShtNobits = 8,
                        kShtArmAttributes = 0x70000003;

constexpr std::uint64_t kDtNull = 0, kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtRpath = 15,
                        kDtRunpath = 29, kDtFlags1 = 0x6ffffffb;

constexpr std::uint32_t kNtGnuAbiTag = 1, kNtGnuBuildId = 3;

// ARM EABI build attributes: Tag_File scope and Tag_CPU_arch.
constexpr std::uint64_t kArmTagFile = 1, kArmTagCpuArch = 6;

// Sanity limit for a value that is not already bounded by the file size.
constexpr std::size_t kMaxNeeded = 4096;  // DT_NEEDED entries kept

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

/// Reads a table of `count` fixed-size headers at `offset` (the program or
/// section header table), each with `read_one(file offset of the entry)`,
/// after checking that an entry of `entsize` bytes holds the `min_size` bytes
/// read and that the whole table lies inside the file.
template <class Entry, class ReadOne>
std::vector<Entry> read_header_table(const Reader& r, const std::string& entry, const char* entsize_field,
                                     std::uint64_t offset, std::uint16_t count, std::uint16_t entsize,
                                     std::uint16_t min_size, ReadOne read_one) {
  std::vector<Entry> out;
  if (count == 0) return out;
  if (entsize < min_size)
    fail(std::string(entsize_field) + " is " + std::to_string(entsize) + ", a " + entry + " needs at least " +
         std::to_string(min_size) + " bytes");
  // count and entsize are 16-bit header fields, so the product cannot overflow.
  if (!r.fits(offset, std::uint64_t{count} * entsize))
    fail(entry + " table extends past end of file (offset " + hex(offset) + ", " + std::to_string(count) +
         " entries of " + std::to_string(entsize) + " bytes, file is " + std::to_string(r.size()) + " bytes)");
  out.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) out.push_back(read_one(offset + i * entsize));
  return out;
}

// The address-sized fields (Reader::word) sit at different offsets in
// ELF32 and ELF64 headers.
std::vector<Segment> read_segments(const Reader& r, const Header& h) {
  const bool is64 = r.is64();
  return read_header_table<Segment>(r, "program header", "e_phentsize", h.phoff, h.phnum, h.phentsize,
                                    is64 ? 56 : 32, [&r, is64](std::uint64_t at) {
                                      Segment s;
                                      s.type = r.u32(at, "p_type");
                                      s.offset = r.word(at + (is64 ? 8 : 4), "p_offset");
                                      s.vaddr = r.word(at + (is64 ? 16 : 8), "p_vaddr");
                                      s.filesz = r.word(at + (is64 ? 32 : 16), "p_filesz");
                                      s.align = r.word(at + (is64 ? 48 : 28), "p_align");
                                      return s;
                                    });
}

// Extended section numbering (e_shnum == 0 with the count in section 0) is
// only produced for relocatable objects with 65280+ sections; such a file
// reads as having no section headers, which cannot change the verdict.
std::vector<Section> read_sections(const Reader& r, const Header& h) {
  const bool is64 = r.is64();
  auto out = read_header_table<Section>(r, "section header", "e_shentsize", h.shoff, h.shnum, h.shentsize,
                                        is64 ? 64 : 40, [&r, is64](std::uint64_t at) {
                                          Section s;
                                          s.name = r.u32(at, "sh_name");
                                          s.type = r.u32(at + 4, "sh_type");
                                          s.offset = r.word(at + (is64 ? 24 : 16), "sh_offset");
                                          s.size = r.word(at + (is64 ? 32 : 20), "sh_size");
                                          s.link = r.u32(at + (is64 ? 40 : 24), "sh_link");
                                          s.align = r.word(at + (is64 ? 48 : 32), "sh_addralign");
                                          return s;
                                        });
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

}  // namespace

ElfFile read_elf(std::span<const std::byte> data) {
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
  const auto sections = read_sections(r, h);

  ElfFile f;
  f.is64 = is64;
  f.big_endian = big_endian;
  f.osabi = h.osabi;
  f.type = h.type;
  f.machine = h.machine;

  // Program headers: interpreter, notes; then the dynamic section.
  NoteInfo notes;
  for (const Segment& s : segments) {
    if (s.type == kPtInterp) {
      auto text = as_chars(r.bytes(s.offset, s.filesz, "interpreter path (PT_INTERP)"));
      text = text.substr(0, text.find('\0'));
      f.interpreter = std::string(text);
    } else if (s.type == kPtNote) {
      read_notes(r.bytes(s.offset, s.filesz, "note segment (PT_NOTE)"), s.align, big_endian, "PT_NOTE segment",
                 notes);
    }
  }
  DynamicInfo dyn = read_dynamic(r, segments, sections);
  f.has_dynamic = dyn.present;
  f.needed = std::move(dyn.needed);
  f.rpath = std::move(dyn.rpath);
  f.runpath = std::move(dyn.runpath);
  f.flags_1 = dyn.flags_1;

  // Section headers: symbols, debug info, notes, ARM attributes.
  for (const Section& s : sections) {
    if (s.type == kShtSymtab) f.has_symtab = true;
    if (s.name_text == ".debug_info" || s.name_text == ".zdebug_info") f.debug_info = true;
    if (s.type == kShtNobits) continue;
    if (s.type == kShtNote) {
      const std::string where = "section " + (s.name_text.empty() ? "SHT_NOTE" : std::string(s.name_text));
      read_notes(r.bytes(s.offset, s.size, where), s.align, big_endian, where, notes);
    } else if (s.type == kShtArmAttributes && h.machine == kEmArm && !f.arm_cpu_arch) {
      f.arm_cpu_arch = arm_cpu_arch(r.bytes(s.offset, s.size, ".ARM.attributes section"), big_endian);
    }
  }
  f.gnu_abi_tag = notes.gnu_abi_tag;
  f.build_id = std::move(notes.build_id);
  return f;
}

}  // namespace rustimg::elf::detail
