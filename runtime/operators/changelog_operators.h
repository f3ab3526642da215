#pragma once
// Keyed operators whose output is an updating stream: a changelog of rows with Flink's RowKind
// (+I, -U, +U, -D; runtime/core/record_batch.h carries one kind per row).
//
// - Deduplicate keeping the last row per key (Flink SQL's
//   `ROW_NUMBER() OVER (PARTITION BY k ORDER BY proctime DESC) = 1`,
//   ProcTimeDeduplicateKeepLastRowFunction with update-before): a key's first row is +I; every
//   later row retracts the one before it (-U, the previous row) and replaces it (+U, the new
//   row). Applying the changelog leaves the last row of each key.
// - Top-N per key (Flink SQL's `ROW_NUMBER() ... WHERE rn <= N` without the row number,
//   AppendOnlyTopNFunction, with AppendOnlyTopNFunction's rank number as an option): the N
//   rows with the largest (`descending`, default) or smallest
//   value of `order_field`. A row that enters the top N is +I; when that pushes the N-th row
//   out, it is -D. Ties keep the earlier row. Rows whose order field is null never enter.
//   Applying the changelog leaves each key's current top N.
//
// Retractions carry the event timestamp of the row that caused them. Both read an insert-only
// input (the job compiler refuses an updating one).
//
// State (keyed, checkpointed, redistributed by key group; TTL in processing time as Flink SQL's
// table.exec.state.ttl: a key not updated for that long is forgotten, and its next row starts
// afresh with +I): keep-last a ValueState "dedup-last" with the row (all fields, KeySelector
// encoding); top-N a ValueState "top-n" with the current top rows, best first, each with its
// order value as a byte-comparable key.
//
// Errors: Make*: InvalidArgument for unknown key or order fields, an order field of a type
// without an order (bool, bytes), n < 1, a negative TTL. ProcessBatch: Internal for a row whose
// key group is outside the subtask's range; DataLoss for state that does not decode.
// Thread: the owning task's thread only.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/types.h"

namespace sluice::operators {

inline constexpr std::string_view kKeepLastStateName = "dedup-last";
inline constexpr std::string_view kTopNStateName = "top-n";

struct KeepLastSpec {
  std::vector<std::string> key_fields;  // at least one
  int64_t ttl_ms = 0;                   // 0: keys are kept forever
};

struct TopNSpec {
  std::vector<std::string> key_fields;  // at least one
  std::string order_field;              // int64, int32, double, timestamp, date or string
  int64_t n = 1;                        // >= 1
  bool descending = true;               // the N largest (true) or smallest
  int64_t ttl_ms = 0;
  // Further order fields breaking ties of the ones before (SQL's ORDER BY a DESC, b ASC); a
  // null sorts after every value. Ties of all of them keep the earlier row.
  std::vector<std::pair<std::string, bool>> then_by = {};  // field, descending
  // With a name: an int64 rank column (1 = best) after the input's fields (Flink's Top-N with
  // the row number selected). A row entering at rank r also moves the rows ranked r.. one
  // down: each gets -U (old rank) and +U (new rank), and the row pushed out -D.
  std::string rank_field = {};
  // Window Top-N (Flink's WindowRankOperator): rows are ranked silently and the key's top N are
  // emitted once, as inserts (an append-only result), when the watermark passes the rows'
  // timestamp; then the key's state is cleared. Meant for keys that include the window of an
  // upstream window aggregation, whose rows all carry its end - 1 as event time. Rows need
  // event time; rows at or behind the watermark are late (dropped, counted).
  bool emit_final = false;
};

absl::StatusOr<std::unique_ptr<api::Operator>> MakeKeepLast(core::SchemaPtr input,
                                                            KeepLastSpec spec);
absl::StatusOr<std::unique_ptr<api::Operator>> MakeTopN(core::SchemaPtr input, TopNSpec spec);

}  // namespace sluice::operators
