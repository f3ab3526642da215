#include "runtime/expr/parser.h"

#include "runtime/base/durations.h"
#include "runtime/expr/parser_impl.h"

namespace sluice::expr {

// ============================================================================================
// Parser and type checker
// ============================================================================================

absl::StatusOr<std::unique_ptr<Node>> Parser::Parse() {
  ASSIGN_OR_RETURN(auto n, ParseOr());
  if (Peek().kind != Tok::kEnd) {
    return Fail(Peek().offset, InvalidArgumentF("expected an operator or end of expression but "
                                                "found {}",
                                                Describe(Peek())));
  }
  return n;
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseOr() {
  ASSIGN_OR_RETURN(auto l, ParseAnd());
  while (IsOp(Peek(), "||") || IsKeyword(Peek(), "or")) {
    const Token op = Next();
    ASSIGN_OR_RETURN(auto r, ParseAnd());
    RETURN_IF_ERROR(CheckBoolOperands(op, *l, *r));
    l = std::make_unique<LogicNode>(false, std::move(l), std::move(r));
  }
  return l;
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseAnd() {
  ASSIGN_OR_RETURN(auto l, ParseNot());
  while (IsOp(Peek(), "&&") || IsKeyword(Peek(), "and")) {
    const Token op = Next();
    ASSIGN_OR_RETURN(auto r, ParseNot());
    RETURN_IF_ERROR(CheckBoolOperands(op, *l, *r));
    l = std::make_unique<LogicNode>(true, std::move(l), std::move(r));
  }
  return l;
}

absl::Status Parser::CheckBoolOperands(const Token& op, const Node& l, const Node& r) {
  for (const Node* n : {&l, &r}) {
    if (n->type() != Type::kBool) {
      return Fail(op.offset, InvalidArgumentF("type mismatch: operator '{}' needs bool operands "
                                              "but found {}",
                                              op.text, Describe(*n)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseNot() {
  if (IsKeyword(Peek(), "not")) {
    const Token op = Next();
    ASSIGN_OR_RETURN(auto a, ParseNot());
    return MakeNot(op, std::move(a));
  }
  return ParseComparison();
}

absl::StatusOr<std::unique_ptr<Node>> Parser::MakeNot(const Token& op, std::unique_ptr<Node> a) {
  if (a->type() != Type::kBool) {
    return Fail(op.offset, InvalidArgumentF("type mismatch: operator '{}' needs a bool operand "
                                            "but found {}",
                                            op.text, Describe(*a)));
  }
  return std::unique_ptr<Node>(std::make_unique<NotNode>(std::move(a), op.offset));
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseComparison() {
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

absl::Status Parser::CoerceTimestampLiteral(std::unique_ptr<Node>& lit,
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

absl::StatusOr<std::unique_ptr<Node>> Parser::MakeCompare(const Token& op, CmpOp cmp,
                                                  std::unique_ptr<Node> l,
                                                  std::unique_ptr<Node> r) {
  if (l->type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(r, *l));
  if (r->type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(l, *r));
  const Type lt = l->type(), rt = r->type();
  CompareNode::Mode mode;
  if (core::IsNumeric(lt) && core::IsNumeric(rt)) {
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

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseAdditive() {
  ASSIGN_OR_RETURN(auto l, ParseTerm());
  while (IsOp(Peek(), "+") || IsOp(Peek(), "-")) {
    const Token op = Next();
    ASSIGN_OR_RETURN(auto r, ParseTerm());
    ASSIGN_OR_RETURN(l, MakeArith(op, op.text == "+" ? ArithOp::kAdd : ArithOp::kSub,
                                  std::move(l), std::move(r)));
  }
  return l;
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseTerm() {
  ASSIGN_OR_RETURN(auto l, ParseUnary());
  while (IsOp(Peek(), "*") || IsOp(Peek(), "/") || IsOp(Peek(), "%")) {
    const Token op = Next();
    ASSIGN_OR_RETURN(auto r, ParseUnary());
    ArithOp aop = op.text == "*" ? ArithOp::kMul : op.text == "/" ? ArithOp::kDiv : ArithOp::kMod;
    ASSIGN_OR_RETURN(l, MakeArith(op, aop, std::move(l), std::move(r)));
  }
  return l;
}

absl::StatusOr<std::unique_ptr<Node>> Parser::MakeArith(const Token& op, ArithOp aop,
                                                std::unique_ptr<Node> l,
                                                std::unique_ptr<Node> r) {
  const Type lt = l->type(), rt = r->type();
  std::optional<Type> result;
  if (core::IsNumeric(lt) && core::IsNumeric(rt)) {
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

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseUnary() {
  if (IsOp(Peek(), "-")) {
    const Token op = Next();
    // Fold "-<number>" into the literal so that -9223372036854775808 is representable.
    if ((Peek().kind == Tok::kInt || Peek().kind == Tok::kDouble) &&
        !IsOp(Peek(1), "(")) {
      const Token num = Next();
      return NumberLiteral(num, op.offset, "-" + num.text);
    }
    ASSIGN_OR_RETURN(auto a, ParseUnary());
    if (!core::IsNumeric(a->type())) {
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

absl::StatusOr<std::unique_ptr<Node>> Parser::NumberLiteral(const Token& tok, int begin,
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

absl::StatusOr<std::unique_ptr<Node>> Parser::ParsePrimary() {
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

absl::Status Parser::Expect(std::string_view op) {
  if (!IsOp(Peek(), op)) {
    return Fail(Peek().offset,
                InvalidArgumentF("expected '{}' but found {}", op, Describe(Peek())));
  }
  Next();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Node>> Parser::FieldRef(const Token& id) {
  int col = schema_.FindField(id.text);
  if (col < 0) {
    return Fail(id.offset, InvalidArgumentF("unknown field '{}' (fields: {})", id.text,
                                            schema_.FieldNames()));
  }
  if (std::find(fields_.begin(), fields_.end(), id.text) == fields_.end()) {
    fields_.push_back(id.text);
  }
  return std::unique_ptr<Node>(std::make_unique<FieldNode>(
      static_cast<size_t>(col), schema_.field(col).type, id.offset, id.end));
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseIdentifier() {
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

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseInterval(const Token& kw) {
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


absl::StatusOr<ParsedExpression> ParseExpression(std::string_view text, const core::Schema& input,
                                                 int* error_offset,
                                                 const ScalarFunctions* functions) {
  int offset = 0;
  auto toks = Lex(text, &offset);
  if (!toks.ok()) {
    if (error_offset) *error_offset = offset;
    return toks.status();
  }
  Parser p(text, input, *std::move(toks), functions);
  auto root = p.Parse();
  if (!root.ok()) {
    if (error_offset) *error_offset = p.error_offset();
    return root.status();
  }
  return ParsedExpression{*std::move(root), p.TakeFields()};
}

}  // namespace sluice::expr
