#pragma once
// The expression parser and type checker (internal to runtime/expr): a recursive-descent parser
// over the tokens of lexer.h that type-checks while it builds the evaluation tree. The grammar
// (parser.cc) and the calls (parser_calls.cc: functions, CASE, CAST) share this class.

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/expr/functions.h"
#include "runtime/expr/lexer.h"
#include "runtime/expr/nodes.h"

namespace sluice::expr {

class Parser {
 public:
  Parser(std::string_view text, const Schema& schema, std::vector<Token> toks,
         const ScalarFunctions* functions = nullptr)
      : text_(text), schema_(schema), toks_(std::move(toks)), functions_(functions) {}

  absl::StatusOr<std::unique_ptr<Node>> Parse();

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

  absl::StatusOr<std::unique_ptr<Node>> ParseOr();
  absl::StatusOr<std::unique_ptr<Node>> ParseAnd();

  absl::Status CheckBoolOperands(const Token& op, const Node& l, const Node& r);
  absl::StatusOr<std::unique_ptr<Node>> ParseNot();

  absl::StatusOr<std::unique_ptr<Node>> MakeNot(const Token& op, std::unique_ptr<Node> a);

  absl::StatusOr<std::unique_ptr<Node>> ParseComparison();

  // A string literal compared with a timestamp is read as a timestamp literal.
  absl::Status CoerceTimestampLiteral(std::unique_ptr<Node>& lit,
                                      const Node& ts_side);

  absl::StatusOr<std::unique_ptr<Node>> MakeCompare(const Token& op, CmpOp cmp,
                                                    std::unique_ptr<Node> l,
                                                    std::unique_ptr<Node> r);
  absl::StatusOr<std::unique_ptr<Node>> ParseAdditive();

  absl::StatusOr<std::unique_ptr<Node>> ParseTerm();

  absl::StatusOr<std::unique_ptr<Node>> MakeArith(const Token& op, ArithOp aop,
                                                  std::unique_ptr<Node> l,
                                                  std::unique_ptr<Node> r);
  absl::StatusOr<std::unique_ptr<Node>> ParseUnary();

  absl::StatusOr<std::unique_ptr<Node>> NumberLiteral(const Token& tok, int begin,
                                                      const std::string& digits);
  absl::StatusOr<std::unique_ptr<Node>> ParsePrimary();

  absl::Status Expect(std::string_view op);

  absl::StatusOr<std::unique_ptr<Node>> FieldRef(const Token& id);
  absl::StatusOr<std::unique_ptr<Node>> ParseIdentifier();

  absl::StatusOr<std::unique_ptr<Node>> ParseCase(const Token& kw);

  // Simple CASE: each WHEN value must compare with the operand as `=` would.
  absl::Status CheckCaseValue(const Node& operand, std::unique_ptr<Node>& value);

  // The type of values that must share one (if, coalesce, case): their type, or double when
  // int64 and double mix. `what` starts the error message.
  absl::StatusOr<Type> CommonType(std::string_view what, const std::vector<const Node*>& values);

  // CAST(x AS type): the to_* conversion functions under SQL's name. Lengths and precisions
  // (VARCHAR(10), TIMESTAMP(3)) are accepted and ignored.
  absl::StatusOr<std::unique_ptr<Node>> ParseCast(const Token& kw);

  absl::StatusOr<std::unique_ptr<Node>> ParseInterval(const Token& kw);

  absl::StatusOr<std::unique_ptr<Node>> ParseCall(const Token& id);
  // The arguments of a call after its name: '(' [expr (',' expr)*] ')'; *end gets the ')' end.
  absl::StatusOr<std::vector<std::unique_ptr<Node>>> ParseArgs(int* end);
  // A call of a user-defined scalar function (udf_node.h), or nullopt when none has the name.
  absl::StatusOr<std::optional<std::unique_ptr<Node>>> ParseUdfCall(const Token& id);

  // Checks that argument i has an accepted type; `what` names the accepted types.
  absl::Status Arg(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args, size_t i,
                   std::initializer_list<Type> ok, std::string_view what);

  absl::StatusOr<Type> CheckCall(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args);

  std::string_view text_;
  const Schema& schema_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int error_offset_ = 0;
  std::vector<std::string> fields_;
  const ScalarFunctions* functions_;
};

}  // namespace sluice::expr
