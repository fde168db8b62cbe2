// Unit tests for the ELF reader: images are built in memory by a small
// builder, so every class/byte order/linkage and every kind of corruption can
// be produced without a cross toolchain.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"
#include "rustimg/platform.hpp"

namespace relf = rustimg::elf;
using rustimg::ErrorCode;
using namespace std::string_literals;

namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kBase = 0x400000;  // p_vaddr of the one PT_LOAD segment

// What the test wants in the image.
struct ElfSpec {
  bool is64 = true;
  bool big = false;
  std::uint16_t type = 2;  // ET_EXEC
  std::uint16_t machine = 62;  // EM_X86_64
  std::uint8_t osabi = 0;
  std::optional<std::string> interp;
  bool dynamic = false;  // emit PT_DYNAMIC (with DT_STRTAB, DT_STRSZ, DT_DEBUG)
  std::vector<std::string> needed;
  std::optional<std::string> rpath, runpath;
  std::uint64_t flags1 = 0;
  bool load_segment = true;  // a PT_LOAD mapping the whole file at kBase
  Bytes build_id;
  bool abi_tag = false;
  bool section_headers = true;
  bool symtab = false;
  bool debug_info = false;
  std::optional<Bytes> arm_attributes;
  std::string extra;  // raw bytes stored somewhere in the file
};

// Where the builder put things, for tests that corrupt them.
struct Built {
  Bytes bytes;
  std::uint64_t phoff = 0, shoff = 0;
  std::size_t dynamic_phdr = 0, note_phdr = 0;  // program header indices
  std::uint64_t dynamic_off = 0, notes_off = 0;
};

class Encoder {
 public:
  Encoder(bool is64, bool big) : is64_(is64), big_(big) {}
  void put(Bytes& b, std::uint64_t at, std::uint64_t v, unsigned width) const {
    if (b.size() < at + width) b.resize(at + width);
    for (unsigned i = 0; i < width; ++i) {
      const unsigned shift = big_ ? 8 * (width - 1 - i) : 8 * i;
      b[at + i] = static_cast<std::byte>((v >> shift) & 0xff);
    }
  }
  void add(Bytes& b, std::uint64_t v, unsigned width) const { put(b, b.size(), v, width); }
  void add_word(Bytes& b, std::uint64_t v) const { add(b, v, is64_ ? 8 : 4); }

 private:
  bool is64_, big_;
};

Bytes bytes_of(const std::string& s) {
  Bytes out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

void pad_to(Bytes& b, std::size_t align) {
  while (b.size() % align != 0) b.push_back(std::byte{0});
}

Bytes gnu_note(const Encoder& e, std::uint32_t type, const Bytes& desc) {
  Bytes n;
  e.add(n, 4, 4);
  e.add(n, desc.size(), 4);
  e.add(n, type, 4);
  append(n, bytes_of(std::string("GNU\0", 4)));
  append(n, desc);
  pad_to(n, 4);
  return n;
}

void uleb(Bytes& b, std::uint64_t v) {
  do {
    auto byte = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
    if (v != 0) byte |= 0x80;
    b.push_back(static_cast<std::byte>(byte));
  } while (v != 0);
}

// An .ARM.attributes section as GNU as writes it, with Tag_CPU_arch = arch
// (or no Tag_CPU_arch when arch is empty).
Bytes arm_attributes(std::optional<std::uint64_t> arch) {
  const Encoder e(false, false);
  Bytes attrs;
  uleb(attrs, 4);  // Tag_CPU_raw_name, a string
  append(attrs, bytes_of(std::string("cortex-a8\0", 10)));
  uleb(attrs, 5);  // Tag_CPU_name, a string
  append(attrs, bytes_of(std::string("7-A\0", 4)));
  uleb(attrs, 32);  // Tag_compatibility: ULEB128 flag + string
  uleb(attrs, 0);
  append(attrs, bytes_of(std::string("\0", 1)));
  if (arch) {
    uleb(attrs, 6);
    uleb(attrs, *arch);
  }
  uleb(attrs, 7);  // Tag_CPU_arch_profile 'A'
  uleb(attrs, 'A');
  uleb(attrs, 67);  // Tag_conformance, a string
  append(attrs, bytes_of(std::string("2.09\0", 5)));
  Bytes file_scope;
  uleb(file_scope, 1);  // Tag_File
  e.add(file_scope, 1 + 4 + attrs.size(), 4);
  append(file_scope, attrs);
  const Bytes vendor = bytes_of(std::string("aeabi\0", 6));
  Bytes out = bytes_of("A");
  e.add(out, 4 + vendor.size() + file_scope.size(), 4);
  append(out, vendor);
  append(out, file_scope);
  return out;
}

Built build(const ElfSpec& s) {
  const Encoder e(s.is64, s.big);
  const std::uint64_t ehsize = s.is64 ? 64 : 52, phentsize = s.is64 ? 56 : 32, shentsize = s.is64 ? 64 : 40;
  const bool notes = !s.build_id.empty() || s.abi_tag;

  struct Phdr {
    std::uint32_t type;
    std::uint64_t offset, size, align;
  };
  struct Shdr {
    std::string name;
    std::uint32_t type;
    std::uint64_t offset, size;
    std::uint32_t link = 0;  // a final section index (the null section is 0)
    std::uint64_t align = 1;
  };
  std::vector<Phdr> phdrs;
  std::vector<Shdr> shdrs;
  Built out;

  const std::size_t phnum = (s.load_segment ? 1 : 0) + (s.interp ? 1 : 0) + (s.dynamic ? 1 : 0) + (notes ? 1 : 0);
  Bytes b(ehsize + phnum * phentsize);
  auto place = [&](const Bytes& blob, std::uint64_t align) {
    pad_to(b, align);
    const std::uint64_t at = b.size();
    append(b, blob);
    return at;
  };

  if (s.load_segment) phdrs.push_back({1, 0, 0, 0x1000});  // size filled in at the end
  if (s.interp) {
    const Bytes blob = bytes_of(*s.interp + '\0');
    const auto at = place(blob, 1);
    phdrs.push_back({3, at, blob.size(), 1});
    shdrs.push_back({".interp", 1, at, blob.size()});
  }
  if (s.dynamic) {
    std::string strtab(1, '\0');
    auto intern = [&](const std::string& str) {
      const auto off = strtab.size();
      strtab += str + '\0';
      return off;
    };
    std::vector<std::pair<std::uint64_t, std::uint64_t>> entries;
    for (const auto& n : s.needed) entries.emplace_back(1, intern(n));
    if (s.rpath) entries.emplace_back(15, intern(*s.rpath));
    if (s.runpath) entries.emplace_back(29, intern(*s.runpath));
    const auto dynstr_at = place(bytes_of(strtab), 1);
    shdrs.push_back({".dynstr", 3, dynstr_at, strtab.size()});
    entries.emplace_back(5, kBase + dynstr_at);
    entries.emplace_back(10, strtab.size());
    entries.emplace_back(21, 0);  // DT_DEBUG
    if (s.flags1 != 0) entries.emplace_back(0x6ffffffb, s.flags1);
    entries.emplace_back(0, 0);
    Bytes dyn;
    for (const auto& [tag, val] : entries) {
      e.add_word(dyn, tag);
      e.add_word(dyn, val);
    }
    out.dynamic_off = place(dyn, 8);
    out.dynamic_phdr = phdrs.size();
    phdrs.push_back({2, out.dynamic_off, dyn.size(), 8});
    // .dynstr is the last entry so far; +1 for the null section at index 0.
    shdrs.push_back({".dynamic", 6, out.dynamic_off, dyn.size(), static_cast<std::uint32_t>(shdrs.size())});
  }
  if (notes) {
    pad_to(b, 4);
    out.notes_off = b.size();
    if (!s.build_id.empty()) {
      const Bytes n = gnu_note(e, 3, s.build_id);
      shdrs.push_back({".note.gnu.build-id", 7, place(n, 4), n.size(), 0, 4});
    }
    if (s.abi_tag) {
      Bytes desc;
      for (std::uint64_t v : {0, 3, 2, 0}) e.add(desc, v, 4);
      const Bytes n = gnu_note(e, 1, desc);
      shdrs.push_back({".note.ABI-tag", 7, place(n, 4), n.size(), 0, 4});
    }
    out.note_phdr = phdrs.size();
    phdrs.push_back({4, out.notes_off, b.size() - out.notes_off, 4});
  }
  if (s.symtab) shdrs.push_back({".symtab", 2, place(Bytes(s.is64 ? 24 : 16), 8), s.is64 ? 24u : 16u});
  if (s.debug_info) shdrs.push_back({".debug_info", 1, place(Bytes(16, std::byte{0x11}), 1), 16});
  if (s.arm_attributes)
    shdrs.push_back({".ARM.attributes", 0x70000003, place(*s.arm_attributes, 1), s.arm_attributes->size()});
  if (!s.extra.empty()) place(bytes_of(s.extra), 1);

  std::uint16_t shnum = 0, shstrndx = 0;
  if (s.section_headers) {
    std::string names(1, '\0');
    std::vector<std::uint64_t> name_offsets;
    shdrs.push_back({".shstrtab", 3, 0, 0});
    for (const auto& sh : shdrs) {
      name_offsets.push_back(names.size());
      names += sh.name + '\0';
    }
    shdrs.back().offset = place(bytes_of(names), 1);
    shdrs.back().size = names.size();
    out.shoff = b.size() + (8 - b.size() % 8) % 8;
    pad_to(b, 8);
    b.resize(out.shoff + shentsize * (shdrs.size() + 1));  // + the null section
    for (std::size_t i = 0; i < shdrs.size(); ++i) {
      const auto& sh = shdrs[i];
      const std::uint64_t at = out.shoff + (i + 1) * shentsize;
      e.put(b, at, name_offsets[i], 4);
      e.put(b, at + 4, sh.type, 4);
      if (s.is64) {
        e.put(b, at + 24, sh.offset, 8);
        e.put(b, at + 32, sh.size, 8);
        e.put(b, at + 40, sh.link, 4);
        e.put(b, at + 48, sh.align, 8);
      } else {
        e.put(b, at + 16, sh.offset, 4);
        e.put(b, at + 20, sh.size, 4);
        e.put(b, at + 24, sh.link, 4);
        e.put(b, at + 32, sh.align, 4);
      }
    }
    shnum = static_cast<std::uint16_t>(shdrs.size() + 1);
    shstrndx = static_cast<std::uint16_t>(shdrs.size());
  }

  if (s.load_segment) phdrs[0].size = b.size();
  out.phoff = ehsize;
  for (std::size_t i = 0; i < phdrs.size(); ++i) {
    const auto& ph = phdrs[i];
    const std::uint64_t at = ehsize + i * phentsize;
    e.put(b, at, ph.type, 4);
    const std::uint64_t vaddr = kBase + ph.offset;
    if (s.is64) {
      e.put(b, at + 8, ph.offset, 8);
      e.put(b, at + 16, vaddr, 8);
      e.put(b, at + 24, vaddr, 8);
      e.put(b, at + 32, ph.size, 8);
      e.put(b, at + 40, ph.size, 8);
      e.put(b, at + 48, ph.align, 8);
    } else {
      e.put(b, at + 4, ph.offset, 4);
      e.put(b, at + 8, vaddr, 4);
      e.put(b, at + 12, vaddr, 4);
      e.put(b, at + 16, ph.size, 4);
      e.put(b, at + 20, ph.size, 4);
      e.put(b, at + 28, ph.align, 4);
    }
  }

  // ELF header.
  for (std::size_t i = 0; i < 4; ++i) b[i] = static_cast<std::byte>("\x7f" "ELF"[i]);
  b[4] = std::byte{static_cast<unsigned char>(s.is64 ? 2 : 1)};
  b[5] = std::byte{static_cast<unsigned char>(s.big ? 2 : 1)};
  b[6] = std::byte{1};
  b[7] = std::byte{s.osabi};
  e.put(b, 16, s.type, 2);
  e.put(b, 18, s.machine, 2);
  e.put(b, 20, 1, 4);
  const std::uint64_t base = s.is64 ? 54 : 42;
  e.put(b, s.is64 ? 32 : 28, phdrs.empty() ? 0 : out.phoff, s.is64 ? 8 : 4);
  e.put(b, s.is64 ? 40 : 32, out.shoff, s.is64 ? 8 : 4);
  e.put(b, base - 2, ehsize, 2);
  e.put(b, base, phentsize, 2);
  e.put(b, base + 2, phdrs.size(), 2);
  e.put(b, base + 4, shentsize, 2);
  e.put(b, base + 6, shnum, 2);
  e.put(b, base + 8, shstrndx, 2);
  out.bytes = std::move(b);
  return out;
}

relf::Report inspect(const Built& b) { return relf::inspect(b.bytes); }

// Overwrites an integer in a little-endian image.
void patch(Bytes& b, std::uint64_t at, std::uint64_t v, unsigned width) { Encoder(true, false).put(b, at, v, width); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool any_contains(const std::vector<std::string>& items, const std::string& needle) {
  for (const auto& i : items)
    if (contains(i, needle)) return true;
  return false;
}

bool any_contains(const std::vector<relf::Problem>& problems, const std::string& needle) {
  for (const auto& p : problems)
    if (contains(p.message, needle)) return true;
  return false;
}

/// The kinds of `r`'s problems, in order, by name.
std::vector<std::string> kinds(const relf::Report& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back(relf::to_string(p.kind));
  return out;
}

// Checks that inspecting `bytes` fails with code Elf and a message holding
// every one of `needles`.
void expect_elf_error(const Bytes& bytes, std::initializer_list<std::string> needles) {
  try {
    relf::inspect(bytes);
    BOOST_FAIL("expected rustimg::Error for a malformed image");
  } catch (const rustimg::Error& err) {
    BOOST_TEST(static_cast<int>(err.code()) == static_cast<int>(ErrorCode::Elf));
    const std::string msg = err.what();
    for (const auto& n : needles) BOOST_TEST(contains(msg, n), "message \"" << msg << "\" lacks \"" << n << "\"");
  }
}

ElfSpec static_pie() {
  ElfSpec s;
  s.type = 3;
  s.dynamic = true;
  s.flags1 = 0x08000000;
  return s;
}

ElfSpec dynamic_pie() {
  ElfSpec s = static_pie();
  s.interp = "/lib64/ld-linux-x86-64.so.2";
  s.needed = {"libc.so.6", "libm.so.6"};
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(elf)

BOOST_AUTO_TEST_CASE(static_executable_is_fit) {
  ElfSpec s;
  s.abi_tag = true;
  const auto r = inspect(build(s));
  BOOST_TEST(r.elf_class == 64);
  BOOST_TEST(!r.big_endian);
  BOOST_TEST(r.machine == 62);
  BOOST_TEST(r.machine_name == "x86-64");
  BOOST_TEST(r.platform.to_string() == "linux/amd64");
  BOOST_TEST(relf::to_string(r.type) == std::string("executable"));
  BOOST_TEST(relf::to_string(r.linkage) == std::string("static"));
  BOOST_TEST(!r.interpreter.has_value());
  BOOST_TEST(r.needed.empty());
  BOOST_TEST(relf::to_string(r.libc) == std::string("glibc"));
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(r.problems.empty());
  BOOST_TEST(r.warnings.empty());
  BOOST_TEST(r.fit_for_scratch());
}

BOOST_AUTO_TEST_CASE(static_pie_is_fit) {
  const auto r = inspect(build(static_pie()));
  BOOST_TEST(relf::to_string(r.type) == std::string("pie-executable"));
  BOOST_TEST(relf::to_string(r.linkage) == std::string("static-pie"));
  BOOST_TEST(r.fit_for_scratch());
}

BOOST_AUTO_TEST_CASE(dynamic_pie_needs_loader) {
  ElfSpec s = dynamic_pie();
  s.rpath = "$ORIGIN/../lib:/opt/lib";
  s.runpath = "/usr/local/lib";
  const auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.type) == std::string("pie-executable"));
  BOOST_TEST(relf::to_string(r.linkage) == std::string("dynamic"));
  BOOST_TEST(r.interpreter.value_or("") == "/lib64/ld-linux-x86-64.so.2");
  BOOST_TEST(r.needed == (std::vector<std::string>{"libc.so.6", "libm.so.6"}), boost::test_tools::per_element());
  BOOST_TEST(r.rpath == (std::vector<std::string>{"$ORIGIN/../lib", "/opt/lib"}), boost::test_tools::per_element());
  BOOST_TEST(r.runpath == (std::vector<std::string>{"/usr/local/lib"}), boost::test_tools::per_element());
  BOOST_TEST(!r.fit_for_scratch());
  BOOST_TEST_REQUIRE(r.problems.size() == 1u);
  BOOST_TEST(contains(r.problems[0].message, "/lib64/ld-linux-x86-64.so.2"));
  BOOST_TEST(contains(r.problems[0].message, "libc.so.6"));
  BOOST_TEST(contains(r.problems[0].message, "+crt-static"));
  BOOST_TEST(kinds(r) == std::vector<std::string>{"dynamic"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(needed_without_interpreter_is_dynamic) {
  ElfSpec s = static_pie();
  s.needed = {"libfoo.so"};
  const auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.linkage) == std::string("dynamic"));
  BOOST_TEST(!r.interpreter.has_value());
  BOOST_TEST(any_contains(r.problems, "libfoo.so"));
}

BOOST_AUTO_TEST_CASE(interpreter_without_dynamic_is_dynamic) {
  ElfSpec s;
  s.interp = "/lib/ld-linux-aarch64.so.1";
  const auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.linkage) == std::string("dynamic"));
  BOOST_TEST(relf::to_string(r.type) == std::string("executable"));
  BOOST_TEST(any_contains(r.problems, "dynamic loader /lib/ld-linux-aarch64.so.1"));
}

BOOST_AUTO_TEST_CASE(et_dyn_with_interp_but_no_pie_flag_is_pie) {
  ElfSpec s = dynamic_pie();
  s.flags1 = 0;
  const auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.type) == std::string("pie-executable"));
}

BOOST_AUTO_TEST_CASE(shared_object_is_not_an_executable) {
  ElfSpec s;
  s.type = 3;
  s.dynamic = true;
  s.needed = {"libc.so.6"};
  const auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.type) == std::string("shared-object"));
  BOOST_TEST(any_contains(r.problems, "shared object"));
  BOOST_TEST(any_contains(r.problems, "not an executable"));
}

BOOST_AUTO_TEST_CASE(relocatable_and_core_are_not_executables) {
  ElfSpec s;
  s.type = 1;
  auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.type) == std::string("relocatable"));
  BOOST_TEST(any_contains(r.problems, "relocatable"));
  s.type = 4;
  r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.type) == std::string("core"));
  BOOST_TEST(any_contains(r.problems, "core dump"));
}

BOOST_AUTO_TEST_CASE(dynstr_found_through_section_headers_without_pt_load) {
  ElfSpec s = dynamic_pie();
  s.load_segment = false;
  const auto r = inspect(build(s));
  BOOST_TEST(r.needed == (std::vector<std::string>{"libc.so.6", "libm.so.6"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dynstr_unreachable_is_an_error) {
  ElfSpec s = dynamic_pie();
  s.load_segment = false;
  s.section_headers = false;
  expect_elf_error(build(s).bytes, {"DT_STRTAB address 0x", "not inside any PT_LOAD segment"});
}

BOOST_AUTO_TEST_CASE(elf32_big_endian_dynamic) {
  ElfSpec s = dynamic_pie();
  s.is64 = false;
  s.big = true;
  s.machine = 20;  // EM_PPC
  s.interp = "/lib/ld.so.1";
  s.runpath = "/a:/b";
  s.build_id = {std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}};
  const auto r = inspect(build(s));
  BOOST_TEST(r.elf_class == 32);
  BOOST_TEST(r.big_endian);
  BOOST_TEST(r.machine == 20);
  BOOST_TEST(r.machine_name == "PowerPC");
  BOOST_TEST(r.interpreter.value_or("") == "/lib/ld.so.1");
  BOOST_TEST(r.needed == (std::vector<std::string>{"libc.so.6", "libm.so.6"}), boost::test_tools::per_element());
  BOOST_TEST(r.runpath == (std::vector<std::string>{"/a", "/b"}), boost::test_tools::per_element());
  BOOST_TEST(r.build_id.value_or("") == "deadbeef");
  BOOST_TEST(r.platform.architecture.empty());
  BOOST_TEST(any_contains(r.problems, "unknown architecture"));
}

BOOST_AUTO_TEST_CASE(elf64_big_endian_static_pie) {
  ElfSpec s = static_pie();
  s.big = true;
  s.machine = 22;  // EM_S390
  s.build_id = {std::byte{0x01}, std::byte{0x23}};
  const auto r = inspect(build(s));
  BOOST_TEST(r.big_endian);
  BOOST_TEST(r.platform.to_string() == "linux/s390x");
  BOOST_TEST(relf::to_string(r.linkage) == std::string("static-pie"));
  BOOST_TEST(r.build_id.value_or("") == "0123");
  BOOST_TEST(r.fit_for_scratch());
}

BOOST_AUTO_TEST_CASE(elf32_little_endian_static) {
  ElfSpec s;
  s.is64 = false;
  s.machine = 3;  // EM_386
  s.symtab = true;
  const auto r = inspect(build(s));
  BOOST_TEST(r.elf_class == 32);
  BOOST_TEST(r.platform.to_string() == "linux/386");
  BOOST_TEST(!r.stripped);
  BOOST_TEST(r.fit_for_scratch());
}

BOOST_AUTO_TEST_CASE(machine_to_oci_architecture) {
  struct Case {
    std::uint16_t machine;
    bool is64, big;
    std::string platform;  // empty: no OCI platform
  };
  const std::vector<Case> cases{
      {62, true, false, "linux/amd64"},    {62, false, false, ""},             // x32
      {183, true, false, "linux/arm64"},   {183, true, true, ""},              // aarch64_be
      {40, false, false, "linux/arm/v7"},  {40, false, true, ""},              // armeb
      {243, true, false, "linux/riscv64"}, {243, false, false, ""},            // riscv32
      {3, false, false, "linux/386"},      {21, true, false, "linux/ppc64le"},
      {21, true, true, "linux/ppc64"},     {22, true, true, "linux/s390x"},
      {258, true, false, "linux/loong64"}, {0x1234, true, false, ""},
  };
  for (const auto& c : cases) {
    ElfSpec s;
    s.machine = c.machine;
    s.is64 = c.is64;
    s.big = c.big;
    const auto r = inspect(build(s));
    BOOST_TEST_CONTEXT("e_machine " << c.machine << (c.is64 ? " ELF64" : " ELF32") << (c.big ? " MSB" : " LSB")) {
      BOOST_TEST((r.platform.architecture.empty() ? "" : r.platform.to_string()) == c.platform);
      BOOST_TEST(any_contains(r.problems, "unknown architecture") == c.platform.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(non_linux_osabi_is_a_problem) {
  ElfSpec s;
  s.osabi = 9;  // FreeBSD
  const auto r = inspect(build(s));
  BOOST_TEST(any_contains(r.problems, "not built for Linux"));
  s.osabi = 3;  // GNU/Linux
  BOOST_TEST(inspect(build(s)).fit_for_scratch());
}

// Each problem says what kind it is, so callers (--allow-dynamic) decide on
// kinds, not on message text; the JSON lists the kinds beside the messages.
BOOST_AUTO_TEST_CASE(problems_carry_their_kind) {
  using K = relf::ProblemKind;
  struct Case {
    std::string name;
    ElfSpec spec;
    std::vector<K> expected;
  };
  ElfSpec rel = dynamic_pie();
  rel.type = 1;  // ET_REL, yet with a loader
  ElfSpec core;
  core.type = 4;
  ElfSpec so;
  so.type = 3;
  so.dynamic = true;
  ElfSpec bsd = dynamic_pie();
  bsd.osabi = 9;
  ElfSpec odd;
  odd.machine = 0x1234;
  const std::vector<Case> cases{
      {"dynamic", dynamic_pie(), {K::Dynamic}},
      {"relocatable", rel, {K::NotExecutable, K::Dynamic}},
      {"core", core, {K::NotExecutable}},
      {"shared object", so, {K::NotExecutable}},
      {"freebsd", bsd, {K::Dynamic, K::NotLinux}},
      {"unknown machine", odd, {K::UnknownArchitecture}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const auto r = inspect(build(c.spec));
      std::vector<std::string> expected;
      for (K k : c.expected) expected.push_back(relf::to_string(k));
      BOOST_TEST(kinds(r) == expected, boost::test_tools::per_element());
      const auto j = relf::to_json(r);
      BOOST_TEST_REQUIRE(j["problem_kinds"].size() == c.expected.size());
      for (std::size_t i = 0; i < c.expected.size(); ++i) {
        BOOST_TEST(j["problem_kinds"][i].get<std::string>() == expected[i]);
        BOOST_TEST(j["problems"][i].get<std::string>() == r.problems[i].message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(stripped_debug_info_and_build_id) {
  ElfSpec s;
  auto r = inspect(build(s));
  BOOST_TEST(r.stripped);
  BOOST_TEST(!r.debug_info);
  BOOST_TEST(!r.build_id.has_value());
  s.symtab = true;
  s.debug_info = true;
  s.build_id = Bytes(20, std::byte{0xab});
  r = inspect(build(s));
  BOOST_TEST(!r.stripped);
  BOOST_TEST(r.debug_info);
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += "ab";
  BOOST_TEST(r.build_id.value_or("") == expected);
}

BOOST_AUTO_TEST_CASE(build_id_from_pt_note_without_section_headers) {
  ElfSpec s;
  s.section_headers = false;
  s.build_id = {std::byte{0x0f}, std::byte{0xf0}};
  const auto r = inspect(build(s));
  BOOST_TEST(r.build_id.value_or("") == "0ff0");
  BOOST_TEST(r.stripped);
}

BOOST_AUTO_TEST_CASE(arm_variant_from_attributes) {
  struct Case {
    std::optional<std::uint64_t> cpu_arch;
    std::string variant;
  };
  const std::vector<Case> cases{{6, "v6"},  {7, "v6"},  {8, "v6"},  {9, "v6"},
                                {10, "v7"}, {14, "v8"}, {13, "v7"}, {std::nullopt, "v7"}};
  for (const auto& c : cases) {
    ElfSpec s;
    s.is64 = false;
    s.machine = 40;
    s.arm_attributes = arm_attributes(c.cpu_arch);
    const auto r = inspect(build(s));
    BOOST_TEST_CONTEXT("Tag_CPU_arch " << (c.cpu_arch ? std::to_string(*c.cpu_arch) : "absent")) {
      BOOST_TEST(r.platform.architecture == "arm");
      BOOST_TEST(r.platform.variant == c.variant);
      BOOST_TEST(any_contains(r.warnings, "assuming ARM variant v7") == !c.cpu_arch.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(arm_without_attributes_section_defaults_to_v7) {
  ElfSpec s;
  s.is64 = false;
  s.machine = 40;
  const auto r = inspect(build(s));
  BOOST_TEST(r.platform.to_string() == "linux/arm/v7");
  BOOST_TEST(any_contains(r.warnings, "assuming ARM variant v7"));
}

BOOST_AUTO_TEST_CASE(malformed_arm_attributes) {
  ElfSpec s;
  s.is64 = false;
  s.machine = 40;
  Bytes attrs = arm_attributes(10);
  patch(attrs, 1, 0xfffffff0, 4);  // subsection length
  s.arm_attributes = attrs;
  expect_elf_error(build(s).bytes, {".ARM.attributes", "subsection length"});
}

BOOST_AUTO_TEST_CASE(libc_detection) {
  ElfSpec s;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("unknown"));
  s.extra = std::string("memcpy\0GLIBC_2.34\0", 18);
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("glibc"));
  s.extra.clear();
  s.abi_tag = true;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("glibc"));
}

// musl's strerror table as static Rust musl binaries carry it (bytes copied
// from aarch64-unknown-linux-musl and x86_64-unknown-linux-musl builds; the
// byte before the first text is whatever precedes the table).
const std::string kMuslStrerror =
    "\x03No error information\0Illegal byte sequence\0Domain error\0Result not representable\0"s;

BOOST_AUTO_TEST_CASE(static_musl_recognised_by_its_strerror_texts) {
  for (const bool is64 : {true, false}) {
    ElfSpec s;
    s.is64 = is64;
    s.machine = is64 ? 183 : 40;  // AArch64, ARM: the rule reads strings, not the machine
    if (!is64) s.arm_attributes = arm_attributes(10);
    s.extra = kMuslStrerror + "/etc/hosts\0/etc/resolv.conf\0"s;
    const auto r = inspect(build(s));
    BOOST_TEST(relf::to_string(r.libc) == std::string("musl"));
    BOOST_TEST(!r.glibc_version);
    BOOST_TEST(!r.nss_risk);
    BOOST_TEST(r.nss_failing.empty());
    BOOST_TEST(r.fit_for_scratch());
    // No NSS risk means no NSS warning (one on every musl build would be noise).
    BOOST_TEST(r.warnings.empty());
    const auto j = relf::to_json(r);
    BOOST_TEST(j["libc"] == "musl");
    BOOST_TEST(j["libc_version"].is_null());
    BOOST_TEST(j["nss_risk"] == false);
  }
  // glibc's texts for the same errors are not musl's.
  ElfSpec s;
  s.extra = "Success\0Invalid or incomplete multibyte or wide character\0"s;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("unknown"));
}

BOOST_AUTO_TEST_CASE(musl_needs_both_texts_and_glibc_markers_win) {
  ElfSpec s;
  s.extra = "No error information\0"s;  // one text alone: a program may print it
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("unknown"));
  s.extra = "Illegal byte sequence\0"s;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("unknown"));
  s.extra = "No error informationIllegal byte sequence"s;  // not NUL-terminated texts
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("unknown"));
  // A glibc program that happens to hold musl's texts is glibc.
  s.extra = kMuslStrerror;
  s.abi_tag = true;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("glibc"));
  s.abi_tag = false;
  s.extra = kMuslStrerror + "memcpy\0GLIBC_2.34\0"s;
  BOOST_TEST(relf::to_string(inspect(build(s)).libc) == std::string("glibc"));
}

BOOST_AUTO_TEST_CASE(dynamic_musl_recognised_by_its_loader) {
  ElfSpec s = dynamic_pie();
  s.interp = "/lib/ld-musl-aarch64.so.1";
  s.machine = 183;
  s.needed = {"libc.musl-aarch64.so.1"};
  auto r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.libc) == std::string("musl"));
  BOOST_TEST(!r.fit_for_scratch());  // still dynamic
  // A dynamic glibc binary holding musl's texts is not musl: the loader decides.
  s = dynamic_pie();
  s.extra = kMuslStrerror;
  r = inspect(build(s));
  BOOST_TEST(relf::to_string(r.libc) == std::string("unknown"));
}

BOOST_AUTO_TEST_CASE(nss_risk_for_static_glibc) {
  ElfSpec s;
  s.abi_tag = true;
  s.extra = std::string("/etc/nsswitch.conf\0libnss_%s.so%s\0libnss_files.so.2\0libnss_files.so.2\0", 70);
  const auto r = inspect(build(s));
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(r.nss_evidence ==
                 (std::vector<std::string>{"/etc/nsswitch.conf", "libnss_%s.so%s", "libnss_files.so.2"}),
             boost::test_tools::per_element());
  BOOST_TEST(r.fit_for_scratch());  // a warning, not a problem
  BOOST_TEST_REQUIRE(r.warnings.size() == 1u);
  BOOST_TEST(contains(r.warnings[0], "libnss_files.so.2"));
  BOOST_TEST(contains(r.warnings[0], "glibc version could not be told"));  // no banner, no tunables
  BOOST_TEST(contains(r.warnings[0], "musl"));
  BOOST_TEST(!r.glibc_version);
}

BOOST_AUTO_TEST_CASE(glibc_version_from_banner_or_tunables) {
  ElfSpec s;
  s.abi_tag = true;
  const std::string nss("/etc/nsswitch.conf\0libnss_%s.so%s\0", 34);
  s.extra = nss + std::string("GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\0");
  auto r = inspect(build(s));
  BOOST_TEST(r.glibc_version.value_or("") == "2.36");
  BOOST_TEST(!r.nss_risk);  // files and dns are built in, no nsswitch.conf: nothing to warn about
  BOOST_TEST(r.warnings.empty());
  s.extra = nss + std::string("x\0glibc.pthread.stack_cache_size\0", 33);
  BOOST_TEST(inspect(build(s)).glibc_version.value_or("") == ">=2.34");
  s.extra = nss + std::string("x\0glibc.rtld.dynamic_sort\0", 26);
  BOOST_TEST(inspect(build(s)).glibc_version.value_or("") == ">=2.35");
  s.extra = nss + std::string("GNU C Library stable release version 2.17, by Roland McGrath et al.\0");
  r = inspect(build(s));
  BOOST_TEST(r.glibc_version.value_or("") == "2.17");
  BOOST_TEST(r.nss_risk);
}

BOOST_AUTO_TEST_CASE(no_nss_risk_without_glibc_or_when_dynamic) {
  ElfSpec s;
  s.extra = std::string("/etc/nsswitch.conf\0", 19);
  auto r = inspect(build(s));  // libc unknown
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(r.nss_evidence.empty());
  s = dynamic_pie();
  s.abi_tag = true;
  s.extra = std::string("/etc/nsswitch.conf\0libnss_files.so.2\0", 37);
  r = inspect(build(s));  // a dynamic binary loads NSS from the image's libc anyway
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(!any_contains(r.warnings, "libnss_"));
}

BOOST_AUTO_TEST_CASE(platform_mismatch) {
  ElfSpec s;
  s.machine = 183;
  const auto arm64 = inspect(build(s));
  BOOST_TEST(relf::platform_mismatch(arm64, rustimg::parse_platform("linux/arm64")).empty());
  BOOST_TEST(relf::platform_mismatch(arm64, rustimg::parse_platform("linux/arm64/v8")).empty());
  const auto mm = relf::platform_mismatch(arm64, rustimg::parse_platform("linux/amd64"));
  BOOST_TEST_REQUIRE(mm.size() == 1u);
  BOOST_TEST(contains(mm[0], "linux/arm64"));
  BOOST_TEST(contains(mm[0], "linux/amd64"));

  s.is64 = false;
  s.machine = 40;
  s.arm_attributes = arm_attributes(6);
  const auto armv6 = inspect(build(s));
  BOOST_TEST(relf::platform_mismatch(armv6, rustimg::parse_platform("linux/arm/v6")).empty());
  BOOST_TEST(!relf::platform_mismatch(armv6, rustimg::parse_platform("linux/arm/v7")).empty());

  s.machine = 0x1234;
  s.arm_attributes.reset();
  const auto unknown = inspect(build(s));
  const auto mu = relf::platform_mismatch(unknown, rustimg::parse_platform("linux/amd64"));
  BOOST_TEST_REQUIRE(mu.size() == 1u);
  BOOST_TEST(contains(mu[0], "no OCI platform"));
}

// --- hostile input ------------------------------------------------------

BOOST_AUTO_TEST_CASE(empty_and_non_elf) {
  expect_elf_error({}, {"not an ELF file", "empty"});
  expect_elf_error(bytes_of("#!/bin/sh\necho hi\n"), {"not an ELF file"});
  expect_elf_error(bytes_of("\x7f" "EL"), {"not an ELF file"});
}

BOOST_AUTO_TEST_CASE(truncated_header) {
  Bytes b = build(ElfSpec{}).bytes;
  b.resize(40);
  expect_elf_error(b, {"truncated ELF header", "40 bytes", "needs 64"});
  b.resize(10);
  expect_elf_error(b, {"truncated ELF header", "needs 16"});
}

BOOST_AUTO_TEST_CASE(bad_class_and_byte_order) {
  Bytes b = build(ElfSpec{}).bytes;
  b[4] = std::byte{3};
  expect_elf_error(b, {"unsupported ELF class 3"});
  b[4] = std::byte{2};
  b[5] = std::byte{0};
  expect_elf_error(b, {"unsupported ELF byte order 0"});
}

BOOST_AUTO_TEST_CASE(phoff_past_end) {
  Built b = build(ElfSpec{});
  patch(b.bytes, 32, b.bytes.size() + 100, 8);
  expect_elf_error(b.bytes, {"program header table extends past end of file", "1 entries of 56 bytes"});
}

BOOST_AUTO_TEST_CASE(huge_phnum) {
  Built b = build(ElfSpec{});
  patch(b.bytes, 56, 0xfff0, 2);
  expect_elf_error(b.bytes, {"program header table extends past end of file", "65520 entries of 56 bytes",
                             "file is " + std::to_string(b.bytes.size()) + " bytes"});
}

BOOST_AUTO_TEST_CASE(tiny_phentsize) {
  Built b = build(ElfSpec{});
  patch(b.bytes, 54, 8, 2);
  expect_elf_error(b.bytes, {"e_phentsize is 8", "at least 56"});
}

BOOST_AUTO_TEST_CASE(shoff_overflow_wraps) {
  Built b = build(ElfSpec{});
  patch(b.bytes, 40, 0xffffffffffffff00ULL, 8);  // shoff + shnum * 64 wraps around
  expect_elf_error(b.bytes, {"section header table extends past end of file", "offset 0xffffffffffffff00"});
}

BOOST_AUTO_TEST_CASE(bad_shstrndx) {
  Built b = build(ElfSpec{});
  patch(b.bytes, 62, 200, 2);
  expect_elf_error(b.bytes, {"e_shstrndx 200 is not a section"});
}

BOOST_AUTO_TEST_CASE(section_name_offset_past_table) {
  Built b = build(ElfSpec{});
  patch(b.bytes, b.shoff + 64, 0x7fff, 4);  // sh_name of section 1
  expect_elf_error(b.bytes, {"section name offset 0x7fff", "past the end of the section name table"});
}

BOOST_AUTO_TEST_CASE(needed_string_offset_past_strtab) {
  Built b = build(dynamic_pie());
  patch(b.bytes, b.dynamic_off + 8, 0x10000, 8);  // d_val of the first DT_NEEDED
  expect_elf_error(b.bytes, {"DT_NEEDED string offset 0x10000", "past the end of the dynamic string table"});
}

BOOST_AUTO_TEST_CASE(dynamic_segment_past_end) {
  Built b = build(dynamic_pie());
  const std::uint64_t ph = b.phoff + b.dynamic_phdr * 56;
  patch(b.bytes, ph + 32, 0x100000, 8);  // p_filesz
  expect_elf_error(b.bytes, {"dynamic segment (PT_DYNAMIC) extends past end of file"});
  b = build(dynamic_pie());
  patch(b.bytes, ph + 8, 0xfffffffffffffff8ULL, 8);  // p_offset: offset + size wraps
  expect_elf_error(b.bytes, {"dynamic segment (PT_DYNAMIC) extends past end of file", "offset 0xfffffffffffffff8"});
}

BOOST_AUTO_TEST_CASE(interp_past_end) {
  ElfSpec s;
  s.interp = "/lib/ld.so";
  Built b = build(s);
  patch(b.bytes, b.phoff + 56 + 8, b.bytes.size() - 2, 8);  // PT_INTERP p_offset
  expect_elf_error(b.bytes, {"interpreter path (PT_INTERP) extends past end of file"});
}

BOOST_AUTO_TEST_CASE(note_with_huge_namesz) {
  ElfSpec s;
  s.build_id = Bytes(8, std::byte{1});
  Built b = build(s);
  patch(b.bytes, b.notes_off, 0xfffffff0, 4);
  expect_elf_error(b.bytes, {"note in PT_NOTE segment has name size 0xfffffff0"});
  b = build(s);
  patch(b.bytes, b.notes_off + 4, 0x7fffffff, 4);
  expect_elf_error(b.bytes, {"descriptor size 0x7fffffff"});
}

BOOST_AUTO_TEST_CASE(every_truncation_fails_cleanly) {
  ElfSpec s = dynamic_pie();
  s.build_id = Bytes(20, std::byte{7});
  s.abi_tag = true;
  s.symtab = true;
  const Bytes full = build(s).bytes;
  BOOST_TEST(inspect(build(s)).needed.size() == 2u);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    BOOST_TEST_CONTEXT("truncated to " << n << " bytes") {
      BOOST_CHECK_THROW(relf::inspect(cut), rustimg::Error);
    }
  }
}

// --- inspect_file -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(inspect_file_missing_path) {
  const std::filesystem::path missing = "/nonexistent/rustimg-test/binary";
  try {
    relf::inspect_file(missing);
    BOOST_FAIL("expected NotFound");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::NotFound));
    BOOST_TEST(contains(e.what(), missing.string()));
  }
}

BOOST_AUTO_TEST_CASE(inspect_file_reads_and_names_the_path) {
  const auto dir = std::filesystem::temp_directory_path() / ("rustimg-elf-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = dir / "good";
  const auto bad = dir / "bad";
  const Bytes image = build(dynamic_pie()).bytes;
  {
    std::ofstream(good, std::ios::binary).write(reinterpret_cast<const char*>(image.data()),
                                                 static_cast<std::streamsize>(image.size()));
    std::ofstream(bad, std::ios::binary) << "plain text";
  }
  const auto r = relf::inspect_file(good);
  BOOST_TEST(r.needed.size() == 2u);
  try {
    relf::inspect_file(bad);
    BOOST_FAIL("expected an Elf error");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Elf));
    BOOST_TEST(contains(e.what(), bad.string() + ": not an ELF file"));
  }
  try {
    relf::inspect_file(dir);
    BOOST_FAIL("expected an Io error for a directory");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::Io));
    BOOST_TEST(contains(e.what(), "is a directory"));
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
