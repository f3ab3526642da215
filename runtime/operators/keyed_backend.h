#pragma once
// The keyed state backend of a keyed operator: the Task's (OperatorContext::keyed_state, which
// covers the subtask's key group range and is already restored), or, when there is none (unit
// tests, standalone use), a private heap backend over all key groups [0, max_parallelism - 1]
// that the operator owns through *owned. InvalidArgument naming `what` when it must create one
// and the context's max parallelism is out of range. Also KeyGroupOfRow, the key group check
// keyed operators share. Thread: the operator's task thread.

#include <memory>
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

}  // namespace sluice::operators
