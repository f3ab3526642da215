#include "runtime/api/operator.h"

#include "fmt/format.h"

namespace sluice::api {

absl::Status Output::EmitSideOutput(int side_output, const core::RecordBatch&) {
  return absl::InternalError(
      fmt::format("side output {} emitted into an output without side outputs", side_output));
}

}  // namespace sluice::api
