#pragma once
// The evaluation tree of a compiled expression (internal to runtime/expr): the Node base class,
// field and literal leaves, and the operators. Functions are in functions.h, the parser that
// builds trees in parser.h.

#include "runtime/expr/eval_util.h"

namespace sluice::expr {

// The values of one node for the rows of one batch (vectorized evaluation, batch_eval.cc).
// Only the member of the node's type is filled, n entries; null[i] != 0 marks row i null, and
// an empty `null` means no row is. Strings point into the batch, a literal or a node's arena,
// valid until the node is evaluated again.
struct Vec {
  std::vector<int64_t> i64;         // int64, timestamp
  std::vector<double> f64;          // double
  std::vector<uint8_t> b;           // bool, 0 or 1
  std::vector<std::string_view> s;  // string
  std::vector<uint8_t> null;
  bool IsNull(size_t i) const { return !null.empty() && null[i] != 0; }
};

// One node of a compiled expression. Eval writes the value of one row (not the type: types
// are static) into *out; EvalBatch the values of every row of a batch into a Vec, one virtual
// call per node per batch (the vectorized evaluation of Velox, DuckDB and Photon). Nodes own
// their scratch buffers, so a tree is single-threaded.
class Node {
 public:
  enum class Kind { kField, kLiteral, kOther };
  Node(Type type, int begin, int end, Kind kind = Kind::kOther)
      : type_(type), begin_(begin), end_(end), kind_(kind) {}
  virtual ~Node() = default;
  virtual absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) = 0;
  // Evaluates logical rows [0, n) of `b` into *out. The default calls Eval row by row and
  // copies string results into this node's arena (functions use it); leaves and operators
  // override it with loops over whole vectors.
  virtual absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out);
  // Whether evaluating this subtree can fail at run time (an int64 division or modulo by a
  // non-literal, or a function): `and`/`or` over such a right operand keep SQL's
  // short-circuit, evaluating it only on the rows their left operand does not decide.
  virtual bool CanFail() const { return true; }

  Type type() const { return type_; }
  int begin() const { return begin_; }
  int end() const { return end_; }
  Kind kind() const { return kind_; }

 private:
  Type type_;
  int begin_, end_;  // source span [begin, end) in the expression text
  Kind kind_;
  std::string arena_;               // string results of the default EvalBatch
  std::vector<size_t> arena_ends_;  // where each row's string ends in arena_
};

// Evaluates `n` for `row` into *out as a value of type `result`: an int64 value is widened when
// `result` is double (branches of if/case/coalesce that mix int64 and double).
inline absl::Status EvalAs(Type result, Node& n, const RecordBatch& b, size_t row, Datum* out) {
  RETURN_IF_ERROR(n.Eval(b, row, out));
  if (!out->null && result == Type::kDouble && n.type() == Type::kInt64) {
    out->f64 = static_cast<double>(out->i64);
  }
  return absl::OkStatus();
}

// ---- leaves ----------------------------------------------------------------------------------

// The type a field of type `t` has inside expressions.
inline Type EvaluatedType(Type t) {
  switch (t) {
    case Type::kInt32: return Type::kInt64;
    case Type::kDate: return Type::kTimestamp;
    case Type::kBytes: return Type::kString;
    default: return t;
  }
}

class FieldNode final : public Node {
 public:
  FieldNode(size_t col, Type t, int begin, int end)
      : Node(EvaluatedType(t), begin, end, Kind::kField), col_(col), field_type_(t) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    out->null = b.IsNull(row, col_);
    if (out->null) return absl::OkStatus();
    switch (field_type_) {
      case Type::kString:
      case Type::kBytes: out->s = b.GetString(row, col_); break;
      case Type::kBool: out->b = b.GetBool(row, col_); break;
      case Type::kDouble: out->f64 = b.GetDouble(row, col_); break;
      case Type::kInt32: out->i64 = b.GetInt32(row, col_); break;
      case Type::kDate: out->i64 = int64_t{b.GetInt32(row, col_)} * kMsPerDay; break;
      case Type::kInt64:
      case Type::kTimestamp: out->i64 = b.GetInt64(row, col_); break;
    }
    return absl::OkStatus();
  }
  size_t col() const { return col_; }
  Type field_type() const { return field_type_; }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  size_t col_;
  Type field_type_;
};

class IsNullNode final : public Node {
 public:
  IsNullNode(bool negated, std::unique_ptr<Node> a, int end)
      : Node(Type::kBool, a->begin(), end), negated_(negated), a_(std::move(a)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    RETURN_IF_ERROR(a_->Eval(b, row, &value_));
    out->b = value_.null != negated_;
    out->null = false;
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  bool negated_;
  std::unique_ptr<Node> a_;
  Datum value_;
  Vec a_vec_;
};

class LiteralNode final : public Node {
 public:
  LiteralNode(Type t, Datum v, std::string str, int begin, int end)
      : Node(t, begin, end, Kind::kLiteral), value_(v), str_(std::move(str)) {
    value_.s = str_;
  }
  absl::Status Eval(const RecordBatch&, size_t, Datum* out) override {
    *out = value_;
    return absl::OkStatus();
  }
  const std::string& str() const { return str_; }
  const Datum& value() const { return value_; }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  Datum value_;
  std::string str_;
};

// ---- operators -------------------------------------------------------------------------------

class NegNode final : public Node {
 public:
  NegNode(std::unique_ptr<Node> a, int begin)
      : Node(a->type(), begin, a->end()), a_(std::move(a)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    RETURN_IF_ERROR(a_->Eval(b, row, out));
    if (out->null) return absl::OkStatus();
    if (type() == Type::kDouble) {
      out->f64 = -out->f64;
    } else {
      out->i64 = WrapNeg(out->i64);
    }
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  std::unique_ptr<Node> a_;
};

class NotNode final : public Node {
 public:
  NotNode(std::unique_ptr<Node> a, int begin)
      : Node(Type::kBool, begin, a->end()), a_(std::move(a)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    RETURN_IF_ERROR(a_->Eval(b, row, out));
    out->b = !out->b;
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  std::unique_ptr<Node> a_;
};

class LogicNode final : public Node {
 public:
  LogicNode(bool is_and, std::unique_ptr<Node> l, std::unique_ptr<Node> r)
      : Node(Type::kBool, l->begin(), r->end()),
        is_and_(is_and), l_(std::move(l)), r_(std::move(r)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    // Three-valued: a false operand decides `and`, a true one decides `or`; otherwise the
    // result is null if either operand is null.
    RETURN_IF_ERROR(l_->Eval(b, row, out));
    if (!out->null && out->b != is_and_) return absl::OkStatus();  // short-circuit
    const bool left_null = out->null;
    RETURN_IF_ERROR(r_->Eval(b, row, out));
    if (!out->null && out->b != is_and_) return absl::OkStatus();
    out->null = out->null || left_null;
    out->b = is_and_;
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  bool is_and_;
  std::unique_ptr<Node> l_, r_;
  Vec r_vec_;
};

enum class ArithOp { kAdd, kSub, kMul, kDiv, kMod };

class ArithNode final : public Node {
 public:
  ArithNode(ArithOp op, Type result, std::unique_ptr<Node> l, std::unique_ptr<Node> r)
      : Node(result, l->begin(), r->end()), op_(op), l_(std::move(l)), r_(std::move(r)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    Datum rv;
    RETURN_IF_ERROR(l_->Eval(b, row, out));
    RETURN_IF_ERROR(r_->Eval(b, row, &rv));
    if (out->null || rv.null) {
      out->null = true;
      return absl::OkStatus();
    }
    if (type() == Type::kDouble) {
      double x = AsDouble(l_->type(), *out), y = AsDouble(r_->type(), rv);
      switch (op_) {
        case ArithOp::kAdd: out->f64 = x + y; break;
        case ArithOp::kSub: out->f64 = x - y; break;
        case ArithOp::kMul: out->f64 = x * y; break;
        case ArithOp::kDiv: out->f64 = x / y; break;
        case ArithOp::kMod: out->f64 = std::fmod(x, y); break;
      }
      return absl::OkStatus();
    }
    int64_t x = out->i64, y = rv.i64;
    switch (op_) {
      case ArithOp::kAdd: out->i64 = WrapAdd(x, y); break;
      case ArithOp::kSub: out->i64 = WrapSub(x, y); break;
      case ArithOp::kMul: out->i64 = WrapMul(x, y); break;
      case ArithOp::kDiv:
        if (y == 0) return InvalidArgumentF("division by zero ({} / 0)", x);
        out->i64 = y == -1 ? WrapNeg(x) : x / y;
        break;
      case ArithOp::kMod:
        if (y == 0) return InvalidArgumentF("division by zero ({} % 0)", x);
        out->i64 = y == -1 ? 0 : x % y;
        break;
    }
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  ArithOp op_;
  std::unique_ptr<Node> l_, r_;
  Vec l_vec_, r_vec_;
  std::vector<double> xs_, ys_;  // int64 operands widened to double, reused per batch
};

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };

template <typename T>
bool Compare(CmpOp op, const T& a, const T& b) {
  switch (op) {
    case CmpOp::kEq: return a == b;
    case CmpOp::kNe: return a != b;
    case CmpOp::kLt: return a < b;
    case CmpOp::kLe: return a <= b;
    case CmpOp::kGt: return a > b;
    case CmpOp::kGe: return a >= b;
  }
  return false;
}

class CompareNode final : public Node {
 public:
  enum class Mode { kInt, kDouble, kString, kBool };
  CompareNode(CmpOp op, Mode mode, std::unique_ptr<Node> l, std::unique_ptr<Node> r)
      : Node(Type::kBool, l->begin(), r->end()),
        op_(op), mode_(mode), l_(std::move(l)), r_(std::move(r)) {}
  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    Datum x, y;
    RETURN_IF_ERROR(l_->Eval(b, row, &x));
    RETURN_IF_ERROR(r_->Eval(b, row, &y));
    out->null = x.null || y.null;
    if (out->null) return absl::OkStatus();
    switch (mode_) {
      case Mode::kInt: out->b = Compare(op_, x.i64, y.i64); break;
      case Mode::kDouble:
        out->b = Compare(op_, AsDouble(l_->type(), x), AsDouble(r_->type(), y));
        break;
      case Mode::kString: out->b = Compare(op_, x.s, y.s); break;
      case Mode::kBool: out->b = Compare(op_, x.b, y.b); break;
    }
    return absl::OkStatus();
  }

  absl::Status EvalBatch(const RecordBatch& b, size_t n, Vec* out) override;
  bool CanFail() const override;
 private:
  CmpOp op_;
  Mode mode_;
  std::unique_ptr<Node> l_, r_;
  Vec l_vec_, r_vec_;
  std::vector<double> xs_, ys_;  // int64 operands widened to double, reused per batch
};

}  // namespace sluice::expr
