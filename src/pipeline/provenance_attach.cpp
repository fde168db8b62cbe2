// Provenance for build_image (attachments.hpp): how one platform image was
// built from its crate, as an in-toto statement with a SLSA Provenance v1
// predicate, attached to the image's manifest as an OCI 1.1 artifact.
#include <cctype>
#include <system_error>

#include "attachments.hpp"
#include "rustimg/error.hpp"
#include "rustimg/version.hpp"

namespace rustimg::pipeline {

namespace fs = std::filesystem;

namespace {

/// The manifest annotation naming an in-toto artifact's predicate type (the
/// name the in-toto attestation spec gives for OCI descriptors).
constexpr const char* kPredicateTypeAnnotation = "in-toto.io/predicate-type";

/// Whether a variable's value may be a secret (a token, a password, a key):
/// the provenance is published with the image, so such values are not.
bool sensitive(std::string name) {
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "AUTH", "KEY", "COOKIE", "SESSION"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

constexpr const char* kRedacted = "<redacted>";

}  // namespace

bool provenance_attached(const Spec& spec, oci::Format format, const store::ImageLocation& output) {
  return spec.provenance && artifact_place(format, output) != ArtifactPlace::Nowhere;
}

bool provenance_optional(const Spec& spec) { return spec.given.count("provenance") == 0; }

attest::ProvenanceInput provenance_input(const ImageFacts& f) {
  if (!f.binary.cargo_run || !f.plan.package)
    throw Error(ErrorCode::InvalidArgument, "provenance is recorded for images cargo built from a crate");
  attest::ProvenanceInput in;
  in.package_name = f.plan.package->name;
  in.package_version = f.plan.package->version;
  if (f.plan.checkout) {
    in.vcs_url = f.plan.checkout->remote_url;
    in.vcs_commit = f.plan.checkout->commit;
    in.vcs_dirty = f.plan.checkout->dirty;
  }
  in.platform = f.platform;
  in.target = f.binary.triple;
  in.resolved_spec = f.plan.spec.to_json();
  for (auto& [triple, settings] : in.resolved_spec["target"].items())
    for (auto& [name, value] : settings["env"].items())
      if (sensitive(name)) value = kRedacted;
  in.cargo_argv = f.binary.cargo_run->argv;
  in.cargo_env = f.binary.cargo_run->env;
  for (auto& [name, value] : in.cargo_env)
    if (sensitive(name)) value = kRedacted;
  if (f.plan.toolchain) {
    in.rustc_version = f.plan.toolchain->rustc;
    in.cargo_version = f.plan.toolchain->cargo;
  }
  in.rustimg_version = version_string();
  if (f.base_reference) {
    in.base_image_ref = *f.base_reference;
    in.base_image_digest = f.base_digest.value_or("");
  }
  if (f.plan.metadata) {
    const fs::path lock = f.plan.metadata->workspace_root / "Cargo.lock";
    std::error_code ec;
    if (fs::is_regular_file(lock, ec)) in.cargo_lock_sha256 = oci::sha256_file(lock).digest;
  }
  in.started_on = f.created;
  in.finished_on = f.created;
  return in;
}

oci::Artifact provenance_artifact(const ImageFacts& facts, const oci::Descriptor& subject) {
  const attest::ProvenanceInput input = provenance_input(facts);
  const nlohmann::json statement = attest::provenance_statement({{input.package_name, subject.digest}}, input);
  return oci::make_artifact(oci::canonical_json(statement), attest::media_type::kInToto, attest::media_type::kInToto,
                            subject, {{kPredicateTypeAnnotation, attest::kSlsaProvenanceV1}});
}

}  // namespace rustimg::pipeline
