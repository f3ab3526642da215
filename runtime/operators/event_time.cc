#include "runtime/operators/event_time.h"

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::operators {

absl::StatusOr<EventTimeExtractor> EventTimeExtractor::Create(const core::Schema& schema,
                                                              const EventTimeSpec& spec,
                                                              std::string_view what) {
  EventTimeExtractor x;
  core::Type type;
  if (!spec.expression.empty()) {
    auto e = expr::Expression::Compile(spec.expression, schema);
    if (!e.ok()) {
      return InvalidArgumentF("{}: event-time expression '{}': {}", what, spec.expression,
                              e.status().message());
    }
    x.expr_ = *std::move(e);
    type = x.expr_->type();
    x.description_ = fmt::format("event-time expression '{}'", spec.expression);
  } else {
    x.col_ = schema.FindField(spec.field);
    if (x.col_ < 0) {
      return InvalidArgumentF("{}: event-time field '{}' is not in the schema [{}]", what,
                              spec.field, schema.ToString());
    }
    type = schema.field(static_cast<size_t>(x.col_)).type;
    x.description_ = fmt::format("event-time field '{}'", spec.field);
  }
  if (type != core::Type::kTimestamp && type != core::Type::kInt64) {
    return InvalidArgumentF("{}: {} has type {}; expected timestamp or int64", what, x.description_,
                            core::TypeName(type));
  }
  if (type == core::Type::kInt64 && spec.unit == EventTimeSpec::Unit::kSeconds) x.scale_ = 1000;
  return x;
}

absl::StatusOr<int64_t> EventTimeExtractor::Timestamp(const core::RecordBatch& batch,
                                                      size_t row) {
  if (expr_ == nullptr) {
    if (batch.IsNull(row, static_cast<size_t>(col_))) {
      return InvalidArgumentF("{} is null", description_);
    }
    return batch.GetInt64(row, static_cast<size_t>(col_)) * scale_;
  }
  ASSIGN_OR_RETURN(expr::Datum d, expr_->Eval(batch, row));
  if (d.null) return InvalidArgumentF("{} is null", description_);
  return d.i64 * scale_;
}

}  // namespace sluice::operators
