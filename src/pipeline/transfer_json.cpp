// The JSON form of a push result, one shape for the C API and the bindings.
#include <nlohmann/json.hpp>

#include "rustimg/transfer.hpp"

namespace rustimg::transfer {

nlohmann::json to_json(const PushedImage& pushed) {
  nlohmann::json referrers = nlohmann::json::array();
  for (const auto& r : pushed.referrers)
    referrers.push_back({{"digest", r.digest},
                         {"subject", r.subject},
                         {"artifact_type", r.artifact_type},
                         {"via", r.via == registry::ReferrersVia::Api ? "referrers-api" : "tag-schema"}});
  return {{"reference", pushed.reference},
          {"referrers", std::move(referrers)},
          {"signatures", pushed.signatures},
          {"references", pushed.result.references},
          {"digest", pushed.result.digest},
          {"blobs_uploaded", pushed.result.blobs_uploaded},
          {"blobs_mounted", pushed.result.blobs_mounted},
          {"blobs_existing", pushed.result.blobs_existing},
          {"bytes_uploaded", pushed.result.bytes_uploaded}};
}

void add_pushed(nlohmann::json& doc, const std::vector<PushedImage>& pushed) {
  nlohmann::json entries = nlohmann::json::array();
  nlohmann::json references = nlohmann::json::array();
  for (const auto& p : pushed) {
    entries.push_back(to_json(p));
    for (const auto& r : p.result.references) references.push_back(r);
  }
  doc["pushed"] = std::move(entries);
  doc["references"] = std::move(references);
}

}  // namespace rustimg::transfer
