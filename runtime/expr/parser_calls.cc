// The parser's calls: built-in functions (argument counts and types), CASE and CAST.
#include "runtime/expr/case_node.h"
#include "runtime/core/time_format.h"
#include "runtime/expr/parser_impl.h"
#include "runtime/expr/udf_node.h"

namespace sluice::expr {

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseCase(const Token& kw) {
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

absl::Status Parser::CheckCaseValue(const Node& operand, std::unique_ptr<Node>& value) {
  if (operand.type() == Type::kTimestamp) RETURN_IF_ERROR(CoerceTimestampLiteral(value, operand));
  const Type a = operand.type(), b = value->type();
  if (a == b || (core::IsNumeric(a) && core::IsNumeric(b))) return absl::OkStatus();
  return Fail(value->begin(), InvalidArgumentF("type mismatch: CASE cannot compare {} with {}",
                                               Describe(operand), Describe(*value)));
}

absl::StatusOr<Type> Parser::CommonType(std::string_view what, const std::vector<const Node*>& values) {
  Type t = values[0]->type();
  for (size_t i = 1; i < values.size(); ++i) {
    const Type a = values[i]->type();
    if (a == t) continue;
    if (core::IsNumeric(a) && core::IsNumeric(t)) {
      t = Type::kDouble;
      continue;
    }
    return Fail(values[i]->begin(),
                InvalidArgumentF("type mismatch: {} of one type but found {} and {}", what,
                                 Describe(*values[0]), Describe(*values[i])));
  }
  return t;
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseCast(const Token& kw) {
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

absl::StatusOr<std::vector<std::unique_ptr<Node>>> Parser::ParseArgs(int* end) {
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
  *end = Next().end;
  return args;
}

absl::StatusOr<std::optional<std::unique_ptr<Node>>> Parser::ParseUdfCall(const Token& id) {
  if (functions_ == nullptr) return std::nullopt;
  const std::string name = Lower(id.text);
  auto it = functions_->begin();
  for (; it != functions_->end(); ++it) {
    if (Lower(it->first) == name) break;
  }
  if (it == functions_->end()) return std::nullopt;
  int end = 0;
  ASSIGN_OR_RETURN(auto args, ParseArgs(&end));
  std::unique_ptr<sluice::ScalarFunction> fn;
  std::vector<sluice::Type> types;
  for (const auto& a : args) types.push_back(ApiType(a->type()));
  Type result = Type::kInt64;
  try {
    fn = it->second();
    if (fn == nullptr) throw std::invalid_argument("its factory returned no function");
    result = static_cast<Type>(static_cast<uint8_t>(fn->ResultType(types)));
  } catch (const std::exception& e) {
    std::string sig;
    for (sluice::Type t : types) sig += (sig.empty() ? "" : ", ") + std::string(sluice::TypeName(t));
    return Fail(id.offset, InvalidArgumentF("function '{}' refuses ({}): {}", it->first, sig,
                                            e.what()));
  }
  if (result == Type::kInt32 || result == Type::kDate || result == Type::kBytes ||
      static_cast<uint8_t>(result) > static_cast<uint8_t>(Type::kBytes)) {
    return Fail(id.offset, InvalidArgumentF("function '{}': result type {} is not one of int64, "
                                            "double, string, bool, timestamp",
                                            it->first, static_cast<int>(result)));
  }
  return std::unique_ptr<Node>(std::make_unique<UdfNode>(it->first, std::move(fn), result,
                                                         std::move(args), id.offset, end));
}

absl::StatusOr<std::unique_ptr<Node>> Parser::ParseCall(const Token& id) {
  std::string name = Lower(id.text);
  if (name == "substring") name = "substr";
  if (name == "char_length") name = "length";
  if (name == "dayofweek") name = "day_of_week";
  const FnSpec* spec = nullptr;
  for (const FnSpec& f : kFunctions) {
    if (f.name == name) spec = &f;
  }
  if (spec == nullptr) {
    ASSIGN_OR_RETURN(std::optional<std::unique_ptr<Node>> udf, ParseUdfCall(id));
    if (udf.has_value()) return std::move(*udf);
    std::string names;
    for (const FnSpec& f : kFunctions) names += fmt::format("{}{}", names.empty() ? "" : ", ", f.name);
    if (functions_ != nullptr) {
      for (const auto& [n, f] : *functions_) names += ", " + n;
    }
    return Fail(id.offset,
                InvalidArgumentF("unknown function '{}' (functions: {})", id.text, names));
  }
  int end = 0;
  ASSIGN_OR_RETURN(auto args, ParseArgs(&end));
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

bool IsBuiltinFunction(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "substring" || lower == "char_length" || lower == "dayofweek") return true;
  for (const FnSpec& f : kFunctions) {
    if (f.name == lower) return true;
  }
  return false;
}

absl::Status Parser::Arg(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args, size_t i,
                 std::initializer_list<Type> ok, std::string_view what) {
  const Node& a = *args[i];
  for (Type t : ok) {
    if (a.type() == t) return absl::OkStatus();
  }
  return Fail(a.begin(), InvalidArgumentF("type mismatch: function '{}' expects {} as argument "
                                          "{} but found {}",
                                          spec.name, what, i + 1, Describe(a)));
}

absl::StatusOr<Type> Parser::CheckCall(const FnSpec& spec, const std::vector<std::unique_ptr<Node>>& args) {
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
      if (args.size() == 2) {  // to_timestamp(text, 'yyyy-MM-dd HH:mm'): Flink's pattern form
        RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
        const Node& pattern = *args[1];
        if (pattern.kind() != Node::Kind::kLiteral || pattern.type() != Type::kString) {
          return Fail(pattern.begin(),
                      InvalidArgumentF("function 'to_timestamp' expects a string literal "
                                       "pattern like 'yyyy-MM-dd HH:mm:ss' as argument 2"));
        }
        auto compiled = core::CompileTimestampPattern(
            static_cast<const LiteralNode&>(pattern).str());
        if (!compiled.ok()) return Fail(pattern.begin(), compiled.status());
        return Type::kTimestamp;
      }
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
    case Fn::kDateFormat: {
      RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kTimestamp}, "a timestamp"));
      RETURN_IF_ERROR(Arg(spec, args, 1, {Type::kString}, "a pattern string"));
      if (args[1]->kind() == Node::Kind::kLiteral) {
        auto compiled = core::CompileTimestampPattern(static_cast<const LiteralNode&>(*args[1]).str());
        if (!compiled.ok()) return Fail(args[1]->begin(), compiled.status());
      }
      return Type::kString;
    }
    case Fn::kRegexpExtract:
      RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
      RETURN_IF_ERROR(Arg(spec, args, 1, {Type::kString}, "a regular expression string"));
      if (args.size() == 3) RETURN_IF_ERROR(Arg(spec, args, 2, {Type::kInt64}, "a group number"));
      if (args[1]->kind() == Node::Kind::kLiteral) {
        std::optional<std::regex> re;
        if (!CompileRegex(static_cast<const LiteralNode&>(*args[1]).str(), &re)) {
          return Fail(args[1]->begin(), InvalidArgumentF("function 'regexp_extract': bad regular "
                                                         "expression"));
        }
      }
      return Type::kString;
    case Fn::kSplitIndex:
      RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
      RETURN_IF_ERROR(Arg(spec, args, 1, {Type::kString}, "a delimiter string"));
      RETURN_IF_ERROR(Arg(spec, args, 2, {Type::kInt64}, "an index"));
      return Type::kString;
    case Fn::kLike:
    case Fn::kStartsWith:
    case Fn::kEndsWith:
    case Fn::kContains:
      RETURN_IF_ERROR(Arg(spec, args, 0, {Type::kString}, "a string"));
      RETURN_IF_ERROR(Arg(spec, args, 1, {Type::kString}, "a string"));
      return Type::kBool;
  }
  return Type::kInt64;
}

}  // namespace sluice::expr
