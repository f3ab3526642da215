#pragma once
// The keyed state backend of a keyed operator: the Task's (OperatorContext::keyed_state, which
// covers the subtask's key group range and is already restored), or, when there is none (unit
// tests, standalone use), a private heap backend over all key groups [0, max_parallelism - 1]
// that the operator owns through *owned. InvalidArgument naming `what` when it must create one
// and the context's max parallelism is out of range. Thread: the operator's task thread.

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
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

}  // namespace sluice::operators
