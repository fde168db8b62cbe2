// The dependency list `cargo auditable` embeds in a binary (see
// rustimg/auditable.hpp): find the ".dep-v0" section through the section
// headers, inflate it (bounded), and check the JSON's shape and graph.
#include "rustimg/auditable.hpp"

#include <zlib.h>

#include <cstdint>
#include <string_view>

#include "elf/reader.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"

namespace rustimg::elf {
namespace {

using nlohmann::json;

constexpr std::uint32_t kShtNobits = 8;
constexpr std::uint64_t kShfCompressed = 0x800;

/// Bounds-checked little/big-endian reads over the whole file; every failure
/// names the file.
class Bytes {
 public:
  Bytes(std::span<const std::byte> data, const std::string& what) : data_(data), what_(what) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::Elf, what_ + ": " + message);
  }
  bool fits(std::uint64_t offset, std::uint64_t size) const {
    return offset <= data_.size() && size <= data_.size() - offset;
  }
  std::uint64_t uint(std::uint64_t offset, unsigned width, const char* field) const {
    if (!fits(offset, width))
      fail(std::string("truncated ELF file: ") + field + " at offset " + detail::hex(offset) + " is past its end (" +
           std::to_string(data_.size()) + " bytes)");
    std::uint64_t v = 0;
    for (unsigned i = 0; i < width; ++i) {
      const auto b = static_cast<std::uint64_t>(data_[static_cast<std::size_t>(offset) + i]);
      v |= big_endian ? b << (8 * (width - 1 - i)) : b << (8 * i);
    }
    return v;
  }
  std::span<const std::byte> span(std::uint64_t offset, std::uint64_t size, const std::string& field) const {
    if (!fits(offset, size))
      fail(field + " (offset " + detail::hex(offset) + ", " + std::to_string(size) + " bytes) extends past the end of the " +
           std::to_string(data_.size()) + "-byte file");
    return data_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(size));
  }

  bool big_endian = false;

 private:
  std::span<const std::byte> data_;
  const std::string& what_;
};

/// The contents of the section named `name`, or nullopt when there is none.
std::optional<std::span<const std::byte>> find_section(std::span<const std::byte> data, std::string_view name,
                                                       const std::string& what) {
  Bytes b(data, what);
  if (data.size() < 16 || data[0] != std::byte{0x7f} || data[1] != std::byte{'E'} || data[2] != std::byte{'L'} ||
      data[3] != std::byte{'F'})
    b.fail("not an ELF file (no \\x7fELF magic at the start)");
  const auto ei_class = std::to_integer<unsigned>(data[4]);
  const auto ei_data = std::to_integer<unsigned>(data[5]);
  if ((ei_class != 1 && ei_class != 2) || (ei_data != 1 && ei_data != 2))
    b.fail("unsupported ELF class or byte order (EI_CLASS " + std::to_string(ei_class) + ", EI_DATA " +
           std::to_string(ei_data) + ")");
  const bool is64 = ei_class == 2;
  b.big_endian = ei_data == 2;
  const unsigned word = is64 ? 8 : 4;
  const std::uint64_t shoff = b.uint(is64 ? 40 : 32, word, "e_shoff");
  const std::uint64_t base = is64 ? 58 : 46;
  const std::uint64_t shentsize = b.uint(base, 2, "e_shentsize");
  const std::uint64_t shnum = b.uint(base + 2, 2, "e_shnum");
  const std::uint64_t shstrndx = b.uint(base + 4, 2, "e_shstrndx");
  if (shnum == 0 || shstrndx == 0) return std::nullopt;  // no sections, or no names
  if (shentsize < (is64 ? 64u : 40u))
    b.fail("e_shentsize " + std::to_string(shentsize) + " is too small for a section header");
  if (shstrndx >= shnum)
    b.fail("e_shstrndx " + std::to_string(shstrndx) + " is not a section (the file has " + std::to_string(shnum) +
           ")");
  b.span(shoff, shnum * shentsize, "the section header table");  // both are 16-bit: no overflow
  struct Header {
    std::uint64_t name, type, flags, offset, size;
  };
  const auto header = [&](std::uint64_t i) {
    const std::uint64_t at = shoff + i * shentsize;
    return Header{b.uint(at, 4, "sh_name"), b.uint(at + 4, 4, "sh_type"), b.uint(at + 8, word, "sh_flags"),
                  b.uint(at + (is64 ? 24 : 16), word, "sh_offset"), b.uint(at + (is64 ? 32 : 20), word, "sh_size")};
  };
  const Header names = header(shstrndx);
  const auto table = detail::as_chars(b.span(names.offset, names.size, "the section name table"));
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const Header h = header(i);
    if (h.name >= table.size()) continue;  // a nameless section cannot be the one
    const auto rest = table.substr(static_cast<std::size_t>(h.name));
    if (rest.substr(0, rest.find('\0')) != name) continue;
    const std::string field = "section " + std::string(name);
    if (h.type == kShtNobits) b.fail(field + " has no contents in the file (SHT_NOBITS)");
    if ((h.flags & kShfCompressed) != 0)
      b.fail(field + " is compressed by the linker (SHF_COMPRESSED), which rustimg does not read; link without "
                     "--compress-debug-sections for it");
    return b.span(h.offset, h.size, field);
  }
  return std::nullopt;
}

std::string inflate_bounded(std::span<const std::byte> in, const std::string& what) {
  const std::string where = what + ": section .dep-v0 (cargo auditable)";
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw Error(ErrorCode::Generic, where + ": zlib failed to initialise");
  std::string out;
  char chunk[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  if (in.size() > UINT32_MAX) {
    inflateEnd(&z);
    throw Error(ErrorCode::Elf, where + " is larger than 4 GiB");
  }
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string reason = z.msg != nullptr ? z.msg : (rc == Z_BUF_ERROR ? "truncated data" : "corrupt data");
      inflateEnd(&z);
      throw Error(ErrorCode::Elf, where + " is not valid zlib data (" + reason +
                                      "); rebuild the binary with `cargo auditable build`");
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > kMaxAuditableJsonBytes) {
      inflateEnd(&z);
      throw Error(ErrorCode::Elf, where + " inflates to more than " + std::to_string(kMaxAuditableJsonBytes) +
                                      " bytes; rustimg refuses it");
    }
  }
  inflateEnd(&z);
  return out;
}

[[noreturn]] void bad(const std::string& what, const std::string& problem) {
  throw Error(ErrorCode::Elf, what + ": section .dep-v0 (cargo auditable): " + problem);
}

std::string string_field(const json& p, const char* key, std::size_t i, const std::string& what) {
  const auto it = p.find(key);
  if (it == p.end() || !it->is_string())
    bad(what, "package " + std::to_string(i) + " has no string \"" + key + "\"");
  return it->get<std::string>();
}

/// Refuses a cycle (cargo-auditable's own rule): Kahn's algorithm.
void check_acyclic(const std::vector<AuditablePackage>& packages, const std::string& what) {
  std::vector<std::size_t> indegree(packages.size(), 0);
  for (const auto& p : packages)
    for (std::size_t d : p.dependencies) ++indegree[d];
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < packages.size(); ++i)
    if (indegree[i] == 0) ready.push_back(i);
  std::size_t done = 0;
  while (!ready.empty()) {
    const std::size_t i = ready.back();
    ready.pop_back();
    ++done;
    for (std::size_t d : packages[i].dependencies)
      if (--indegree[d] == 0) ready.push_back(d);
  }
  if (done != packages.size()) bad(what, "the dependency graph has a cycle");
}

}  // namespace

std::optional<std::vector<AuditablePackage>> read_auditable_dependencies(std::span<const std::byte> elf,
                                                                         const std::string& what) {
  const auto section = find_section(elf, ".dep-v0", what);
  if (!section) return std::nullopt;
  const std::string text = inflate_bounded(*section, what);
  const json doc = parse_json(text, what + ": section .dep-v0 (cargo auditable)", ErrorCode::Elf);
  if (!doc.is_object()) bad(what, "the JSON is not an object");
  const auto list = doc.find("packages");
  if (list == doc.end() || !list->is_array()) bad(what, "the JSON has no array \"packages\"");
  if (list->size() > kMaxAuditablePackages)
    bad(what, "it lists " + std::to_string(list->size()) + " packages, more than the " +
                  std::to_string(kMaxAuditablePackages) + " rustimg accepts");
  std::vector<AuditablePackage> out;
  out.reserve(list->size());
  bool seen_root = false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& p = (*list)[i];
    if (!p.is_object()) bad(what, "package " + std::to_string(i) + " is not an object");
    AuditablePackage pkg;
    pkg.name = string_field(p, "name", i, what);
    pkg.version = string_field(p, "version", i, what);
    pkg.source = string_field(p, "source", i, what);
    const std::string label = "package " + std::to_string(i) + " (" + pkg.name + ")";
    if (const auto k = p.find("kind"); k != p.end()) {
      if (!k->is_string()) bad(what, label + " has a non-string \"kind\"");
      pkg.kind = k->get<std::string>();
    }
    if (const auto r = p.find("root"); r != p.end()) {
      if (!r->is_boolean()) bad(what, label + " has a non-boolean \"root\"");
      pkg.root = r->get<bool>();
    }
    if (pkg.root && seen_root) bad(what, "more than one package is marked root (" + label + " is the second)");
    seen_root |= pkg.root;
    if (const auto deps = p.find("dependencies"); deps != p.end()) {
      if (!deps->is_array()) bad(what, label + " has a non-array \"dependencies\"");
      for (const json& d : *deps) {
        if (!d.is_number_unsigned()) bad(what, label + " has a dependency that is not an index (a whole number)");
        if (d.get<std::uint64_t>() >= list->size())
          bad(what, label + " has dependency index " + std::to_string(d.get<std::uint64_t>()) +
                        ", past the end of its " + std::to_string(list->size()) + " packages");
        const auto index = static_cast<std::size_t>(d.get<std::uint64_t>());
        if (index == i) bad(what, label + " depends on itself");
        pkg.dependencies.push_back(index);
      }
    }
    out.push_back(std::move(pkg));
  }
  check_acyclic(out, what);
  return out;
}

}  // namespace rustimg::elf
