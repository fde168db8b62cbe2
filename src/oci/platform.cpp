#include "rustimg/platform.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "rustimg/error.hpp"

namespace rustimg {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

// Drops variants that carry no information and fills arm's implied one.
std::string canonical_variant(const std::string& arch, std::string variant) {
  if (!variant.empty() && variant.front() != 'v' && arch != "riscv64" && arch != "ppc64le" &&
      arch != "ppc64")
    variant = "v" + variant;  // "8" -> "v8", as containerd accepts
  if (arch == "arm64" && (variant == "v8" || variant == "v8.0")) return "";
  if (arch == "amd64" && variant == "v1") return "";
  if (arch == "arm" && variant.empty()) return "v7";
  return variant;
}

// Architecture aliases that imply a variant, e.g. "armhf" is arm/v7.
struct Alias {
  std::string_view name;
  std::string_view arch;
  std::string_view variant;
};
constexpr std::array kAliases{
    Alias{"amd64", "amd64", ""},     Alias{"x86_64", "amd64", ""},    Alias{"x86-64", "amd64", ""},
    Alias{"arm64", "arm64", ""},     Alias{"aarch64", "arm64", ""},   Alias{"arm", "arm", ""},
    Alias{"armhf", "arm", "v7"},     Alias{"armv7", "arm", "v7"},     Alias{"armv7l", "arm", "v7"},
    Alias{"armel", "arm", "v6"},     Alias{"armv6", "arm", "v6"},     Alias{"armv6l", "arm", "v6"},
    Alias{"armv5", "arm", "v5"},     Alias{"386", "386", ""},         Alias{"i386", "386", ""},
    Alias{"i686", "386", ""},        Alias{"x86", "386", ""},         Alias{"riscv64", "riscv64", ""},
    Alias{"ppc64le", "ppc64le", ""}, Alias{"ppc64el", "ppc64le", ""}, Alias{"powerpc64le", "ppc64le", ""},
    Alias{"ppc64", "ppc64", ""},     Alias{"s390x", "s390x", ""},     Alias{"loong64", "loong64", ""},
    Alias{"loongarch64", "loong64", ""},
};

const Alias* find_alias(std::string_view name) {
  for (const auto& a : kAliases)
    if (a.name == name) return &a;
  return nullptr;
}

const char* kPlatformForms =
    "expected OS/ARCH[/VARIANT] such as linux/amd64, linux/arm64 or linux/arm/v7 "
    "(or an architecture alone: amd64, arm64, aarch64, x86_64, armhf)";

}  // namespace

std::string Platform::to_string() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

std::string Platform::descriptor_variant() const {
  if (architecture == "arm64" && variant.empty()) return "v8";
  return variant;
}

bool Platform::satisfies(const Platform& wanted) const {
  if (os != wanted.os || architecture != wanted.architecture) return false;
  return wanted.variant.empty() || variant.empty() || variant == wanted.variant;
}

std::optional<std::string> normalize_architecture(std::string_view arch) {
  if (const Alias* a = find_alias(lower(arch))) return std::string(a->arch);
  return std::nullopt;
}

Platform parse_platform(std::string_view text) {
  const std::string input(text);
  if (input.empty()) throw Error(ErrorCode::InvalidArgument, "empty platform: " + std::string(kPlatformForms));
  std::vector<std::string> parts;
  std::string_view rest = text;
  while (true) {
    auto slash = rest.find('/');
    parts.emplace_back(lower(rest.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() > 3 || std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    throw Error(ErrorCode::InvalidArgument, "invalid platform \"" + input + "\": " + kPlatformForms);

  Platform p;
  size_t arch_index = 0;
  if (parts.size() >= 2) {
    p.os = parts[0];
    arch_index = 1;
  } else if (parts[0] == "linux") {
    throw Error(ErrorCode::InvalidArgument, "invalid platform \"" + input + "\": missing architecture; " + kPlatformForms);
  }
  if (p.os != "linux")
    throw Error(ErrorCode::Unsupported,
                "unsupported platform \"" + input + "\": rustimg builds Linux images only (os must be \"linux\")");
  const Alias* alias = find_alias(parts[arch_index]);
  if (alias == nullptr)
    throw Error(ErrorCode::InvalidArgument, "invalid platform \"" + input + "\": unknown architecture \"" +
                                                parts[arch_index] + "\"; " + kPlatformForms);
  p.architecture = alias->arch;
  std::string variant = parts.size() > arch_index + 1 ? parts[arch_index + 1] : std::string(alias->variant);
  if (!alias->variant.empty() && parts.size() > arch_index + 1 && variant != alias->variant)
    throw Error(ErrorCode::InvalidArgument, "invalid platform \"" + input + "\": \"" + parts[arch_index] +
                                                "\" already means variant " + std::string(alias->variant));
  p.variant = canonical_variant(p.architecture, variant);
  return p;
}

Platform host_platform() {
#if defined(__x86_64__)
  return Platform{"linux", "amd64", ""};
#elif defined(__aarch64__)
  return Platform{"linux", "arm64", ""};
#elif defined(__arm__)
  return Platform{"linux", "arm", "v7"};
#elif defined(__riscv) && __riscv_xlen == 64
  return Platform{"linux", "riscv64", ""};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return Platform{"linux", "ppc64le", ""};
#elif defined(__s390x__)
  return Platform{"linux", "s390x", ""};
#elif defined(__i386__)
  return Platform{"linux", "386", ""};
#else
  return Platform{"linux", "amd64", ""};
#endif
}

const char* libc_name(Libc libc) noexcept { return libc == Libc::Gnu ? "gnu" : "musl"; }

std::optional<Libc> parse_libc(std::string_view text) {
  if (text == "gnu" || text == "glibc") return Libc::Gnu;
  if (text == "musl") return Libc::Musl;
  return std::nullopt;
}

const char* size_optimize_name(SizeOptimize s) noexcept {
  switch (s) {
    case SizeOptimize::None: return "none";
    case SizeOptimize::Release: return "release";
    case SizeOptimize::Small: return "small";
    case SizeOptimize::Min: return "min";
  }
  return "release";
}

std::optional<SizeOptimize> parse_size_optimize(std::string_view text) {
  for (const auto s : kSizeOptimizeChoices)
    if (text == size_optimize_name(s)) return s;
  return std::nullopt;
}

const std::vector<RustTarget>& rust_targets() {
  // Facts from rustc 1.95 target specs (shared/reference/rust.md §2.1, §3.1).
  static const std::vector<RustTarget> table = {
      // Cross linkers and Debian packages (bookworm): aarch64/armv7 gnu and
      // all musl rows on amd64 are tested; the other rows follow the same
      // naming and are not.
      {"x86_64-unknown-linux-gnu", {"linux", "amd64", ""}, Libc::Gnu, false, true,
       "x86_64-linux-gnu-gcc", "x86_64-linux-gnu", "gcc-x86-64-linux-gnu libc6-dev-amd64-cross"},
      {"x86_64-unknown-linux-musl", {"linux", "amd64", ""}, Libc::Musl, true, true, "rust-lld", "", "musl-tools"},
      {"aarch64-unknown-linux-gnu", {"linux", "arm64", ""}, Libc::Gnu, false, false,
       "aarch64-linux-gnu-gcc", "aarch64-linux-gnu", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross"},
      {"aarch64-unknown-linux-musl", {"linux", "arm64", ""}, Libc::Musl, true, false, "rust-lld", "", ""},
      {"armv7-unknown-linux-gnueabihf", {"linux", "arm", "v7"}, Libc::Gnu, false, false,
       "arm-linux-gnueabihf-gcc", "arm-linux-gnueabihf", "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"},
      {"armv7-unknown-linux-musleabihf", {"linux", "arm", "v7"}, Libc::Musl, true, false, "rust-lld", "", ""},
      // Debian's armhf toolchain builds for v7, so no default for v6.
      {"arm-unknown-linux-gnueabihf", {"linux", "arm", "v6"}, Libc::Gnu, false, false, "", "", ""},
      {"arm-unknown-linux-musleabihf", {"linux", "arm", "v6"}, Libc::Musl, true, false, "rust-lld", "", ""},
      {"armv5te-unknown-linux-gnueabi", {"linux", "arm", "v5"}, Libc::Gnu, false, false,
       "arm-linux-gnueabi-gcc", "arm-linux-gnueabi", "gcc-arm-linux-gnueabi libc6-dev-armel-cross"},
      {"armv5te-unknown-linux-musleabi", {"linux", "arm", "v5"}, Libc::Musl, true, false, "rust-lld", "", ""},
      {"i686-unknown-linux-gnu", {"linux", "386", ""}, Libc::Gnu, false, false,
       "i686-linux-gnu-gcc", "i686-linux-gnu", "gcc-i686-linux-gnu libc6-dev-i386-cross"},
      {"i686-unknown-linux-musl", {"linux", "386", ""}, Libc::Musl, true, false, "rust-lld", "", ""},
      {"riscv64gc-unknown-linux-gnu", {"linux", "riscv64", ""}, Libc::Gnu, false, false,
       "riscv64-linux-gnu-gcc", "riscv64-linux-gnu", "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"},
      {"riscv64gc-unknown-linux-musl", {"linux", "riscv64", ""}, Libc::Musl, false, false, "rust-lld", "", ""},
      {"powerpc64le-unknown-linux-gnu", {"linux", "ppc64le", ""}, Libc::Gnu, false, false,
       "powerpc64le-linux-gnu-gcc", "powerpc64le-linux-gnu", "gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross"},
      {"powerpc64le-unknown-linux-musl", {"linux", "ppc64le", ""}, Libc::Musl, true, false, "rust-lld", "", ""},
      {"s390x-unknown-linux-gnu", {"linux", "s390x", ""}, Libc::Gnu, false, false,
       "s390x-linux-gnu-gcc", "s390x-linux-gnu", "gcc-s390x-linux-gnu libc6-dev-s390x-cross"},
      {"loongarch64-unknown-linux-gnu", {"linux", "loong64", ""}, Libc::Gnu, false, false, "", "", ""},
      {"loongarch64-unknown-linux-musl", {"linux", "loong64", ""}, Libc::Musl, false, false, "rust-lld", "", ""},
  };
  return table;
}

const RustTarget& rust_target_for(const Platform& platform, Libc libc) {
  // The variant picks the target only for arm (v5/v6/v7 are different
  // triples); elsewhere it is a CPU level reached through target-cpu flags.
  for (const auto& t : rust_targets()) {
    if (t.libc != libc || t.platform.architecture != platform.architecture) continue;
    if (platform.architecture != "arm" || t.platform.variant == platform.variant) return t;
  }
  std::string supported;
  for (const auto& t : rust_targets()) {
    if (t.libc != libc) continue;
    if (!supported.empty()) supported += ", ";
    supported += t.platform.to_string();
  }
  throw Error(ErrorCode::Unsupported, "no Rust " + std::string(libc_name(libc)) + " target for platform " +
                                          platform.to_string() + "; supported: " + supported);
}

std::optional<RustTarget> find_rust_target(std::string_view triple) {
  for (const auto& t : rust_targets())
    if (t.triple == triple) return t;
  return std::nullopt;
}

}  // namespace rustimg
