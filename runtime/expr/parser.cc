#include "runtime/expr/parser.h"

#include "runtime/base/durations.h"
#include "runtime/expr/case_node.h"
#include "runtime/expr/functions.h"
#include "runtime/expr/lexer.h"

namespace sluice::expr {
namespace {

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
    if (kw == "case") return ParseCase(id);
    if (kw == "cast" && IsOp(Peek(), "(")) return ParseCast(id);
    if (IsOp(Peek(), "(")) return ParseCall(id);
    return FieldRef(id);
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseCase(const Token& kw) {
    std::unique_ptr<Node> operand;
    if (!IsKeyword(Peek(), "when")) {
      ASSIGN_OR_RETURN(operand, ParseOr());
    }
    std::vector<CaseNode::Branch> branches;
    while (IsKeyword(Peek(), "when")) {
      Next();
      ASSIGN_OR_RETURN(auto when, ParseOr());
      if (operand) {
        RETURN_IF_ERROR(CheckCaseValue(*operand, when));
      } else if (when->type() != Type::kBool) {
        return Fail(when->begin(), InvalidArgumentF("type mismatch: CASE WHEN needs a bool "
                                                    "condition but found {}",
                                                    Describe(*when)));
      }
      if (!IsKeyword(Peek(), "then")) {
        return Fail(Peek().offset,
                    InvalidArgumentF("expected THEN but found {}", Describe(Peek())));
      }
      Next();
      ASSIGN_OR_RETURN(auto then, ParseOr());
      branches.push_back({std::move(when), std::move(then)});
    }
    if (branches.empty()) {
      return Fail(Peek().offset,
                  InvalidArgumentF("expected WHEN in CASE but found {}", Describe(Peek())));
    }
    std::unique_ptr<Node> otherwise;
    if (IsKeyword(Peek(), "else")) {
      Next();
      ASSIGN_OR_RETURN(otherwise, ParseOr());
    }
    if (!IsKeyword(Peek(), "end")) {
      return Fail(Peek().offset,
                  InvalidArgumentF("expected WHEN, ELSE or END in CASE but found {}",
                                   Describe(Peek())));
    }
    const int end = Next().end;
    std::vector<const Node*> values;
    for (const auto& b : branches) values.push_back(b.then.get());
    if (otherwise) values.push_back(otherwise.get());
    ASSIGN_OR_RETURN(Type result, CommonType("CASE needs THEN and ELSE values", values));
    return std::unique_ptr<Node>(std::make_unique<CaseNode>(
        result, std::move(operand), std::move(branches), std::move(otherwise), kw.offset, end));
  }

  // Simple CASE: each WHEN value must compare with the operand as `=` would.
  absl::Status CheckCaseValue(const Node& operand, std::unique_ptr<Node>& value) {
    if (operand.type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(value, operand));
    const Type a = operand.type(), b = value->type();
    if (a == b || (IsNumeric(a) && IsNumeric(b))) return absl::OkStatus();
    return Fail(value->begin(), InvalidArgumentF("type mismatch: CASE cannot compare {} with {}",
                                                 Describe(operand), Describe(*value)));
  }

  // The type of values that must share one (if, coalesce, case): their type, or double when
  // int64 and double mix. `what` starts the error message.
  absl::StatusOr<Type> CommonType(std::string_view what, const std::vector<const Node*>& values) {
    Type t = values[0]->type();
    for (size_t i = 1; i < values.size(); ++i) {
      const Type a = values[i]->type();
      if (a == t) continue;
      if (IsNumeric(a) && IsNumeric(t)) {
        t = Type::kDouble;
        continue;
      }
      return Fail(values[i]->begin(),
                  InvalidArgumentF("type mismatch: {} of one type but found {} and {}", what,
                                   Describe(*values[0]), Describe(*values[i])));
    }
    return t;
  }

  // CAST(x AS type): the to_* conversion functions under SQL's name. Lengths and precisions
  // (VARCHAR(10), TIMESTAMP(3)) are accepted and ignored.
  absl::StatusOr<std::unique_ptr<Node>> ParseCast(const Token& kw) {
    Next();  // '('
    ASSIGN_OR_RETURN(auto arg, ParseOr());
    if (!IsKeyword(Peek(), "as")) {
      return Fail(Peek().offset,
                  InvalidArgumentF("expected AS in CAST but found {}", Describe(Peek())));
    }
    Next();
    if (Peek().kind != Tok::kIdent) {
      return Fail(Peek().offset, InvalidArgumentF("expected a type name after AS but found {}",
                                                  Describe(Peek())));
    }
    const Token type_tok = Next();
    const std::string name = Lower(type_tok.text);
    static constexpr std::pair<std::string_view, Fn> kCasts[] = {
        {"bigint", Fn::kToInt},       {"int", Fn::kToInt},         {"integer", Fn::kToInt},
        {"int64", Fn::kToInt},        {"int32", Fn::kToInt},       {"smallint", Fn::kToInt},
        {"tinyint", Fn::kToInt},      {"double", Fn::kToDouble},   {"float", Fn::kToDouble},
        {"real", Fn::kToDouble},      {"string", Fn::kToString},   {"varchar", Fn::kToString},
        {"char", Fn::kToString},      {"boolean", Fn::kToBool},    {"bool", Fn::kToBool},
        {"timestamp", Fn::kToTimestamp}};
    std::optional<Fn> fn;
    for (const auto& [n, f] : kCasts) {
      if (n == name) fn = f;
    }
    if (!fn) {
      return Fail(type_tok.offset,
                  InvalidArgumentF("cannot CAST to '{}' (types: BIGINT, INT, DOUBLE, FLOAT, "
                                   "STRING, VARCHAR, BOOLEAN, TIMESTAMP; DATE is not supported "
                                   "yet: dates are timestamps at midnight UTC in expressions)",
                                   type_tok.text));
    }
    if (IsOp(Peek(), "(")) {  // VARCHAR(10), TIMESTAMP(3), DECIMAL-like (p, s)
      Next();
      while (Peek().kind == Tok::kInt || IsOp(Peek(), ",")) Next();
      RETURN_IF_ERROR(Expect(")"));
    }
    if (!IsOp(Peek(), ")")) {
      return Fail(Peek().offset, InvalidArgumentF("expected ')' but found {}", Describe(Peek())));
    }
    const int end = Next().end;
    const FnSpec* spec = nullptr;
    for (const FnSpec& f : kFunctions) {
      if (f.fn == *fn) spec = &f;
    }
    std::vector<std::unique_ptr<Node>> args;
    args.push_back(std::move(arg));
    ASSIGN_OR_RETURN(Type result, CheckCall(*spec, args));
    return std::unique_ptr<Node>(
        std::make_unique<FuncNode>(*fn, result, std::move(args), kw.offset, end));
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
      case Fn::kIf:
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kBool}, "a bool"));
        return CommonType("function 'if' needs branches", {args[1].get(), args[2].get()});
      case Fn::kCoalesce: {
        std::vector<const Node*> values;
        for (const auto& a : args) values.push_back(a.get());
        return CommonType("function 'coalesce' needs arguments", values);
      }
      case Fn::kToBool: return Type::kBool;
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

absl::StatusOr<ParsedExpression> ParseExpression(std::string_view text, const core::Schema& input,
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
  return ParsedExpression{*std::move(root), p.TakeFields()};
}

}  // namespace sluice::expr
