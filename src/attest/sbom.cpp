// SBOM documents: SPDX 2.3 JSON and CycloneDX 1.5 JSON from an SbomInput.
// Pure and deterministic: no I/O, no clock, no randomness. Every string in
// the input may come from outside (crate names from cargo-auditable data in
// a foreign binary, git URLs, license fields), so each one is checked
// (size, UTF-8) and escaped or normalised before it lands in a document.
//
// Serialisation: nlohmann::json::dump() of a json value, so object keys are
// sorted; array order is fixed here (packages by name and version, files by
// path, relationships in a stated order).
#include "rustimg/sbom.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::attest {
namespace {

using nlohmann::json;

// Bounds on what one document carries (a Rust binary has hundreds of crates, not 100000).
constexpr std::size_t kMaxPackages = 100000;
constexpr std::size_t kMaxFiles = 10000;
constexpr std::size_t kMaxEdges = 1000000;   // depends_on entries over all packages
constexpr std::size_t kMaxNameLen = 1024;    // a name, version or purl component
constexpr std::size_t kMaxTextLen = 4096;    // paths, URLs, descriptions, licenses
constexpr std::int64_t kMaxEpoch = 253402300799;  // 9999-12-31T23:59:59Z

[[noreturn]] void bad_input(const std::string& message) {
  throw Error(ErrorCode::InvalidArgument, "SBOM input: " + message);
}

/// The field name and a short, safe rendering of a hostile value for messages.
std::string shown(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (value.size() > 80) out += "...";
  return "\"" + out + "\"";
}

bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/// Checks one text field: UTF-8, at most `max` bytes, and (when `required`) not empty.
void check_text(const std::string& field, std::string_view value, std::size_t max, bool required = false) {
  if (required && value.empty()) bad_input(field + " is empty; give it a value");
  if (value.size() > max)
    bad_input(field + " is " + std::to_string(value.size()) + " bytes long, more than the " + std::to_string(max) +
              " allowed");
  if (!is_utf8(value)) bad_input(field + " " + shown(value) + " is not valid UTF-8");
}

/// A lowercase 64-hex sha256, or throws naming `field`.
std::string checked_sha256(const std::string& field, std::string_view hex, bool required) {
  if (hex.empty()) {
    if (required) bad_input(field + " is empty; give the sha256 (64 hex digits) of the file");
    return {};
  }
  std::string out;
  bool ok = hex.size() == 64;
  for (char c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) ok = false;
    out += c;
  }
  if (!ok) bad_input(field + " " + shown(hex) + " is not a sha256 (64 hex digits)");
  return out;
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `keep`).
std::string percent_encode(std::string_view s, std::string_view keep = {}) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '.' || c == '-' ||
        c == '_' || c == '~' || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string hex_sha256(std::string_view bytes) { return oci::sha256_digest(bytes).substr(7); }

/// An RFC 4122 name-based UUID (version 5 layout, sha256 instead of sha1) of `content`.
std::string content_uuid(std::string_view content) {
  std::string hex = hex_sha256(content).substr(0, 32);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  static constexpr char kHex[] = "0123456789abcdef";
  hex[12] = '5';                             // version
  hex[16] = kHex[(nibble(hex[16]) & 3) | 8];  // variant 10xx
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

/// True for a download location SPDX 2.3 accepts (and spdx-tools validates):
/// NONE, NOASSERTION, or [vcs+]scheme://[user@]host.tld[:port][/path] with
/// printable ASCII. Stricter than the spec; anything else becomes NOASSERTION.
bool is_spdx_download_location(std::string_view s) {
  if (s == "NONE" || s == "NOASSERTION") return true;
  for (std::string_view vcs : {"git+", "hg+", "svn+", "bzr+"})
    if (s.substr(0, vcs.size()) == vcs) {
      s.remove_prefix(vcs.size());
      break;
    }
  bool scheme = false;
  for (std::string_view sch : {"http://", "https://", "ssh://", "git://", "svn://", "sftp://", "ftp://"})
    if (s.substr(0, sch.size()) == sch) {
      s.remove_prefix(sch.size());
      scheme = true;
      break;
    }
  if (!scheme) return false;
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  std::string_view authority = s.substr(0, s.find('/'));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    for (char c : authority.substr(0, at))
      if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_-.!~*'()%;:&=+$,").find(c) !=
                                                               std::string_view::npos))
        return false;
    if (at == 0) return false;
    authority.remove_prefix(at + 1);
  }
  if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
      if (c < '0' || c > '9') return false;
    authority = authority.substr(0, colon);
  }
  // host: alphanumeric runs separated by single '-' or '.', ending in ".<2-5 letters>"
  auto dot = authority.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto tld = authority.substr(dot + 1);
  if (tld.size() < 2 || tld.size() > 5) return false;
  for (char c : tld)
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  char prev = '.';
  for (char c : authority.substr(0, dot)) {
    bool sep = c == '-' || c == '.';
    if (!sep && !std::isalnum(static_cast<unsigned char>(c))) return false;
    if (sep && (prev == '-' || prev == '.')) return false;
    prev = c;
  }
  return prev != '-' && prev != '.';
}

// --- license expressions --------------------------------------------------------

struct License {
  std::string expression;  // normalised SPDX expression; "" when none or not an expression
  bool license_ref = false;  // uses LicenseRef-/DocumentRef- (needs extracted licensing info in SPDX)
};

/// Parses a license expression (SPDX annex D grammar, operators AND/OR/WITH,
/// parentheses, "+"), after cargo's legacy "/" separator is read as OR. Returns
/// the normalised text (single spaces), or "" when it is not an expression.
License parse_license(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  bool legacy_slash = text.find('/') != std::string_view::npos;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t') { ++i; continue; }
    if (c == '(' || c == ')') { tokens.emplace_back(1, c); ++i; continue; }
    if (c == '/') {
      if (!legacy_slash) return {};
      tokens.emplace_back("OR");
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
                               text[j] == '-' || text[j] == '+' || text[j] == ':'))
      ++j;
    if (j == i) return {};
    tokens.emplace_back(text.substr(i, j - i));
    i = j;
  }
  // "MIT/Apache-2.0" only: a slash with explicit operators or parentheses is no legacy form.
  if (legacy_slash)
    for (const auto& t : tokens)
      if (t == "(" || t == "AND" || t == "WITH") return {};
  License out;
  auto is_id = [&](const std::string& t) {
    if (t == "AND" || t == "OR" || t == "WITH" || t == "(" || t == ")") return false;
    std::string_view v = t;
    if (v.back() == '+') v.remove_suffix(1);
    if (v.empty()) return false;
    for (char c : v)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) return false;
    if (v.find(':') != std::string_view::npos || v.substr(0, 11) == "LicenseRef-" || v.substr(0, 12) == "DocumentRef-")
      out.license_ref = true;
    return true;
  };
  // expr := term (("AND"|"OR") term)* ; term := "(" expr ")" | id ["WITH" id]
  std::size_t pos = 0;
  int depth = 0;
  bool ok = true;
  std::function<void()> expr;
  auto term = [&]() {
    if (pos < tokens.size() && tokens[pos] == "(") {
      if (++depth > 32) { ok = false; return; }
      ++pos;
      expr();
      if (pos >= tokens.size() || tokens[pos] != ")") { ok = false; return; }
      ++pos;
      --depth;
      return;
    }
    if (pos >= tokens.size() || !is_id(tokens[pos])) { ok = false; return; }
    ++pos;
    if (pos < tokens.size() && tokens[pos] == "WITH") {
      ++pos;
      if (pos >= tokens.size() || !is_id(tokens[pos])) { ok = false; return; }
      ++pos;
    }
  };
  expr = [&]() {
    term();
    while (ok && pos < tokens.size() && (tokens[pos] == "AND" || tokens[pos] == "OR")) {
      ++pos;
      term();
    }
  };
  if (tokens.empty()) return {};
  expr();
  if (!ok || pos != tokens.size()) return {};
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    if (k > 0 && tokens[k] != ")" && tokens[k - 1] != "(") out.expression += ' ';
    out.expression += tokens[k];
  }
  return out;
}

// --- the checked input -------------------------------------------------------------

struct Crate {
  const SbomPackage* in = nullptr;
  std::string key;  // "NAME@VERSION"
  std::string purl;
  std::string sha256;
  std::string download_location;  // SPDX-acceptable or NOASSERTION
  License license;
  std::vector<std::size_t> deps;  // indices into Model::crates, sorted, unique
  std::string spdx_id;
};

struct File {
  const SbomFile* in = nullptr;
  std::string sha256;
  std::string spdx_id;
};

struct Base {
  std::string name;   // "docker.io/library/debian", or "base image" without a reference
  std::string version;  // digest, else tag, else ""
  std::string purl;     // "" when there is no reference
  std::string digest_hex;
};

struct Model {
  const SbomInput* in = nullptr;
  std::string created;  // RFC 3339
  std::string binary_sha256;
  std::string binary_name;  // last path component
  std::vector<Crate> crates;     // sorted by (name, version)
  std::vector<File> files;       // sorted by path
  std::vector<std::size_t> roots;  // crates with root = true
  std::vector<std::size_t> tops;   // what the binary is built from: roots, else crates nobody depends on
  std::optional<Base> base;
  std::string tool_name, tool_version;  // "rustimg", "0.5.0" (version may be empty)
};

/// "SPDXRef-<prefix>-<text sanitised to [A-Za-z0-9.-]>" ('_' and '/' read as
/// '-'), with a hash of the unique `key` appended when sanitising changed
/// anything else or the id is taken already (ids are made in sorted order, so
/// which of two colliding entries gets the plain id is deterministic).
std::string spdx_id(const std::string& prefix, const std::string& text, const std::string& key,
                    std::set<std::string>& used) {
  std::string clean;
  bool changed = false;
  for (char c : text.substr(0, 64)) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    if (!ok && (c == '_' || c == '/')) {  // "serde_derive", "/etc/ssl/...": readable as '-'
      if (!clean.empty()) clean += '-';
      continue;
    }
    clean += ok ? c : '-';
    changed |= !ok;
  }
  if (clean.empty()) changed = true;
  changed |= text.size() > 64;
  std::string id = "SPDXRef-" + prefix + "-" + clean;
  if (changed || used.count(id)) id += "-" + hex_sha256(key).substr(0, 16);
  if (!used.insert(id).second) bad_input("two entries have the same identity " + shown(key));
  return id;
}

std::string crate_purl(const SbomPackage& p) {
  return "pkg:cargo/" + percent_encode(p.name) + "@" + percent_encode(p.version);
}

Base make_base(const SbomInput& in) {
  Base b;
  if (in.base_digest) {
    if (!is_valid_digest(*in.base_digest) || in.base_digest->substr(0, 7) != "sha256:")
      bad_input("base_digest " + shown(*in.base_digest) + " is not a sha256 digest (\"sha256:<64 hex>\")");
    b.digest_hex = in.base_digest->substr(7);
    b.version = *in.base_digest;
  }
  if (!in.base_reference) {
    b.name = "base image";
    return b;
  }
  check_text("base_reference", *in.base_reference, kMaxTextLen, true);
  Reference ref;
  try {
    ref = parse_reference(*in.base_reference);
  } catch (const Error& e) {
    bad_input(std::string("base_reference: ") + e.what());
  }
  b.name = ref.name();
  if (!in.base_digest && !ref.digest.empty()) {
    b.digest_hex = ref.digest.substr(ref.digest.find(':') + 1);
    b.version = ref.digest;
  }
  if (b.version.empty()) b.version = ref.tag;
  // purl-spec oci type: pkg:oci/NAME@DIGEST?repository_url=REGISTRY/REPOSITORY&tag=TAG
  // (NAME is the last repository segment, lowercase; qualifiers sorted by key).
  std::string last = ref.repository.substr(ref.repository.rfind('/') + 1);
  std::transform(last.begin(), last.end(), last.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  b.purl = "pkg:oci/" + percent_encode(last);
  std::string digest = in.base_digest ? *in.base_digest : ref.digest;
  if (!digest.empty()) b.purl += "@" + percent_encode(digest);
  b.purl += "?repository_url=" + percent_encode(ref.name(), "/:");
  if (!ref.tag.empty()) b.purl += "&tag=" + percent_encode(ref.tag);
  return b;
}

Model check(const SbomInput& in) {
  Model m;
  m.in = &in;
  check_text("name", in.name, kMaxTextLen, true);
  check_text("platform", in.platform, kMaxNameLen);
  check_text("tool", in.tool, kMaxNameLen, true);
  if (in.created < 0 || in.created > kMaxEpoch)
    bad_input("created " + std::to_string(in.created) +
              " is not a time from 0 to 253402300799 seconds since the epoch (SOURCE_DATE_EPOCH)");
  m.created = oci::rfc3339(in.created);
  check_text("binary.path", in.binary.path, kMaxTextLen, true);
  check_text("binary.origin", in.binary.origin, kMaxTextLen);
  m.binary_sha256 = checked_sha256("binary.sha256", in.binary.sha256, true);
  m.binary_name = in.binary.path.substr(in.binary.path.rfind('/') + 1);
  if (m.binary_name.empty()) bad_input("binary.path " + shown(in.binary.path) + " names no file");
  // "rustimg-0.5.0" -> ("rustimg", "0.5.0")
  auto dash = in.tool.rfind('-');
  if (dash != std::string::npos && dash + 1 < in.tool.size() &&
      std::isdigit(static_cast<unsigned char>(in.tool[dash + 1]))) {
    m.tool_name = in.tool.substr(0, dash);
    m.tool_version = in.tool.substr(dash + 1);
  } else {
    m.tool_name = in.tool;
  }

  if (!in.dependencies_known && !in.packages.empty())
    bad_input("dependencies_known is false but " + std::to_string(in.packages.size()) +
              " packages are listed; list none when the binary's dependencies are unknown");
  if (in.packages.size() > kMaxPackages)
    bad_input(std::to_string(in.packages.size()) + " packages, more than the " + std::to_string(kMaxPackages) +
              " allowed");
  if (in.files.size() > kMaxFiles)
    bad_input(std::to_string(in.files.size()) + " files, more than the " + std::to_string(kMaxFiles) + " allowed");

  std::size_t edges = 0;
  for (std::size_t i = 0; i < in.packages.size(); ++i) {
    const auto& p = in.packages[i];
    std::string field = "packages[" + std::to_string(i) + "]";
    check_text(field + ".name", p.name, kMaxNameLen, true);
    check_text(field + ".version", p.version, kMaxNameLen, true);
    std::string at = field + " (" + shown(p.name) + " " + shown(p.version) + ")";
    check_text(at + ".purl", p.purl, kMaxTextLen);
    check_text(at + ".download_location", p.download_location, kMaxTextLen);
    check_text(at + ".source_description", p.source_description, kMaxTextLen);
    check_text(at + ".license", p.license, kMaxTextLen);
    edges += p.depends_on.size();
    if (edges > kMaxEdges)
      bad_input("more than " + std::to_string(kMaxEdges) + " dependency edges (depends_on) in all");
    Crate c;
    c.in = &p;
    c.key = p.name + "@" + p.version;
    c.sha256 = checked_sha256(at + ".sha256", p.sha256, false);
    if (p.purl.empty()) {
      c.purl = crate_purl(p);
    } else {
      // spdx-tools' purl shape: "pkg:" type "/" name, printable ASCII
      bool ok = p.purl.substr(0, 4) == "pkg:" && p.purl.find('/', 4) != std::string::npos &&
                p.purl.find('/', 4) + 1 < p.purl.size();
      for (char ch : p.purl)
        if (ch <= 0x20 || ch >= 0x7f) ok = false;
      if (!ok)
        bad_input(at + ".purl " + shown(p.purl) +
                  " is not a package URL (\"pkg:cargo/NAME@VERSION\"); leave it empty to have it computed");
      c.purl = p.purl;
    }
    c.download_location = is_spdx_download_location(p.download_location) ? p.download_location : "NOASSERTION";
    c.license = parse_license(p.license);
    m.crates.push_back(std::move(c));
  }
  std::sort(m.crates.begin(), m.crates.end(), [](const Crate& a, const Crate& b) {
    return std::tie(a.in->name, a.in->version) < std::tie(b.in->name, b.in->version);
  });
  std::map<std::string, std::size_t> by_key;
  std::set<std::string> used_ids{"SPDXRef-DOCUMENT", "SPDXRef-Image", "SPDXRef-Binary", "SPDXRef-BaseImage"};
  for (std::size_t i = 0; i < m.crates.size(); ++i) {
    auto& c = m.crates[i];
    if (!by_key.emplace(c.key, i).second)
      bad_input("package " + shown(c.key) + " is listed twice; list each NAME@VERSION once");
    c.spdx_id = spdx_id("Crate", c.in->name + "-" + c.in->version, c.key, used_ids);
  }
  std::vector<bool> has_dependents(m.crates.size(), false);
  for (std::size_t i = 0; i < m.crates.size(); ++i) {
    auto& c = m.crates[i];
    for (const auto& d : c.in->depends_on) {
      auto it = by_key.find(d);
      if (it == by_key.end())
        bad_input("package " + shown(c.key) + " depends on " + shown(d) +
                  ", which is not in the package list; depends_on names other packages as NAME@VERSION");
      if (it->second == i) continue;  // a self edge says nothing
      c.deps.push_back(it->second);
      has_dependents[it->second] = true;
    }
    std::sort(c.deps.begin(), c.deps.end());
    c.deps.erase(std::unique(c.deps.begin(), c.deps.end()), c.deps.end());
    if (c.in->root) m.roots.push_back(i);
  }
  m.tops = m.roots;
  if (m.tops.empty())
    for (std::size_t i = 0; i < m.crates.size(); ++i)
      if (!has_dependents[i]) m.tops.push_back(i);

  std::set<std::string> paths{in.binary.path};
  for (std::size_t i = 0; i < in.files.size(); ++i) {
    const auto& f = in.files[i];
    std::string field = "files[" + std::to_string(i) + "]";
    check_text(field + ".path", f.path, kMaxTextLen, true);
    check_text(field + ".origin", f.origin, kMaxTextLen);
    if (!paths.insert(f.path).second)
      bad_input(field + ".path " + shown(f.path) + " is listed twice (or is the binary's path); list each file once");
    m.files.push_back(File{&f, checked_sha256(field + ".sha256", f.sha256, true), {}});
  }
  std::sort(m.files.begin(), m.files.end(), [](const File& a, const File& b) { return a.in->path < b.in->path; });
  for (auto& f : m.files) f.spdx_id = spdx_id("File", f.in->path, f.in->path, used_ids);

  if (in.base_reference || in.base_digest) m.base = make_base(in);
  return m;
}

const char* kUnknownDependencies =
    "The crates compiled into this binary are unknown: it carries no cargo-auditable dependency list "
    "(.dep-v0 section), and rustimg lists no packages it cannot see.";

// --- SPDX 2.3 ------------------------------------------------------------------------

json spdx_package(const std::string& id, const std::string& name, const char* purpose) {
  return json{{"SPDXID", id},
              {"name", name},
              {"downloadLocation", "NOASSERTION"},
              {"filesAnalyzed", false},
              {"licenseConcluded", "NOASSERTION"},
              {"licenseDeclared", "NOASSERTION"},
              {"copyrightText", "NOASSERTION"},
              {"supplier", "NOASSERTION"},
              {"primaryPackagePurpose", purpose}};
}

json sha256_checksums(const std::string& hex) {
  return json::array({json{{"algorithm", "SHA256"}, {"checksumValue", hex}}});
}

json relationship(const std::string& a, const char* type, const std::string& b) {
  return json{{"spdxElementId", a}, {"relationshipType", type}, {"relatedSpdxElement", b}};
}

/// Dumps `doc`; strings were checked for UTF-8, so dump() cannot throw on them.
std::string dump(const json& doc) { return doc.dump(2) + "\n"; }

}  // namespace

std::string spdx_json(const SbomInput& input) {
  const Model m = check(input);
  json packages = json::array();
  json relationships = json::array();

  // The image this document is attached to (its subject): it contains the
  // binary and the built-in files and descends from the base image.
  json image = spdx_package("SPDXRef-Image", input.name, "CONTAINER");
  if (!input.platform.empty()) image["comment"] = "platform " + input.platform;
  packages.push_back(std::move(image));
  relationships.push_back(relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));

  json binary = spdx_package("SPDXRef-Binary", m.binary_name, "APPLICATION");
  binary["packageFileName"] = input.binary.path;
  binary["checksums"] = sha256_checksums(m.binary_sha256);
  if (m.roots.size() == 1) binary["versionInfo"] = m.crates[m.roots[0]].in->version;
  if (!input.binary.origin.empty()) binary["sourceInfo"] = input.binary.origin;
  if (!input.dependencies_known) {
    binary["comment"] = kUnknownDependencies;
    binary["annotations"] = json::array({json{{"annotationDate", m.created},
                                              {"annotationType", "OTHER"},
                                              {"annotator", "Tool: " + input.tool},
                                              {"comment", kUnknownDependencies}}});
  }
  packages.push_back(std::move(binary));
  relationships.push_back(relationship("SPDXRef-Image", "CONTAINS", "SPDXRef-Binary"));

  for (const auto& c : m.crates) {
    json p = spdx_package(c.spdx_id, c.in->name, "LIBRARY");
    p["versionInfo"] = c.in->version;
    p["downloadLocation"] = c.download_location;
    p["externalRefs"] = json::array(
        {json{{"referenceCategory", "PACKAGE-MANAGER"}, {"referenceType", "purl"}, {"referenceLocator", c.purl}}});
    if (!c.sha256.empty()) p["checksums"] = sha256_checksums(c.sha256);
    // A LicenseRef- would need its text in hasExtractedLicensingInfos, which rustimg does not have.
    if (!c.license.expression.empty() && !c.license.license_ref)
      p["licenseDeclared"] = c.license.expression;
    else if (!c.in->license.empty())
      p["comment"] = "license in the crate's manifest: " + c.in->license;
    std::string source = c.in->source_description;
    if (c.download_location != c.in->download_location && !c.in->download_location.empty() &&
        c.in->download_location != "NOASSERTION")
      source += (source.empty() ? "" : "; ") + std::string("download location: ") + c.in->download_location;
    if (!source.empty()) p["sourceInfo"] = source;
    packages.push_back(std::move(p));
  }
  for (const auto& f : m.files) {
    json p = spdx_package(f.spdx_id, f.in->path, "FILE");
    p["packageFileName"] = f.in->path;
    p["checksums"] = sha256_checksums(f.sha256);
    if (!f.in->origin.empty()) p["sourceInfo"] = f.in->origin;
    packages.push_back(std::move(p));
  }
  if (m.base) {
    json p = spdx_package("SPDXRef-BaseImage", m.base->name, "CONTAINER");
    if (!m.base->version.empty()) p["versionInfo"] = m.base->version;
    if (!m.base->purl.empty())
      p["externalRefs"] = json::array({json{
          {"referenceCategory", "PACKAGE-MANAGER"}, {"referenceType", "purl"}, {"referenceLocator", m.base->purl}}});
    packages.push_back(std::move(p));
  }

  // Relationships, in this order: the binary's crates (root GENERATES binary,
  // binary CONTAINS crate, crate DEPENDS_ON crate), the files, the base.
  if (!input.dependencies_known)
    relationships.push_back(relationship("SPDXRef-Binary", "CONTAINS", "NOASSERTION"));
  for (std::size_t r : m.roots)
    relationships.push_back(relationship(m.crates[r].spdx_id, "GENERATES", "SPDXRef-Binary"));
  for (const auto& c : m.crates) relationships.push_back(relationship("SPDXRef-Binary", "CONTAINS", c.spdx_id));
  for (const auto& c : m.crates)
    for (std::size_t d : c.deps) relationships.push_back(relationship(c.spdx_id, "DEPENDS_ON", m.crates[d].spdx_id));
  for (const auto& f : m.files) relationships.push_back(relationship("SPDXRef-Image", "CONTAINS", f.spdx_id));
  if (m.base) relationships.push_back(relationship("SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage"));

  json doc{{"spdxVersion", "SPDX-2.3"},
           {"dataLicense", "CC0-1.0"},
           {"SPDXID", "SPDXRef-DOCUMENT"},
           {"name", input.name},
           {"documentNamespace", ""},
           {"creationInfo", json{{"created", m.created}, {"creators", json::array({"Tool: " + input.tool})}}},
           {"packages", std::move(packages)},
           {"relationships", std::move(relationships)}};
  if (!input.dependencies_known) doc["comment"] = kUnknownDependencies;
  // The namespace: unique per content, the same for the same content.
  std::string slug;
  for (char c : input.name.substr(0, 64)) slug += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ? c : '-';
  doc["documentNamespace"] = "https://spdx.org/spdxdocs/" + slug + "-" + content_uuid(doc.dump());
  return dump(doc);
}

std::string cyclonedx_json(const SbomInput& input) {
  const Model m = check(input);
  auto hashes = [](const std::string& hex) { return json::array({json{{"alg", "SHA-256"}, {"content", hex}}}); };
  auto property = [](const char* name, const std::string& value) { return json{{"name", name}, {"value", value}}; };
  auto crate_ref = [](const Crate& c) { return "crate:" + c.key; };
  const std::string binary_ref = "binary:" + input.binary.path;

  json app{{"type", "application"},
           {"bom-ref", binary_ref},
           {"name", m.binary_name},
           {"hashes", hashes(m.binary_sha256)}};
  if (m.roots.size() == 1) app["version"] = m.crates[m.roots[0]].in->version;
  json app_props = json::array({property("rustimg:path", input.binary.path)});
  if (!input.binary.origin.empty()) app_props.push_back(property("rustimg:origin", input.binary.origin));
  app["properties"] = std::move(app_props);
  if (!input.dependencies_known) app["description"] = kUnknownDependencies;

  json tool{{"type", "application"}, {"name", m.tool_name}};
  if (!m.tool_version.empty()) tool["version"] = m.tool_version;
  json metadata{{"timestamp", m.created}, {"tools", json{{"components", json::array({tool})}}}, {"component", app}};
  json meta_props = json::array({property("rustimg:name", input.name)});
  if (!input.platform.empty()) meta_props.push_back(property("rustimg:platform", input.platform));
  metadata["properties"] = std::move(meta_props);

  json components = json::array();
  json dependencies = json::array();
  for (const auto& c : m.crates) {
    json comp{{"type", "library"}, {"bom-ref", crate_ref(c)}, {"name", c.in->name}, {"version", c.in->version},
              {"purl", c.purl}};
    if (!c.sha256.empty()) comp["hashes"] = hashes(c.sha256);
    if (!c.license.expression.empty())
      comp["licenses"] = json::array({json{{"expression", c.license.expression}}});
    else if (!c.in->license.empty())
      comp["licenses"] = json::array({json{{"license", json{{"name", c.in->license}}}}});
    if (c.download_location != "NOASSERTION" && c.download_location != "NONE")
      comp["externalReferences"] = json::array({json{{"type", "distribution"}, {"url", c.download_location}}});
    if (!c.in->source_description.empty())
      comp["properties"] = json::array({property("rustimg:source", c.in->source_description)});
    components.push_back(std::move(comp));
    json deps = json::array();
    for (std::size_t d : c.deps) deps.push_back(crate_ref(m.crates[d]));
    dependencies.push_back(json{{"ref", crate_ref(c)}, {"dependsOn", std::move(deps)}});
  }
  if (input.dependencies_known) {
    json deps = json::array();
    for (std::size_t t : m.tops) deps.push_back(crate_ref(m.crates[t]));
    dependencies.insert(dependencies.begin(), json{{"ref", binary_ref}, {"dependsOn", std::move(deps)}});
  }
  for (const auto& f : m.files) {
    json comp{{"type", "file"}, {"bom-ref", "file:" + f.in->path}, {"name", f.in->path}, {"hashes", hashes(f.sha256)}};
    if (!f.in->origin.empty()) comp["description"] = f.in->origin;
    components.push_back(std::move(comp));
  }
  if (m.base) {
    json comp{{"type", "container"}, {"bom-ref", "base-image:" + m.base->name}, {"name", m.base->name}};
    if (!m.base->version.empty()) comp["version"] = m.base->version;
    if (!m.base->purl.empty()) comp["purl"] = m.base->purl;
    if (!m.base->digest_hex.empty()) comp["hashes"] = hashes(m.base->digest_hex);
    comp["description"] = "the base image";
    components.push_back(std::move(comp));
  }

  json doc{{"bomFormat", "CycloneDX"},
           {"specVersion", "1.5"},
           {"version", 1},
           {"metadata", std::move(metadata)},
           {"components", std::move(components)},
           {"dependencies", std::move(dependencies)}};
  if (!input.dependencies_known)
    doc["compositions"] = json::array({json{{"aggregate", "unknown"},
                                            {"assemblies", json::array({binary_ref})},
                                            {"dependencies", json::array({binary_ref})}}});
  doc["serialNumber"] = "urn:uuid:" + content_uuid(doc.dump());
  return dump(doc);
}

std::string sbom_json(const SbomInput& input, SbomFormat format) {
  return format == SbomFormat::Spdx ? spdx_json(input) : cyclonedx_json(input);
}

}  // namespace rustimg::attest
