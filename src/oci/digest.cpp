// Streaming SHA-256, digest strings and timestamps.
#include <openssl/evp.h>

#include <array>
#include <ctime>
#include <fstream>

#include "rustimg/error.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/reference.hpp"

namespace rustimg::oci {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorCode::Generic, "cannot initialise SHA-256 (OpenSSL EVP_DigestInit_ex failed)");
}

Sha256::~Sha256() = default;

void Sha256::write(std::span<const std::byte> data) {
  if (finished_) throw Error(ErrorCode::Generic, "internal error: SHA-256 written after finish()");
  if (data.empty()) return;
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1)
    throw Error(ErrorCode::Generic, "SHA-256 update failed (OpenSSL EVP_DigestUpdate)");
  size_ += data.size();
}

std::string Sha256::finish() {
  if (finished_) throw Error(ErrorCode::Generic, "internal error: SHA-256 finished twice");
  finished_ = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, md, &len) != 1)
    throw Error(ErrorCode::Generic, "SHA-256 finalisation failed (OpenSSL EVP_DigestFinal_ex)");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0xf];
  }
  return out;
}

StreamDigest sha256_stream(std::istream& in, const std::string& what) {
  Sha256 h;
  std::array<char, 256 * 1024> buf;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0) h.write(std::as_bytes(std::span(buf.data(), n)));
  }
  if (in.bad()) throw Error(ErrorCode::Io, "cannot read " + what);
  const std::uint64_t size = h.size();
  return {h.finish(), size};
}

StreamDigest sha256_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::NotFound, "cannot read " + file.string() + ": missing or not readable");
  return sha256_stream(in, file.string());
}

std::string sha256_digest(std::string_view bytes) {
  Sha256 h;
  h.write(bytes);
  return h.finish();
}

std::string digest_hex(std::string_view digest) {
  if (!is_valid_digest(digest) || digest.substr(0, 7) != "sha256:")
    throw Error(ErrorCode::InvalidArgument,
                "invalid digest \"" + std::string(digest) + "\": expected sha256: and 64 lower-case hex digits");
  return std::string(digest.substr(7));
}

std::string rfc3339(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr)
    throw Error(ErrorCode::InvalidArgument, "timestamp " + std::to_string(seconds) + " is out of range");
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string canonical_json(const nlohmann::json& doc) {
  // nlohmann::json keeps object keys sorted (std::map), dump() emits no
  // whitespace; strict UTF-8 so a bad string is an error, not a silent change.
  return doc.dump();
}

}  // namespace rustimg::oci
