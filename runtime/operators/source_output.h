#pragma once
// What every source, and every operator that builds its own output batch, does with a batch it
// has filled: emit it, count its rows in records_out, and clear it for reuse (keeping its
// capacity).
//
// Threading: the source's task thread.

#include <atomic>

#include "absl/status/status.h"
#include "runtime/api/operator.h"
#include "runtime/core/record_batch.h"

namespace sluice::operators {

// Emits *batch to `out` if it has rows, adds them to metrics->records_out (metrics may be
// null), then clears it. Returns the Emit error, leaving *batch as it was.
inline absl::Status EmitAndClear(core::RecordBatch* batch, api::Output& out,
                                 api::OperatorMetrics* metrics) {
  if (batch->empty()) return absl::OkStatus();
  if (absl::Status s = out.Emit(*batch); !s.ok()) return s;
  if (metrics != nullptr) {
    metrics->records_out.fetch_add(static_cast<int64_t>(batch->num_rows()),
                                   std::memory_order_relaxed);
  }
  batch->Clear();
  return absl::OkStatus();
}

inline absl::Status EmitSourceBatch(core::RecordBatch* batch, api::Output& out,
                                    api::OperatorMetrics* metrics) {
  return EmitAndClear(batch, out, metrics);
}

}  // namespace sluice::operators
