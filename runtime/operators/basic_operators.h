#pragma once
// Stateless record-at-a-time operators driven by the expression language (runtime/expr):
// filter (Flink's DataStream#filter / SQL WHERE), map (SQL SELECT of expressions) and project
// (SELECT of plain fields, a map whose outputs are field references).
//
// All three keep event timestamps of the rows they pass, forward watermarks unchanged (the
// Operator default) and hold nothing at Finish. Output batches are members reused for every
// input batch, so steady-state processing allocates nothing (except string arena growth).
//
// Threading: as every Operator, one instance is used from its Task's thread only.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"
#include "runtime/expr/expression.h"
#include "runtime/api/operator.h"

namespace sluice::operators {

// Emits the rows of each input batch for which `predicate` is true, in order, with their
// timestamps; emits nothing for a batch without such rows (a null predicate drops the row). A
// batch whose rows all pass is forwarded as is; otherwise the output is a view of the input
// batch with a selection vector of the passing rows (record_batch.h): no row is copied. With
// `rejected_to_side_output`, the other rows go to side output 1
// (same schema), so one step splits a stream in two (job spec `side-output:`). Runtime errors of
// the predicate (e.g. division by zero) fail the task with InvalidArgument naming the operator
// and the expression. Counts records_in / records_out (main output only) in ctx_.metrics.
class FilterOperator final : public api::Operator {
 public:
  // `predicate` must be compiled against *input and be of type bool (checked: abort otherwise;
  // use MakeFilter to get an error instead).
  FilterOperator(core::SchemaPtr input, std::unique_ptr<expr::Expression> predicate,
                 bool rejected_to_side_output = false);

  core::SchemaPtr output_schema() const override { return input_; }
  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override;

 private:
  core::SchemaPtr input_;
  std::unique_ptr<expr::Expression> predicate_;
  bool rejected_to_side_output_;
  std::vector<uint8_t> keep_;   // the predicate's verdict per row, reused per batch
  core::RecordBatch selected_;  // view of the input: rows that passed, reused per batch
  core::RecordBatch rejected_;  // view of the input: the others (with a side output)
};

// Compiles `predicate` against *input and makes a FilterOperator. InvalidArgument with the
// compiler's message (and *error_offset set, see Expression::Compile), or "filter predicate
// must be bool but 'delay + 1' is int64" (offset 0).
absl::StatusOr<std::unique_ptr<api::Operator>> MakeFilter(core::SchemaPtr input,
                                                     std::string_view predicate,
                                                     int* error_offset = nullptr);

// One output row per input row (same timestamp): output field i is named outputs[i].first and
// holds the value of outputs[i].second, whose type it has. Outputs that are plain field
// references are copied without evaluation. Runtime errors fail the task as for filter.
class MapOperator final : public api::Operator {
 public:
  using Outputs = std::vector<std::pair<std::string, std::unique_ptr<expr::Expression>>>;
  // Every expression must be compiled against *input. Output names should be unique (MakeMap
  // checks that).
  MapOperator(core::SchemaPtr input, Outputs outputs);

  core::SchemaPtr output_schema() const override { return output_; }
  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override;

 private:
  core::SchemaPtr input_;
  core::SchemaPtr output_;
  Outputs outputs_;
  core::RecordBatch out_;
};

// A MapOperator after checking that output names are non-empty and unique
// (InvalidArgument "duplicate output field 'x'").
absl::StatusOr<std::unique_ptr<api::Operator>> MakeMap(core::SchemaPtr input,
                                                  MapOperator::Outputs outputs);

// Projection onto `fields` of `input`, in the given order (a MapOperator of field
// references). InvalidArgument "unknown field 'x' (fields: a, b)" for a missing field,
// "duplicate output field 'x'" for a repeated one.
absl::StatusOr<std::unique_ptr<api::Operator>> MakeProject(core::SchemaPtr input,
                                                      const std::vector<std::string>& fields);

}  // namespace sluice::operators
