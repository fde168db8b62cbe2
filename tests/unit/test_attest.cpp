// Unit tests for the attest module's signing half: ECDSA P-256 keys in every
// PEM form rustimg reads, cosign simple signing and its signature image,
// DSSE envelopes and in-toto statements, and the SLSA provenance predicate.
// Keys are generated fresh by OpenSSL for each run (no key material in the
// tree); cosign itself is exercised by tests/integration/test_cosign_compat.py.
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "rustimg/attest.hpp"
#include "rustimg/error.hpp"
#include "../../src/util/base64.hpp"

namespace att = rustimg::attest;
using rustimg::ErrorCode;
using rustimg::test::expect_error;
using nlohmann::json;

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

/// PEM text written by `write` into a memory BIO.
template <typename Write>
std::string pem_of(Write&& write) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || write(bio) != 1) {
    BIO_free(bio);
    throw std::runtime_error("test fixture: cannot write PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

Pkey ec_key(const char* curve) {
  Pkey k(EVP_EC_gen(curve));
  if (!k) throw std::runtime_error("test fixture: EVP_EC_gen failed");
  return k;
}

std::string pkcs8_pem(EVP_PKEY* k) {
  return pem_of([&](BIO* b) { return PEM_write_bio_PKCS8PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
}

std::string encrypted_pkcs8_pem(EVP_PKEY* k, const std::string& pass) {
  return pem_of([&](BIO* b) {
    return PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), pass.data(), static_cast<int>(pass.size()),
                                         nullptr, nullptr);
  });
}

std::string sec1_pem(EVP_PKEY* k) {
  return pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey_traditional(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
}

std::string public_pem(EVP_PKEY* k) {
  return pem_of([&](BIO* b) { return PEM_write_bio_PUBKEY(b, k); });
}

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');

att::ProvenanceInput sample_provenance() {
  att::ProvenanceInput in;
  in.package_name = "hello";
  in.package_version = "0.1.0";
  in.vcs_url = "https://example.com/hello.git";
  in.vcs_commit = std::string(40, 'c');
  in.vcs_dirty = true;
  in.platform = "linux/amd64";
  in.target = "x86_64-unknown-linux-musl";
  in.resolved_spec = {{"entrypoint", {"/hello"}}, {"base", "scratch"}};
  in.cargo_argv = {"cargo", "build", "--release", "--target", "x86_64-unknown-linux-musl"};
  in.cargo_env = {{"SOURCE_DATE_EPOCH", "1700000000"}, {"CARGO_TERM_COLOR", "never"}};
  in.rustc_version = "rustc 1.83.0";
  in.cargo_version = "cargo 1.83.0";
  in.rustimg_version = "0.1.0";
  in.base_image_ref = "docker.io/library/alpine:3.20";
  in.base_image_digest = kOtherDigest;
  in.cargo_lock_sha256 = "sha256:" + std::string(64, 'd');
  in.started_on = 1700000000;
  in.finished_on = 1700000000;
  return in;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attest)

BOOST_AUTO_TEST_CASE(base64_round_trip_and_strictness) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                       std::string("\0\xff\x10", 3)}) {
    BOOST_TEST(rustimg::util::base64_decode(rustimg::util::base64_encode(s), "t") == s);
  }
  BOOST_TEST(rustimg::util::base64_encode("foobar") == "Zm9vYmFy");
  BOOST_TEST(rustimg::util::base64_encode("fo") == "Zm8=");
  BOOST_TEST(rustimg::util::base64_decode("Zm8", "t") == "fo");         // padding optional
  BOOST_TEST(rustimg::util::base64_decode("-_8=", "t") == "\xfb\xff");  // URL-safe alphabet
  expect_error([] { rustimg::util::base64_decode("Zm9v YmFy", "the sig"); }, ErrorCode::InvalidArgument, "the sig");
  expect_error([] { rustimg::util::base64_decode("Zm9=", "t"); }, ErrorCode::InvalidArgument, "trailing bits");
  expect_error([] { rustimg::util::base64_decode("Z", "t"); }, ErrorCode::InvalidArgument, "truncated");
  // Text from files (docker's config.json) may be wrapped.
  BOOST_TEST(rustimg::util::base64_decode("Zm9v\nYmFy\r\n", "t", rustimg::util::Base64Input::Lenient) == "foobar");
  // ... as docker and Go accept: extra '=', trailing bits, padding cut short.
  using rustimg::util::Base64Input;
  BOOST_TEST(rustimg::util::base64_decode("YWxpY2U6cHd=", "t", Base64Input::Lenient) == "alice:pw");
  BOOST_TEST(rustimg::util::base64_decode("YQ===", "t", Base64Input::Lenient) == "a");
  BOOST_TEST(rustimg::util::base64_decode("YQ=", "t", Base64Input::Lenient) == "a");
  expect_error([] { rustimg::util::base64_decode("YWxpY2U6cHd=", "t"); }, ErrorCode::InvalidArgument, "trailing bits");
}

BOOST_AUTO_TEST_CASE(sign_verify_round_trip_every_pem_form) {
  const Pkey k = ec_key("P-256");
  const std::string pass = "correct horse battery staple";
  const auto pub = att::VerifyingKey::from_pem(public_pem(k.get()), "key.pub");
  for (const auto& [form, pem, pw] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"pkcs8", pkcs8_pem(k.get()), ""},
           {"sec1", sec1_pem(k.get()), ""},
           {"encrypted pkcs8", encrypted_pkcs8_pem(k.get(), pass), pass}}) {
    BOOST_TEST_CONTEXT(form) {
      const auto key = att::SigningKey::from_pem(pem, pw, "key.pem");
      const std::string sig = key.sign("payload bytes");
      BOOST_TEST(static_cast<unsigned char>(sig[0]) == 0x30u);  // DER SEQUENCE
      BOOST_TEST(pub.verify("payload bytes", sig));
      BOOST_TEST(key.verifying_key().verify("payload bytes", sig));
      BOOST_TEST(!pub.verify("payload bytez", sig));  // tampered payload
      BOOST_TEST(key.public_key_pem() == public_pem(k.get()));
    }
  }
}

BOOST_AUTO_TEST_CASE(wrong_key_and_garbage_signatures_fail) {
  const Pkey a = ec_key("P-256");
  const Pkey b = ec_key("P-256");
  const auto signer = att::SigningKey::from_pem(pkcs8_pem(a.get()), "", "a.pem");
  const auto other = att::VerifyingKey::from_pem(public_pem(b.get()), "b.pub");
  const std::string sig = signer.sign("data");
  BOOST_TEST(!other.verify("data", sig));
  BOOST_TEST(!signer.verifying_key().verify("data", ""));
  BOOST_TEST(!signer.verifying_key().verify("data", "not DER at all"));
  BOOST_TEST(!signer.verifying_key().verify("data", std::string(5000, '\x30')));
}

BOOST_AUTO_TEST_CASE(encrypted_key_wrong_or_missing_passphrase) {
  const Pkey k = ec_key("P-256");
  const std::string pass = "the-Right-passphrase-42";
  const std::string wrong = "a-Wrong-passphrase-17";
  const std::string pem = encrypted_pkcs8_pem(k.get(), pass);
  try {
    att::SigningKey::from_pem(pem, wrong, "/keys/signing.pem");
    BOOST_FAIL("a wrong passphrase was accepted");
  } catch (const rustimg::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(ErrorCode::InvalidArgument));
    BOOST_TEST(msg.find("/keys/signing.pem") != std::string::npos, msg);
    BOOST_TEST(msg.find("passphrase") != std::string::npos, msg);
    BOOST_TEST(msg.find(wrong) == std::string::npos, msg);
    BOOST_TEST(msg.find(pass) == std::string::npos, msg);
  }
  expect_error([&] { att::SigningKey::from_pem(pem, "", "/keys/signing.pem"); }, ErrorCode::InvalidArgument,
               "no passphrase was given");
}

BOOST_AUTO_TEST_CASE(non_p256_keys_are_refused_naming_the_file) {
  const Pkey p384 = ec_key("P-384");
  expect_error([&] { att::SigningKey::from_pem(pkcs8_pem(p384.get()), "", "p384.pem"); }, ErrorCode::Unsupported,
               "p384.pem: an EC key on curve secp384r1");
  expect_error([&] { att::VerifyingKey::from_pem(public_pem(p384.get()), "p384.pub"); }, ErrorCode::Unsupported,
               "p384.pub");
  const Pkey rsa(EVP_RSA_gen(2048));
  BOOST_REQUIRE(rsa);
  expect_error([&] { att::SigningKey::from_pem(pkcs8_pem(rsa.get()), "", "rsa.pem"); }, ErrorCode::Unsupported,
               "rsa.pem: a RSA key");
  expect_error([&] { att::SigningKey::from_pem(sec1_pem(rsa.get()), "", "rsa1.pem"); }, ErrorCode::Unsupported,
               "rsa1.pem");
  const Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  BOOST_REQUIRE(ed);
  expect_error([&] { att::SigningKey::from_pem(pkcs8_pem(ed.get()), "", "ed.pem"); }, ErrorCode::Unsupported,
               "ed.pem");
}

BOOST_AUTO_TEST_CASE(malformed_key_inputs) {
  expect_error([] { att::SigningKey::from_pem("hello", "", "k.pem"); }, ErrorCode::InvalidArgument,
               "k.pem: no PEM block");
  expect_error([] { att::SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "",
                                              "k.pem"); },
               ErrorCode::InvalidArgument, "k.pem: not a readable private key");
  expect_error([] { att::SigningKey::from_pem(std::string(att::kMaxKeyPemBytes + 1, 'A'), "", "big.pem"); },
               ErrorCode::InvalidArgument, "too large");
  const Pkey k = ec_key("P-256");
  expect_error([&] { att::VerifyingKey::from_pem(pkcs8_pem(k.get()), "oops.pub"); }, ErrorCode::InvalidArgument,
               "oops.pub: a PEM \"PRIVATE KEY\" block where a public key was expected");
}

BOOST_AUTO_TEST_CASE(simple_signing_payload_is_cosigns_shape) {
  const std::string p = att::simple_signing_payload("127.0.0.1:5000/app", kDigest);
  BOOST_TEST(p == "{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5000/app\"},\"image\":{\"docker-"
                  "manifest-digest\":\"" + kDigest + "\"},\"type\":\"cosign container image signature\"},"
                  "\"optional\":null}");
  // A registry at an IPv6 address is a repository name too.
  BOOST_TEST(att::simple_signing_payload("[::1]:5000/app", kDigest).find("\"[::1]:5000/app\"") != std::string::npos);
  expect_error([] { att::simple_signing_payload("app\"x", kDigest); }, ErrorCode::InvalidArgument, "app");
  expect_error([] { att::simple_signing_payload("app", "sha256:xyz"); }, ErrorCode::InvalidArgument, "sha256:xyz");
  BOOST_TEST(att::signature_tag(kDigest) == "sha256-" + std::string(64, 'a') + ".sig");
  BOOST_TEST(att::attestation_tag(kDigest) == "sha256-" + std::string(64, 'a') + ".att");
}

BOOST_AUTO_TEST_CASE(signature_image_round_trip_and_verification) {
  const Pkey k = ec_key("P-256");
  const Pkey other = ec_key("P-256");
  const auto key = att::SigningKey::from_pem(pkcs8_pem(k.get()), "", "k.pem");
  const auto pub = key.verifying_key();
  const auto wrong = att::VerifyingKey::from_pem(public_pem(other.get()), "other.pub");
  const std::string payload = att::simple_signing_payload("reg.example/app", kDigest);
  const std::string sig_b64 = rustimg::util::base64_encode(key.sign(payload));

  const auto img = att::signature_image({att::signature_layer(payload, sig_b64),
                                         att::signature_layer(payload, sig_b64)});  // duplicate dropped
  BOOST_TEST_REQUIRE(img.layers.size() == 1u);
  const json m = json::parse(img.manifest.bytes);
  BOOST_TEST(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  BOOST_TEST(m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json");
  BOOST_TEST(m["layers"][0]["mediaType"] == att::media_type::kSimpleSigning);
  BOOST_TEST(m["layers"][0]["annotations"][att::kSignatureAnnotation] == sig_b64);
  const json c = json::parse(img.config.bytes);
  BOOST_TEST(c["rootfs"]["diff_ids"][0] == rustimg::oci::sha256_digest(payload));
  BOOST_TEST(c["history"].size() == 1u);

  std::map<std::string, std::string> blobs;
  for (const auto& b : img.layers) blobs[b.descriptor.digest] = b.bytes;
  const auto fetch = [&](const rustimg::oci::Descriptor& d) { return blobs.at(d.digest); };
  const auto layers = att::read_signature_image(img.manifest.bytes, fetch, "app.sig");
  BOOST_TEST_REQUIRE(layers.size() == 1u);
  BOOST_TEST(layers[0].payload == payload);
  BOOST_TEST(att::verify_simple_signing(layers[0].payload, layers[0].signature_b64, pub, kDigest) ==
             "reg.example/app");
  BOOST_TEST(att::verified_signatures(layers, pub, kDigest, "app").size() == 1u);

  expect_error([&] { att::verify_simple_signing(payload, sig_b64, wrong, kDigest); }, ErrorCode::Verify,
               "does not verify");
  expect_error([&] { att::verify_simple_signing(payload, sig_b64, pub, kOtherDigest); }, ErrorCode::Verify,
               "for another image");
  std::string tampered = payload;
  tampered.replace(tampered.find("reg.example"), 3, "evi");
  expect_error([&] { att::verify_simple_signing(tampered, sig_b64, pub, kDigest); }, ErrorCode::Verify,
               "does not verify");
  expect_error([&] { att::verified_signatures(layers, wrong, kDigest, "app@" + kDigest); }, ErrorCode::Verify,
               "app@" + kDigest + ": no valid signature");

  // A signed payload that is not simple signing is refused even with a valid signature.
  const std::string odd = "{\"critical\":{\"type\":\"something else\"}}";
  expect_error([&] { att::verify_simple_signing(odd, rustimg::util::base64_encode(key.sign(odd)), pub, kDigest); },
               ErrorCode::Verify, "not a cosign simple-signing document");

  // Blobs that do not match their descriptors are refused.
  blobs.begin()->second += "x";
  expect_error([&] { att::read_signature_image(img.manifest.bytes, fetch, "app.sig"); }, ErrorCode::InvalidArgument,
               "app.sig: layer 0");
}

BOOST_AUTO_TEST_CASE(hostile_signature_manifests_are_bounded) {
  bool fetched = false;
  const auto fetch = [&](const rustimg::oci::Descriptor&) {
    fetched = true;
    return std::string();
  };
  json m = {{"schemaVersion", 2},
            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
            {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", kDigest}, {"size", 2}}},
            {"layers", json::array()}};
  m["layers"].push_back({{"mediaType", att::media_type::kSimpleSigning},
                         {"digest", kOtherDigest},
                         {"size", att::kMaxPayloadBytes + 1}});
  expect_error([&] { att::read_signature_image(m.dump(), fetch, "evil.sig"); }, ErrorCode::InvalidArgument,
               "evil.sig");
  BOOST_TEST(!fetched);
  m["layers"] = json::array();
  for (std::size_t i = 0; i <= att::kMaxSignatureLayers; ++i) {
    m["layers"].push_back({{"mediaType", att::media_type::kSimpleSigning}, {"digest", kOtherDigest}, {"size", 10}});
  }
  expect_error([&] { att::read_signature_image(m.dump(), fetch, "evil.sig"); }, ErrorCode::InvalidArgument,
               "layers; a signature image rustimg reads has at most");
  BOOST_TEST(!fetched);
  // Each layer within its bound, all of them together not.
  m["layers"] = json::array();
  for (std::uint64_t sum = 0; sum <= att::kMaxSignatureImageBytes; sum += att::kMaxPayloadBytes) {
    m["layers"].push_back(
        {{"mediaType", att::media_type::kDsseEnvelope}, {"digest", kOtherDigest}, {"size", att::kMaxPayloadBytes}});
  }
  expect_error([&] { att::read_signature_image(m.dump(), fetch, "evil.att"); }, ErrorCode::InvalidArgument,
               "bytes in all; a signature image rustimg reads holds at most");
  BOOST_TEST(!fetched);
  m["layers"] = json::array({{{"mediaType", att::media_type::kSimpleSigning},
                              {"digest", kOtherDigest},
                              {"size", 10},
                              {"annotations", {{att::kSignatureAnnotation, std::string(att::kMaxSignatureB64Bytes + 1, 'A')}}}}});
  expect_error([&] { att::read_signature_image(m.dump(), fetch, "evil.sig"); }, ErrorCode::InvalidArgument,
               "signature annotation");
  BOOST_TEST(!fetched);
}

BOOST_AUTO_TEST_CASE(dsse_pae_and_envelope) {
  // The DSSE spec's own test vector.
  BOOST_TEST(att::pae("http://example.com/HelloWorld", "hello world") ==
             "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  const Pkey k = ec_key("P-256");
  const Pkey other = ec_key("P-256");
  const auto key = att::SigningKey::from_pem(pkcs8_pem(k.get()), "", "k.pem");
  const auto env = att::dsse_sign(att::media_type::kInToto, "{\"a\":1}", key);
  const std::string bytes = env.to_json();
  const json j = json::parse(bytes);
  BOOST_TEST(j["payloadType"] == att::media_type::kInToto);
  BOOST_TEST(j["payload"] == rustimg::util::base64_encode("{\"a\":1}"));
  BOOST_TEST(j["signatures"][0]["keyid"] == "");
  BOOST_TEST(att::verify_dsse(bytes, key.verifying_key(), "env") == "{\"a\":1}");
  expect_error([&] { att::verify_dsse(bytes, att::VerifyingKey::from_pem(public_pem(other.get()), "o"), "env"); },
               ErrorCode::Verify, "env: no signature");
  json t = j;
  t["payload"] = rustimg::util::base64_encode("{\"a\":2}");
  expect_error([&] { att::verify_dsse(t.dump(), key.verifying_key(), "env"); }, ErrorCode::Verify, "no signature");
  t = j;
  t["payloadType"] = "text/plain";
  expect_error([&] { att::verify_dsse(t.dump(), key.verifying_key(), "env"); }, ErrorCode::Verify, "payloadType");
  expect_error([&] { att::verify_dsse("[1]", key.verifying_key(), "env"); }, ErrorCode::InvalidArgument, "env");
}

BOOST_AUTO_TEST_CASE(attestation_layer_round_trip) {
  const Pkey k = ec_key("P-256");
  const auto key = att::SigningKey::from_pem(pkcs8_pem(k.get()), "", "k.pem");
  const json st = att::provenance_statement({{"reg.example/app", kDigest}}, sample_provenance());
  BOOST_TEST(st["_type"] == att::kInTotoStatementV1);
  BOOST_TEST(st["subject"][0]["digest"]["sha256"] == std::string(64, 'a'));
  const auto layer = att::sign_statement(st, key);
  BOOST_TEST(layer.media_type == att::media_type::kDsseEnvelope);
  BOOST_TEST(layer.annotations.at(att::kPredicateTypeAnnotation) == att::kSlsaProvenanceV1);
  BOOST_TEST(layer.annotations.at(att::kSignatureAnnotation) == "");
  const auto img = att::signature_image({layer});
  BOOST_TEST(json::parse(img.manifest.bytes)["layers"][0]["annotations"]["predicateType"] == att::kSlsaProvenanceV1);

  const json back = att::verify_attestation(layer, key.verifying_key(), att::kSlsaProvenanceV1, kDigest);
  BOOST_TEST(back == st);
  expect_error([&] { att::verify_attestation(layer, key.verifying_key(), "https://spdx.dev/Document", ""); },
               ErrorCode::Verify, "expected \"https://spdx.dev/Document\"");
  expect_error([&] { att::verify_attestation(layer, key.verifying_key(), "", kOtherDigest); }, ErrorCode::Verify,
               "names no subject");
  const Pkey other = ec_key("P-256");
  expect_error([&] {
    att::verify_attestation(layer, att::VerifyingKey::from_pem(public_pem(other.get()), "o.pub"), "", "");
  }, ErrorCode::Verify, "no signature");
}

BOOST_AUTO_TEST_CASE(predicate_types_by_cosign_name_or_uri) {
  BOOST_TEST(att::predicate_type_uri("slsaprovenance1") == att::kSlsaProvenanceV1);
  BOOST_TEST(att::predicate_type_uri("spdxjson") == "https://spdx.dev/Document");
  BOOST_TEST(att::predicate_type_uri("spdx") == "https://spdx.dev/Document");
  BOOST_TEST(att::predicate_type_uri("cyclonedx") == "https://cyclonedx.org/bom");
  BOOST_TEST(att::predicate_type_uri("https://example.com/p/v1") == "https://example.com/p/v1");
  expect_error([] { att::predicate_type_uri("slsaprovenanse1"); }, ErrorCode::InvalidArgument,
               "did you mean \"slsaprovenance1\"");
  expect_error([] { att::predicate_type_uri("sbom"); }, ErrorCode::InvalidArgument, "give one of custom, cyclonedx");
  expect_error([] { att::predicate_type_uri(""); }, ErrorCode::InvalidArgument, "unknown attestation type");
}

BOOST_AUTO_TEST_CASE(provenance_predicate_is_deterministic_and_complete) {
  const auto in = sample_provenance();
  const std::string a = rustimg::oci::canonical_json(att::provenance_predicate(in));
  const std::string b = rustimg::oci::canonical_json(att::provenance_predicate(sample_provenance()));
  BOOST_TEST(a == b);
  const json p = json::parse(a);
  BOOST_TEST(p["buildDefinition"]["buildType"] == att::kRustimgBuildType);
  BOOST_TEST(p["buildDefinition"]["externalParameters"]["package"]["name"] == "hello");
  BOOST_TEST(p["buildDefinition"]["externalParameters"]["source"]["dirty"] == true);
  BOOST_TEST(p["buildDefinition"]["internalParameters"]["cargo"]["argv"][1] == "build");
  BOOST_TEST(p["buildDefinition"]["internalParameters"]["cargo"]["env"]["SOURCE_DATE_EPOCH"] == "1700000000");
  BOOST_TEST(p["buildDefinition"]["resolvedDependencies"].size() == 3u);
  BOOST_TEST(p["buildDefinition"]["resolvedDependencies"][1]["digest"]["sha256"] == std::string(64, 'b'));
  BOOST_TEST(p["runDetails"]["builder"]["id"] == att::kRustimgBuilderId);
  BOOST_TEST(p["runDetails"]["metadata"]["startedOn"] == "2023-11-14T22:13:20Z");

  // A different time or input changes the bytes: the predicate really depends on them.
  auto later = sample_provenance();
  later.finished_on += 1;
  BOOST_TEST(rustimg::oci::canonical_json(att::provenance_predicate(later)) != a);

  auto bad = sample_provenance();
  bad.base_image_digest = "sha256:nope";
  expect_error([&] { att::provenance_predicate(bad); }, ErrorCode::InvalidArgument,
               "ProvenanceInput.base_image_digest");
  bad = sample_provenance();
  bad.vcs_commit = "abc";
  expect_error([&] { att::provenance_predicate(bad); }, ErrorCode::InvalidArgument, "ProvenanceInput.vcs_commit");
  bad = sample_provenance();
  bad.finished_on = bad.started_on - 1;
  expect_error([&] { att::provenance_predicate(bad); }, ErrorCode::InvalidArgument, "ProvenanceInput.finished_on");

  // Without VCS, base image or lock file those parts are left out, not invented.
  auto bare = sample_provenance();
  bare.vcs_url.clear();
  bare.vcs_commit.clear();
  bare.base_image_ref.clear();
  bare.base_image_digest.clear();
  bare.cargo_lock_sha256.clear();
  const json q = att::provenance_predicate(bare);
  BOOST_TEST(q["buildDefinition"]["resolvedDependencies"].empty());
  BOOST_TEST(!q["buildDefinition"]["externalParameters"].contains("source"));
  // A checkout without a remote: the commit, no uri.
  auto local = bare;
  local.vcs_commit = std::string(40, 'c');
  local.vcs_dirty = true;
  const json r = att::provenance_predicate(local);
  BOOST_TEST(r["buildDefinition"]["externalParameters"]["source"] ==
             (json{{"digest", {{"gitCommit", local.vcs_commit}}}, {"dirty", true}}));
  BOOST_TEST(!r["buildDefinition"]["resolvedDependencies"][0].contains("uri"));
  local.vcs_commit.clear();
  local.vcs_url = "https://example.com/r.git";
  expect_error([&] { att::provenance_predicate(local); }, ErrorCode::InvalidArgument, "ProvenanceInput.vcs_url");
}

BOOST_AUTO_TEST_SUITE_END()
