// Unit tests for reading cosign's own encrypted private key (cosign.key:
// scrypt + NaCl secretbox around a DER PKCS#8 key) in attest::SigningKey.
// Two fixed test vectors made once by cosign v2.6.5 `generate-key-pair`
// (test keys, used nowhere else), plus keys sealed here the same way with
// small scrypt parameters to reach the paths after decryption, and hostile
// files that must be refused before any scrypt work is done.
// The signing round trip with cosign itself is in
// tests/integration/test_cosign_compat.py.
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "rustimg/attest.hpp"
#include "rustimg/error.hpp"
#include "rustimg/json.hpp"
#include "../../src/util/base64.hpp"

namespace att = rustimg::attest;
using nlohmann::json;
using rustimg::ErrorCode;
using rustimg::test::expect_error;

namespace {

// COSIGN_PASSWORD=test-passphrase cosign generate-key-pair
constexpr const char* kPassphrase = "test-passphrase";
constexpr const char* kCosignKey = R"(-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJUcWtYcXNzV0Z4alA3Ymc1aGJtTDdOVHMwWitSUkNB
K1ArV1F0OGx6Y3NzPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJnM29ESWNJV2xmc0ZqTkVWVUxoTkwzRkFQdXJoVDlvWCJ9LCJj
aXBoZXJ0ZXh0IjoiY0hBb2RHUEJHcDNudkVJY0JMVnpEM1MyUmk0TXl6bUt5dzhU
VnJZb0NtTkpkS2ZOajR5c1NJYUZNeVkwM3NMWDlkOVd0S0x0bENTK0ZpcnpaNDNG
Q3hDbUhBK1VLellSY081MjJvYWlKT2xhak9VUW1BU1B4VXFVNEhFQm5USC9TTHZI
UGxnYUpWNGtpbnV5eGFUMUk5QzhOWUR2dmRhNk5XQnNOZWRLNTFRMlQ2ajYwNmtj
V1laSmpkbkl0aGoyTjVtNlp4VmR5akFYbWc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
)";
constexpr const char* kCosignPub = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0qL/i7beijGhuZGAP7eESy7YBLHT
dXTq4EThcxzAIwAdMo/WD4rOE2RmXiMIohVXtHVpIpcwhCJopzxrY1wyLA==
-----END PUBLIC KEY-----
)";

// COSIGN_PASSWORD= cosign generate-key-pair (cosign allows an empty passphrase)
constexpr const char* kEmptyPassphraseKey = R"(-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJmT0Y0TUR0VGZqbmVHdGcyRlNmQ2FSTi9qeUluOFln
SjlzZmgybnp4WkN3PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJQVE5GZlhjZjEwaTJCcXhkS3k5akwvNy9YY214MVhmUCJ9LCJj
aXBoZXJ0ZXh0IjoiMnFIdk42ekxDdzd3M0Y3SGJyZ2FYZUltUExYTktQVUJ6K3hp
ZmhPS1ZSNXUwZnhVZGI0S3JDM3dPaElTWTdERVJqWEg2eXI3N0NaVGFIOU9oVGdt
RTg5cnZQRWdyWlFMY0dHcUVna3lZT2dKZStPTk5HM3JLa3BXaWFBS2plZGdOQ0Iw
bTlXcCtvdXhBRnRwaWlidE9LTXhIL09lZ3VvWnViNXlxZ3BsUUFKNWZiU3pEK1ZG
RHB6ZXZNUW5aZWZQVU91R2Jua2R0eWFGelE9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
)";
constexpr const char* kEmptyPassphrasePub = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkH8A8uoD7grJCgmzfCdjAOXqo4NX
a5k08EWwVgK1ttc5zwj+a/awKhscIbUGgESiu/4p3z6xHQPEJODiANDOlQ==
-----END PUBLIC KEY-----
)";

constexpr const char* kLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";

/// The JSON document inside a cosign.key PEM block.
json body_of(const std::string& pem) {
  std::string b64;
  std::size_t line_start = pem.find('\n') + 1;
  for (std::size_t end; (end = pem.find('\n', line_start)) != std::string::npos; line_start = end + 1) {
    const std::string line = pem.substr(line_start, end - line_start);
    if (line.rfind("-----END", 0) == 0) break;
    b64 += line;
  }
  return json::parse(rustimg::util::base64_decode(b64, "test vector"));
}

/// `doc` as a cosign.key PEM block: base64 in lines of 64, as cosign writes it.
std::string pem_of(const json& doc, const std::string& label = kLabel) {
  const std::string b64 = rustimg::util::base64_encode(doc.dump());
  std::string pem = "-----BEGIN " + label + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END " + label + "-----\n";
}

/// A cosign.key holding `plaintext`, sealed as cosign does, with scrypt
/// parameters small enough for a unit test.
std::string seal(const std::string& plaintext, const std::string& passphrase) {
  constexpr std::uint64_t n = 1024, r = 8, p = 1;
  BOOST_REQUIRE(sodium_init() >= 0);
  std::string salt(32, '\0'), nonce(crypto_secretbox_NONCEBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  unsigned char key[crypto_secretbox_KEYBYTES];
  BOOST_REQUIRE(EVP_PBE_scrypt(passphrase.data(), passphrase.size(),
                               reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p, 0, key,
                               sizeof key) == 1);
  std::string box(plaintext.size() + crypto_secretbox_MACBYTES, '\0');
  BOOST_REQUIRE(crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()),
                                      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                                      reinterpret_cast<const unsigned char*>(nonce.data()), key) == 0);
  namespace u = rustimg::util;
  return pem_of({{"kdf", {{"name", "scrypt"}, {"params", {{"N", n}, {"r", r}, {"p", p}}}, {"salt", u::base64_encode(salt)}}},
                 {"cipher", {{"name", "nacl/secretbox"}, {"nonce", u::base64_encode(nonce)}}},
                 {"ciphertext", u::base64_encode(box)}});
}

/// DER PKCS#8 of a fresh EC key on `curve`.
std::string pkcs8_der(const char* curve) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve),
                                                        EVP_PKEY_free);
  BOOST_REQUIRE(k);
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, decltype(&PKCS8_PRIV_KEY_INFO_free)> info(EVP_PKEY2PKCS8(k.get()),
                                                                                PKCS8_PRIV_KEY_INFO_free);
  BOOST_REQUIRE(info);
  unsigned char* der = nullptr;
  const int len = i2d_PKCS8_PRIV_KEY_INFO(info.get(), &der);
  BOOST_REQUIRE(len > 0);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

/// Asserts that the cosign.key `pem` is refused as InvalidArgument with
/// `needle` in a message that names the file and the fix, never the passphrase.
void expect_refused(const std::string& pem, const std::string& needle) {
  expect_error([&] { att::SigningKey::from_pem(pem, kPassphrase, "keys/cosign.key"); }, ErrorCode::InvalidArgument,
               needle);
  try {
    att::SigningKey::from_pem(pem, kPassphrase, "keys/cosign.key");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.rfind("keys/cosign.key: not a cosign private key rustimg can read: ", 0) == 0u, msg);
    BOOST_TEST(msg.find("cosign generate-key-pair") != std::string::npos, msg);
    BOOST_TEST(msg.find(kPassphrase) == std::string::npos, msg);
  }
}
void expect_refused(const json& doc, const std::string& needle) { expect_refused(pem_of(doc), needle); }

}  // namespace

BOOST_AUTO_TEST_SUITE(cosign_key)

BOOST_AUTO_TEST_CASE(cosign_generated_key_loads_and_matches_its_public_key) {
  const auto key = att::SigningKey::from_pem(kCosignKey, kPassphrase, "cosign.key");
  BOOST_TEST(key.public_key_pem() == kCosignPub);
  const auto pub = att::VerifyingKey::from_pem(kCosignPub, "cosign.pub");
  BOOST_TEST(pub.verify("payload", key.sign("payload")));
  BOOST_TEST(!pub.verify("payload", key.sign("other payload")));
}

BOOST_AUTO_TEST_CASE(older_label_reads_the_same) {
  const auto key = att::SigningKey::from_pem(pem_of(body_of(kCosignKey), "ENCRYPTED COSIGN PRIVATE KEY"),
                                             kPassphrase, "old.key");
  BOOST_TEST(key.public_key_pem() == kCosignPub);
}

BOOST_AUTO_TEST_CASE(empty_passphrase_key_opens_without_one) {
  const auto key = att::SigningKey::from_pem(kEmptyPassphraseKey, "", "empty.key");
  BOOST_TEST(key.public_key_pem() == kEmptyPassphrasePub);
  expect_error([] { att::SigningKey::from_pem(kEmptyPassphraseKey, "not-empty", "empty.key"); },
               ErrorCode::InvalidArgument, "empty.key: cannot decrypt the private key: wrong passphrase");
}

BOOST_AUTO_TEST_CASE(wrong_or_missing_passphrase) {
  const std::string wrong = "Wrong-passphrase-17";
  try {
    att::SigningKey::from_pem(kCosignKey, wrong, "/keys/cosign.key");
    BOOST_FAIL("a wrong passphrase was accepted");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::InvalidArgument));
    BOOST_TEST(msg.find("/keys/cosign.key: cannot decrypt the private key: wrong passphrase") != std::string::npos,
               msg);
    BOOST_TEST(msg.find(wrong) == std::string::npos, msg);
    BOOST_TEST(msg.find(kPassphrase) == std::string::npos, msg);
  }
  expect_error([] { att::SigningKey::from_pem(kCosignKey, "", "/keys/cosign.key"); }, ErrorCode::InvalidArgument,
               "/keys/cosign.key: the private key is encrypted and no passphrase was given");
}

BOOST_AUTO_TEST_CASE(tampered_key_does_not_open) {
  const json doc = body_of(kCosignKey);
  const auto flip = [](std::string b64) {
    std::string bytes = rustimg::util::base64_decode(b64, "field");
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    return rustimg::util::base64_encode(bytes);
  };
  for (const auto& [object, field] : std::vector<std::pair<std::string, std::string>>{
           {"", "ciphertext"}, {"cipher", "nonce"}, {"kdf", "salt"}}) {
    json t = doc;
    json& holder = object.empty() ? t : t[object];
    holder[field] = flip(holder[field].get<std::string>());
    expect_error([&] { att::SigningKey::from_pem(pem_of(t), kPassphrase, "cosign.key"); },
                 ErrorCode::InvalidArgument, "cosign.key: cannot decrypt the private key: wrong passphrase (or a "
                                             "damaged file");
  }
  json shorter = doc;  // the MAC cut off
  shorter["ciphertext"] = rustimg::util::base64_encode(
      rustimg::util::base64_decode(doc["ciphertext"].get<std::string>(), "ciphertext").substr(16));
  expect_error([&] { att::SigningKey::from_pem(pem_of(shorter), kPassphrase, "cosign.key"); },
               ErrorCode::InvalidArgument, "wrong passphrase");
}

BOOST_AUTO_TEST_CASE(what_the_box_holds_is_checked) {
  const auto p256 = att::SigningKey::from_pem(seal(pkcs8_der("P-256"), "pw"), "pw", "sealed.key");
  BOOST_TEST(p256.public_key_pem().find("-----BEGIN PUBLIC KEY-----") == 0u);
  expect_error([] { att::SigningKey::from_pem(seal(pkcs8_der("P-384"), "pw"), "pw", "p384.key"); },
               ErrorCode::Unsupported, "p384.key: an EC key on curve secp384r1");
  expect_error([] { att::SigningKey::from_pem(seal("not DER at all", "pw"), "pw", "junk.key"); },
               ErrorCode::InvalidArgument, "junk.key: the cosign key decrypts, but not to a PKCS#8 private key");
  expect_error([] { att::SigningKey::from_pem(seal(pkcs8_der("P-256") + "x", "pw"), "pw", "trailing.key"); },
               ErrorCode::InvalidArgument, "trailing.key: the cosign key decrypts, but not to a PKCS#8 private key");
}

BOOST_AUTO_TEST_CASE(hostile_files_are_refused_before_any_work) {
  const json doc = body_of(kCosignKey);
  const auto with = [&](const json::json_pointer& at, json value) {
    json t = doc;
    t[at] = std::move(value);
    return t;
  };
  const auto without = [&](const json::json_pointer& at) {
    json t = doc;
    t[at.parent_pointer()].erase(at.back());
    return t;
  };
  using P = json::json_pointer;
  expect_refused(with(P("/kdf/params/N"), 1ull << 40), "\"kdf.params.N\" must be a whole number from 1 to 1048576");
  expect_refused(with(P("/kdf/params/N"), 3000), "scrypt N = 3000 is not a power of two");
  expect_refused(with(P("/kdf/params/N"), 1), "scrypt N = 1 is not a power of two >= 2");
  expect_refused(with(P("/kdf/params/N"), "65536"), "\"kdf.params.N\" must be a whole number");
  expect_refused(with(P("/kdf/params/N"), 65536.5), "\"kdf.params.N\" must be a whole number");
  expect_refused(with(P("/kdf/params/r"), 0), "\"kdf.params.r\" must be a whole number from 1 to 32, not 0");
  expect_refused(with(P("/kdf/params/p"), -1), "\"kdf.params.p\" must be a whole number from 1 to 16, not -1");
  // 128 * 32 * 2^20 bytes = 4 GiB of scrypt memory; 2^24 of work (32x cosign's).
  json big = with(P("/kdf/params/N"), 1u << 20);
  big["kdf"]["params"]["r"] = 32;
  expect_refused(big, "needs 4096 MiB, more than the 256 MiB rustimg allows");
  json slow = with(P("/kdf/params/N"), 1u << 17);
  slow["kdf"]["params"]["p"] = 16;
  expect_refused(slow, "is more work (N*r*p) than the 4194304 rustimg allows");
  expect_refused(with(P("/kdf/salt"), rustimg::util::base64_encode(std::string(3000, 's'))),
                 "\"kdf.salt\" is 4000 characters of base64, too long for 8 to 64 bytes");
  expect_refused(with(P("/kdf/salt"), rustimg::util::base64_encode("four")), "\"kdf.salt\" holds 4 bytes, not 8 to 64");
  expect_refused(with(P("/cipher/nonce"), rustimg::util::base64_encode(std::string(23, 'n'))),
                 "\"cipher.nonce\" holds 23 bytes, not 24");
  expect_refused(with(P("/cipher/nonce"), rustimg::util::base64_encode(std::string(25, 'n'))),
                 "\"cipher.nonce\" is 36 characters of base64, too long for 24 bytes");
  expect_refused(with(P("/ciphertext"), "not*base64!"), "\"ciphertext\": invalid base64");
  expect_refused(with(P("/ciphertext"), rustimg::util::base64_encode(std::string(16, 'c'))),
                 "\"ciphertext\" holds 16 bytes, not 17 to 8192");
  expect_refused(with(P("/ciphertext"), rustimg::util::base64_encode(std::string(9000, 'c'))),
                 "\"ciphertext\" is 12000 characters of base64");
  expect_refused(with(P("/kdf/name"), "argon2"), "key derivation \"argon2\" (only scrypt is read)");
  expect_refused(with(P("/cipher/name"), "aes-256-gcm\n\x1b[31m"),
                 "cipher \"aes-256-gcm??[31m\" (only nacl/secretbox is read)");
  expect_refused(with(P("/kdf"), "scrypt"), "\"kdf\" must be an object");
  expect_refused(with(P("/kdf/params"), json::array({65536, 8, 1})), "\"kdf.params\" must be an object");
  expect_refused(without(P("/ciphertext")), "\"ciphertext\" is missing");
  expect_refused(without(P("/kdf/params/p")), "\"kdf.params.p\" is missing");
  expect_refused(json::array({doc}), "its PEM block holds no JSON object");
  // (Each of these is refused by its check before any scrypt work: the
  // messages say which check, so a missing bound fails them.)

  expect_refused(std::string("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IEpTT04=\n"  // "not JSON"
                             "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
                 "invalid JSON");
  expect_refused(std::string("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "its PEM block is not readable");
}

BOOST_AUTO_TEST_SUITE_END()
