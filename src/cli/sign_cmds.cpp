// rustimg sign / rustimg verify-image: cosign-compatible signatures on
// images in a registry.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "output.hpp"
#include "registry_flags.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/signing.hpp"

namespace rustimg::cli {
namespace {

constexpr const char* kSignUsage =
    "usage: rustimg sign --key KEY [options] REF|oci:DIR[:TAG]\n"
    "\n"
    "Signs the image REF (host/repo:tag or host/repo@sha256:...) as `cosign sign\n"
    "--key KEY --recursive --tlog-upload=false` does: its digest and, for an\n"
    "index, every platform's manifest, each signature added to the image tagged\n"
    "sha256-<hex>.sig in the same repository. `cosign verify --key PUB` (with\n"
    "--insecure-ignore-tlog) and `rustimg verify-image` check them. KEY is a PEM\n"
    "ECDSA P-256 private key: cosign's own cosign.key (`cosign generate-key-pair`)\n"
    "or PEM PKCS#8/SEC1 (`openssl genpkey -algorithm EC -pkeyopt\n"
    "ec_paramgen_curve:P-256`); an encrypted key is opened with the passphrase in\n"
    "$COSIGN_PASSWORD (or the variable --key-password-env names). One line per\n"
    "manifest signed on stdout: DIGEST SIGNATURE-REF.\n"
    "\n"
    "An image in an OCI layout (oci:DIR[:TAG]) is signed in the layout: the\n"
    "signature images are tagged sha256-<hex>.sig there, and `rustimg push` of the\n"
    "image carries them to the registry, where cosign finds them. Its signature\n"
    "names the repository it will be pushed to: give it with --identity HOST/REPO\n"
    "(for a registry image it defaults to the image's own repository).\n"
    "\n"
    "With --attest, the SBOMs and SLSA provenance the registry lists about each\n"
    "of those manifests (its referrers API or sha256-<hex> tag schema: what\n"
    "`rustimg build` pushed) are attested too, as `cosign attest --key` does:\n"
    "DSSE in-toto statements in the sha256-<hex>.att image (an SBOM as predicate\n"
    "type spdxjson or cyclonedx, a provenance statement as it is, if its one\n"
    "subject is that manifest), which `cosign verify-attestation --key PUB --type\n"
    "spdxjson` (or slsaprovenance1) accepts. This trusts the registry's listing:\n"
    "sign what you pushed. One more line per statement: DIGEST ATTESTATION-REF\n"
    "PREDICATE-TYPE; an artifact passed over is named on stderr.\n";

constexpr const char* kVerifyUsage =
    "usage: rustimg verify-image --key PUB [options] REF|oci:DIR[:TAG]\n"
    "\n"
    "Checks that the image REF has a cosign signature by the key PUB (a PEM\n"
    "public key, as cosign.pub) that names REF's digest, as `cosign verify --key`\n"
    "does without a transparency log. Exit status 0 and one line per valid\n"
    "signature on stdout (DIGEST IDENTITY), else 1 and why (no signature, a\n"
    "wrong key, a payload for another digest or tampered with).\n"
    "\n"
    "With --attestation TYPE the image's attestations are checked instead, as\n"
    "`cosign verify-attestation --key PUB --type TYPE` does: at least one DSSE\n"
    "in-toto statement of TYPE (slsaprovenance1, spdxjson, cyclonedx, custom, ...\n"
    "or a predicate type URI) signed by PUB with REF's digest as subject. Each\n"
    "valid statement is printed as one line of JSON.\n";

struct Options {
  CLI::App* app = nullptr;
  std::vector<std::string> positional;
  std::string key;
  std::string passphrase_env;
  std::string attestation;
  std::string identity;
  bool attest = false;
  RegistryFlags registry;
  OutputFlags out;
};

const std::string& one_reference(Options& o, const char* what) {
  reject_extras(*o.app, std::string("give exactly one REF to ") + what + "; unexpected");
  if (o.positional.size() != 1) throw UsageError{std::string("give exactly one REF to ") + what};
  if (o.key.empty()) throw UsageError{"--key is required"};
  return o.positional.front();
}

int run_sign(Options& o) {
  const std::string& ref = one_reference(o, "sign");
  if (pipeline::is_layout_reference(ref) && o.identity.empty())
    throw UsageError{ref + ": an image in an OCI layout has no repository for its signature to name; give the one "
                           "it will be pushed to with --identity HOST/REPO"};
  // The key first: a wrong passphrase fails before the registry is asked.
  const attest::SigningKey key = pipeline::read_signing_key(o.key, o.passphrase_env);
  install_interrupt_handlers();
  const registry::Options options = o.registry.finish([&] { return pipeline::image_registry(ref); });
  const pipeline::SignOutcome outcome = pipeline::sign(ref, key, options, o.identity, o.attest);
  for (const std::string& why : outcome.attestations.skipped)
    std::fprintf(stderr, "rustimg sign: not attested: %s\n", why.c_str());
  if (o.out.json) {
    nlohmann::json doc = pipeline::to_json(outcome);
    doc["reference"] = ref;
    print_json(doc);
    return kExitOk;
  }
  for (const auto& s : outcome.signatures) std::printf("%s %s\n", s.digest.c_str(), s.signature_ref.c_str());
  for (const auto& s : outcome.attestations.attested)
    std::printf("%s %s %s\n", s.digest.c_str(), s.signature_ref.c_str(), s.predicate_type.c_str());
  return kExitOk;
}

int run_verify(Options& o) {
  const std::string& ref = one_reference(o, "verify");
  const attest::VerifyingKey key = pipeline::read_verifying_key(o.key);
  install_interrupt_handlers();
  const registry::Options options = o.registry.finish([&] { return pipeline::image_registry(ref); });
  if (!o.attestation.empty()) {
    const auto statements = pipeline::verify_attestations(ref, key, o.attestation, options);
    if (o.out.json) {
      print_json({{"reference", ref}, {"attestations", statements}});
      return kExitOk;
    }
    for (const auto& s : statements) std::printf("%s\n", s.dump().c_str());
    return kExitOk;
  }
  const auto signatures = pipeline::verify_image(ref, key, options);
  if (o.out.json) {
    print_json({{"reference", ref}, {"verified", pipeline::to_json(signatures)}});
    return kExitOk;
  }
  for (const auto& s : signatures) std::printf("%s %s\n", s.digest.c_str(), s.docker_reference.c_str());
  return kExitOk;
}

}  // namespace

Command add_sign(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "sign", "sign an image in a registry or an OCI layout (cosign-compatible)", kSignUsage,
                       kCredentialsNote);
  o->app->add_option("REF", o->positional, "the image to sign");
  o->app->add_option("--key", o->key, "the PEM ECDSA P-256 private key")->type_name("KEY");
  o->app->add_option("--key-password-env", o->passphrase_env,
                     "the environment variable holding the key's passphrase (default COSIGN_PASSWORD)")
      ->type_name("VAR");
  o->app->add_option("--identity", o->identity,
                     "the repository the signature names (default: the image's; required for oci:DIR)")
      ->type_name("HOST/REPO");
  o->app->add_flag("--attest", o->attest,
                   "also attest the SBOMs and provenance the registry lists about the image");
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_sign(*o); }); }};
}

Command add_verify_image(CLI::App& parent) {
  auto o = std::make_shared<Options>();
  o->app = add_command(parent, "verify-image", "check an image's cosign signature", kVerifyUsage, kCredentialsNote);
  o->app->add_option("REF", o->positional, "the image to check");
  o->app->add_option("--key", o->key, "the PEM public key (cosign.pub)")->type_name("PUB");
  o->app->add_option("--attestation", o->attestation, "check attestations of this type instead of signatures")
      ->type_name("TYPE");
  o->registry.add_to(*o->app);
  o->out.add_to(*o->app);
  return {o->app, [o] { return run_with_json_errors(o->out.json, [&] { return run_verify(*o); }); }};
}

}  // namespace rustimg::cli
