#pragma once
// A flat-map that splits a string field: one output row per part of the field, split on a
// delimiter (Flink's DataStream#flatMap over a tokenizer; SQL's
// CROSS JOIN UNNEST(SPLIT(field, delimiter))). The output has every input field plus the part
// (string) named `as`; each input row is repeated once per part, in order, with its event
// timestamp. A null or empty field gives no rows (UNNEST of nothing); empty parts between two
// delimiters are dropped unless `keep_empty`.
//
// Columnar: per batch the (input row, part) pairs are collected, then every input column is
// gathered once (Column::AppendSelected) and the parts appended to the new column; the output
// batch is reused, so steady state allocates nothing beyond its growth.
// Errors: MakeSplit: InvalidArgument for an unknown or non-string field, an empty delimiter or
// an `as` that names an existing field. Thread: the owning task's thread.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/types.h"

namespace sluice::operators {

struct SplitSpec {
  std::string field;            // a string field of the input
  std::string delimiter = ",";  // not empty
  std::string as;               // the output field of the parts; new
  bool keep_empty = false;
};

absl::StatusOr<std::unique_ptr<api::Operator>> MakeSplit(core::SchemaPtr input, SplitSpec spec);

}  // namespace sluice::operators
