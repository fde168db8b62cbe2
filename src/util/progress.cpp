// The progress channel's one cancel convention: true stops.
#include "rustimg/progress.hpp"

#include "rustimg/error.hpp"

namespace rustimg {

void report_progress(const ProgressCallback& callback, const ProgressEvent& event) {
  if (callback && callback(event))
    throw Error(ErrorCode::Cancelled, "cancelled by the progress callback (" + event.stage + ")");
}

}  // namespace rustimg
