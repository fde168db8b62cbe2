// SLSA Provenance v1 predicate of a rustimg build (attest module). Pure:
// every value, times included, comes from the caller, so the same build
// gives the same bytes.
#include <algorithm>
#include <string>

#include "rustimg/attest.hpp"
#include "rustimg/error.hpp"

namespace rustimg::attest {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& problem) {
  throw Error(ErrorCode::InvalidArgument, "provenance: ProvenanceInput." + field + " " + problem);
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// The hex of a "sha256:<hex>" input field, naming the field when malformed.
std::string sha256_hex(const std::string& field, const std::string& digest) {
  try {
    return oci::digest_hex(digest);
  } catch (const Error&) {
    bad(field, "must be \"sha256:<64 hex digits>\", got \"" + digest.substr(0, 100) + "\"");
  }
}

/// Maximum value rfc3339 is asked for: 9999-12-31T23:59:59Z (SOURCE_DATE_EPOCH's range).
constexpr std::int64_t kMaxTime = 253402300799;

}  // namespace

json provenance_predicate(const ProvenanceInput& in) {
  if (in.package_name.empty()) bad("package_name", "is empty");
  if (in.builder_id.empty()) bad("builder_id", "is empty");
  if (in.started_on < 0 || in.started_on > kMaxTime) bad("started_on", "is out of range");
  if (in.finished_on < in.started_on || in.finished_on > kMaxTime) {
    bad("finished_on", "is before started_on or out of range");
  }
  if (!in.resolved_spec.is_object()) bad("resolved_spec", "must be a JSON object");

  json external = {{"package", {{"name", in.package_name}}}, {"spec", in.resolved_spec}};
  if (!in.package_version.empty()) external["package"]["version"] = in.package_version;
  if (!in.platform.empty()) external["platform"] = in.platform;
  if (!in.target.empty()) external["target"] = in.target;

  json deps = json::array();
  if (!in.vcs_commit.empty()) {
    if (!(in.vcs_commit.size() == 40 || in.vcs_commit.size() == 64) || !is_hex(in.vcs_commit))
      bad("vcs_commit", "must be a full lowercase git commit id (40 or 64 hex digits)");
    // A checkout with no remote: the commit alone (a resource descriptor needs a uri or a digest).
    json source = {{"digest", {{"gitCommit", in.vcs_commit}}}, {"dirty", in.vcs_dirty}};
    json dependency = {{"name", "source"}, {"digest", {{"gitCommit", in.vcs_commit}}},
                       {"annotations", {{"dirty", in.vcs_dirty}}}};
    if (!in.vcs_url.empty()) {
      const std::string uri = "git+" + in.vcs_url + "@" + in.vcs_commit;
      source["uri"] = uri;
      dependency["uri"] = uri;
    }
    external["source"] = std::move(source);
    deps.push_back(std::move(dependency));
  } else if (!in.vcs_url.empty()) {
    bad("vcs_url", "is set without vcs_commit");
  }
  if (!in.base_image_ref.empty()) {
    if (in.base_image_digest.empty()) bad("base_image_digest", "is required with base_image_ref");
    deps.push_back({{"name", "base-image"},
                    {"uri", in.base_image_ref},
                    {"digest", {{"sha256", sha256_hex("base_image_digest", in.base_image_digest)}}}});
  } else if (!in.base_image_digest.empty()) {
    bad("base_image_digest", "is set without base_image_ref");
  }
  if (!in.cargo_lock_sha256.empty()) {
    deps.push_back({{"name", "Cargo.lock"},
                    {"uri", "file:Cargo.lock"},
                    {"digest", {{"sha256", sha256_hex("cargo_lock_sha256", in.cargo_lock_sha256)}}}});
  }

  json env = json::object();
  for (const auto& [k, v] : in.cargo_env) env[k] = v;
  json toolchain = json::object();
  if (!in.rustc_version.empty()) toolchain["rustc"] = in.rustc_version;
  if (!in.cargo_version.empty()) toolchain["cargo"] = in.cargo_version;
  const json internal = {{"cargo", {{"argv", in.cargo_argv}, {"env", std::move(env)}}},
                         {"toolchain", std::move(toolchain)}};

  json builder = {{"id", in.builder_id}};
  if (!in.rustimg_version.empty()) builder["version"] = {{"rustimg", in.rustimg_version}};

  return {{"buildDefinition",
           {{"buildType", kRustimgBuildType},
            {"externalParameters", std::move(external)},
            {"internalParameters", internal},
            {"resolvedDependencies", std::move(deps)}}},
          {"runDetails",
           {{"builder", std::move(builder)},
            {"metadata", {{"startedOn", oci::rfc3339(in.started_on)}, {"finishedOn", oci::rfc3339(in.finished_on)}}}}}};
}

json provenance_statement(const std::vector<Subject>& subjects, const ProvenanceInput& input) {
  return intoto_statement(subjects, kSlsaProvenanceV1, provenance_predicate(input));
}

}  // namespace rustimg::attest
