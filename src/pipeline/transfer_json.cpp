// The JSON form of a push result, one shape for the C API and the bindings.
#include <nlohmann/json.hpp>

#include "rustimg/transfer.hpp"

namespace rustimg::transfer {

nlohmann::json to_json(const PushedImage& pushed) {
  return {{"reference", pushed.reference},
          {"references", pushed.result.references},
          {"digest", pushed.result.digest},
          {"blobs_uploaded", pushed.result.blobs_uploaded},
          {"blobs_mounted", pushed.result.blobs_mounted},
          {"blobs_existing", pushed.result.blobs_existing},
          {"bytes_uploaded", pushed.result.bytes_uploaded}};
}

}  // namespace rustimg::transfer
