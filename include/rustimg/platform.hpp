// rustimg/platform.hpp - OCI platforms and the Rust target triple table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rustimg {

/// An OCI platform (os/architecture/variant), always held in canonical form:
/// Go GOARCH names ("amd64", "arm64", "arm", "386", "riscv64", "ppc64le",
/// "s390x", "loong64"), and defaults that carry no information dropped
/// (arm64 "v8" and amd64 "v1" become empty; arm without variant becomes "v7").
struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;

  /// "linux/arm64", "linux/arm/v7".
  std::string to_string() const;
  /// The variant to record in an image config or index descriptor: the
  /// canonical one, except arm64, which registries and runtimes expect as "v8".
  std::string descriptor_variant() const;
  /// True when an image for `this` can serve a request for `wanted`: same os
  /// and architecture, and the same variant when `wanted` names one.
  bool satisfies(const Platform& wanted) const;

  friend bool operator==(const Platform&, const Platform&) = default;
};

/// Parses "linux/arm64/v8", "linux/amd64", "arm64", "aarch64", "x86_64",
/// "armhf", "armv7", ... into canonical form. Throws rustimg::Error
/// (InvalidArgument) naming the input and the accepted forms.
Platform parse_platform(std::string_view text);

/// The platform of the machine rustimg was built for.
Platform host_platform();

/// Maps a GOARCH-style or ELF-style architecture name to its canonical GOARCH
/// name ("aarch64" -> "arm64", "x86_64" -> "amd64"); std::nullopt if unknown.
std::optional<std::string> normalize_architecture(std::string_view arch);

enum class Libc { Gnu, Musl };
const char* libc_name(Libc libc) noexcept;  // "gnu" / "musl"
/// Parses "gnu"/"glibc" and "musl"; std::nullopt otherwise.
std::optional<Libc> parse_libc(std::string_view text);

/// What rustimg's own cargo profile "rustimg" (which inherits the crate's
/// [profile.release]) changes to make the binary smaller: spec key
/// "size-optimize". Here, beside Libc, because the spec reads it and the
/// cargo invocation applies it.
///  - Release: strip="symbols" only; the crate's panic, opt-level, lto and
///    codegen-units are kept (same behaviour, speed and rebuild time as
///    `cargo build --release`). The default.
///  - Small: Release + lto=true + codegen-units=1 (slower rebuilds).
///  - Min: Small + opt-level="z" + panic="abort" (a panic kills the whole
///    process, even one a thread's join would have caught; slower code).
///  - None: the profile untouched (no strip).
enum class SizeOptimize { None, Release, Small, Min };
/// Every choice, in the order errors and docs list them.
inline constexpr SizeOptimize kSizeOptimizeChoices[] = {SizeOptimize::Release, SizeOptimize::Small,
                                                        SizeOptimize::Min, SizeOptimize::None};
const char* size_optimize_name(SizeOptimize s) noexcept;  // "none" / "release" / "small" / "min"
/// Parses "none", "release", "small" and "min"; std::nullopt otherwise.
std::optional<SizeOptimize> parse_size_optimize(std::string_view text);

/// One row of the Rust target table.
struct RustTarget {
  std::string triple;      ///< "aarch64-unknown-linux-musl"
  Platform platform;       ///< linux/arm64
  Libc libc;
  bool crt_static_default; ///< whether rustc links statically without +crt-static
  bool static_pie;         ///< whether a static build is static-pie (ET_DYN) rather than ET_EXEC
  /// The linker rustimg picks when building on another architecture and the
  /// user chose none: the Debian cross gcc for gnu targets
  /// ("aarch64-linux-gnu-gcc"), "rust-lld" for musl targets (self-contained:
  /// rustc's bundled crt objects and libc, no C toolchain); empty when
  /// rustimg knows none.
  std::string cross_linker{};
  /// The GNU tool prefix of the Debian cross toolchain ("aarch64-linux-gnu"):
  /// <prefix>-gcc / <prefix>-ar compile C for the target in build scripts,
  /// /usr/<prefix>/lib/libc.a is its static libc. Empty for musl targets.
  std::string gnu_prefix{};
  /// The Debian packages to advise: the cross gcc and its libc for gnu
  /// targets; for musl, the C compiler build scripts need (musl-tools for
  /// x86_64; empty where Debian has no musl cross compiler).
  std::string debian_packages{};
};

/// The full table of Linux targets rustimg knows.
const std::vector<RustTarget>& rust_targets();

/// The triple to build for `platform` with `libc`. Throws rustimg::Error
/// (Unsupported) naming the platform and the supported ones when no target fits.
const RustTarget& rust_target_for(const Platform& platform, Libc libc);

/// Looks a triple up in the table; std::nullopt when unknown.
std::optional<RustTarget> find_rust_target(std::string_view triple);

}  // namespace rustimg
