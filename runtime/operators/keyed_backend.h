#pragma once
// The keyed state backend of a keyed operator: the Task's (OperatorContext::keyed_state, which
// covers the subtask's key group range and is already restored), or, when there is none (unit
// tests, standalone use), a private heap backend over all key groups [0, max_parallelism - 1]
// that the operator owns through *owned. InvalidArgument naming `what` when it must create one
// and the context's max parallelism is out of range. Also KeyGroupOfRow, the key group check
// keyed operators share. Thread: the operator's task thread.

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {

inline absl::StatusOr<state::KeyedStateBackend*> KeyedBackendFor(
    const api::OperatorContext& ctx, std::unique_ptr<state::KeyedStateBackend>* owned,
    std::string_view what) {
  if (ctx.keyed_state != nullptr) return ctx.keyed_state;
  if (ctx.max_parallelism <= 0 || ctx.max_parallelism > core::kUpperBoundMaxParallelism) {
    return InvalidArgumentF("{} '{}': max parallelism must be in [1, {}], got {}", what,
                            ctx.operator_name, core::kUpperBoundMaxParallelism,
                            ctx.max_parallelism);
  }
  *owned = std::make_unique<state::KeyedStateBackend>(
      ctx.max_parallelism, core::KeyGroupRange{0, ctx.max_parallelism - 1});
  return owned->get();
}

// The key group of row `row` of `batch` by `keys`: the one the input edge's partitioner attached
// (when the batch's tag is `tag`, KeySelector::KeyGroupTag) or computed. Internal, naming `what`
// and the subtask, for a key group outside `backend`'s range (the input is not partitioned by
// the operator's key).
inline absl::StatusOr<int32_t> KeyGroupOfRow(const core::KeySelector& keys, uint64_t tag,
                                             const state::KeyedStateBackend& backend,
                                             const core::RecordBatch& batch, size_t row,
                                             std::string_view what,
                                             const api::OperatorContext& ctx) {
  const int32_t kg = batch.key_group_tag() == tag
                         ? batch.key_group(row)
                         : keys.KeyGroup(batch, row, backend.max_parallelism());
  const core::KeyGroupRange range = backend.key_group_range();
  if (!range.Contains(kg)) [[unlikely]] {
    return InternalF(
        "{} '{}' (subtask {}): record with key group {} outside this subtask's key group range "
        "[{}, {}]: the input is not partitioned by the key",
        what, ctx.operator_name, ctx.subtask_index, kg, range.start, range.end);
  }
  return kg;
}

// The current watermark as an operator's (non-keyed) state, 8 bytes, so that rows late before a
// checkpoint stay late after a restore (interval join, over aggregate, window Top-N).
inline std::string EncodeWatermarkState(int64_t watermark) {
  std::string s(sizeof(int64_t), '\0');
  std::memcpy(s.data(), &watermark, sizeof(int64_t));
  return s;
}
// The restored watermark of ctx.restored_state, or api::kMinWatermark without one; DataLoss
// naming `what` for state of another size.
inline absl::StatusOr<int64_t> RestoreWatermarkState(const api::OperatorContext& ctx,
                                                     std::string_view what) {
  int64_t watermark = api::kMinWatermark;
  if (!ctx.restored_state.has_value() || ctx.restored_state->empty()) return watermark;
  if (ctx.restored_state->size() != sizeof(int64_t)) {
    return DataLossF("{} '{}': restored operator state has {} bytes, expected 8 (the current "
                     "watermark)", what, ctx.operator_name, ctx.restored_state->size());
  }
  std::memcpy(&watermark, ctx.restored_state->data(), sizeof(int64_t));
  return watermark;
}

}  // namespace sluice::operators
