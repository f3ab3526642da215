#pragma once
// Decoding the union state of a rescaling restore (Flink's union list state as sources use it:
// on a restore at another parallelism every new subtask receives the non-keyed states of all
// old subtasks, OperatorContext::restored_union_states).
//
// Each old state must say which subtask of which parallelism wrote it; together they must be
// exactly one state per old subtask, so that nothing a source has not read yet is lost.
//
// Threading: a plain function.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/base/status.h"

namespace sluice::operators {

// Decodes `blobs` with `decode` (std::string_view -> absl::StatusOr<State>, where State has
// uint32_t `subtask` and `parallelism` fields) and checks that they are the states of all
// subtasks 0..p-1 of one old parallelism p, once each, and that p equals
// `restored_parallelism` when that is known (> 0). Returns the states in blob order; an empty
// vector when every blob is empty (no old subtask had a state: a fresh start).
// Errors: the decoder's; DataLoss naming `what` (e.g. "file source") and, for missing states,
// ending with `needed` (e.g. "every old subtask's position is needed").
template <typename Decode>
auto DecodeUnionStates(const std::vector<std::string>& blobs, int32_t restored_parallelism,
                       std::string_view what, std::string_view needed, Decode decode)
    -> absl::StatusOr<std::vector<typename decltype(decode(std::string_view()))::value_type>> {
  using State = typename decltype(decode(std::string_view()))::value_type;
  std::vector<State> states;
  size_t empty = 0;
  for (const std::string& blob : blobs) {
    if (blob.empty()) {
      ++empty;
      continue;
    }
    ASSIGN_OR_RETURN(State st, decode(std::string_view(blob)));
    states.push_back(std::move(st));
  }
  if (states.empty()) return states;
  const uint32_t old_p = states.front().parallelism;
  std::vector<bool> seen(old_p, false);
  for (const State& st : states) {
    if (st.parallelism != old_p || st.subtask >= old_p || seen[st.subtask]) {
      return DataLossF(
          "{}: rescaling restore: the old subtasks' states do not fit together (subtask {} of "
          "parallelism {} beside states of parallelism {})",
          what, st.subtask, st.parallelism, old_p);
    }
    seen[st.subtask] = true;
  }
  if (empty > 0 || states.size() != old_p ||
      (restored_parallelism > 0 && static_cast<uint32_t>(restored_parallelism) != old_p)) {
    return DataLossF(
        "{}: rescaling restore from parallelism {} got {} non-empty states of parallelism {} "
        "({} empty); {}",
        what, restored_parallelism, states.size(), old_p, empty, needed);
  }
  return states;
}

}  // namespace sluice::operators
