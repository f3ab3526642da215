#pragma once
// The aggregate functions of the window operator (Flink SQL's built-in aggregates, computed
// incrementally as Flink's AggregateFunction: create, add, result): resolution against the
// input schema, accumulation of one row into a window's WindowContents, and the results.
//
// Functions (SQL semantics: every function but count() skips null inputs; a result over no
// non-null input is null):
//   count()                    int64, the window's rows; count(f): the rows whose f is not null
//   sum(f)                     int64 (wraps as Java's long) or double, as f
//   min(f), max(f)             f's type (int64, double, timestamp, or string: bytewise order)
//   avg(f)                     double; sum / non-null count (an int64 sum is kept exactly)
//   first(f), last(f)          f's type (int64, double or timestamp): the first / last non-null
//                              value in arrival order (Flink SQL's FIRST_VALUE / LAST_VALUE)
//   stddev_pop(f), stddev_samp(f) (alias stddev), var_pop(f), var_samp(f) (alias variance)
//                              double over int64 or double f (Welford's online algorithm); the
//                              sample forms are null for fewer than 2 inputs, as in Flink SQL
//   count_distinct(f)          int64: distinct non-null values of f, any type (COUNT(DISTINCT))
//   collect_list(f) (alias listagg)
//                              string: f's non-null values in arrival order as CSV text joined
//                              by ',' (a value with a ',' or '"' is quoted), Flink SQL's
//                              LISTAGG(f); null over no values
//
// count_distinct and collect_list keep their values in the window's state (WindowContents::
// values), so their state grows with the distinct values / rows of a window.
//
// State: each aggregate owns one or more 8-byte accumulator slots of WindowContents (stddev and
// variance: two, the running mean and M2), each with its non-null count. Slots are laid out in
// aggregate order, so window state written by earlier releases (one slot per aggregate of the
// five original functions) reads unchanged.
// Thread safety: immutable after Resolve.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"
#include "runtime/operators/window_contents.h"

namespace sluice::operators {

enum class AggregateKind {
  kCount, kSum, kMin, kMax, kAvg, kFirst, kLast, kStddevPop, kStddevSamp, kVarPop, kVarSamp,
  kCountDistinct, kCollectList,
};

// The job-spec name: "count", "sum", ..., "stddev_samp".
std::string_view AggregateKindName(AggregateKind kind);
// Parses a job-spec aggregate name (also "average"/"mean" for avg, "stddev" for stddev_samp,
// "variance" for var_samp); nullopt if unknown.
std::optional<AggregateKind> ParseAggregateKind(std::string_view name);
// "count, sum, min, max, avg, first, last, stddev_pop, ...": for error messages.
std::string AggregateKindNames();

struct AggregateSpec {
  std::string output_name;  // output field name; unique in the output schema
  AggregateKind kind;
  std::string field;  // input field; empty (ignored) for count
};

class WindowAggregates {
 public:
  // Resolves `specs` against `input` and appends one output field per aggregate to
  // *out_fields. InvalidArgument naming the aggregate's output name for an unknown field or a
  // field type the function does not take.
  static absl::StatusOr<WindowAggregates> Resolve(const core::Schema& input,
                                                  const std::vector<AggregateSpec>& specs,
                                                  std::vector<core::Field>* out_fields);

  size_t num_aggregates() const { return aggs_.size(); }
  // Accumulator slots of a window's contents (>= num_aggregates()).
  size_t num_slots() const { return num_slots_; }
  // Value lists of a window's contents (count_distinct and collect_list aggregates).
  size_t num_value_lists() const { return num_lists_; }
  // Empty contents with num_slots() zeroed slots.
  WindowContents Fresh() const;
  // Adds logical row `row` of `batch` to `w`.
  void Accumulate(WindowContents& w, const core::RecordBatch& batch, size_t row) const;
  // Merges `later` into `into` (session windows merging; Flink's AggregateFunction.merge):
  // counts and sums add, min/max compare, first keeps into's and last takes later's (so
  // `into` should hold the earlier session), variances combine by Chan et al.'s parallel
  // formula. Both must have num_slots() slots.
  void Merge(WindowContents& into, const WindowContents& later) const;
  // Takes a row back out (a retraction of an updating input): count, sum and avg only.
  void Retract(WindowContents& w, const core::RecordBatch& batch, size_t row) const;
  // Whether Retract supports every aggregate; otherwise the first that it does not.
  std::optional<std::string_view> NotRetractable() const;
  // Writes the results into fields first_col, first_col + 1, ... of physical row `r` of `out`.
  void WriteResults(const WindowContents& w, core::RecordBatch* out, size_t r,
                    size_t first_col) const;

 private:
  struct Resolved {
    AggregateKind kind;
    int input_col;         // -1 for count
    core::Type input_type;  // meaningless for count
    size_t slot;           // first accumulator slot
    size_t list;           // count_distinct / collect_list: index in WindowContents::values
  };
  explicit WindowAggregates(std::vector<Resolved> aggs, size_t num_slots, size_t num_lists)
      : aggs_(std::move(aggs)), num_slots_(num_slots), num_lists_(num_lists) {}

  std::vector<Resolved> aggs_;
  size_t num_slots_;
  size_t num_lists_;
};

}  // namespace sluice::operators
