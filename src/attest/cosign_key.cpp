// cosign's own encrypted private key format (cosign.key), as cosign writes
// it through go-securesystemslib's `encrypted` package: a PEM block whose
// body is JSON
//   {"kdf": {"name": "scrypt", "params": {"N": .., "r": .., "p": ..}, "salt": "<base64>"},
//    "cipher": {"name": "nacl/secretbox", "nonce": "<base64, 24 bytes>"},
//    "ciphertext": "<base64>"}
// key = scrypt(passphrase, salt, N, r, p, 32 bytes); the plaintext, the
// secretbox (XSalsa20-Poly1305) opened with that key and nonce, is a DER
// PKCS#8 private key. The file is untrusted: every field is checked, and the
// scrypt cost bounded, before any work is done.
#include "attest/cosign_key.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <algorithm>
#include <memory>

#include "util/shown.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "util/base64.hpp"

namespace rustimg::attest::detail {

using nlohmann::json;
using util::excerpt;

SecretBytes::~SecretBytes() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

namespace {

constexpr std::size_t kKeyBytes = crypto_secretbox_KEYBYTES;  // 32, what cosign derives
constexpr std::size_t kMinSaltBytes = 8;                      // cosign: 32
constexpr std::size_t kMaxSaltBytes = 64;
constexpr std::size_t kMaxCiphertextBytes = 8u << 10;  // a P-256 PKCS#8 key is 138 bytes

/// Throws the error of a file that is no cosign.key rustimg reads.
[[noreturn]] void refuse(const std::string& what, const std::string& problem) {
  throw Error(ErrorCode::InvalidArgument,
              what + ": not a cosign private key rustimg can read: " + problem +
                  " (`cosign generate-key-pair` writes scrypt N=65536 r=8 p=1 with nacl/secretbox; make the key "
                  "pair again with it, or use a PEM PKCS#8 ECDSA P-256 key)");
}

/// Typed access to the key's JSON, each fault named by its path ("kdf.params.N").
class Fields {
 public:
  explicit Fields(const std::string& what) : what_(what) {}

  const json& get(const json& obj, const char* key, const std::string& path) const {
    const auto it = obj.find(key);
    if (it == obj.end()) refuse(what_, "\"" + path + "\" is missing");
    return *it;
  }
  const json& object(const json& obj, const char* key, const std::string& path) const {
    const json& v = get(obj, key, path);
    if (!v.is_object()) refuse(what_, "\"" + path + "\" must be an object");
    return v;
  }
  std::string string(const json& obj, const char* key, const std::string& path) const {
    const json& v = get(obj, key, path);
    if (!v.is_string()) refuse(what_, "\"" + path + "\" must be a string");
    return v.get<std::string>();
  }
  /// A whole number in [1, max].
  unsigned long long count(const json& obj, const char* key, const std::string& path,
                           unsigned long long max) const {
    const json& v = get(obj, key, path);
    if (!v.is_number_unsigned() || v.get<unsigned long long>() == 0 || v.get<unsigned long long>() > max) {
      refuse(what_, "\"" + path + "\" must be a whole number from 1 to " + std::to_string(max) + ", not " +
                        excerpt(v.dump(-1, ' ', true), 40));
    }
    return v.get<unsigned long long>();
  }
  /// Base64 of min..max bytes; the text is bounded before it is decoded.
  std::string bytes(const json& obj, const char* key, const std::string& path, std::size_t min,
                    std::size_t max) const {
    const std::string text = string(obj, key, path);
    const std::string range = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    if (text.size() > (max + 2) / 3 * 4) {
      refuse(what_, "\"" + path + "\" is " + std::to_string(text.size()) + " characters of base64, too long for " +
                        range + " bytes");
    }
    std::string decoded;
    try {
      decoded = util::base64_decode(text, "\"" + path + "\"");
    } catch (const Error& e) {
      refuse(what_, e.what());
    }
    if (decoded.size() < min || decoded.size() > max) {
      refuse(what_, "\"" + path + "\" holds " + std::to_string(decoded.size()) + " bytes, not " + range);
    }
    return decoded;
  }

 private:
  const std::string& what_;
};

/// The body of the first PEM block labelled as a cosign.key.
std::string cosign_pem_body(std::string_view pem, const std::string& what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) throw Error(ErrorCode::Generic, "out of memory reading a key");
  ERR_clear_error();
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      const unsigned long e = ERR_peek_last_error();
      const char* reason = e ? ERR_reason_error_string(e) : nullptr;
      ERR_clear_error();
      refuse(what, std::string("its PEM block is not readable (") + (reason ? reason : "no PEM block") + ")");
    }
    const std::string_view label(name);
    const bool found = std::find(std::begin(kCosignKeyLabels), std::end(kCosignKeyLabels), label) !=
                       std::end(kCosignKeyLabels);
    std::string body = found ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len)) : "";
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (found) return body;
  }
}

void init_sodium() {
  static const int rc = sodium_init();  // once; thread-safe (a static's initialisation)
  if (rc < 0) throw Error(ErrorCode::Generic, "libsodium failed to initialise (sodium_init)");
}

}  // namespace

std::optional<SecretBytes> open_cosign_key(std::string_view pem, std::string_view passphrase,
                                           const std::string& what) {
  json doc;
  try {
    doc = parse_json(cosign_pem_body(pem, what), "its PEM block");
  } catch (const JsonError& e) {
    refuse(what, e.what());
  }
  if (!doc.is_object()) refuse(what, "its PEM block holds no JSON object");
  const Fields f(what);

  const json& kdf = f.object(doc, "kdf", "kdf");
  const std::string kdf_name = f.string(kdf, "name", "kdf.name");
  if (kdf_name != "scrypt") refuse(what, "key derivation \"" + excerpt(kdf_name, 40) + "\" (only scrypt is read)");
  const json& params = f.object(kdf, "params", "kdf.params");
  const unsigned long long n = f.count(params, "N", "kdf.params.N", kMaxScryptN);
  const unsigned long long r = f.count(params, "r", "kdf.params.r", kMaxScryptR);
  const unsigned long long p = f.count(params, "p", "kdf.params.p", kMaxScryptP);
  if (n < 2 || (n & (n - 1)) != 0) refuse(what, "scrypt N = " + std::to_string(n) + " is not a power of two >= 2");
  // What OpenSSL's scrypt allocates: B (128 r p) and V (128 r (N + 2)).
  const unsigned long long memory = 128 * r * (n + 2 + p);
  if (memory > kMaxScryptMemory) {
    refuse(what, "scrypt N=" + std::to_string(n) + " r=" + std::to_string(r) + " p=" + std::to_string(p) + " needs " +
                     std::to_string(memory >> 20) + " MiB, more than the " + std::to_string(kMaxScryptMemory >> 20) +
                     " MiB rustimg allows");
  }
  if (n * r * p > kMaxScryptWork) {
    refuse(what, "scrypt N=" + std::to_string(n) + " r=" + std::to_string(r) + " p=" + std::to_string(p) +
                     " is more work (N*r*p) than the " + std::to_string(kMaxScryptWork) + " rustimg allows");
  }
  const std::string salt = f.bytes(kdf, "salt", "kdf.salt", kMinSaltBytes, kMaxSaltBytes);

  const json& cipher = f.object(doc, "cipher", "cipher");
  const std::string cipher_name = f.string(cipher, "name", "cipher.name");
  if (cipher_name != "nacl/secretbox") {
    refuse(what, "cipher \"" + excerpt(cipher_name, 40) + "\" (only nacl/secretbox is read)");
  }
  const std::string nonce =
      f.bytes(cipher, "nonce", "cipher.nonce", crypto_secretbox_NONCEBYTES, crypto_secretbox_NONCEBYTES);
  const std::string ciphertext =
      f.bytes(doc, "ciphertext", "ciphertext", crypto_secretbox_MACBYTES + 1, kMaxCiphertextBytes);

  init_sodium();
  SecretBytes key(kKeyBytes);
  ERR_clear_error();
  const char* pass = passphrase.empty() ? "" : passphrase.data();  // never NULL to OpenSSL
  if (EVP_PBE_scrypt(pass, passphrase.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), n, r, p, kMaxScryptMemory, key.data(), key.size()) != 1) {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    throw Error(ErrorCode::Generic, what + ": scrypt failed (" + std::string(reason ? reason : "no reason given") +
                                        ") for N=" + std::to_string(n) + " r=" + std::to_string(r) +
                                        " p=" + std::to_string(p));
  }
  SecretBytes plaintext(ciphertext.size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(plaintext.data(), reinterpret_cast<const unsigned char*>(ciphertext.data()),
                                 ciphertext.size(), reinterpret_cast<const unsigned char*>(nonce.data()),
                                 key.data()) != 0) {
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace rustimg::attest::detail
