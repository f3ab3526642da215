#pragma once
// Where a source's records get their event time (Flink's TimestampAssigner): a timestamp field,
// an int64 field of epoch milliseconds or seconds, or an expression over the row (expression.h)
// that yields a timestamp or an int64 in the declared unit, e.g. `ts_sec * 1000` or
// `to_timestamp(concat(day, 'T', time, 'Z'))`. An int64 is never taken as milliseconds unless
// the unit says so: the job spec requires `unit` for int64 fields and expressions.
//
// Thread safety: an extractor is used by one source task thread (expressions keep scratch).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/expr/expression.h"

namespace sluice::operators {

struct EventTimeSpec {
  enum class Unit : uint8_t { kMilliseconds, kSeconds };
  std::string field;       // a timestamp or int64 field; or empty when `expression` is set
  std::string expression;  // evaluated per row; a timestamp or int64 result
  Unit unit = Unit::kMilliseconds;  // of an int64 field or expression
  bool empty() const { return field.empty() && expression.empty(); }
};

class EventTimeExtractor {
 public:
  // InvalidArgument for an unknown field, a field or expression that is neither timestamp nor
  // int64, or an expression that does not compile (its message), each naming `what` (e.g.
  // "file source").
  static absl::StatusOr<EventTimeExtractor> Create(const core::Schema& schema,
                                                   const EventTimeSpec& spec,
                                                   std::string_view what);

  // Event time (ms since epoch) of logical row `row`. InvalidArgument when the field or the
  // expression's result is null, or the expression fails (its message).
  absl::StatusOr<int64_t> Timestamp(const core::RecordBatch& batch, size_t row);
  // "event-time field 'x'" or "event-time expression 'a * 1000'".
  const std::string& description() const { return description_; }

 private:
  EventTimeExtractor() = default;

  int col_ = -1;                           // the field, when there is no expression
  std::unique_ptr<expr::Expression> expr_;  // the expression, if any
  int64_t scale_ = 1;                       // 1000 for seconds
  std::string description_;
};

}  // namespace sluice::operators
