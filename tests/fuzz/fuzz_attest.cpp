// libFuzzer target for what a registry serves as cosign signatures and
// attestations: a ".sig"/".att" manifest (the first document) whose layers
// are fetched from the further documents (matched by digest), each layer
// checked as a simple-signing payload and as a DSSE attestation; the first
// document also as a DSSE envelope and as a PEM public key. Any input must
// give a value or rustimg::Error.
#include <map>

#include "fuzz_support.hpp"
#include "rustimg/attest.hpp"
#include "../../src/util/base64.hpp"

namespace {

// A public key only (its private half was discarded): nothing verifies
// against it unless the fuzzer forges P-256, which is itself a finding.
constexpr const char* kPublicKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/0Oy9pX2dYmjlv/ftJ7IuylTPmSP\n"
    "iCVXiPp/PMK20+KgBZx3UVsp6afKMOQeNpKIvqpolh4Nop5b0hEzuEiLFg==\n"
    "-----END PUBLIC KEY-----\n";

const std::string kDigest = "sha256:" + std::string(64, 'a');

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  namespace att = rustimg::attest;
  static const att::VerifyingKey key = att::VerifyingKey::from_pem(kPublicKey, "fuzz key");
  const std::vector<std::string> docs = documents(text(data, size));
  std::map<std::string, std::string> blobs;
  for (std::size_t i = 1; i < docs.size(); ++i) blobs[rustimg::oci::sha256_digest(docs[i])] = docs[i];

  refusable([&] {
    const auto layers = att::read_signature_image(
        docs[0],
        [&](const rustimg::oci::Descriptor& d) {
          const auto it = blobs.find(d.digest);
          if (it == blobs.end()) throw rustimg::Error(rustimg::ErrorCode::NotFound, "no blob " + d.digest);
          return it->second;
        },
        "fuzz .sig");
    check(layers.size() <= att::kMaxSignatureLayers, "at most kMaxSignatureLayers layers");
    for (const auto& l : layers) {
      check(l.payload.size() <= att::kMaxPayloadBytes, "a payload within kMaxPayloadBytes");
      refusable([&] { att::verify_simple_signing(l.payload, l.signature_b64, key, kDigest); });
      refusable([&] { att::verify_attestation(l, key, "", kDigest); });
    }
    refusable([&] { att::verified_signatures(layers, key, kDigest, "fuzz .sig"); });
  });
  refusable([&] {
    const att::DsseEnvelope e = att::DsseEnvelope::parse(docs[0], "fuzz envelope");
    check(e.signatures.size() <= att::kMaxDsseSignatures, "at most kMaxDsseSignatures signatures");
    // What parses is written back and read again to the same envelope.
    const att::DsseEnvelope again = att::DsseEnvelope::parse(e.to_json(), "fuzz envelope (written)");
    check(again.payload == e.payload && again.payload_type == e.payload_type, "an envelope survives to_json()");
  });
  refusable([&] { att::verify_dsse(docs[0], key, "fuzz envelope", ""); });
  refusable([&] { att::VerifyingKey::from_pem(docs[0], "fuzz pem"); });
  refusable([&] { rustimg::util::base64_decode(docs[0], "fuzz base64", rustimg::util::Base64Input::Lenient); });
  return 0;
}
