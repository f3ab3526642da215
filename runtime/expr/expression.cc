#include "runtime/expr/expression.h"

#include "runtime/expr/nodes.h"
#include "runtime/expr/parser.h"

namespace sluice::expr {

// ============================================================================================
// Expression
// ============================================================================================

Expression::Expression(std::string text, std::unique_ptr<Node> root,
                       std::vector<std::string> fields)
    : text_(std::move(text)),
      root_(std::move(root)),
      type_(root_->kind() == Node::Kind::kField
                ? static_cast<const FieldNode&>(*root_).field_type()
                : root_->type()),
      referenced_fields_(std::move(fields)),
      values_(std::make_unique<Vec>()) {}

Expression::~Expression() = default;

absl::StatusOr<std::unique_ptr<Expression>> Expression::Compile(
    std::string_view text, const Schema& input, int* error_offset,
    const ScalarFunctions* functions) {
  ASSIGN_OR_RETURN(ParsedExpression parsed,
                   ParseExpression(text, input, error_offset, functions));
  return std::unique_ptr<Expression>(
      new Expression(std::string(text), std::move(parsed.root), std::move(parsed.fields)));
}

absl::StatusOr<std::unique_ptr<Expression>> Expression::FieldReference(std::string_view name,
                                                                       const Schema& input) {
  int col = input.FindField(name);
  if (col < 0) {
    return InvalidArgumentF("unknown field '{}' (fields: {})", name, input.FieldNames());
  }
  auto node = std::make_unique<FieldNode>(static_cast<size_t>(col), input.field(col).type, 0,
                                          static_cast<int>(name.size()));
  return std::unique_ptr<Expression>(
      new Expression(std::string(name), std::move(node), {std::string(name)}));
}

std::vector<std::string> Expression::ReferencedFields() const { return referenced_fields_; }

std::optional<size_t> Expression::AsFieldReference() const {
  if (root_->kind() != Node::Kind::kField) return std::nullopt;
  return static_cast<const FieldNode&>(*root_).col();
}

absl::Status Expression::RuntimeError(const absl::Status& s) const {
  return InvalidArgumentF("error evaluating '{}': {}", text_, Msg(s));
}

absl::StatusOr<Datum> Expression::Eval(const RecordBatch& batch, size_t row) {
  Datum d;
  absl::Status s = root_->Eval(batch, row, &d);
  if (!s.ok()) [[unlikely]] return RuntimeError(s);
  d.type = root_->type();
  return d;
}

absl::StatusOr<bool> Expression::EvalBool(const RecordBatch& batch, size_t row) {
  if (type_ != Type::kBool) [[unlikely]] {
    return InvalidArgumentF("expression '{}' is {}, not bool", text_, TypeName(type_));
  }
  Datum d;
  absl::Status s = root_->Eval(batch, row, &d);
  if (!s.ok()) [[unlikely]] return RuntimeError(s);
  return d.b && !d.null;
}

absl::Status Expression::EvalInto(const RecordBatch& batch, size_t row, RecordBatch* out,
                                  size_t out_row, size_t out_col) {
  const Type ot = out->schema().field(out_col).type;
  if (ot != type_ && !(ot == Type::kDouble && type_ == Type::kInt64)) [[unlikely]] {
    return InvalidArgumentF("cannot store the {} result of '{}' into {} field '{}'",
                            TypeName(type_), text_, TypeName(ot),
                            out->schema().field(out_col).name);
  }
  if (ot == type_ && root_->kind() == Node::Kind::kField) {
    out->CopyField(out_row, out_col, batch, row, static_cast<const FieldNode&>(*root_).col());
    return absl::OkStatus();
  }
  Datum d;
  absl::Status s = root_->Eval(batch, row, &d);
  if (!s.ok()) [[unlikely]] return RuntimeError(s);
  if (d.null) {
    out->SetNull(out_row, out_col);
    return absl::OkStatus();
  }
  const Type et = root_->type();
  switch (ot) {
    case Type::kString:
    case Type::kBytes: out->SetString(out_row, out_col, d.s); break;
    case Type::kBool: out->SetBool(out_row, out_col, d.b); break;
    case Type::kDouble:
      out->SetDouble(out_row, out_col, et == Type::kInt64 ? static_cast<double>(d.i64) : d.f64);
      break;
    case Type::kInt32:
    case Type::kDate: return InvalidArgumentF("'{}' cannot be stored as {}", text_, TypeName(ot));
    case Type::kInt64:
    case Type::kTimestamp: out->SetInt64(out_row, out_col, d.i64); break;
  }
  return absl::OkStatus();
}

absl::Status Expression::EvalBatchBool(const RecordBatch& batch, std::vector<uint8_t>* keep) {
  if (type_ != Type::kBool) [[unlikely]] {
    return InvalidArgumentF("expression '{}' is {}, not bool", text_, TypeName(type_));
  }
  const size_t n = batch.num_rows();
  absl::Status s = root_->EvalBatch(batch, n, values_.get());
  if (!s.ok()) [[unlikely]] return RuntimeError(s);
  const Vec& v = *values_;
  keep->resize(n);
  if (v.null.empty()) {
    std::memcpy(keep->data(), v.b.data(), n);
  } else {
    for (size_t i = 0; i < n; ++i) (*keep)[i] = static_cast<uint8_t>(v.b[i] & !v.null[i]);
  }
  return absl::OkStatus();
}

absl::Status Expression::EvalBatchInto(const RecordBatch& batch, core::Column* out) {
  const Type ot = out->type();
  const Type et = root_->type();
  const bool field_copy = ot == type_ && root_->kind() == Node::Kind::kField;
  if (!field_copy && ot != et && !(ot == Type::kDouble && et == Type::kInt64) &&
      !(ot == Type::kBytes && et == Type::kString)) [[unlikely]] {
    return InvalidArgumentF("cannot store the {} result of '{}' into a {} column",
                            TypeName(type_), text_, TypeName(ot));
  }
  const size_t n = batch.num_rows();
  if (field_copy) {
    // A plain reference: one gather of the column, whatever its type.
    const core::Column& src = batch.column(static_cast<const FieldNode&>(*root_).col());
    rows_.resize(n);
    for (size_t i = 0; i < n; ++i) rows_[i] = static_cast<uint32_t>(batch.physical_row(i));
    out->AppendSelected(src, rows_.data(), n);
    return absl::OkStatus();
  }
  absl::Status s = root_->EvalBatch(batch, n, values_.get());
  if (!s.ok()) [[unlikely]] return RuntimeError(s);
  const Vec& v = *values_;
  for (size_t i = 0; i < n; ++i) {
    if (v.IsNull(i)) {
      out->AppendNull();
      continue;
    }
    switch (ot) {
      case Type::kString:
      case Type::kBytes: out->AppendString(v.s[i]); break;
      case Type::kBool:
        out->AppendDefault();
        out->SetBool(out->length() - 1, v.b[i] != 0);
        break;
      case Type::kDouble:
        out->Append<double>(et == Type::kInt64 ? static_cast<double>(v.i64[i]) : v.f64[i]);
        break;
      case Type::kInt64:
      case Type::kTimestamp: out->Append<int64_t>(v.i64[i]); break;
      case Type::kInt32:
      case Type::kDate: break;  // only as field copies, above
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::expr
