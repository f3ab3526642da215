#pragma once
// DataGen source: Flink's DataGen SQL connector (DataGenTableSource, and its DataStream
// successor DataGeneratorSource over a NumberSequenceSource), for benchmarks and tests that need
// input, large keyed state or a steady stream without any file.
//
// Rows and their values. The source generates N rows numbered by a global row index
// g = 0, 1, ..., N-1 (unbounded: N = 2^63 - 1, which never ends in practice). Every field value
// is a pure function of (options, g, field), whichever subtask generates the row:
//   - kSequence: start + g, for g < end - start + 1 (int64; double: the same integer as a
//     double; string: its decimal text; timestamp: epoch ms, so one ms apart). Each value of
//     start..end is generated exactly once over all subtasks, together.
//   - kRandom: a SplitMix64 hash of (seed, field index, g) (Steele, Lea, Flood: "Fast
//     splittable pseudorandom number generators", OOPSLA 2014), mapped onto the range:
//     int64 uniform in [min, max] (inclusive; default the whole int64 range; Lemire's
//     multiply-shift, so no modulo bias beyond 2^-64); double uniform in [min, max) (default
//     [0, 1)); bool true or false; string `length` lowercase hex characters (Flink's
//     nextHexString; default 100); timestamp uniform in [min, max] epoch ms when a range is
//     given, else the generation time minus uniform [0, max_past_ms] (Flink's max-past,
//     default 0, i.e. "now").
//   - kNow (timestamp or int64): the processing time (wall clock, epoch ms) at generation, read
//     once per batch.
// So a restore (at any parallelism) regenerates exactly the rows a failed attempt generated
// after the checkpoint, with the same values (except the wall-clock based ones), and two runs
// with the same options emit the same rows.
//
// Bounds (Flink's rule: whichever ends first): N = min(number_of_rows, end - start + 1 over every
// kSequence field); unbounded if neither is set. A bounded subtask emits kMaxWatermark after its
// last row and PollNext returns false (the source FINISHES, and so does a bounded job).
//
// Splits: subtask i of p generates the rows g in [N*i/p, N*(i+1)/p) in order (like Flink's
// NumberSequenceSource splits): contiguous, so a sequence field's values are too. A subtask
// with an empty range (N < p) finishes at once.
//
// Rate: rows_per_second is the total over all subtasks (as Flink's rows-per-second); each
// subtask is limited to rows_per_second / parallelism by a token bucket of at most one batch
// of tokens (as the file source's `rate`): PollNext sleeps at most 20 ms, may return true
// without rows, and never bursts more than one batch after a pause. 0 = unlimited.
//
// Event time: if event_time is set (a field or an expression, operators/event_time.h), each
// row's timestamp is its value (a null fails the task), and after each batch a BoundedOutOfOrdernessWatermarks watermark is
// emitted if it advanced. Without it rows carry core::kNoTimestamp and the only watermark is
// kMaxWatermark at the end of a bounded subtask.
//
// Checkpointing (Flink's NumberSequenceSource split state): SnapshotState returns the row ranges
// this subtask has not generated yet, [next, end) each in generation order, plus N and the
// watermark generator's maximum event time. Encoding: binary, little-endian, magic "DGEN",
// version 1: u32 subtask, u32 parallelism, i64 N, i64 max event time, u32 count,
// count * (i64 next, i64 end). A finished subtask's state lists no range.
//   - Open with ctx.restored_state (same parallelism) continues exactly after the last row
//     emitted before the snapshot; the watermark continues from the restored maximum.
//   - Open with ctx.restored_union_states (rescaling: the states of ALL old subtasks): the
//     union of the old remaining ranges (they must be disjoint) is ordered by row index and
//     cut by rank into p near-equal parts; new subtask i generates part i. So every row not
//     generated before the checkpoint is generated exactly once over the new subtasks, and the
//     load stays balanced. Watermarks start fresh (as the file source's, see csv_source.h).
//   - An empty restored state, or all old states empty, is a fresh start.
// Errors from Open: InvalidArgument for bad options (see ValidateDatagenOptions);
// FailedPrecondition "datagen source: the restored state ... generates N rows but the source now
// generates M" when the bounds changed (number_of_rows or a sequence's start/end), or when a
// same-parallelism state names another subtask or parallelism; DataLoss for a malformed state,
// overlapping old ranges, or a rescaling restore that lacks (or repeats) an old subtask's
// state.
//
// Metrics (if ctx.metrics is set): records_out.
//
// Performance: rows are generated straight into one reused RecordBatch (strings from a fixed
// scratch buffer into the batch's arena): no per-record heap allocation.
//
// Threading: like every Source, used by one Task thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/types.h"
#include "runtime/api/operator.h"
#include "runtime/operators/event_time.h"

namespace sluice::connectors {

// Generator kind of one field (Flink's fields.#.kind, plus `now`).
enum class DatagenKind : uint8_t { kRandom = 0, kSequence = 1, kNow = 2 };

// "random", "sequence", "now".
std::string_view DatagenKindName(DatagenKind kind);

// How one field is generated. Which members apply depends on kind and the field's type (see the
// file comment); the others are ignored.
struct DatagenField {
  DatagenKind kind = DatagenKind::kRandom;
  // kRandom on int64 fields: inclusive bounds. On timestamp fields (epoch ms) only when
  // has_range is set.
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  bool has_range = false;  // timestamp fields: use [min, max] instead of max_past_ms
  // kRandom on double fields: [min_double, max_double).
  double min_double = 0.0;
  double max_double = 1.0;
  // kRandom on timestamp fields without a range: now - uniform[0, max_past_ms].
  int64_t max_past_ms = 0;
  // kRandom on string fields: characters per value (0 .. kMaxDatagenStringLength).
  int64_t length = 100;
  // kSequence: the inclusive range start..end (end >= start).
  int64_t start = 0;
  int64_t end = 0;
};

// Longest random string (a value must fit a RecordBatch arena comfortably).
inline constexpr int64_t kMaxDatagenStringLength = 1 << 20;

// The row count of an unbounded source (never reached in practice).
inline constexpr int64_t kDatagenUnbounded = std::numeric_limits<int64_t>::max();

struct DatagenSourceOptions {
  // The fields to generate. Required, non-empty.
  core::SchemaPtr schema;
  // One generator per schema field, in schema order; empty = kRandom with defaults for every
  // field.
  std::vector<DatagenField> fields;
  // Total over all subtasks (Flink's rows-per-second, default 10000); 0 = unlimited. Finite,
  // >= 0.
  double rows_per_second = 10000;
  // Total rows over all subtasks (Flink's number-of-rows); nullopt = unbounded unless a sequence
  // field bounds it. >= 0.
  std::optional<int64_t> number_of_rows;
  // Rows per emitted batch (>= 1).
  size_t batch_size = 1024;
  // Seed of the random generators: other seeds, other values.
  uint64_t seed = 0;
  // Where rows get their event time; empty = no event time.
  operators::EventTimeSpec event_time;
  // Flink's forBoundedOutOfOrderness(Duration), in ms (>= 0).
  int64_t max_out_of_orderness_ms = 0;
  // Clocks, for tests. Null = real ones: now_ms/sleep_ms (monotonic, rate limit), wall_ms
  // (epoch ms, `now` values and max-past).
  std::function<int64_t()> now_ms;
  std::function<void(int64_t)> sleep_ms;
  std::function<int64_t()> wall_ms;
};

// Checks the options: InvalidArgument "datagen source: <what>" naming the field for a schema
// that is missing or empty, a `fields` list of another length than the schema, a kind that does
// not fit the field's type (sequence on bool, now on anything but timestamp or int64), min > max,
// a double range that is not finite, a sequence with end < start, a length outside
// 0..kMaxDatagenStringLength, a negative max-past, rows_per_second or number_of_rows out of
// range, batch_size 0, or an event-time field that is missing or not timestamp/int64.
absl::Status ValidateDatagenOptions(const DatagenSourceOptions& opts);

// The number of rows the options generate over all subtasks, N (see the file comment);
// kDatagenUnbounded if unbounded. Call on valid options.
int64_t DatagenTotalRows(const DatagenSourceOptions& opts);

// Creates the reader of one source subtask; its rows are decided in Open from
// ctx.subtask_index and ctx.parallelism (and the restored state).
std::unique_ptr<api::Source> MakeDatagenSource(DatagenSourceOptions opts);

}  // namespace sluice::connectors
