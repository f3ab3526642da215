#pragma once
// Keyed deduplication keeping the first row per key: Flink SQL's deduplication
//   SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY proctime ASC) AS rn
//                  FROM t) WHERE rn = 1
// (Flink's ProcTimeDeduplicateKeepFirstRowFunction). The first row of each key passes
// unchanged (as a selection view of the input batch: no copy); later rows of the key are
// dropped. With a TTL (processing time, Flink's table.exec.state.ttl) a key not seen for that
// long is forgotten, so its next row passes again and the state stays bounded.
//
// State: per key, a ValueState "dedup-seen" (one int64) in the keyed state backend, so it is
// checkpointed, restored and redistributed by key group on rescaling like any keyed state. Key
// groups carried by the input batch (RecordBatch::key_group_tag) are used as they are.
// Output schema: the input's. Watermarks pass through. No operator state.
// Errors: MakeDeduplicate: InvalidArgument for an unknown or missing key field or a negative
// TTL. ProcessBatch: Internal for a row whose key group is outside the subtask's range.
// Thread: the owning task's thread only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/types.h"

namespace sluice::operators {

inline constexpr std::string_view kDeduplicateStateName = "dedup-seen";

struct DeduplicateSpec {
  std::vector<std::string> key_fields;  // at least one
  int64_t ttl_ms = 0;                   // 0: keys are kept forever
};

absl::StatusOr<std::unique_ptr<api::Operator>> MakeDeduplicate(core::SchemaPtr input,
                                                              DeduplicateSpec spec);

}  // namespace sluice::operators
