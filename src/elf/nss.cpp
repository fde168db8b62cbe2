// The NSS verdict for statically linked glibc binaries: which lookups the
// image's /etc/nsswitch.conf sends to a service the binary cannot use.
//
// What glibc does (nss/nss_module.c, nss/nss_database.c):
//  - 2.34 and later build the "files" and "dns" services into libc, static
//    libc.a included; any other service is dlopen'ed as libnss_NAME.so.2,
//    which a static binary cannot do (absent from scratch; elsewhere a second
//    libc). A service that fails to load is UNAVAIL and skipped.
//  - before 2.34 even "files" and "dns" are modules (libnss_files.so.2,
//    libnss_dns.so.2): every lookup needs them.
//  - without /etc/nsswitch.conf: "files" for passwd, group and the rest;
//    hosts and networks "files dns" since 2.35 (bug 28700), "dns
//    [!UNAVAIL=return] files" before (so /etc/hosts is read only when no DNS
//    server answers).
// Pure: no I/O.
#include "elf/nss.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <utility>
#include <vector>

#include "rustimg/elf.hpp"

namespace rustimg::elf {
namespace detail {

std::optional<std::string> glibc_version_in(std::string_view bytes) {
  constexpr std::string_view kBanner = "GNU C Library";
  constexpr std::string_view kRelease = "release version ";
  constexpr std::size_t kBannerSpan = 200;  // bytes after "GNU C Library" searched for the version
  for (std::size_t at = bytes.find(kBanner); at != std::string_view::npos; at = bytes.find(kBanner, at + 1)) {
    const std::string_view tail = bytes.substr(at, kBannerSpan);
    const std::size_t nul = tail.find('\0');
    const std::string_view banner = tail.substr(0, nul);
    const std::size_t v = banner.find(kRelease);
    if (v == std::string_view::npos) continue;
    std::size_t i = v + kRelease.size();
    const std::size_t start = i;
    int dots = 0;
    while (i < banner.size() && (std::isdigit(static_cast<unsigned char>(banner[i])) != 0 ||
                                 (banner[i] == '.' && i + 1 < banner.size() &&
                                  std::isdigit(static_cast<unsigned char>(banner[i + 1])) != 0))) {
      if (banner[i] == '.') ++dots;
      ++i;
    }
    if (dots >= 1 && i - start <= 16) return std::string(banner.substr(start, i - start));
  }
  // No banner (a C program that never asks for the version): the tunables
  // every static glibc lists give a lower bound (NEWS: glibc.rtld.dynamic_sort
  // and glibc.malloc.hugetlb are new in 2.35, glibc.pthread.stack_cache_size
  // in 2.34), which is all the NSS verdict needs.
  using namespace std::string_view_literals;
  for (const auto& [tunable, version] : {std::pair{"\0glibc.rtld.dynamic_sort\0"sv, ">=2.35"},
                                        std::pair{"\0glibc.malloc.hugetlb\0"sv, ">=2.35"},
                                        std::pair{"\0glibc.pthread.stack_cache_size\0"sv, ">=2.34"}})
    if (bytes.find(tunable) != std::string_view::npos) return std::string(version);
  return std::nullopt;
}

}  // namespace detail

namespace {

constexpr const char* kWarningPrefix = "NSS: ";  // marks the warning judge_nss() owns

// nss/databases.def, without publickey (secure RPC keys, defaults to NIS:
// never a lookup a Rust program makes).
constexpr std::array<std::string_view, 13> kDatabases = {
    "aliases", "ethers", "group", "gshadow", "hosts", "initgroups", "netgroup",
    "networks", "passwd", "protocols", "rpc", "services", "shadow"};

/// The version as (major, minor); nullopt when unknown or unparsable.
std::optional<std::pair<int, int>> parse_version(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  const std::string_view text = v->rfind(">=", 0) == 0 ? std::string_view(*v).substr(2) : std::string_view(*v);
  const std::size_t dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 3) return std::nullopt;
  int major = 0;
  int minor = 0;
  std::size_t i = 0;
  for (; i < dot; ++i) major = major * 10 + (text[i] - '0');
  for (i = dot + 1; i < text.size() && i < dot + 4 && text[i] != '.'; ++i) minor = minor * 10 + (text[i] - '0');
  return std::pair{major, minor};
}

/// database -> its services, in order, from nsswitch.conf text (glibc's
/// syntax: "db: service [STATUS=action] service", '#' comments; the last
/// line for a database wins; unknown databases are ignored).
std::map<std::string, std::vector<std::string>> parse_nsswitch(std::string_view text) {
  std::map<std::string, std::vector<std::string>> out;
  text = text.substr(0, kMaxNsswitchBytes);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())) != 0) name.remove_prefix(1);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())) != 0) name.remove_suffix(1);
    if (std::find(kDatabases.begin(), kDatabases.end(), name) == kDatabases.end()) continue;
    std::vector<std::string> services;
    std::string_view rest = line.substr(colon + 1);
    int depth = 0;  // inside "[...]" action blocks
    std::string word;
    auto flush = [&] {
      if (!word.empty() && services.size() < 32) services.push_back(word);
      word.clear();
    };
    for (const char c : rest) {
      if (c == '[') {
        flush();
        ++depth;
      } else if (c == ']') {
        if (depth > 0) --depth;
      } else if (depth == 0 && (std::isspace(static_cast<unsigned char>(c)) != 0 || c == ':')) {
        flush();
      } else if (depth == 0 && word.size() < 64) {
        word += c;
      }
    }
    flush();
    out[std::string(name)] = std::move(services);
  }
  return out;
}

/// glibc's built-in services of `db` when nsswitch.conf does not name it.
std::vector<std::string> default_services(std::string_view db, const std::optional<std::pair<int, int>>& v) {
  if (db == "initgroups") return {};  // falls back to group
  if (db == "hosts" || db == "networks") {
    if (v && *v < std::pair{2, 35}) return {"dns", "files"};
    return {"files", "dns"};
  }
  return {"files"};
}

bool builtin(std::string_view service, std::string_view db, bool has_builtins) {
  if (!has_builtins) return false;
  return service == "files" || (service == "dns" && (db == "hosts" || db == "networks"));
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

void judge_nss(Report& report, const NssSwitch& conf) {
  report.warnings.erase(std::remove_if(report.warnings.begin(), report.warnings.end(),
                                       [](const std::string& w) { return w.rfind(kWarningPrefix, 0) == 0; }),
                        report.warnings.end());
  report.nss_risk = false;
  report.nss_failing.clear();
  report.nss_checked_against.clear();
  if (report.libc != LibcKind::Glibc || report.linkage == Linkage::Dynamic || report.nss_evidence.empty()) return;
  report.nss_checked_against = conf.origin;

  const auto version = parse_version(report.glibc_version);
  const bool has_builtins = version && *version >= std::pair{2, 34};
  std::map<std::string, std::vector<std::string>> configured;
  if (conf.text) configured = parse_nsswitch(*conf.text);
  // shadow and gshadow follow passwd and group when only those are named.
  if (configured.count("shadow") == 0 && configured.count("passwd") != 0) configured["shadow"] = configured["passwd"];
  if (configured.count("gshadow") == 0 && configured.count("group") != 0) configured["gshadow"] = configured["group"];

  for (const std::string_view db : kDatabases) {
    const auto it = configured.find(std::string(db));
    const std::vector<std::string> services = it != configured.end() ? it->second : default_services(db, version);
    const bool any_builtin = std::any_of(services.begin(), services.end(),
                                         [&](const std::string& s) { return builtin(s, db, has_builtins); });
    for (const auto& s : services) {
      if (builtin(s, db, has_builtins)) continue;
      if (s == "dns" && db != "hosts" && db != "networks") continue;  // dns answers nothing else
      report.nss_failing.push_back({std::string(db), s, "libnss_" + s + ".so.2", !any_builtin});
    }
  }

  const std::string glibc = report.glibc_version ? "glibc " + *report.glibc_version : "glibc";
  if (!report.nss_failing.empty()) {
    report.nss_risk = true;
    // One clause per service: "hosts, networks lookups through 'mdns4_minimal' need libnss_mdns4_minimal.so.2".
    std::vector<std::string> clauses;
    std::vector<std::string> services;
    for (const auto& f : report.nss_failing)
      if (std::find(services.begin(), services.end(), f.service) == services.end()) services.push_back(f.service);
    for (const auto& s : services) {
      std::vector<std::string> dbs;
      std::vector<std::string> lost;
      std::string module;
      for (const auto& f : report.nss_failing) {
        if (f.service != s) continue;
        dbs.push_back(f.database);
        module = f.module;
        if (f.every_lookup) lost.push_back(f.database);
      }
      std::string clause = join(dbs, ", ") + " lookups through '" + s + "' need " + module;
      clause += lost.empty() ? " (answers only it gives are not found)"
                             : " (every " + join(lost, ", ") + " lookup fails)";
      clauses.push_back(std::move(clause));
    }
    std::string why;
    if (!report.glibc_version)
      why = "the glibc version could not be told from the binary; before glibc 2.34 even 'files' and 'dns' are "
            "modules, so with ";
    else if (!has_builtins)
      why = glibc + " (before 2.34) builds no NSS service in, so with ";
    else
      why = glibc + " answers 'files' and 'dns' itself, but with ";
    report.warnings.push_back(std::string(kWarningPrefix) + why + conf.origin + ", " + join(clauses, "; ") +
                              ", which a statically linked binary cannot load; use only 'files' and 'dns' in "
                              "/etc/nsswitch.conf, avoid these lookups, or build for a musl target");
  } else if (!conf.text && version && *version < std::pair{2, 35}) {
    report.warnings.push_back(std::string(kWarningPrefix) + glibc +
                              " without /etc/nsswitch.conf asks DNS before /etc/hosts (\"dns [!UNAVAIL=return] "
                              "files\"): /etc/hosts is read only when no DNS server answers; use the static base "
                              "or add /etc/nsswitch.conf with \"hosts: files dns\"");
  }
}

}  // namespace rustimg::elf
