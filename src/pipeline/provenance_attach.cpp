// Provenance for build_image (attachments.hpp): how one platform image was
// built from its crate, as an in-toto statement with a SLSA Provenance v1
// predicate, attached to the image's manifest as an OCI 1.1 artifact.
#include <algorithm>
#include <cctype>
#include <string_view>
#include <system_error>

#include "attachments.hpp"
#include "rustimg/error.hpp"
#include "rustimg/url.hpp"
#include "rustimg/version.hpp"

namespace rustimg::pipeline {

namespace fs = std::filesystem;

namespace {

/// The manifest annotation naming an in-toto artifact's predicate type (the
/// name the in-toto attestation spec gives for OCI descriptors).
constexpr const char* kPredicateTypeAnnotation = "in-toto.io/predicate-type";

/// Whether a variable's value may be a secret (a token, a password, a key):
/// the provenance is published with the image, so such values are not. A
/// name containing one of the words below, or with one of the short ones as
/// a whole part ("DB_PASS", "GITHUB_PAT"; not "PATH").
bool sensitive(std::string name) {
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"TOKEN", "PASSW", "PASSPHRASE", "SECRET", "CREDENTIAL", "AUTH", "KEY", "COOKIE",
                           "SESSION", "PRIVATE", "SIGNATURE"})
    if (name.find(word) != std::string::npos) return true;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find_first_of("_-.", start), name.size());
    const std::string_view part = std::string_view(name).substr(start, end - start);
    for (const char* word : {"PASS", "PAT", "PW", "PWD", "PSK", "CERT", "JWT", "DSN"})
      if (part == word) return true;
    start = end + 1;
  }
  return false;
}

/// Whether a variable's value is left out of the statement: by its name,
/// or, whatever its name, because it holds a URL with credentials.
bool redacted(const std::string& name, std::string_view value) {
  return sensitive(name) || carries_url_credentials(value);
}

/// A cargo argument that sets a variable of cargo's [env] ("env.NAME.value=V"
/// after --config), with V redacted as a variable's value would be.
void redact_config_env(std::string& arg) {
  constexpr std::string_view kPrefix = "env.";
  if (arg.compare(0, kPrefix.size(), kPrefix) != 0) return;
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos) return;
  std::string name = arg.substr(kPrefix.size(), eq - kPrefix.size());
  if (const std::size_t dot = name.rfind(".value"); dot != std::string::npos && dot + 6 == name.size())
    name.resize(dot);
  if (redacted(name, std::string_view(arg).substr(eq + 1))) arg = arg.substr(0, eq + 1) + "\"<redacted>\"";
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
      if (redacted(name, value.is_string() ? value.get<std::string>() : std::string())) value = kRedacted;
  in.cargo_argv = f.binary.cargo_run->argv;
  for (std::string& arg : in.cargo_argv) redact_config_env(arg);
  in.cargo_env = f.binary.cargo_run->env;
  for (auto& [name, value] : in.cargo_env)
    if (redacted(name, value)) value = kRedacted;
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
