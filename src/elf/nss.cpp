// The NSS verdict for statically linked glibc binaries: which lookups the
// image's /etc/nsswitch.conf sends to a service the binary cannot use.
//
// What glibc does (nss/nss_module.c, nss/nss_database.c):
//  - 2.34 and later build the "files" and "dns" services into libc, static
//    libc.a included; any other service is dlopen'ed as libnss_NAME.so.2,
//    which a static binary can do only from the identical glibc's shared
//    libraries (absent from scratch and the static base). A service that
//    fails to load answers UNAVAIL, and by default the next one is asked.
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
#include "rustimg/error.hpp"

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

/// One service of a database line with its actions: returns[status] is
/// true when glibc stops the lookup after that status (MERGE continues).
enum Status : std::size_t { kSuccess, kNotFound, kUnavail, kTryAgain, kStatusCount };
struct Service {
  std::string name;
  std::array<bool, kStatusCount> returns{true, false, false, false};  // glibc's default: SUCCESS=return
};

/// database -> its services; `error` set when a line is not valid syntax
/// (glibc 2.33+ then rejects the whole file and every lookup fails).
struct Parsed {
  std::map<std::string, std::vector<Service>> dbs;
  std::optional<std::string> error;
};

bool space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

/// "[STATUS=action ...]" at `line` (past the '['); false on a syntax error.
bool parse_actions(std::string_view& line, Service& s) {
  auto skip_ws = [&] {
    while (!line.empty() && space(line.front())) line.remove_prefix(1);
  };
  auto word = [&] {
    std::size_t n = 0;
    while (n < line.size() && !space(line[n]) && line[n] != '=' && line[n] != ']') ++n;
    const std::string_view w = line.substr(0, n);
    line.remove_prefix(n);
    return w;
  };
  auto is = [](std::string_view w, std::string_view name) {
    return w.size() == name.size() && std::equal(w.begin(), w.end(), name.begin(), [](char a, char b) {
             return std::toupper(static_cast<unsigned char>(a)) == b;
           });
  };
  skip_ws();
  do {
    const bool negated = !line.empty() && line.front() == '!';
    if (negated) line.remove_prefix(1);
    const std::string_view status_word = word();
    Status status = kSuccess;
    if (is(status_word, "SUCCESS")) status = kSuccess;
    else if (is(status_word, "NOTFOUND")) status = kNotFound;
    else if (is(status_word, "UNAVAIL")) status = kUnavail;
    else if (is(status_word, "TRYAGAIN")) status = kTryAgain;
    else return false;
    skip_ws();
    if (line.empty() || line.front() != '=') return false;
    line.remove_prefix(1);
    skip_ws();
    const std::string_view action = word();
    bool returns = false;
    if (is(action, "RETURN")) returns = true;
    else if (!is(action, "CONTINUE") && !is(action, "MERGE")) return false;
    if (negated) {
      const bool kept = s.returns[status];
      s.returns.fill(returns);
      s.returns[status] = kept;
    } else {
      s.returns[status] = returns;
    }
    skip_ws();
  } while (!line.empty() && line.front() != ']');
  if (line.empty()) return false;
  line.remove_prefix(1);
  return true;
}

/// nsswitch.conf text as glibc 2.33+ reads it (nss/nss_database.c
/// process_line, nss/nss_action_parse.c): "db" then spaces and colons, then
/// services split on white space and '[', each with an optional action
/// block; a service name starting with '[' ends the list; unknown
/// databases are ignored; the last line for a database wins. A '#' word and
/// the rest of its line is taken as a comment (glibc would try a module
/// named "#", which fails and, by default, continues).
Parsed parse_nsswitch(std::string_view text) {
  Parsed out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    const std::string_view full = text.substr(0, nl);
    std::string_view line = full;
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && space(line.front())) line.remove_prefix(1);
    std::size_t n = 0;
    while (n < line.size() && !space(line[n]) && line[n] != ':') ++n;
    if (n == 0 || n == line.size()) continue;
    const std::string_view name = line.substr(0, n);
    line.remove_prefix(n);
    while (!line.empty() && (space(line.front()) || line.front() == ':')) line.remove_prefix(1);
    if (std::find(kDatabases.begin(), kDatabases.end(), name) == kDatabases.end()) continue;
    std::vector<Service> services;
    while (true) {
      while (!line.empty() && space(line.front())) line.remove_prefix(1);
      if (line.empty() || line.front() == '#') break;
      std::size_t w = 0;
      while (w < line.size() && !space(line[w]) && line[w] != '[') ++w;
      if (w == 0) break;  // a '[' where a service belongs: glibc stops here
      Service s;
      s.name = std::string(line.substr(0, std::min<std::size_t>(w, 64)));
      line.remove_prefix(w);
      while (!line.empty() && space(line.front())) line.remove_prefix(1);
      if (!line.empty() && line.front() == '[') {
        line.remove_prefix(1);
        if (!parse_actions(line, s)) {
          out.error = "line " + std::to_string(line_no) + " (\"" +
                      std::string(full.substr(0, std::min<std::size_t>(full.size(), 80))) +
                      "\") has an invalid [STATUS=action] block";
          return out;
        }
      }
      if (services.size() < 32) services.push_back(std::move(s));
    }
    out.dbs[std::string(name)] = std::move(services);
  }
  return out;
}

/// glibc's built-in services of `db` when nsswitch.conf does not name it.
std::vector<Service> default_services(std::string_view db, const std::optional<std::pair<int, int>>& v) {
  if (db == "initgroups") return {};  // falls back to group
  if (db == "hosts" || db == "networks") {
    if (v && *v < std::pair{2, 35}) {
      Service dns{"dns", {true, true, false, true}};  // "dns [!UNAVAIL=return] files"
      return {dns, Service{"files"}};
    }
    return {Service{"files"}, Service{"dns"}};
  }
  return {Service{"files"}};
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
  // musl has no NSS: no risk and nothing to warn about (README: what it reads instead).
  if (report.libc == LibcKind::Musl) return;
  if (report.libc != LibcKind::Glibc || report.linkage == Linkage::Dynamic || report.nss_evidence.empty()) return;
  report.nss_checked_against = conf.origin;

  if (conf.text && conf.text->size() > kMaxNsswitchBytes)
    throw Error(ErrorCode::InvalidArgument, conf.origin + " is over " + std::to_string(kMaxNsswitchBytes / 1024) +
                                                " KiB, too big for an nsswitch.conf: give the right file");
  const auto version = parse_version(report.glibc_version);
  const bool has_builtins = version && *version >= std::pair{2, 34};
  Parsed parsed;
  if (conf.text) parsed = parse_nsswitch(*conf.text);
  if (parsed.error) {
    report.nss_risk = true;
    report.warnings.push_back(std::string(kWarningPrefix) + conf.origin + ": " + *parsed.error +
                              ", so glibc (2.33 and later) rejects the whole file and every NSS lookup fails; "
                              "write actions as [NOTFOUND=return] (SUCCESS, NOTFOUND, UNAVAIL or TRYAGAIN = "
                              "return, continue or merge)");
    return;
  }
  auto& configured = parsed.dbs;
  // shadow and gshadow follow passwd and group when only those are named.
  if (configured.count("shadow") == 0 && configured.count("passwd") != 0) configured["shadow"] = configured["passwd"];
  if (configured.count("gshadow") == 0 && configured.count("group") != 0) configured["gshadow"] = configured["group"];

  for (const std::string_view db : kDatabases) {
    const auto it = configured.find(std::string(db));
    const std::vector<Service> services = it != configured.end() ? it->second : default_services(db, version);
    // Walk the services as glibc does. A failing module answers UNAVAIL; a
    // built-in one may answer anything. A module counts only when reached
    // in the normal course (first, or after a built-in's NOTFOUND or a
    // continued SUCCESS), not only as a fallback for a built-in source that
    // is missing (after its UNAVAIL/TRYAGAIN).
    bool normal = true;     // reachable in the normal course
    bool fallback = false;  // reachable after a built-in failed
    bool builtin_reached = false;
    const std::size_t first = report.nss_failing.size();
    for (const Service& s : services) {
      if (!normal && !fallback) break;
      if (builtin(s.name, db, has_builtins)) {
        builtin_reached = true;
        normal = !s.returns[kNotFound] || !s.returns[kSuccess];
        fallback = !s.returns[kUnavail] || !s.returns[kTryAgain];
        continue;
      }
      const bool answers_nothing = s.name == "dns" && db != "hosts" && db != "networks";
      if (normal && !answers_nothing)
        report.nss_failing.push_back({std::string(db), s.name, "libnss_" + s.name + ".so.2", false});
      if (s.returns[kUnavail]) normal = fallback = false;
    }
    for (std::size_t i = first; i < report.nss_failing.size(); ++i) report.nss_failing[i].every_lookup = !builtin_reached;
  }

  const std::string glibc = report.glibc_version ? "glibc " + *report.glibc_version : "glibc";
  if (!report.nss_failing.empty()) {
    report.nss_risk = true;
    const bool known = report.glibc_version.has_value();
    // One clause per service: "hosts, networks lookups through 'mdns4_minimal' need libnss_mdns4_minimal.so.2".
    std::vector<std::string> clauses;
    std::vector<std::string> services;
    std::vector<std::string> modules;
    for (const auto& f : report.nss_failing)
      if (std::find(services.begin(), services.end(), f.service) == services.end()) {
        services.push_back(f.service);
        modules.push_back(f.module);
      }
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
      std::string clause = join(dbs, ", ") + " lookups through '" + s + "' " + (known ? "need " : "would need ") +
                           module;
      clause += lost.empty() ? (known ? " (answers only it gives are not found)"
                                      : " (answers only it gives would not be found)")
                             : " (every " + join(lost, ", ") + (known ? " lookup fails)" : " lookup would fail)");
      clauses.push_back(std::move(clause));
    }
    std::string why;
    std::string advice;
    if (!known) {
      why = "the glibc version could not be told from the binary; if it is older than 2.34, 'files' and 'dns' "
            "are modules too, and with ";
      advice = "build with glibc >= 2.34 or musl, or avoid these lookups";
    } else if (!has_builtins) {
      why = glibc + " (before 2.34) builds no NSS service in, so with ";
      advice = "build with glibc >= 2.34 or musl, or avoid these lookups";
    } else {
      why = glibc + " answers 'files' and 'dns' itself, but with ";
      advice = "use only 'files' and 'dns' for these databases in /etc/nsswitch.conf, or link dynamically on a "
               "base that ships " + join(modules, ", ");
    }
    report.warnings.push_back(std::string(kWarningPrefix) + why + conf.origin + ", " + join(clauses, "; ") +
                              ": modules a static binary can load only from the identical glibc's shared "
                              "libraries, which scratch and the static base do not have; " + advice);
  } else if (!conf.text && version && *version < std::pair{2, 35}) {
    report.warnings.push_back(std::string(kWarningPrefix) + glibc +
                              " without /etc/nsswitch.conf asks DNS before /etc/hosts (\"dns [!UNAVAIL=return] "
                              "files\"): /etc/hosts is read only when no DNS server answers; use the static base "
                              "or add /etc/nsswitch.conf with \"hosts: files dns\"");
  }
}

}  // namespace rustimg::elf
