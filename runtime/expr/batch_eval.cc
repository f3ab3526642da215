// Vectorized evaluation (Node::EvalBatch): every node evaluates all rows of a batch per call,
// in tight loops over its children's value vectors, with SQL null semantics identical to the
// row-at-a-time Eval (expression_test checks both paths on the same expressions).
#include "runtime/expr/nodes.h"

namespace sluice::expr {
namespace {

// out->null = a.null | b.null (empty when neither has a null).
void MergeNulls(const Vec& a, const Vec& b, size_t n, Vec* out) {
  if (a.null.empty() && b.null.empty()) {
    out->null.clear();
    return;
  }
  out->null.resize(n);
  for (size_t i = 0; i < n; ++i) out->null[i] = static_cast<uint8_t>(a.IsNull(i) | b.IsNull(i));
}

// The values of `v` (of type `t`, int64 or double) as doubles, into *out.
const double* AsDoubles(Type t, const Vec& v, size_t n, std::vector<double>* scratch) {
  if (t == Type::kDouble) return v.f64.data();
  scratch->resize(n);
  for (size_t i = 0; i < n; ++i) (*scratch)[i] = static_cast<double>(v.i64[i]);
  return scratch->data();
}

template <typename T>
void CompareLoop(CmpOp op, const T* x, const T* y, size_t n, uint8_t* out) {
  switch (op) {
    case CmpOp::kEq: for (size_t i = 0; i < n; ++i) out[i] = x[i] == y[i]; break;
    case CmpOp::kNe: for (size_t i = 0; i < n; ++i) out[i] = x[i] != y[i]; break;
    case CmpOp::kLt: for (size_t i = 0; i < n; ++i) out[i] = x[i] < y[i]; break;
    case CmpOp::kLe: for (size_t i = 0; i < n; ++i) out[i] = x[i] <= y[i]; break;
    case CmpOp::kGt: for (size_t i = 0; i < n; ++i) out[i] = x[i] > y[i]; break;
    case CmpOp::kGe: for (size_t i = 0; i < n; ++i) out[i] = x[i] >= y[i]; break;
  }
}

}  // namespace

// ---- default: row by row ---------------------------------------------------------------------

absl::Status Node::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  out->null.assign(n, 0);
  bool any_null = false;
  Datum d;
  switch (type_) {
    case Type::kDouble: out->f64.resize(n); break;
    case Type::kBool: out->b.resize(n); break;
    case Type::kString: out->s.resize(n); break;
    default: out->i64.resize(n); break;
  }
  // String results live in the node's scratch only until its next Eval: copy them into the
  // arena, then point the views at it once it has stopped growing.
  std::vector<size_t>& ends = arena_ends_;
  if (type_ == Type::kString) {
    arena_.clear();
    ends.resize(n);
  }
  for (size_t r = 0; r < n; ++r) {
    RETURN_IF_ERROR(Eval(b, r, &d));
    if (d.null) {
      out->null[r] = 1;
      any_null = true;
      if (type_ == Type::kString) ends[r] = arena_.size();
      continue;
    }
    switch (type_) {
      case Type::kDouble: out->f64[r] = d.f64; break;
      case Type::kBool: out->b[r] = d.b; break;
      case Type::kString:
        arena_.append(d.s);
        ends[r] = arena_.size();
        break;
      default: out->i64[r] = d.i64; break;
    }
  }
  if (type_ == Type::kString) {
    size_t start = 0;
    for (size_t r = 0; r < n; ++r) {
      out->s[r] = std::string_view(arena_).substr(start, ends[r] - start);
      start = ends[r];
    }
  }
  if (!any_null) out->null.clear();
  return absl::OkStatus();
}

// ---- leaves ----------------------------------------------------------------------------------

absl::Status FieldNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  const core::Column& c = b.column(col_);
  const bool sel = b.has_selection();
  const uint32_t* rows = sel ? b.selection().data() : nullptr;
  auto phys = [&](size_t i) { return sel ? rows[i] : i; };
  switch (field_type_) {
    case Type::kInt64:
    case Type::kTimestamp: {
      out->i64.resize(n);
      const int64_t* v = c.values<int64_t>();
      if (!sel) {
        std::memcpy(out->i64.data(), v, n * 8);
      } else {
        for (size_t i = 0; i < n; ++i) out->i64[i] = v[rows[i]];
      }
      break;
    }
    case Type::kInt32:
    case Type::kDate: {
      out->i64.resize(n);
      const int32_t* v = c.values<int32_t>();
      const int64_t scale = field_type_ == Type::kDate ? kMsPerDay : 1;
      for (size_t i = 0; i < n; ++i) out->i64[i] = int64_t{v[phys(i)]} * scale;
      break;
    }
    case Type::kDouble: {
      out->f64.resize(n);
      const double* v = c.values<double>();
      for (size_t i = 0; i < n; ++i) out->f64[i] = v[phys(i)];
      break;
    }
    case Type::kBool:
      out->b.resize(n);
      for (size_t i = 0; i < n; ++i) out->b[i] = c.GetBool(phys(i));
      break;
    case Type::kString:
    case Type::kBytes:
      out->s.resize(n);
      for (size_t i = 0; i < n; ++i) out->s[i] = c.GetString(phys(i));
      break;
  }
  if (c.null_count() == 0) {
    out->null.clear();
  } else {
    out->null.resize(n);
    for (size_t i = 0; i < n; ++i) out->null[i] = c.IsNull(phys(i));
  }
  return absl::OkStatus();
}
bool FieldNode::CanFail() const { return false; }

absl::Status LiteralNode::EvalBatch(const RecordBatch&, size_t n, Vec* out) {
  switch (type()) {
    case Type::kDouble: out->f64.assign(n, value_.f64); break;
    case Type::kBool: out->b.assign(n, value_.b); break;
    case Type::kString: out->s.assign(n, value_.s); break;
    default: out->i64.assign(n, value_.i64); break;
  }
  out->null.clear();
  return absl::OkStatus();
}
bool LiteralNode::CanFail() const { return false; }

absl::Status IsNullNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(a_->EvalBatch(b, n, &a_vec_));
  out->b.resize(n);
  for (size_t i = 0; i < n; ++i) out->b[i] = a_vec_.IsNull(i) != negated_;
  out->null.clear();
  return absl::OkStatus();
}
bool IsNullNode::CanFail() const { return a_->CanFail(); }

// ---- operators -------------------------------------------------------------------------------

absl::Status NegNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(a_->EvalBatch(b, n, out));
  if (type() == Type::kDouble) {
    for (size_t i = 0; i < n; ++i) out->f64[i] = -out->f64[i];
  } else {
    for (size_t i = 0; i < n; ++i) out->i64[i] = WrapNeg(out->i64[i]);
  }
  return absl::OkStatus();
}
bool NegNode::CanFail() const { return a_->CanFail(); }

absl::Status NotNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(a_->EvalBatch(b, n, out));
  for (size_t i = 0; i < n; ++i) out->b[i] = !out->b[i];
  return absl::OkStatus();
}
bool NotNode::CanFail() const { return a_->CanFail(); }

absl::Status LogicNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(l_->EvalBatch(b, n, out));
  // Rows the left operand decides: a non-null false for `and`, a non-null true for `or`.
  const uint8_t decider = is_and_ ? 0 : 1;
  size_t undecided = 0;
  for (size_t i = 0; i < n; ++i) undecided += out->IsNull(i) || out->b[i] != decider;
  if (undecided == 0) return absl::OkStatus();
  if (out->null.empty()) out->null.assign(n, 0);
  auto combine = [&](size_t i, bool r_null, bool r_value) {
    if (!out->null[i] && out->b[i] == decider) return;  // decided by the left operand
    if (!r_null && r_value == static_cast<bool>(decider)) {
      out->b[i] = decider;
      out->null[i] = 0;
      return;
    }
    out->null[i] = static_cast<uint8_t>(out->null[i] | r_null);
    out->b[i] = !decider;
  };
  if (r_->CanFail()) {
    // Short-circuit as SQL does: the right operand only where the left one does not decide.
    Datum d;
    for (size_t i = 0; i < n; ++i) {
      if (!out->null[i] && out->b[i] == decider) continue;
      RETURN_IF_ERROR(r_->Eval(b, i, &d));
      combine(i, d.null, d.b);
    }
  } else {
    RETURN_IF_ERROR(r_->EvalBatch(b, n, &r_vec_));
    for (size_t i = 0; i < n; ++i) combine(i, r_vec_.IsNull(i), r_vec_.b[i] != 0);
  }
  bool any_null = false;
  for (size_t i = 0; i < n && !any_null; ++i) any_null = out->null[i] != 0;
  if (!any_null) out->null.clear();
  return absl::OkStatus();
}
bool LogicNode::CanFail() const { return l_->CanFail() || r_->CanFail(); }

absl::Status ArithNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(l_->EvalBatch(b, n, &l_vec_));
  RETURN_IF_ERROR(r_->EvalBatch(b, n, &r_vec_));
  MergeNulls(l_vec_, r_vec_, n, out);
  if (type() == Type::kDouble) {
    const double* x = AsDoubles(l_->type(), l_vec_, n, &xs_);
    const double* y = AsDoubles(r_->type(), r_vec_, n, &ys_);
    out->f64.resize(n);
    double* o = out->f64.data();
    switch (op_) {
      case ArithOp::kAdd: for (size_t i = 0; i < n; ++i) o[i] = x[i] + y[i]; break;
      case ArithOp::kSub: for (size_t i = 0; i < n; ++i) o[i] = x[i] - y[i]; break;
      case ArithOp::kMul: for (size_t i = 0; i < n; ++i) o[i] = x[i] * y[i]; break;
      case ArithOp::kDiv: for (size_t i = 0; i < n; ++i) o[i] = x[i] / y[i]; break;
      case ArithOp::kMod: for (size_t i = 0; i < n; ++i) o[i] = std::fmod(x[i], y[i]); break;
    }
    return absl::OkStatus();
  }
  const int64_t* x = l_vec_.i64.data();
  const int64_t* y = r_vec_.i64.data();
  out->i64.resize(n);
  int64_t* o = out->i64.data();
  switch (op_) {
    case ArithOp::kAdd: for (size_t i = 0; i < n; ++i) o[i] = WrapAdd(x[i], y[i]); break;
    case ArithOp::kSub: for (size_t i = 0; i < n; ++i) o[i] = WrapSub(x[i], y[i]); break;
    case ArithOp::kMul: for (size_t i = 0; i < n; ++i) o[i] = WrapMul(x[i], y[i]); break;
    case ArithOp::kDiv:
    case ArithOp::kMod:
      for (size_t i = 0; i < n; ++i) {
        if (out->IsNull(i)) {
          o[i] = 0;
          continue;
        }
        if (y[i] == 0) {
          return InvalidArgumentF("division by zero ({} {} 0)", x[i],
                                  op_ == ArithOp::kDiv ? '/' : '%');
        }
        if (op_ == ArithOp::kDiv) {
          o[i] = y[i] == -1 ? WrapNeg(x[i]) : x[i] / y[i];
        } else {
          o[i] = y[i] == -1 ? 0 : x[i] % y[i];
        }
      }
      break;
  }
  return absl::OkStatus();
}
bool ArithNode::CanFail() const {
  if (l_->CanFail() || r_->CanFail()) return true;
  if (type() != Type::kInt64 || (op_ != ArithOp::kDiv && op_ != ArithOp::kMod)) return false;
  // A division by a non-zero literal never fails.
  return r_->kind() != Kind::kLiteral || static_cast<const LiteralNode&>(*r_).value().i64 == 0;
}

absl::Status CompareNode::EvalBatch(const RecordBatch& b, size_t n, Vec* out) {
  RETURN_IF_ERROR(l_->EvalBatch(b, n, &l_vec_));
  RETURN_IF_ERROR(r_->EvalBatch(b, n, &r_vec_));
  MergeNulls(l_vec_, r_vec_, n, out);
  out->b.resize(n);
  uint8_t* o = out->b.data();
  switch (mode_) {
    case Mode::kInt: CompareLoop(op_, l_vec_.i64.data(), r_vec_.i64.data(), n, o); break;
    case Mode::kDouble: {
      const double* x = AsDoubles(l_->type(), l_vec_, n, &xs_);
      const double* y = AsDoubles(r_->type(), r_vec_, n, &ys_);
      CompareLoop(op_, x, y, n, o);
      break;
    }
    case Mode::kString: CompareLoop(op_, l_vec_.s.data(), r_vec_.s.data(), n, o); break;
    case Mode::kBool: CompareLoop(op_, l_vec_.b.data(), r_vec_.b.data(), n, o); break;
  }
  return absl::OkStatus();
}
bool CompareNode::CanFail() const { return l_->CanFail() || r_->CanFail(); }

}  // namespace sluice::expr
