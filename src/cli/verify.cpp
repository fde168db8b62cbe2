// rustimg verify: is each binary fit to be the only file of a scratch image?
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "output.hpp"
#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"
#include "rustimg/platform.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kVerifyUsage =
    "usage: rustimg verify [--json] [--platform P] [--nsswitch FILE] BINARY...\n"
    "\n"
    "Checks that each ELF binary can run alone in an empty (scratch) image:\n"
    "an executable, statically linked (no dynamic loader, no shared libraries),\n"
    "for a known architecture. Also reports libc (glibc or musl), build-id, stripping and\n"
    "whether a static glibc binary has NSS lookups it cannot answer: those\n"
    "/etc/nsswitch.conf sends to a module (glibc 2.34+ builds in 'files' and\n"
    "'dns'), judged against glibc's defaults (no nsswitch.conf, as in scratch)\n"
    "or the file given with --nsswitch,\n"
    "and the C libraries linked in that it recognises (OpenSSL, zlib, SQLite, ...).\n";

constexpr const char* kVerifyFooter =
    "exit status: 0 every binary is fit, 1 at least one is unfit or does not\n"
    "match --platform, 2 bad usage or an unreadable/invalid file.\n";

struct Options {
  CLI::App* app = nullptr;
  bool json = false;
  std::string platform;
  std::string nsswitch;
  std::vector<std::string> binaries;
};

/// Escapes control and non-ASCII bytes so a hostile binary cannot send
/// terminal escape sequences through the human-readable output.
std::string printable(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 0xf];
    }
  }
  return out;
}

/// elf::to_json plus the CLI's own key: path.
nlohmann::json report_json(const std::string& path, const elf::Report& rep) {
  nlohmann::json j = elf::to_json(rep);
  j["path"] = path;
  return j;
}

std::string list_or_none(const std::vector<std::string>& items, const char* sep = ", ") {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

void print_human(const std::string& path, const elf::Report& rep) {
  auto line = [](const char* key, const std::string& value) {
    std::printf("  %-13s %s\n", key, printable(value).c_str());
  };
  std::printf("%s\n", printable(path).c_str());
  const std::string arch = rep.platform.architecture.empty() ? "unknown" : rep.platform.to_string();
  line("platform:", arch + " (" + rep.machine_name + ", ELF" + std::to_string(rep.elf_class) +
                        (rep.big_endian ? " big-endian" : " little-endian") + ")");
  line("type:", elf::to_string(rep.type));
  line("linkage:", elf::to_string(rep.linkage));
  line("interpreter:", rep.interpreter.value_or("none"));
  line("needed:", list_or_none(rep.needed));
  if (!rep.rpath.empty()) line("rpath:", list_or_none(rep.rpath, ":"));
  if (!rep.runpath.empty()) line("runpath:", list_or_none(rep.runpath, ":"));
  // musl programs carry no version of their libc: say so rather than guess.
  line("libc:", std::string(elf::to_string(rep.libc)) +
                    (rep.libc == elf::LibcKind::Musl ? " (version not recorded in the binary)" : ""));
  line("stripped:", std::string(rep.stripped ? "yes" : "no") + (rep.debug_info ? " (has debug info)" : ""));
  line("build-id:", rep.build_id.value_or("none"));
  if (rep.glibc_version) line("glibc:", *rep.glibc_version);
  std::vector<std::string> failing;
  for (const auto& f : rep.nss_failing) failing.push_back(f.database + " via " + f.service);
  line("NSS risk:", rep.nss_risk ? "yes (" + list_or_none(failing) + ")"
                                 : rep.libc == elf::LibcKind::Musl ? "no (musl has no NSS)" : "no");
  std::vector<std::string> libraries;
  for (const auto& l : rep.linked_libraries) libraries.push_back(elf::to_string(l));
  line("C libraries:", list_or_none(libraries));
  if (rep.wanted_platform)
    line("wanted:", rep.wanted_platform->to_string() + (rep.platform_match() ? " (matches)" : " (MISMATCH)"));
  line("verdict:", rep.fit_for_scratch() ? "fit for scratch" : "NOT fit for scratch");
  for (const auto& p : rep.problems) std::printf("    problem: %s\n", printable(p.message).c_str());
  for (const auto& w : rep.warnings) std::printf("    warning: %s\n", printable(w).c_str());
}

int run_verify(const Options& opts) {
  reject_extras(*opts.app);
  if (opts.binaries.empty()) throw UsageError{"no BINARY given"};
  std::optional<Platform> platform;
  if (opts.app->count("--platform") > 0) {
    try {
      platform = parse_platform(opts.platform);
    } catch (const Error& e) {
      throw UsageError{std::string("--platform: ") + e.what()};
    }
  }

  std::optional<elf::NssSwitch> nsswitch;
  if (opts.app->count("--nsswitch") > 0) {
    try {
      nsswitch = elf::read_nsswitch(opts.nsswitch, opts.nsswitch);
    } catch (const Error& e) {
      throw UsageError{std::string("--nsswitch: ") + e.what()};
    }
  }

  int exit_code = kExitOk;
  bool first = true;
  for (const std::string& path : opts.binaries) {
    elf::Report rep;
    try {
      rep = elf::verify_file(path, platform);
      if (nsswitch) elf::judge_nss(rep, *nsswitch);
    } catch (const Error& e) {
      // The message already names the path.
      std::fprintf(stderr, "rustimg verify: %s\n", printable(e.what()).c_str());
      if (opts.json) {
        nlohmann::json j{{"path", path}, {"error", e.what()}, {"code", error_code_name(e.code())}};
        print_json(j);
      }
      exit_code = kExitBadInput;
      continue;
    }
    if (opts.json) {
      print_json(report_json(path, rep));
    } else {
      if (!first) std::printf("\n");
      print_human(path, rep);
      std::fflush(stdout);
    }
    first = false;
    if (!rep.fit_for_scratch() && exit_code == kExitOk) exit_code = kExitFailed;
  }
  return exit_code;
}

}  // namespace

Command add_verify(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "verify", "is each binary fit for a scratch image?", kVerifyUsage, kVerifyFooter);
  o->app->add_flag("--json", o->json, "print one JSON object per binary, one per line");
  o->app->add_option("--platform", o->platform,
                     "also require the binary to match platform P\n"
                     "(linux/amd64, linux/arm64, linux/arm/v7, ...)")
      ->type_name("P");
  o->app->add_option("--nsswitch", o->nsswitch,
                     "judge NSS lookups against this /etc/nsswitch.conf\n"
                     "(default: none, glibc's built-in defaults, as in scratch)")
      ->type_name("FILE");
  o->app->add_option("BINARY", o->binaries, "the binaries to check");
  return {o->app, [o] { return run_verify(*o); }};
}

}  // namespace rustimg::cli
