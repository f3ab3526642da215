#include "runtime/expr/expression.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/core/time_format.h"

namespace sluice::expr {

using core::RecordBatch;
using core::Schema;
using core::Type;
using core::TypeName;

// ============================================================================================
// Evaluation tree
// ============================================================================================

// One node of a compiled expression. Eval writes the value (not the type: types are static)
// into *out. Nodes own whatever scratch buffers they need, so a tree is single-threaded.
class Node {
 public:
  enum class Kind { kField, kLiteral, kOther };
  Node(Type type, int begin, int end, Kind kind = Kind::kOther)
      : type_(type), begin_(begin), end_(end), kind_(kind) {}
  virtual ~Node() = default;
  virtual absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) = 0;

  Type type() const { return type_; }
  int begin() const { return begin_; }
  int end() const { return end_; }
  Kind kind() const { return kind_; }

 private:
  Type type_;
  int begin_, end_;  // source span [begin, end) in the expression text
  Kind kind_;
};

namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

double AsDouble(Type t, const Datum& d) {
  return t == Type::kDouble ? d.f64 : static_cast<double>(d.i64);
}

// Text form used by to_string and concat: as RecordBatch prints values (shortest round-trip
// doubles, ISO-8601 timestamps).
void AppendText(Type t, const Datum& d, std::string* out) {
  char buf[64];
  switch (t) {
    case Type::kInt64: {
      auto r = std::to_chars(buf, buf + sizeof buf, d.i64);
      out->append(buf, r.ptr);
      break;
    }
    case Type::kDouble: {
      auto r = std::to_chars(buf, buf + sizeof buf, d.f64);
      out->append(buf, r.ptr);
      break;
    }
    case Type::kBool: out->append(d.b ? "true" : "false"); break;
    case Type::kTimestamp: core::AppendTimestamp(d.i64, out); break;
    case Type::kString:
    case Type::kBytes: out->append(d.s); break;
    case Type::kInt32:
    case Type::kDate: break;  // never an evaluated type (EvaluatedType)
  }
}

// Java's (long) cast of a double: NaN -> 0, saturating at the int64 range.
int64_t JavaDoubleToLong(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (x <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

// Java's Math.round(double) (JDK 7+): nearest, ties towards positive infinity.
int64_t JavaRound(double x) {
  if (std::isnan(x)) return 0;
  double f = std::floor(x);
  if (x - f >= 0.5) f += 1.0;
  return JavaDoubleToLong(f);
}

int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t WrapNeg(int64_t a) { return static_cast<int64_t>(0 - static_cast<uint64_t>(a)); }

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Howard Hinnant's civil_from_days (as runtime/core/time_format uses for the inverse).
struct Civil {
  int64_t year;
  int month, day;
};
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Civil{y + (m <= 2), m, d};
}

// absl::Status::message() is Debian's absl::string_view, which fmt cannot format.
std::string_view Msg(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}
// Byte offset of code point `cp` (0-based) in s, or s.size() if past the end.
size_t Utf8Offset(std::string_view s, int64_t cp) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (cp == 0) return i;
      --cp;
    }
  }
  return s.size();
}

// ---- leaves ----------------------------------------------------------------------------------

// The type a field of type `t` has inside expressions.
Type EvaluatedType(Type t) {
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

 private:
  bool negated_;
  std::unique_ptr<Node> a_;
  Datum value_;
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

 private:
  bool is_and_;
  std::unique_ptr<Node> l_, r_;
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

 private:
  ArithOp op_;
  std::unique_ptr<Node> l_, r_;
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

 private:
  CmpOp op_;
  Mode mode_;
  std::unique_ptr<Node> l_, r_;
};

// ---- functions -------------------------------------------------------------------------------

enum class Fn {
  kAbs, kRound, kFloor, kCeil, kSqrt, kLower, kUpper, kLength, kConcat, kSubstr, kIf,
  kToString, kToInt, kToDouble, kToTimestamp, kYear, kMonth, kDay, kHour, kMinute, kSecond,
  kDayOfWeek, kStartsWith, kEndsWith, kContains, kCoalesce,
};

struct FnSpec {
  std::string_view name;
  Fn fn;
  int min_args;
  int max_args;  // -1: unbounded
};

constexpr FnSpec kFunctions[] = {
    {"abs", Fn::kAbs, 1, 1},
    {"ceil", Fn::kCeil, 1, 1},
    {"coalesce", Fn::kCoalesce, 1, -1},
    {"concat", Fn::kConcat, 1, -1},
    {"contains", Fn::kContains, 2, 2},
    {"day", Fn::kDay, 1, 1},
    {"day_of_week", Fn::kDayOfWeek, 1, 1},
    {"ends_with", Fn::kEndsWith, 2, 2},
    {"floor", Fn::kFloor, 1, 1},
    {"hour", Fn::kHour, 1, 1},
    {"if", Fn::kIf, 3, 3},
    {"length", Fn::kLength, 1, 1},
    {"lower", Fn::kLower, 1, 1},
    {"minute", Fn::kMinute, 1, 1},
    {"month", Fn::kMonth, 1, 1},
    {"round", Fn::kRound, 1, 1},
    {"second", Fn::kSecond, 1, 1},
    {"sqrt", Fn::kSqrt, 1, 1},
    {"starts_with", Fn::kStartsWith, 2, 2},
    {"substr", Fn::kSubstr, 2, 3},
    {"to_double", Fn::kToDouble, 1, 1},
    {"to_int", Fn::kToInt, 1, 1},
    {"to_string", Fn::kToString, 1, 1},
    {"to_timestamp", Fn::kToTimestamp, 1, 1},
    {"upper", Fn::kUpper, 1, 1},
    {"year", Fn::kYear, 1, 1},
};

class FuncNode final : public Node {
 public:
  FuncNode(Fn fn, Type result, std::vector<std::unique_ptr<Node>> args, int begin, int end)
      : Node(result, begin, end), fn_(fn), args_(std::move(args)), vals_(args_.size()) {}

  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    if (fn_ == Fn::kIf) {
      RETURN_IF_ERROR(args_[0]->Eval(b, row, &vals_[0]));
      Node* branch = vals_[0].b && !vals_[0].null ? args_[1].get() : args_[2].get();
      return EvalWidened(*branch, b, row, out);
    }
    if (fn_ == Fn::kCoalesce) {
      for (const auto& arg : args_) {
        RETURN_IF_ERROR(EvalWidened(*arg, b, row, out));
        if (!out->null) break;
      }
      return absl::OkStatus();
    }
    for (size_t i = 0; i < args_.size(); ++i) {
      RETURN_IF_ERROR(args_[i]->Eval(b, row, &vals_[i]));
      if (vals_[i].null) {
        out->null = true;
        return absl::OkStatus();
      }
    }
    out->null = false;
    const Datum& a = vals_[0];
    const Type at = args_[0]->type();
    switch (fn_) {
      case Fn::kAbs:
        if (at == Type::kDouble) {
          out->f64 = std::fabs(a.f64);
        } else {
          out->i64 = a.i64 < 0 ? WrapNeg(a.i64) : a.i64;  // Java: abs(MIN_VALUE) == MIN_VALUE
        }
        break;
      case Fn::kRound: out->i64 = at == Type::kDouble ? JavaRound(a.f64) : a.i64; break;
      case Fn::kFloor: out->f64 = std::floor(AsDouble(at, a)); break;
      case Fn::kCeil: out->f64 = std::ceil(AsDouble(at, a)); break;
      case Fn::kSqrt: out->f64 = std::sqrt(AsDouble(at, a)); break;
      case Fn::kLower:
      case Fn::kUpper:
        scratch_.assign(a.s);
        for (char& c : scratch_) {
          if (fn_ == Fn::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (fn_ == Fn::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        out->s = scratch_;
        break;
      case Fn::kLength: out->i64 = static_cast<int64_t>(Utf8Length(a.s)); break;
      case Fn::kConcat:
        scratch_.clear();
        for (size_t i = 0; i < args_.size(); ++i) AppendText(args_[i]->type(), vals_[i], &scratch_);
        out->s = scratch_;
        break;
      case Fn::kSubstr: {
        int64_t start = std::max<int64_t>(vals_[1].i64, 1) - 1;
        size_t from = Utf8Offset(a.s, start);
        size_t to = a.s.size();
        if (args_.size() == 3) {
          int64_t len = vals_[2].i64;
          to = len <= 0 ? from : from + Utf8Offset(a.s.substr(from), len);
        }
        out->s = a.s.substr(from, to - from);
        break;
      }
      case Fn::kToString:
        scratch_.clear();
        AppendText(at, a, &scratch_);
        out->s = scratch_;
        break;
      case Fn::kToInt: return ToInt(at, a, out);
      case Fn::kToDouble: return ToDouble(at, a, out);
      case Fn::kToTimestamp:
        if (at == Type::kString) {
          auto ts = core::ParseTimestamp(a.s);
          if (!ts) {
            return InvalidArgumentF(
                "to_timestamp: cannot parse '{}' as a timestamp (expected ISO-8601 like "
                "2001-01-01T00:00:00Z)",
                a.s);
          }
          out->i64 = *ts;
        } else {
          out->i64 = a.i64;
        }
        break;
      case Fn::kYear: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).year; break;
      case Fn::kMonth: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).month; break;
      case Fn::kDay: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).day; break;
      case Fn::kHour: out->i64 = FloorDiv(a.i64, kMsPerHour) - FloorDiv(a.i64, kMsPerDay) * 24; break;
      case Fn::kMinute:
        out->i64 = FloorDiv(a.i64, kMsPerMinute) - FloorDiv(a.i64, kMsPerHour) * 60;
        break;
      case Fn::kSecond:
        out->i64 = FloorDiv(a.i64, kMsPerSecond) - FloorDiv(a.i64, kMsPerMinute) * 60;
        break;
      case Fn::kDayOfWeek: {
        // 1970-01-01 was a Thursday (5 with Sunday = 1).
        int64_t days = FloorDiv(a.i64, kMsPerDay);
        int64_t m = (days + 4) % 7;
        if (m < 0) m += 7;
        out->i64 = m + 1;
        break;
      }
      case Fn::kStartsWith: out->b = a.s.starts_with(vals_[1].s); break;
      case Fn::kEndsWith: out->b = a.s.ends_with(vals_[1].s); break;
      case Fn::kContains: out->b = a.s.find(vals_[1].s) != std::string_view::npos; break;
      case Fn::kIf:
      case Fn::kCoalesce: break;  // handled above
    }
    return absl::OkStatus();
  }

 private:
  // Evaluates `n` into *out, widening an int64 value when this function's type is double.
  absl::Status EvalWidened(Node& n, const RecordBatch& b, size_t row, Datum* out) {
    RETURN_IF_ERROR(n.Eval(b, row, out));
    if (!out->null && type() == Type::kDouble && n.type() == Type::kInt64) {
      out->f64 = static_cast<double>(out->i64);
    }
    return absl::OkStatus();
  }

  static absl::Status ToInt(Type at, const Datum& a, Datum* out) {
    switch (at) {
      case Type::kDouble: out->i64 = JavaDoubleToLong(a.f64); break;
      case Type::kBool: out->i64 = a.b ? 1 : 0; break;
      case Type::kString: {
        std::string_view s = a.s;
        if (s.size() > 1 && s[0] == '+') s.remove_prefix(1);
        int64_t v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return InvalidArgumentF("to_int: cannot parse '{}' as int64", a.s);
        }
        out->i64 = v;
        break;
      }
      default: out->i64 = a.i64; break;
    }
    return absl::OkStatus();
  }
  static absl::Status ToDouble(Type at, const Datum& a, Datum* out) {
    switch (at) {
      case Type::kDouble: out->f64 = a.f64; break;
      case Type::kBool: out->f64 = a.b ? 1.0 : 0.0; break;
      case Type::kString: {
        std::string_view s = a.s;
        if (s.size() > 1 && s[0] == '+') s.remove_prefix(1);
        double v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return InvalidArgumentF("to_double: cannot parse '{}' as double", a.s);
        }
        out->f64 = v;
        break;
      }
      default: out->f64 = static_cast<double>(a.i64); break;
    }
    return absl::OkStatus();
  }

  Fn fn_;
  std::vector<std::unique_ptr<Node>> args_;
  std::vector<Datum> vals_;
  std::string scratch_;
};

// ============================================================================================
// Lexer
// ============================================================================================

enum class Tok { kIdent, kQuotedIdent, kInt, kDouble, kString, kOp, kEnd };

struct Token {
  Tok kind;
  int offset;       // of the first character
  int end;          // one past the last character
  std::string text; // identifier name, unescaped string, number text or operator
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

absl::StatusOr<std::vector<Token>> Lex(std::string_view t, int* err_offset) {
  std::vector<Token> out;
  size_t i = 0;
  auto fail = [&](int off, absl::Status s) {
    *err_offset = off;
    return s;
  };
  while (i < t.size()) {
    char c = t[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    const int start = static_cast<int>(i);
    if (IsIdentStart(c)) {
      while (i < t.size() && IsIdentChar(t[i])) ++i;
      out.push_back({Tok::kIdent, start, static_cast<int>(i), std::string(t.substr(start, i - start))});
      continue;
    }
    if (IsDigit(c) || (c == '.' && i + 1 < t.size() && IsDigit(t[i + 1]))) {
      bool is_double = false;
      while (i < t.size() && IsDigit(t[i])) ++i;
      if (i < t.size() && t[i] == '.') {
        is_double = true;
        ++i;
        while (i < t.size() && IsDigit(t[i])) ++i;
      }
      if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        size_t j = i + 1;
        if (j < t.size() && (t[j] == '+' || t[j] == '-')) ++j;
        if (j < t.size() && IsDigit(t[j])) {
          is_double = true;
          i = j;
          while (i < t.size() && IsDigit(t[i])) ++i;
        }
      }
      if (i < t.size() && IsIdentStart(t[i])) {
        return fail(static_cast<int>(i),
                    InvalidArgumentF("unexpected character '{}' in number '{}'", t[i],
                                     t.substr(start, i + 1 - start)));
      }
      out.push_back({is_double ? Tok::kDouble : Tok::kInt, start, static_cast<int>(i),
                     std::string(t.substr(start, i - start))});
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      // Quotes are escaped by doubling them, as in SQL.
      std::string s;
      ++i;
      bool closed = false;
      while (i < t.size()) {
        if (t[i] == c) {
          if (i + 1 < t.size() && t[i + 1] == c) {
            s.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        s.push_back(t[i++]);
      }
      if (!closed) {
        return fail(start, InvalidArgumentF("unterminated {} starting with {}",
                                            c == '`' ? "quoted field name" : "string literal",
                                            c));
      }
      out.push_back(
          {c == '`' ? Tok::kQuotedIdent : Tok::kString, start, static_cast<int>(i), std::move(s)});
      continue;
    }
    static constexpr std::string_view kTwoChar[] = {"==", "!=", "<>", "<=", ">=", "&&", "||"};
    bool matched = false;
    for (std::string_view op : kTwoChar) {
      if (t.substr(i, 2) == op) {
        out.push_back({Tok::kOp, start, start + 2, std::string(op)});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("=<>!+-*/%(),").find(c) != std::string_view::npos) {
      out.push_back({Tok::kOp, start, start + 1, std::string(1, c)});
      ++i;
      continue;
    }
    return fail(start, InvalidArgumentF("unexpected character '{}'", c));
  }
  out.push_back({Tok::kEnd, static_cast<int>(t.size()), static_cast<int>(t.size()), ""});
  return out;
}

// ============================================================================================
// Parser and type checker
// ============================================================================================

class Parser {
 public:
  Parser(std::string_view text, const Schema& schema, std::vector<Token> toks)
      : text_(text), schema_(schema), toks_(std::move(toks)) {}

  absl::StatusOr<std::unique_ptr<Node>> Parse() {
    ASSIGN_OR_RETURN(auto n, ParseOr());
    if (Peek().kind != Tok::kEnd) {
      return Fail(Peek().offset, InvalidArgumentF("expected an operator or end of expression but "
                                                  "found {}",
                                                  Describe(Peek())));
    }
    return n;
  }

  int error_offset() const { return error_offset_; }
  std::vector<std::string> TakeFields() { return std::move(fields_); }

 private:
  const Token& Peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool IsOp(const Token& t, std::string_view op) const { return t.kind == Tok::kOp && t.text == op; }
  bool IsKeyword(const Token& t, std::string_view kw) const {
    return t.kind == Tok::kIdent && Lower(t.text) == kw;
  }

  absl::Status Fail(int offset, absl::Status s) {
    error_offset_ = offset;
    return s;
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "end of expression";
    return fmt::format("'{}'", text_.substr(t.offset, t.end - t.offset));
  }
  std::string_view Source(const Node& n) const {
    return text_.substr(n.begin(), n.end() - n.begin());
  }
  // "string 'origin'", "int64 literal 5", "double expression 'a * 1.5'".
  std::string Describe(const Node& n) const {
    switch (n.kind()) {
      case Node::Kind::kField:
        return fmt::format("{} '{}'", TypeName(n.type()),
                           schema_.field(static_cast<const FieldNode&>(n).col()).name);
      case Node::Kind::kLiteral: return fmt::format("{} literal {}", TypeName(n.type()), Source(n));
      case Node::Kind::kOther: break;
    }
    return fmt::format("{} expression '{}'", TypeName(n.type()), Source(n));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOr() {
    ASSIGN_OR_RETURN(auto l, ParseAnd());
    while (IsOp(Peek(), "||") || IsKeyword(Peek(), "or")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto r, ParseAnd());
      RETURN_IF_ERROR(CheckBoolOperands(op, *l, *r));
      l = std::make_unique<LogicNode>(false, std::move(l), std::move(r));
    }
    return l;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAnd() {
    ASSIGN_OR_RETURN(auto l, ParseNot());
    while (IsOp(Peek(), "&&") || IsKeyword(Peek(), "and")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto r, ParseNot());
      RETURN_IF_ERROR(CheckBoolOperands(op, *l, *r));
      l = std::make_unique<LogicNode>(true, std::move(l), std::move(r));
    }
    return l;
  }

  absl::Status CheckBoolOperands(const Token& op, const Node& l, const Node& r) {
    for (const Node* n : {&l, &r}) {
      if (n->type() != Type::kBool) {
        return Fail(op.offset, InvalidArgumentF("type mismatch: operator '{}' needs bool operands "
                                                "but found {}",
                                                op.text, Describe(*n)));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseNot() {
    if (IsKeyword(Peek(), "not")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto a, ParseNot());
      return MakeNot(op, std::move(a));
    }
    return ParseComparison();
  }

  absl::StatusOr<std::unique_ptr<Node>> MakeNot(const Token& op, std::unique_ptr<Node> a) {
    if (a->type() != Type::kBool) {
      return Fail(op.offset, InvalidArgumentF("type mismatch: operator '{}' needs a bool operand "
                                              "but found {}",
                                              op.text, Describe(*a)));
    }
    return std::unique_ptr<Node>(std::make_unique<NotNode>(std::move(a), op.offset));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseComparison() {
    ASSIGN_OR_RETURN(auto l, ParseAdditive());
    if (IsKeyword(Peek(), "is")) {
      const Token is = Next();
      const bool negated = IsKeyword(Peek(), "not");
      if (negated) Next();
      if (!IsKeyword(Peek(), "null")) {
        return Fail(Peek().offset, InvalidArgumentF("expected 'null' after '{}' but found {}",
                                                    negated ? "is not" : "is", Describe(Peek())));
      }
      const Token null_kw = Next();
      return std::unique_ptr<Node>(
          std::make_unique<IsNullNode>(negated, std::move(l), null_kw.end));
    }
    static constexpr std::pair<std::string_view, CmpOp> kOps[] = {
        {"=", CmpOp::kEq}, {"==", CmpOp::kEq}, {"!=", CmpOp::kNe}, {"<>", CmpOp::kNe},
        {"<", CmpOp::kLt}, {"<=", CmpOp::kLe}, {">", CmpOp::kGt}, {">=", CmpOp::kGe}};
    for (const auto& [text, cmp] : kOps) {
      if (!IsOp(Peek(), text)) continue;
      const Token op = Next();
      ASSIGN_OR_RETURN(auto r, ParseAdditive());
      return MakeCompare(op, cmp, std::move(l), std::move(r));
    }
    return l;
  }

  // A string literal compared with a timestamp is read as a timestamp literal.
  absl::Status CoerceTimestampLiteral(std::unique_ptr<Node>& lit,
                                      const Node& ts_side) {
    if (lit->kind() != Node::Kind::kLiteral || lit->type() != Type::kString) return absl::OkStatus();
    const auto& str = static_cast<const LiteralNode&>(*lit).str();
    auto ts = core::ParseTimestamp(str);
    if (!ts) {
      return Fail(lit->begin(),
                  InvalidArgumentF("type mismatch: cannot compare {} with string literal {}: not "
                                   "a timestamp (expected ISO-8601 like 2001-01-01T00:00:00Z)",
                                   Describe(ts_side), Source(*lit)));
    }
    Datum d;
    d.i64 = *ts;
    lit = std::make_unique<LiteralNode>(Type::kTimestamp, d, "", lit->begin(), lit->end());
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Node>> MakeCompare(const Token& op, CmpOp cmp,
                                                    std::unique_ptr<Node> l,
                                                    std::unique_ptr<Node> r) {
    if (l->type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(r, *l));
    if (r->type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(l, *r));
    const Type lt = l->type(), rt = r->type();
    CompareNode::Mode mode;
    if (IsNumeric(lt) && IsNumeric(rt)) {
      mode = (lt == Type::kInt64 && rt == Type::kInt64) ? CompareNode::Mode::kInt
                                                        : CompareNode::Mode::kDouble;
    } else if (lt == Type::kTimestamp && rt == Type::kTimestamp) {
      mode = CompareNode::Mode::kInt;
    } else if (lt == Type::kString && rt == Type::kString) {
      mode = CompareNode::Mode::kString;
    } else if (lt == Type::kBool && rt == Type::kBool) {
      if (cmp != CmpOp::kEq && cmp != CmpOp::kNe) {
        return Fail(op.offset, InvalidArgumentF("type mismatch: operator '{}' cannot order bool "
                                                "values (bool supports only = and !=)",
                                                op.text));
      }
      mode = CompareNode::Mode::kBool;
    } else {
      return Fail(op.offset, InvalidArgumentF("type mismatch: cannot compare {} with {}",
                                              Describe(*l), Describe(*r)));
    }
    return std::unique_ptr<Node>(
        std::make_unique<CompareNode>(cmp, mode, std::move(l), std::move(r)));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAdditive() {
    ASSIGN_OR_RETURN(auto l, ParseTerm());
    while (IsOp(Peek(), "+") || IsOp(Peek(), "-")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto r, ParseTerm());
      ASSIGN_OR_RETURN(l, MakeArith(op, op.text == "+" ? ArithOp::kAdd : ArithOp::kSub,
                                    std::move(l), std::move(r)));
    }
    return l;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseTerm() {
    ASSIGN_OR_RETURN(auto l, ParseUnary());
    while (IsOp(Peek(), "*") || IsOp(Peek(), "/") || IsOp(Peek(), "%")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto r, ParseUnary());
      ArithOp aop = op.text == "*" ? ArithOp::kMul : op.text == "/" ? ArithOp::kDiv : ArithOp::kMod;
      ASSIGN_OR_RETURN(l, MakeArith(op, aop, std::move(l), std::move(r)));
    }
    return l;
  }

  absl::StatusOr<std::unique_ptr<Node>> MakeArith(const Token& op, ArithOp aop,
                                                  std::unique_ptr<Node> l,
                                                  std::unique_ptr<Node> r) {
    const Type lt = l->type(), rt = r->type();
    std::optional<Type> result;
    if (IsNumeric(lt) && IsNumeric(rt)) {
      result = (lt == Type::kInt64 && rt == Type::kInt64) ? Type::kInt64 : Type::kDouble;
    } else if (aop == ArithOp::kAdd && ((lt == Type::kTimestamp && rt == Type::kInt64) ||
                                        (lt == Type::kInt64 && rt == Type::kTimestamp))) {
      result = Type::kTimestamp;
    } else if (aop == ArithOp::kSub && lt == Type::kTimestamp && rt == Type::kInt64) {
      result = Type::kTimestamp;
    } else if (aop == ArithOp::kSub && lt == Type::kTimestamp && rt == Type::kTimestamp) {
      result = Type::kInt64;
    }
    if (!result) {
      const bool strings = aop == ArithOp::kAdd && lt == Type::kString && rt == Type::kString;
      return Fail(op.offset,
                  InvalidArgumentF("type mismatch: operator '{}' cannot apply to {} and {}{}",
                                   op.text, Describe(*l), Describe(*r),
                                   strings ? " (use concat() to join strings)" : ""));
    }
    return std::unique_ptr<Node>(
        std::make_unique<ArithNode>(aop, *result, std::move(l), std::move(r)));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseUnary() {
    if (IsOp(Peek(), "-")) {
      const Token op = Next();
      // Fold "-<number>" into the literal so that -9223372036854775808 is representable.
      if ((Peek().kind == Tok::kInt || Peek().kind == Tok::kDouble) &&
          !IsOp(Peek(1), "(")) {
        const Token num = Next();
        return NumberLiteral(num, op.offset, "-" + num.text);
      }
      ASSIGN_OR_RETURN(auto a, ParseUnary());
      if (!IsNumeric(a->type())) {
        return Fail(op.offset, InvalidArgumentF("type mismatch: operator '-' cannot apply to {}",
                                                Describe(*a)));
      }
      return std::unique_ptr<Node>(std::make_unique<NegNode>(std::move(a), op.offset));
    }
    if (IsOp(Peek(), "!")) {
      const Token op = Next();
      ASSIGN_OR_RETURN(auto a, ParseUnary());
      return MakeNot(op, std::move(a));
    }
    return ParsePrimary();
  }

  absl::StatusOr<std::unique_ptr<Node>> NumberLiteral(const Token& tok, int begin,
                                                      const std::string& digits) {
    Datum d;
    const char* first = digits.data();
    const char* last = digits.data() + digits.size();
    if (tok.kind == Tok::kInt) {
      auto r = std::from_chars(first, last, d.i64);
      if (r.ec != std::errc() || r.ptr != last) {
        return Fail(begin, InvalidArgumentF("integer literal {} is out of the int64 range "
                                            "(write {}.0 for a double)",
                                            digits, digits));
      }
      return std::unique_ptr<Node>(
          std::make_unique<LiteralNode>(Type::kInt64, d, "", begin, tok.end));
    }
    auto r = std::from_chars(first, last, d.f64);
    if (r.ec != std::errc() || r.ptr != last) {
      return Fail(begin, InvalidArgumentF("double literal {} is out of range", digits));
    }
    return std::unique_ptr<Node>(
        std::make_unique<LiteralNode>(Type::kDouble, d, "", begin, tok.end));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kInt:
      case Tok::kDouble: {
        const Token num = Next();
        return NumberLiteral(num, num.offset, num.text);
      }
      case Tok::kString: {
        const Token s = Next();
        return std::unique_ptr<Node>(
            std::make_unique<LiteralNode>(Type::kString, Datum(), s.text, s.offset, s.end));
      }
      case Tok::kQuotedIdent: {
        const Token id = Next();
        return FieldRef(id);
      }
      case Tok::kIdent: return ParseIdentifier();
      case Tok::kOp:
        if (t.text == "(") {
          Next();
          ASSIGN_OR_RETURN(auto inner, ParseOr());
          RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        break;
      case Tok::kEnd: break;
    }
    return Fail(t.offset, InvalidArgumentF("expected an expression but found {}", Describe(t)));
  }

  absl::Status Expect(std::string_view op) {
    if (!IsOp(Peek(), op)) {
      return Fail(Peek().offset,
                  InvalidArgumentF("expected '{}' but found {}", op, Describe(Peek())));
    }
    Next();
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Node>> FieldRef(const Token& id) {
    int col = schema_.FindField(id.text);
    if (col < 0) {
      std::string names;
      for (size_t i = 0; i < schema_.num_fields(); ++i) {
        names += (i ? ", " : "") + schema_.field(i).name;
      }
      return Fail(id.offset,
                  InvalidArgumentF("unknown field '{}' (fields: {})", id.text, names));
    }
    if (std::find(fields_.begin(), fields_.end(), id.text) == fields_.end()) {
      fields_.push_back(id.text);
    }
    return std::unique_ptr<Node>(std::make_unique<FieldNode>(
        static_cast<size_t>(col), schema_.field(col).type, id.offset, id.end));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseIdentifier() {
    const Token id = Next();
    const std::string kw = Lower(id.text);
    if (kw == "true" || kw == "false") {
      Datum d;
      d.b = kw == "true";
      return std::unique_ptr<Node>(
          std::make_unique<LiteralNode>(Type::kBool, d, "", id.offset, id.end));
    }
    if (kw == "and" || kw == "or" || kw == "not") {
      return Fail(id.offset, InvalidArgumentF("expected an expression but found '{}' (quote a "
                                              "field with this name as `{}`)",
                                              id.text, id.text));
    }
    if (kw == "timestamp" && Peek().kind == Tok::kString) {
      const Token s = Next();
      auto ts = core::ParseTimestamp(s.text);
      if (!ts) {
        return Fail(s.offset, InvalidArgumentF("bad timestamp literal '{}' (expected ISO-8601 "
                                               "like 2001-01-01T00:00:00Z)",
                                               s.text));
      }
      Datum d;
      d.i64 = *ts;
      return std::unique_ptr<Node>(
          std::make_unique<LiteralNode>(Type::kTimestamp, d, "", id.offset, s.end));
    }
    if (kw == "interval" && Peek().kind == Tok::kString) return ParseInterval(id);
    if (IsOp(Peek(), "(")) return ParseCall(id);
    return FieldRef(id);
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseInterval(const Token& kw) {
    const Token s = Next();
    Datum d;
    int end = s.end;
    static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
        {"millisecond", 1}, {"second", kMsPerSecond}, {"minute", kMsPerMinute},
        {"hour", kMsPerHour}, {"day", kMsPerDay}};
    std::optional<int64_t> unit;
    if (Peek().kind == Tok::kIdent) {
      std::string u = Lower(Peek().text);
      if (u.size() > 1 && u.back() == 's') u.pop_back();
      for (const auto& [name, ms] : kUnits) {
        if (u == name) unit = ms;
      }
    }
    if (unit) {
      end = Next().end;
      int64_t n = 0;
      auto r = std::from_chars(s.text.data(), s.text.data() + s.text.size(), n);
      if (s.text.empty() || r.ec != std::errc() || r.ptr != s.text.data() + s.text.size()) {
        return Fail(s.offset, InvalidArgumentF("expected an integer in interval literal but "
                                               "found '{}'",
                                               s.text));
      }
      d.i64 = n * *unit;
    } else {
      auto ms = ParseDurationMs(s.text);
      if (!ms.ok()) {
        return Fail(s.offset, InvalidArgumentF("bad interval literal: {} (or write INTERVAL "
                                               "'1' HOUR)",
                                               Msg(ms.status())));
      }
      d.i64 = *ms;
    }
    return std::unique_ptr<Node>(std::make_unique<LiteralNode>(Type::kInt64, d, "", kw.offset, end));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseCall(const Token& id) {
    std::string name = Lower(id.text);
    if (name == "substring") name = "substr";
    if (name == "char_length") name = "length";
    if (name == "dayofweek") name = "day_of_week";
    const FnSpec* spec = nullptr;
    for (const FnSpec& f : kFunctions) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) {
      std::string names;
      for (const FnSpec& f : kFunctions) names += fmt::format("{}{}", names.empty() ? "" : ", ", f.name);
      return Fail(id.offset,
                  InvalidArgumentF("unknown function '{}' (functions: {})", id.text, names));
    }
    Next();  // '('
    std::vector<std::unique_ptr<Node>> args;
    if (!IsOp(Peek(), ")")) {
      while (true) {
        ASSIGN_OR_RETURN(auto a, ParseOr());
        args.push_back(std::move(a));
        if (IsOp(Peek(), ",")) {
          Next();
          continue;
        }
        break;
      }
    }
    if (!IsOp(Peek(), ")")) {
      return Fail(Peek().offset,
                  InvalidArgumentF("expected ',' or ')' but found {}", Describe(Peek())));
    }
    const int end = Next().end;
    const int n = static_cast<int>(args.size());
    if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args)) {
      std::string expected;
      if (spec->max_args < 0) {
        expected = fmt::format("at least {} argument{}", spec->min_args,
                               spec->min_args == 1 ? "" : "s");
      } else if (spec->min_args == spec->max_args) {
        expected = fmt::format("{} argument{}", spec->min_args, spec->min_args == 1 ? "" : "s");
      } else {
        expected = fmt::format("{} or {} arguments", spec->min_args, spec->max_args);
      }
      return Fail(id.offset, InvalidArgumentF("function '{}' expects {} but got {}", spec->name,
                                              expected, n));
    }
    ASSIGN_OR_RETURN(Type result, CheckCall(*spec, args));
    return std::unique_ptr<Node>(
        std::make_unique<FuncNode>(spec->fn, result, std::move(args), id.offset, end));
  }

  // Checks that argument i has an accepted type; `what` names the accepted types.
  absl::Status Arg(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args, size_t i,
                   std::initializer_list<Type> ok, std::string_view what) {
    const Node& a = *args[i];
    for (Type t : ok) {
      if (a.type() == t) return absl::OkStatus();
    }
    return Fail(a.begin(), InvalidArgumentF("type mismatch: function '{}' expects {} as argument "
                                            "{} but found {}",
                                            spec.name, what, i + 1, Describe(a)));
  }

  absl::StatusOr<Type> CheckCall(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args) {
    const std::initializer_list<Type> kNum = {Type::kInt64, Type::kDouble};
    switch (spec.fn) {
      case Fn::kAbs:
        RETURN_IF_ERROR(Arg(spec, args, 0, kNum, "a number"));
        return args[0]->type();
      case Fn::kRound:
        RETURN_IF_ERROR(Arg(spec, args, 0, kNum, "a number"));
        return Type::kInt64;
      case Fn::kFloor:
      case Fn::kCeil:
      case Fn::kSqrt:
        RETURN_IF_ERROR(Arg(spec, args, 0, kNum, "a number"));
        return Type::kDouble;
      case Fn::kLower:
      case Fn::kUpper:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
        return Type::kString;
      case Fn::kLength:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
        return Type::kInt64;
      case Fn::kConcat:
      case Fn::kToString: return Type::kString;
      case Fn::kSubstr:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
        for (size_t i = 1; i < args.size(); ++i) {
          RETURN_IF_ERROR(Arg(spec, args, i, {Type::kInt64}, "an int64"));
        }
        return Type::kString;
      case Fn::kIf: {
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kBool}, "a bool"));
        const Type a = args[1]->type(), b = args[2]->type();
        if (a == b) return a;
        if (IsNumeric(a) && IsNumeric(b)) return Type::kDouble;
        return Fail(args[2]->begin(),
                    InvalidArgumentF("type mismatch: function 'if' needs branches of the same "
                                     "type but found {} and {}",
                                     Describe(*args[1]), Describe(*args[2])));
      }
      case Fn::kCoalesce: {
        Type t = args[0]->type();
        for (size_t i = 1; i < args.size(); ++i) {
          const Type a = args[i]->type();
          if (a == t) continue;
          if (IsNumeric(a) && IsNumeric(t)) {
            t = Type::kDouble;
            continue;
          }
          return Fail(args[i]->begin(),
                      InvalidArgumentF("type mismatch: function 'coalesce' needs arguments of "
                                       "one type but found {} and {}",
                                       Describe(*args[0]), Describe(*args[i])));
        }
        return t;
      }
      case Fn::kToInt: return Type::kInt64;
      case Fn::kToDouble: return Type::kDouble;
      case Fn::kToTimestamp:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString, Type::kInt64, Type::kTimestamp},
                            "a string or int64 (ms)"));
        return Type::kTimestamp;
      case Fn::kYear:
      case Fn::kMonth:
      case Fn::kDay:
      case Fn::kHour:
      case Fn::kMinute:
      case Fn::kSecond:
      case Fn::kDayOfWeek:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kTimestamp}, "a timestamp"));
        return Type::kInt64;
      case Fn::kStartsWith:
      case Fn::kEndsWith:
      case Fn::kContains:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
        RETURN_IF_ERROR(Arg(spec, args, 1, {Type::kString}, "a string"));
        return Type::kBool;
    }
    return Type::kInt64;
  }

  std::string_view text_;
  const Schema& schema_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int error_offset_ = 0;
  std::vector<std::string> fields_;
};

}  // namespace

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
      referenced_fields_(std::move(fields)) {}

Expression::~Expression() = default;

absl::StatusOr<std::unique_ptr<Expression>> Expression::Compile(std::string_view text,
                                                                const Schema& input,
                                                                int* error_offset) {
  int offset = 0;
  auto toks = Lex(text, &offset);
  if (!toks.ok()) {
    if (error_offset) *error_offset = offset;
    return toks.status();
  }
  Parser p(text, input, *std::move(toks));
  auto root = p.Parse();
  if (!root.ok()) {
    if (error_offset) *error_offset = p.error_offset();
    return root.status();
  }
  return std::unique_ptr<Expression>(
      new Expression(std::string(text), *std::move(root), p.TakeFields()));
}

absl::StatusOr<std::unique_ptr<Expression>> Expression::FieldReference(std::string_view name,
                                                                       const Schema& input) {
  int col = input.FindField(name);
  if (col < 0) {
    std::string names;
    for (size_t i = 0; i < input.num_fields(); ++i) names += (i ? ", " : "") + input.field(i).name;
    return InvalidArgumentF("unknown field '{}' (fields: {})", name, names);
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

}  // namespace sluice::expr
