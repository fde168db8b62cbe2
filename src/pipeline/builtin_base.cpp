// What a plan's built-in base gets, decided once from the spec.
#include "builtin_base.hpp"

namespace rustimg::pipeline {
namespace {

constexpr const char* kOnScratch = " (added to the \"scratch\" base because the spec asks for it)";

}  // namespace

layer::BaseOptions base_options(const Plan& plan) {
  const Spec& spec = plan.spec;
  layer::BaseOptions o;
  o.ca_certificates = spec.ca_certificates;
  o.ca_bundle = spec.ca_bundle;
  o.tzdata = spec.tzdata;
  o.crate_dir = plan.crate_dir;
  o.extra_ca_bundles.assign(spec.extra_ca_certificates.begin(), spec.extra_ca_certificates.end());
  // The default bundle is for "static"; "scratch" gets one only when asked
  // (a resolved spec also says false there, see resolve_spec; a Spec made by
  // hand lists the keys it means in `given`).
  const bool asked = (spec.given.count("ca-certificates") != 0 && spec.ca_certificates) ||
                     (spec.given.count("extra-ca-certificates") != 0 && !spec.extra_ca_certificates.empty());
  o.ca_on_scratch = spec.base == "scratch" && asked;
  return o;
}

layer::CaBundle read_ca_bundle(const Plan& plan) {
  if (!layer::is_builtin_base(plan.spec.base)) return {};
  return layer::read_ca_bundle(plan.spec.base, base_options(plan));
}

std::vector<std::string> base_file_notes(const Plan& plan, const layer::CaBundle& ca) {
  const Spec& spec = plan.spec;
  std::vector<std::string> out;
  if (!layer::is_builtin_base(spec.base)) return out;
  const std::string why = spec.base == "scratch" ? kOnScratch : "";
  if (!ca.pem.empty()) {
    std::string sources;
    for (const auto& s : ca.sources) sources += (sources.empty() ? "" : " + ") + s;
    out.push_back("CA bundle " + std::string(layer::kCaBundlePath) + ": " + std::to_string(ca.certificates) +
                  (ca.certificates == 1 ? " certificate from " : " certificates from ") + sources + why);
  }
  const layer::BaseOptions o = base_options(plan);
  if (o.tzdata) out.push_back("time zone database /usr/share/zoneinfo from the host's " + o.zoneinfo.string() + why);
  return out;
}

std::string base_history(const Plan& plan, const layer::CaBundle& ca) {
  return base_history(plan.spec.base, plan.spec.tzdata, ca);
}

std::string base_history(std::string_view base, bool tzdata, const layer::CaBundle& ca) {
  std::string files = base == "scratch" ? "" : "passwd, group, nsswitch.conf, /tmp";
  const auto add = [&](const char* what) { files += (files.empty() ? "" : ", ") + std::string(what); };
  if (!ca.pem.empty()) add("CA certificates");
  if (tzdata) add("tzdata");
  return "rustimg: base " + std::string(base) + " (" + files + ")";
}

}  // namespace rustimg::pipeline
