#include <nlohmann/json.hpp>

#include "rustimg/elf.hpp"

namespace rustimg::elf {

nlohmann::json to_json(const Report& r) {
  auto optional_string = [](const std::optional<std::string>& s) {
    return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
  };
  nlohmann::json kinds = nlohmann::json::array();
  for (const auto& p : r.problems) kinds.push_back(to_string(p.kind));
  // [{"name": "OpenSSL", "version": "3.0.19"}], version null when unknown.
  nlohmann::json libraries = nlohmann::json::array();
  for (const auto& l : r.linked_libraries)
    libraries.push_back({{"name", l.name},
                         {"version", l.version.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.version)}});
  nlohmann::json failing = nlohmann::json::array();
  for (const auto& f : r.nss_failing)
    failing.push_back(
        {{"database", f.database}, {"service", f.service}, {"module", f.module}, {"every_lookup", f.every_lookup}});
  nlohmann::json j = {
      {"architecture", r.platform.architecture},
      {"variant", r.platform.variant},
      {"os", r.platform.os},
      {"type", to_string(r.type)},
      {"linkage", to_string(r.linkage)},
      {"interpreter", optional_string(r.interpreter)},
      {"needed", r.needed},
      {"rpath", r.rpath},
      {"runpath", r.runpath},
      {"stripped", r.stripped},
      {"debug_info", r.debug_info},
      {"build_id", optional_string(r.build_id)},
      {"libc", to_string(r.libc)},
      {"glibc_version", optional_string(r.glibc_version)},
      {"libc_version", r.libc == LibcKind::Glibc ? optional_string(r.glibc_version) : nlohmann::json(nullptr)},
      {"nss_risk", r.nss_risk},
      {"nss_evidence", r.nss_evidence},
      {"nss_failing", failing},
      {"nss_checked_against",
       r.nss_checked_against.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.nss_checked_against)},
      {"linked_libraries", libraries},
      {"fit_for_scratch", r.fit_for_scratch()},
      {"problems", messages(r.problems)},
      {"problem_kinds", kinds},
      {"warnings", r.warnings},
      {"elf_class", r.elf_class},
      {"endianness", r.big_endian ? "big" : "little"},
      {"machine", r.machine_name},
  };
  if (r.wanted_platform) j["platform_match"] = r.platform_match();
  return j;
}

}  // namespace rustimg::elf
