// Recognises C libraries statically linked into a binary by the strings they
// embed: OpenSSL's version text, zlib's copyright line, SQLite's file magic
// and source id, and so on. Pure: one linear pass over the bytes.
//
// Markers are whole C strings (printable runs between non-printable bytes)
// or fixed phrases with a parsed version and date after them, so a Rust
// crate's message that merely names a library ("OpenSSL is not supported",
// rustls' docs) never counts. The markers were checked against binaries
// linked with Debian's static libcrypto, libz, libsqlite3, libcurl, libbz2.
#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "elf/reader.hpp"
#include "rustimg/elf.hpp"

namespace rustimg::elf {
namespace {

constexpr std::size_t kMinRun = 4;        // shorter printable runs are noise
constexpr std::size_t kMaxRun = 1024;     // longer runs are not the C strings looked for
constexpr std::size_t kMaxCandidates = 32;  // bare "3.x.y" strings kept for SQLite's version

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

/// End of a run of 1..max digits at `i`, or npos.
std::size_t digits(std::string_view s, std::size_t i, std::size_t max) {
  std::size_t j = i;
  while (j < s.size() && is_digit(s[j]) && j - i < max) ++j;
  if (j == i || (j < s.size() && is_digit(s[j]))) return std::string_view::npos;
  return j;
}

/// End of "N.N.N" (1-4 digits each) at `i`, or npos.
std::size_t dotted3(std::string_view s, std::size_t i) {
  for (int part = 0; part < 3; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::string_view::npos;
      ++i;
    }
    i = digits(s, i, 4);
    if (i == std::string_view::npos) return i;
  }
  return i;
}

/// Whether `s` is exactly "N.N.N".
bool is_dotted3(std::string_view s) { return dotted3(s, 0) == s.size(); }

bool is_month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (auto m : months)
    if (s == m) return true;
  return false;
}

/// End of "D Mon YYYY" (OpenSSL's release date) at `i`, or npos.
std::size_t openssl_date(std::string_view s, std::size_t i) {
  i = digits(s, i, 2);
  if (i == std::string_view::npos || i + 9 > s.size() || s[i] != ' ' || !is_month(s.substr(i + 1, 3)) ||
      s[i + 4] != ' ')
    return std::string_view::npos;
  return digits(s, i + 5, 4) == i + 9 ? i + 9 : std::string_view::npos;
}

/// The version in OpenSSL's version text at `i` (just after "OpenSSL "):
/// "3.0.19 27 Jan 2026", "1.1.1w  11 Sep 2023", "3.2.0-alpha1 ...".
std::optional<std::string> openssl_version(std::string_view s, std::size_t i) {
  std::size_t end = dotted3(s, i);
  if (end == std::string_view::npos) return std::nullopt;
  while (end < s.size() && end - i < 40 && is_lower(s[end])) ++end;  // letter releases: 1.1.1w
  if (end < s.size() && s[end] == '-') {                            // -fips, -alpha1, -dev
    ++end;
    while (end < s.size() && end - i < 40 && s[end] != ' ') ++end;
  }
  std::size_t date = end;
  if (date < s.size() && s[date] == ' ') ++date;
  if (date < s.size() && s[date] == ' ') ++date;
  if (date == end || openssl_date(s, date) == std::string_view::npos) return std::nullopt;
  return std::string(s.substr(i, end - i));
}

/// Whether `s` starts with SQLite's source id: "YYYY-MM-DD HH:MM:SS " and
/// at least 40 hex digits of the check-in hash.
bool is_sqlite_source_id(std::string_view s) {
  static constexpr std::string_view shape = "dddd-dd-dd dd:dd:dd ";
  if (s.size() < shape.size() + 40) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i]) return false;
  for (std::size_t i = shape.size(); i < shape.size() + 40; ++i)
    if (!is_hex(s[i])) return false;
  return true;
}

/// Whether `s` is bzip2's version: "1.0.8, 13-Jul-2019".
bool is_bzip2_version(std::string_view s) {
  const std::size_t v = dotted3(s, 0);
  if (v == std::string_view::npos || s.substr(v, 2) != ", ") return false;
  const std::size_t d = digits(s, v + 2, 2);
  return d != std::string_view::npos && d + 9 == s.size() && s[d] == '-' && is_month(s.substr(d + 1, 3)) &&
         s[d + 4] == '-' && digits(s, d + 5, 4) == s.size();
}

/// Whether `run` is `a` followed by `b`. Markers matched whole are spelt in
/// two parts so that this detector's own bytes (in rustimg, in a binding)
/// never show the marker.
bool is_pair(std::string_view run, std::string_view a, std::string_view b) {
  return run.size() == a.size() + b.size() && run.starts_with(a) && run.ends_with(b);
}

/// What the scan has seen so far.
struct Seen {
  std::optional<std::string> openssl;        // from the version text
  bool openssl_provider = false;             // OpenSSL 3's "OpenSSL Default Provider"
  std::optional<std::string> openssl_core;   // the string after "openssl-version"
  bool boringssl = false;
  std::optional<std::string> aws_lc;
  std::optional<std::string> libressl;
  std::optional<LinkedLibrary> zlib;
  bool sqlite_magic = false, sqlite_source_id = false;
  std::set<std::string> three_versions;      // bare "3.x.y" strings
  std::optional<std::string> curl;
  bool bzip2_marker = false;
  std::optional<std::string> bzip2_version;
};

void look_at(std::string_view run, std::string_view previous, Seen& seen) {
  // OpenSSL's version text, also inside "SSL part of OpenSSL 1.0.2u  20 Dec 2019".
  static constexpr std::string_view kOpenSsl = "OpenSSL ";
  for (std::size_t at = run.find(kOpenSsl); !seen.openssl && at != std::string_view::npos;
       at = run.find(kOpenSsl, at + 1))
    seen.openssl = openssl_version(run, at + kOpenSsl.size());
  if (is_pair(run, kOpenSsl, "Default Provider")) seen.openssl_provider = true;
  if (previous == "openssl-version" && is_dotted3(run)) seen.openssl_core = std::string(run);
  // BoringSSL's and AWS-LC's version texts: "OpenSSL 1.1.1 (compatible; BoringSSL)".
  static constexpr std::string_view kCompatible = "(compatible; ";
  if (const auto at = run.find(kCompatible); at != std::string_view::npos) {
    const std::string_view rest = run.substr(at + kCompatible.size());
    if (rest.starts_with("BoringSSL)")) seen.boringssl = true;
    static constexpr std::string_view kAwsLc = "AWS-LC ";
    const std::size_t end = rest.starts_with(kAwsLc) ? dotted3(rest, kAwsLc.size()) : std::string_view::npos;
    if (end != std::string_view::npos && end < rest.size() && rest[end] == ')' && !seen.aws_lc)
      seen.aws_lc = std::string(rest.substr(kAwsLc.size(), end - kAwsLc.size()));
  }
  if (run.starts_with("LibreSSL ") && is_dotted3(run.substr(9))) seen.libressl = std::string(run.substr(9));

  // zlib's copyright: " deflate 1.2.13 Copyright 1995-2022 Jean-loup Gailly and Mark Adler ".
  if (!seen.zlib && run.find("Mark Adler") != std::string_view::npos) {
    for (std::string_view word : {std::string_view("inflate "), std::string_view("deflate ")}) {
      const auto at = run.find(word);
      if (at == std::string_view::npos) continue;
      const std::size_t v = at + word.size();
      const std::size_t end = run.find(" Copyright ", v);
      if (end == std::string_view::npos || end == v || end - v > 32 || !is_digit(run[v])) continue;
      // zlib-ng keeps zlib's line with the zlib version it is compatible with.
      seen.zlib = LinkedLibrary{"zlib", std::string(run.substr(v, end - v))};
      break;
    }
  }

  if (is_pair(run, "SQLite ", "format 3")) seen.sqlite_magic = true;
  if (is_sqlite_source_id(run)) seen.sqlite_source_id = true;
  if (run.starts_with("3.") && is_dotted3(run) && seen.three_versions.size() < kMaxCandidates)
    seen.three_versions.emplace(run);

  static constexpr std::string_view kCurl = "libcurl/";
  if (const auto at = run.find(kCurl); at != std::string_view::npos && !seen.curl) {
    const std::size_t v = at + kCurl.size(), end = dotted3(run, v);
    if (end != std::string_view::npos && (end == run.size() || run[end] == ' ' || run[end] == '-'))
      seen.curl = std::string(run.substr(v, end - v));
  }

  if (const auto at = run.find("bzip2/"); at != std::string_view::npos && run.substr(at + 6).starts_with("libbzip2"))
    seen.bzip2_marker = true;
  if (is_bzip2_version(run)) seen.bzip2_version = std::string(run.substr(0, dotted3(run, 0)));
}

std::vector<LinkedLibrary> verdict(Seen& seen) {
  std::vector<LinkedLibrary> out;
  std::string openssl_version;
  if (seen.openssl) {
    openssl_version = *seen.openssl;
  } else if (seen.openssl_provider && seen.openssl_core) {
    openssl_version = *seen.openssl_core;
  }
  if (seen.openssl || seen.openssl_provider) out.push_back({"OpenSSL", openssl_version});
  if (seen.boringssl) out.push_back({"BoringSSL", ""});
  if (seen.aws_lc) out.push_back({"AWS-LC", *seen.aws_lc});
  if (seen.libressl) out.push_back({"LibreSSL", *seen.libressl});
  if (seen.zlib) out.push_back(*seen.zlib);
  if (seen.sqlite_magic && seen.sqlite_source_id) {
    // sqlite3_version is a bare "3.x.y": trusted only when it is the one
    // such string left once OpenSSL's own is set aside.
    seen.three_versions.erase(openssl_version);
    if (seen.openssl_core) seen.three_versions.erase(*seen.openssl_core);
    out.push_back({"SQLite", seen.three_versions.size() == 1 ? *seen.three_versions.begin() : ""});
  }
  if (seen.curl) out.push_back({"libcurl", *seen.curl});
  if (seen.bzip2_marker && seen.bzip2_version) out.push_back({"bzip2", *seen.bzip2_version});
  return out;
}

}  // namespace

std::string to_string(const LinkedLibrary& l) { return l.version.empty() ? l.name : l.name + " " + l.version; }

std::vector<LinkedLibrary> linked_libraries(std::span<const std::byte> data) {
  const std::string_view bytes = detail::as_chars(data);
  Seen seen;
  std::string_view previous;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= bytes.size(); ++i) {
    const bool printable = i < bytes.size() && static_cast<unsigned char>(bytes[i]) >= 0x20 &&
                           static_cast<unsigned char>(bytes[i]) < 0x7f;
    if (printable) continue;
    const std::size_t len = i - start;
    if (len >= kMinRun && len <= kMaxRun) {
      const std::string_view run = bytes.substr(start, len);
      look_at(run, previous, seen);
      previous = run;
    } else if (len > 0) {
      previous = {};
    }
    start = i + 1;
  }
  return verdict(seen);
}

}  // namespace rustimg::elf
