// The CA bundle of the built-in bases: checked (PEM, certificates only,
// each one X.509) so that a wrong file fails the build, not the TLS
// handshake at run time; the host's or the spec's, plus the spec's extras.
#include <fstream>
#include <memory>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"
#include "util/crate_path.hpp"

namespace rustimg::layer {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBegin = "-----BEGIN ";

[[noreturn]] void refuse(std::string_view name, const std::string& problem) {
  throw Error(ErrorCode::InvalidArgument, "CA bundle " + std::string(name) + " " + problem);
}

std::size_t count_begin_lines(std::string_view bytes) {
  std::size_t n = 0;
  for (std::size_t pos = bytes.find(kBegin); pos != std::string_view::npos; pos = bytes.find(kBegin, pos + 1)) ++n;
  return n;
}

bool parses_as_der_certificate(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  const bool whole = cert != nullptr && p == reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size();
  X509_free(cert);
  return whole;
}

/// Why a file without any PEM block is not a bundle, and the fix.
[[noreturn]] void refuse_without_pem(std::string_view bytes, std::string_view name) {
  if (bytes.find_first_not_of(" \t\r\n") == std::string_view::npos)
    refuse(name, "is empty: give a PEM file of CA certificates (\"-----BEGIN CERTIFICATE-----\" blocks)");
  if (parses_as_der_certificate(bytes))
    refuse(name, "is DER, not PEM: convert it with `openssl x509 -inform der -in " + std::string(name) + " -out " +
                     std::string(name) + ".pem` and name the .pem file");
  refuse(name, "holds no certificate (no \"-----BEGIN CERTIFICATE-----\" line): give a PEM file of CA "
               "certificates");
}

struct OpenSslFree {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};

}  // namespace

std::size_t check_ca_bundle(std::string_view bytes, std::string_view name) {
  if (bytes.size() > kMaxCaBundleBytes)
    refuse(name, "is larger than " + std::to_string(kMaxCaBundleBytes >> 20) + " MiB: give a PEM file of CA "
                 "certificates");
  const std::size_t begins = count_begin_lines(bytes);
  if (begins == 0) refuse_without_pem(bytes, name);

  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())),
                                                       &BIO_free);
  if (!bio) throw Error(ErrorCode::Io, "out of memory reading CA bundle " + std::string(name));
  std::size_t blocks = 0;
  for (;;) {
    char* raw_label = nullptr;
    char* raw_header = nullptr;
    unsigned char* raw_data = nullptr;
    long len = 0;
    ERR_clear_error();
    const int ok = PEM_read_bio(bio.get(), &raw_label, &raw_header, &raw_data, &len);
    const std::unique_ptr<char, OpenSslFree> label(raw_label);
    const std::unique_ptr<char, OpenSslFree> header(raw_header);
    const std::unique_ptr<unsigned char, OpenSslFree> data(raw_data);
    if (ok == 0) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;  // the end
      refuse(name, "block #" + std::to_string(blocks + 1) + " is not valid PEM (a damaged or cut-off "
                   "\"-----BEGIN\"...\"-----END\" block): replace the file with an intact copy");
    }
    ++blocks;
    const std::string what = "block #" + std::to_string(blocks);
    const std::string_view kind(label.get());
    if (kind != "CERTIFICATE") {
      const bool key = kind.find("PRIVATE KEY") != std::string_view::npos;
      refuse(name, what + " is a \"" + std::string(kind) + "\", not a CERTIFICATE: " +
                       (key ? "remove it (a private key must never go into an image)"
                            : "a CA bundle holds only \"-----BEGIN CERTIFICATE-----\" blocks; remove it"));
    }
    const unsigned char* p = data.get();
    X509* cert = d2i_X509(nullptr, &p, len);
    const bool whole = cert != nullptr && p == data.get() + len;
    X509_free(cert);
    ERR_clear_error();
    if (!whole)
      refuse(name, "certificate #" + std::to_string(blocks) + " does not parse as an X.509 certificate: remove it "
                   "or replace it with an intact copy");
  }
  // A "-----BEGIN" line OpenSSL did not take as the start of a block.
  if (blocks < begins)
    refuse(name, "block #" + std::to_string(blocks + 1) + " is not valid PEM (its \"-----BEGIN\" line is "
                 "damaged): replace the file with an intact copy");
  return blocks;
}

namespace {

/// A file of at most kMaxCaBundleBytes, read in chunks (one byte more is
/// read to tell a larger file, which check_ca_bundle() refuses).
std::string read_bounded(const fs::path& file, std::string_view name) {
  std::ifstream in(file, std::ios::binary);
  std::string out;
  char chunk[1 << 16];
  while (in && out.size() <= kMaxCaBundleBytes) {
    in.read(chunk, sizeof chunk);
    out.append(chunk, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad() || (!in.eof() && out.size() <= kMaxCaBundleBytes))
    throw Error(ErrorCode::Io, "cannot read CA bundle " + std::string(name) + " (" + file.string() + ")");
  return out;
}

/// One file of the bundle: where it is read from, and how errors name it.
struct BundleFile {
  fs::path file;
  std::string name;  ///< the path as the spec gives it, or the host's
  std::string key;   ///< the spec key that names it; empty for the host's
};

BundleFile locate(const fs::path& root, const fs::path& rel, const char* key) {
  const std::string quoted = std::string("\"") + key + "\"";
  const bool own = std::string_view(key) == "ca-certificates";
  const fs::path file = crate_path::resolve(
      root, rel.string(), quoted,
      own ? crate_path::kCaCertificatesFix : "copy the PEM file into the crate and name it relative to the crate");
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))  // follows symlinks
    throw Error(ErrorCode::NotFound, "CA bundle " + file.string() + " does not exist or is not a regular file: point " +
                                         quoted + " in the spec at an existing PEM bundle, or set " + quoted +
                                         (own ? ": false" : ": []") +
                                         " to build without it");
  return {file, rel.generic_string(), quoted};
}

}  // namespace

bool has_ca_bundle(std::string_view base, const BaseOptions& options) noexcept {
  const bool base_takes_one = base == "static" || (base == "scratch" && options.ca_on_scratch);
  return base_takes_one && (options.ca_certificates || !options.extra_ca_bundles.empty());
}

CaBundle read_ca_bundle(std::string_view base, const BaseOptions& options) {
  CaBundle out;
  if (!has_ca_bundle(base, options)) return out;
  std::vector<BundleFile> files;
  const bool own = options.ca_certificates && !options.ca_bundle.empty();
  const fs::path root = own || !options.extra_ca_bundles.empty() ? crate_path::canonical_root(options.crate_dir)
                                                                  : fs::path();
  if (options.ca_certificates && !own) {
    std::error_code ec;
    if (!fs::is_regular_file(kHostCaBundle, ec))
      throw Error(ErrorCode::NotFound,
                  std::string("CA bundle ") + kHostCaBundle +
                      " does not exist or is not a regular file: install the host's CA certificates (Debian/Ubuntu: "
                      "apt-get install ca-certificates), or set \"ca-certificates\" in the spec to the path of a "
                      "PEM bundle, or set \"ca-certificates\": false to build without certificates");
    files.push_back({kHostCaBundle, kHostCaBundle, ""});
  }
  if (own) files.push_back(locate(root, options.ca_bundle, "ca-certificates"));
  for (const fs::path& extra : options.extra_ca_bundles) files.push_back(locate(root, extra, "extra-ca-certificates"));

  for (const BundleFile& f : files) {
    const std::string bytes = read_bounded(f.file, f.name);
    try {
      out.certificates += check_ca_bundle(bytes, f.name);
    } catch (const Error& e) {
      if (f.key.empty()) throw;
      throw Error(e.code(), f.key + ": " + e.what());
    }
    if (!out.pem.empty() && out.pem.back() != '\n') out.pem += '\n';
    out.pem += bytes;
    out.sources.push_back(f.key.empty() ? "the host's " + f.name : f.name + " (" + f.key + ")");
  }
  return out;
}

}  // namespace rustimg::layer
