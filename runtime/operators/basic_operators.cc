#include "runtime/operators/basic_operators.h"

#include <algorithm>

#include "fmt/format.h"
#include "runtime/base/check.h"
#include "runtime/base/status.h"

namespace sluice::operators {
namespace {

// Prefixes a runtime error with the operator's name so the failing task says where.
absl::Status InOperator(const api::OperatorContext& ctx, const absl::Status& s) {
  if (ctx.operator_name.empty()) return s;
  return absl::Status(s.code(), fmt::format("operator '{}': {}", ctx.operator_name,
                                            std::string_view(s.message().data(),
                                                             s.message().size())));
}

void Count(const api::OperatorContext& ctx, size_t in, size_t out) {
  if (ctx.metrics == nullptr) return;
  ctx.metrics->records_in.fetch_add(static_cast<int64_t>(in), std::memory_order_relaxed);
  ctx.metrics->records_out.fetch_add(static_cast<int64_t>(out), std::memory_order_relaxed);
}

}  // namespace

// ---- filter ----------------------------------------------------------------------------------

FilterOperator::FilterOperator(core::SchemaPtr input, std::unique_ptr<expr::Expression> predicate,
                               bool rejected_to_side_output)
    : input_(std::move(input)),
      predicate_(std::move(predicate)),
      rejected_to_side_output_(rejected_to_side_output) {
  SLUICE_CHECK(predicate_->type() == core::Type::kBool, "filter predicate '{}' is {}, not bool",
               predicate_->text(), core::TypeName(predicate_->type()));
}

absl::Status FilterOperator::ProcessBatch(const core::RecordBatch& batch, api::Output& out) {
  const size_t n = batch.num_rows();
  if (absl::Status s = predicate_->EvalBatchBool(batch, &keep_); !s.ok()) [[unlikely]] {
    return InOperator(ctx_, s);
  }
  selected_.ResetAsView(batch);
  rejected_.ResetAsView(batch);
  for (size_t r = 0; r < n; ++r) {
    if (keep_[r]) {
      selected_.SelectRowOf(batch, r);
    } else if (rejected_to_side_output_) {
      rejected_.SelectRowOf(batch, r);
    }
  }
  Count(ctx_, n, selected_.num_rows());
  if (selected_.num_rows() == n) return out.Emit(batch);
  if (rejected_.num_rows() == n) return out.EmitSideOutput(1, batch);
  if (!selected_.empty()) RETURN_IF_ERROR(out.Emit(selected_));
  if (!rejected_.empty()) RETURN_IF_ERROR(out.EmitSideOutput(1, rejected_));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<api::Operator>> MakeFilter(core::SchemaPtr input,
                                                     std::string_view predicate,
                                                     int* error_offset) {
  ASSIGN_OR_RETURN(auto expr, expr::Expression::Compile(predicate, *input, error_offset));
  if (expr->type() != core::Type::kBool) {
    if (error_offset) *error_offset = 0;
    return InvalidArgumentF("filter predicate must be bool but '{}' is {}", expr->text(),
                            core::TypeName(expr->type()));
  }
  return std::unique_ptr<api::Operator>(
      std::make_unique<FilterOperator>(std::move(input), std::move(expr)));
}

// ---- map / project ---------------------------------------------------------------------------

namespace {
core::SchemaPtr MapSchema(const MapOperator::Outputs& outputs) {
  std::vector<core::Field> fields;
  fields.reserve(outputs.size());
  for (const auto& [name, e] : outputs) fields.push_back(core::Field{name, e->type()});
  return std::make_shared<core::Schema>(std::move(fields));
}
}  // namespace

MapOperator::MapOperator(core::SchemaPtr input, Outputs outputs)
    : input_(std::move(input)),
      output_(MapSchema(outputs)),
      outputs_(std::move(outputs)),
      out_(output_) {}

absl::Status MapOperator::ProcessBatch(const core::RecordBatch& batch, api::Output& out) {
  const size_t n = batch.num_rows();
  const size_t m = outputs_.size();
  out_.Clear();
  // Column by column: a pass-through field is one gather, an expression one vectorized
  // evaluation (Expression::EvalBatchInto).
  for (size_t i = 0; i < m; ++i) {
    absl::Status s = outputs_[i].second->EvalBatchInto(batch, &out_.mutable_column(i));
    if (!s.ok()) [[unlikely]] return InOperator(ctx_, s);
  }
  for (size_t r = 0; r < n; ++r) out_.AppendTimestamp(batch.timestamp(r), batch.row_kind(r));
  Count(ctx_, n, n);
  if (out_.empty()) return absl::OkStatus();
  return out.Emit(out_);
}

absl::StatusOr<std::unique_ptr<api::Operator>> MakeMap(core::SchemaPtr input,
                                                  MapOperator::Outputs outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& [name, e] = outputs[i];
    if (name.empty()) {
      return InvalidArgumentF("output field for expression '{}' has an empty name", e->text());
    }
    auto same = [&](const auto& o) { return o.first == name; };
    if (std::any_of(outputs.begin(), outputs.begin() + i, same)) {
      return InvalidArgumentF("duplicate output field '{}'", name);
    }
  }
  return std::unique_ptr<api::Operator>(
      std::make_unique<MapOperator>(std::move(input), std::move(outputs)));
}

absl::StatusOr<std::unique_ptr<api::Operator>> MakeProject(core::SchemaPtr input,
                                                      const std::vector<std::string>& fields) {
  MapOperator::Outputs outputs;
  outputs.reserve(fields.size());
  for (const std::string& f : fields) {
    ASSIGN_OR_RETURN(auto e, expr::Expression::FieldReference(f, *input));
    outputs.emplace_back(f, std::move(e));
  }
  return MakeMap(std::move(input), std::move(outputs));
}

}  // namespace sluice::operators
