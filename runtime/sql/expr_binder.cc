#include "runtime/sql/expr_binder.h"

#include "runtime/sql/catalog.h"

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/expr/expression.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

using ast::ExprKind;

// SQL scalar functions -> the expression language's (same arguments unless noted).
struct ScalarFunction {
  const char* sql;
  const char* target;
  int min_args;
  int max_args;
};

constexpr ScalarFunction kScalars[] = {
    {"abs", "abs", 1, 1},          {"round", "round", 1, 1},
    {"floor", "floor", 1, 1},      {"ceil", "ceil", 1, 1},
    {"ceiling", "ceil", 1, 1},     {"sqrt", "sqrt", 1, 1},
    {"lower", "lower", 1, 1},      {"upper", "upper", 1, 1},
    {"char_length", "length", 1, 1}, {"character_length", "length", 1, 1},
    {"length", "length", 1, 1},    {"concat", "concat", 1, 64},
    {"substring", "substr", 2, 3}, {"substr", "substr", 2, 3},
    {"coalesce", "coalesce", 1, 64}, {"if", "if", 3, 3},
    {"year", "year", 1, 1},        {"month", "month", 1, 1},
    {"dayofmonth", "day", 1, 1},   {"hour", "hour", 1, 1},
    {"minute", "minute", 1, 1},    {"second", "second", 1, 1},
    {"dayofweek", "day_of_week", 1, 1}, {"to_timestamp", "to_timestamp", 1, 2},
    {"date_format", "date_format", 2, 2}, {"regexp_extract", "regexp_extract", 2, 3},
    {"split_index", "split_index", 3, 3}, {"starts_with", "starts_with", 2, 2},
    {"ends_with", "ends_with", 2, 2}, {"mod", "%", 2, 2},
};

const std::set<std::string>& Aggregates() {
  static const std::set<std::string> names = {
      "count", "sum", "min", "max", "avg", "first_value", "last_value", "stddev", "stddev_pop",
      "stddev_samp", "variance", "var_pop", "var_samp", "listagg", "collect"};
  return names;
}

std::string KnownFunctions() {
  std::string out;
  for (const ScalarFunction& f : kScalars) out += (out.empty() ? "" : ", ") + std::string(f.sql);
  for (const std::string& a : Aggregates()) out += ", " + a;
  return out;
}

std::string DoubleText(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// A SQL timestamp literal ('2001-01-01 00:00:00[.fff]') in ISO-8601 UTC.
std::string IsoTimestamp(std::string s, bool date) {
  if (date) return s + "T00:00:00Z";
  for (char& c : s) {
    if (c == ' ') c = 'T';
  }
  if (s.back() != 'Z' && s.find('+') == std::string::npos) s += 'Z';
  return s;
}

// A null of `type` in the expression language (which has no NULL literal): a CASE without a
// true branch.
std::string TypedNull(core::Type type) {
  switch (type) {
    case core::Type::kDouble: return "CASE WHEN false THEN 0.0 END";
    case core::Type::kString:
    case core::Type::kBytes: return "CASE WHEN false THEN '' END";
    case core::Type::kBool: return "CASE WHEN false THEN false END";
    case core::Type::kTimestamp:
    case core::Type::kDate: return "CASE WHEN false THEN TIMESTAMP '1970-01-01T00:00:00Z' END";
    default: return "CASE WHEN false THEN 0 END";
  }
}

}  // namespace

bool IsAggregateFunction(const std::string& name) { return Aggregates().count(name) > 0; }

bool IsWindowProperty(const std::string& name) {
  static const std::set<std::string> names = {"tumble_start", "tumble_end", "tumble_rowtime",
                                              "hop_start", "hop_end", "hop_rowtime",
                                              "session_start", "session_end", "session_rowtime"};
  return names.count(name) > 0;
}

std::string QuoteField(const std::string& field) { return "`" + field + "`"; }

Bound ColumnBound(const Rel& rel, size_t i) {
  Bound b;
  b.text = QuoteField(rel.columns[i].field);
  b.type = rel.columns[i].type;
  b.column = static_cast<int>(i);
  return b;
}

std::string QuoteString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

ExprBinder::ExprBinder(const Rel& rel, const Grouping* grouping, const Catalog* catalog)
    : rel_(rel), grouping_(grouping), catalog_(catalog), schema_(rel.Schema()) {}

absl::StatusOr<Bound> ExprBinder::Typed(std::string text, int offset) const {
  auto compiled = expr::Expression::Compile(
      text, *schema_, nullptr, catalog_ != nullptr ? catalog_->scalar_functions() : nullptr);
  if (!compiled.ok()) {
    // The expression language's message, at the SQL node: names its fields as the stream does.
    std::string msg(compiled.status().message());
    return SqlError(offset, msg);
  }
  Bound b;
  b.type = (*compiled)->type();
  b.text = std::move(text);
  return b;
}

absl::StatusOr<int> ExprBinder::ResolveColumn(const ast::Expr& e) const {
  std::vector<int> exact, folded;
  for (size_t i = 0; i < rel_.columns.size(); ++i) {
    const RelColumn& c = rel_.columns[i];
    if (!e.qualifier.empty() && c.qualifier != e.qualifier &&
        absl::AsciiStrToLower(c.qualifier) != absl::AsciiStrToLower(e.qualifier)) {
      continue;
    }
    if (c.name == e.name) exact.push_back(static_cast<int>(i));
    else if (absl::AsciiStrToLower(c.name) == absl::AsciiStrToLower(e.name)) folded.push_back(static_cast<int>(i));
  }
  const std::vector<int>& found = exact.empty() ? folded : exact;
  const std::string what = e.qualifier.empty() ? e.name : e.qualifier + "." + e.name;
  if (found.size() == 1) return found[0];
  if (found.size() > 1) {
    return SQL_ERROR(e.offset, "column '{}' is ambiguous (qualify it with its table: {}.{} or {}.{})",
                     what, rel_.columns[static_cast<size_t>(found[0])].qualifier, e.name,
                     rel_.columns[static_cast<size_t>(found[1])].qualifier, e.name);
  }
  std::string names;
  for (const RelColumn& c : rel_.columns) {
    names += (names.empty() ? "" : ", ") + (c.qualifier.empty() ? c.name : c.qualifier + "." + c.name);
  }
  return SQL_ERROR(e.offset, "unknown column '{}' (columns: {})", what, names);
}

absl::StatusOr<Bound> ExprBinder::BindPredicate(const ast::Expr& e, std::string_view what) const {
  ASSIGN_OR_RETURN(Bound b, Bind(e));
  if (b.null_literal || b.type != core::Type::kBool) {
    return SQL_ERROR(e.offset, "{} must be a BOOLEAN condition, is {}", what,
                     b.null_literal ? "NULL" : std::string(core::TypeName(b.type)));
  }
  return b;
}

absl::StatusOr<std::string> ExprBinder::CallKey(const ast::Expr& call) const {
  std::string key = call.name + "|" + (call.distinct ? "d" : "") + (call.star ? "*" : "") + "|";
  for (const auto& a : call.args) {
    ASSIGN_OR_RETURN(Bound b, Bind(*a));
    key += b.text + ",";
  }
  key += "|";
  if (call.filter) {
    ASSIGN_OR_RETURN(Bound f, Bind(*call.filter));
    key += f.text;
  }
  return key;
}

absl::StatusOr<Bound> ExprBinder::Bind(const ast::Expr& e) const {
  if (grouping_ == nullptr) return BindNode(e);
  if (e.kind == ExprKind::kCall && (IsAggregateFunction(e.name) || IsWindowProperty(e.name)) &&
      !e.over) {
    ASSIGN_OR_RETURN(std::string key, grouping_->input->CallKey(e));
    auto it = grouping_->calls.find(key);
    if (it == grouping_->calls.end()) {
      return SQL_ERROR(e.offset, "{}(...) does not match the query's windows or aggregates",
                       e.name);
    }
    return it->second;
  }
  auto in = grouping_->input->Bind(e);
  if (in.ok()) {
    auto it = grouping_->keys.find(in->text);
    if (it != grouping_->keys.end()) return it->second;
  }
  if (e.kind == ExprKind::kColumn) {
    if (!in.ok()) return in.status();
    return SQL_ERROR(e.offset, "column '{}' must be in GROUP BY or inside an aggregate function",
                     e.name);
  }
  return BindNode(e);
}

absl::StatusOr<Bound> ExprBinder::BindNode(const ast::Expr& e) const {
  switch (e.kind) {
    case ExprKind::kColumn: {
      ASSIGN_OR_RETURN(int i, ResolveColumn(e));
      const RelColumn& c = rel_.columns[static_cast<size_t>(i)];
      if (c.proctime) {
        return SQL_ERROR(e.offset, "'{}' is a processing-time attribute (PROCTIME()): it can be "
                                   "the time of a window or of a lookup join, not a value",
                         e.name);
      }
      if (c.window_property && window_properties_) {
        Bound b;
        b.text = QuoteField("$" + c.name);
        b.type = core::Type::kTimestamp;
        b.column = i;
        return b;
      }
      if (c.window_property) {
        return SQL_ERROR(e.offset, "'{}' exists only in the aggregation of its windows: GROUP BY "
                                   "window_start, window_end", e.name);
      }
      return ColumnBound(rel_, static_cast<size_t>(i));
    }
    case ExprKind::kLiteral: {
      Bound b;
      if (std::holds_alternative<std::monostate>(e.value)) {
        b.null_literal = true;
        return b;
      }
      if (e.literal_type) {
        return Typed("TIMESTAMP " + QuoteString(IsoTimestamp(std::get<std::string>(e.value),
                                                             *e.literal_type == core::Type::kDate)),
                     e.offset);
      }
      if (auto* i = std::get_if<int64_t>(&e.value)) return Typed(std::to_string(*i), e.offset);
      if (auto* d = std::get_if<double>(&e.value)) return Typed(DoubleText(*d), e.offset);
      if (auto* s = std::get_if<std::string>(&e.value)) return Typed(QuoteString(*s), e.offset);
      return Typed(std::get<bool>(e.value) ? "true" : "false", e.offset);
    }
    case ExprKind::kInterval: return Typed(std::to_string(e.interval_ms), e.offset);
    case ExprKind::kUnary: {
      ASSIGN_OR_RETURN(Bound a, Bind(*e.args[0]));
      if (a.null_literal) return SqlError(e.offset, "an operator on NULL; write CAST(NULL AS type)");
      return Typed(fmt::format("({} {})", e.name == "not" ? "not" : e.name, a.text), e.offset);
    }
    case ExprKind::kBinary: {
      ASSIGN_OR_RETURN(Bound l, Bind(*e.args[0]));
      ASSIGN_OR_RETURN(Bound r, Bind(*e.args[1]));
      if (l.null_literal || r.null_literal) {
        return SQL_ERROR(e.offset, "'{}' with a NULL operand is always NULL; use IS NULL", e.name);
      }
      if (e.name == "||") return Typed(fmt::format("concat({}, {})", l.text, r.text), e.offset);
      return Typed(fmt::format("({} {} {})", l.text, e.name, r.text), e.offset);
    }
    case ExprKind::kIsNull: {
      ASSIGN_OR_RETURN(Bound a, Bind(*e.args[0]));
      if (a.null_literal) return Typed(e.negated ? "false" : "true", e.offset);
      return Typed(fmt::format("({} is {}null)", a.text, e.negated ? "not " : ""), e.offset);
    }
    case ExprKind::kBetween: {
      ASSIGN_OR_RETURN(Bound x, Bind(*e.args[0]));
      ASSIGN_OR_RETURN(Bound lo, Bind(*e.args[1]));
      ASSIGN_OR_RETURN(Bound hi, Bind(*e.args[2]));
      std::string t = fmt::format("(({0} >= {1}) and ({0} <= {2}))", x.text, lo.text, hi.text);
      return Typed(e.negated ? "(not " + t + ")" : t, e.offset);
    }
    case ExprKind::kIn: {
      ASSIGN_OR_RETURN(Bound x, Bind(*e.args[0]));
      std::string t;
      for (size_t i = 1; i < e.args.size(); ++i) {
        ASSIGN_OR_RETURN(Bound v, Bind(*e.args[i]));
        t += fmt::format("{}({} = {})", t.empty() ? "" : " or ", x.text, v.text);
      }
      t = "(" + t + ")";
      return Typed(e.negated ? "(not " + t + ")" : t, e.offset);
    }
    case ExprKind::kLike: {
      ASSIGN_OR_RETURN(Bound x, Bind(*e.args[0]));
      ASSIGN_OR_RETURN(Bound p, Bind(*e.args[1]));
      std::string t = fmt::format("like({}, {})", x.text, p.text);
      return Typed(e.negated ? "(not " + t + ")" : t, e.offset);
    }
    case ExprKind::kCase: return BindCase(e);
    case ExprKind::kCast: {
      ASSIGN_OR_RETURN(Bound a, Bind(*e.args[0]));
      const core::Type to = e.cast_type->type;
      if (a.null_literal) return Typed(TypedNull(e.cast_type->type), e.offset);
      const char* fn = nullptr;
      switch (to) {
        case core::Type::kInt64:
        case core::Type::kInt32: fn = "to_int"; break;
        case core::Type::kDouble: fn = "to_double"; break;
        case core::Type::kString: fn = "to_string"; break;
        case core::Type::kBool: fn = "to_bool"; break;
        case core::Type::kTimestamp: fn = "to_timestamp"; break;
        default:
          return SQL_ERROR(e.offset, "CAST to {} is not supported", e.cast_type->text);
      }
      if (a.type == to) return a;
      return Typed(fmt::format("{}({})", fn, a.text), e.offset);
    }
    case ExprKind::kCall: return BindCall(e);
  }
  return SqlError(e.offset, "unsupported expression");
}

absl::StatusOr<Bound> ExprBinder::BindCase(const ast::Expr& e) const {
  std::string t = "CASE";
  if (e.case_operand) {
    ASSIGN_OR_RETURN(Bound op, Bind(*e.case_operand));
    t += " " + op.text;
  }
  std::vector<Bound> whens, thens;
  std::optional<core::Type> type;  // of the first branch that is not NULL
  for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
    ASSIGN_OR_RETURN(Bound when, Bind(*e.args[i]));
    ASSIGN_OR_RETURN(Bound then, Bind(*e.args[i + 1]));
    if (!then.null_literal && !type) type = then.type;
    whens.push_back(std::move(when));
    thens.push_back(std::move(then));
  }
  std::optional<Bound> other;
  if (e.else_expr) {
    ASSIGN_OR_RETURN(other, Bind(*e.else_expr));
    if (!other->null_literal && !type) type = other->type;
  }
  if (!type) return SqlError(e.offset, "every branch of this CASE is NULL; CAST one of them");
  for (size_t i = 0; i < whens.size(); ++i) {
    t += fmt::format(" WHEN {} THEN {}", whens[i].text,
                     thens[i].null_literal ? TypedNull(*type) : thens[i].text);
  }
  if (other && !other->null_literal) t += " ELSE " + other->text;
  return Typed(t + " END", e.offset);
}

absl::StatusOr<Bound> ExprBinder::BindCall(const ast::Expr& e) const {
  if (e.over && over_ != nullptr) {
    if (auto it = over_->find(&e); it != over_->end()) return it->second;
  }
  if (e.over) {
    return SQL_ERROR(e.offset, "{}(...) OVER (...) is only supported as ROW_NUMBER() OVER "
                               "(PARTITION BY ... ORDER BY ...) filtered by rownum <= N", e.name);
  }
  if (IsAggregateFunction(e.name)) {
    return SQL_ERROR(e.offset, "aggregate function {}() is not allowed here", e.name);
  }
  if (IsWindowProperty(e.name)) {
    return SQL_ERROR(e.offset, "{}() needs GROUP BY with the matching group window", e.name);
  }
  if (e.name == "proctime") {
    return SqlError(e.offset, "PROCTIME() defines a processing-time attribute: write it as a "
                              "computed column (p AS PROCTIME()) or a SELECT item of a view");
  }
  for (const ScalarFunction& f : kScalars) {
    if (e.name != f.sql) continue;
    if (e.distinct || e.star || e.filter) {
      return SQL_ERROR(e.offset, "DISTINCT, * and FILTER are for aggregate functions, not {}()",
                       e.name);
    }
    const int n = static_cast<int>(e.args.size());
    if (n < f.min_args || n > f.max_args) {
      return SQL_ERROR(e.offset, "{}() takes {} argument{}, got {}", e.name,
                       f.min_args == f.max_args ? std::to_string(f.min_args)
                                                : fmt::format("{} to {}", f.min_args, f.max_args),
                       f.max_args == 1 ? "" : "s", n);
    }
    std::vector<std::string> args;
    for (const auto& a : e.args) {
      ASSIGN_OR_RETURN(Bound b, Bind(*a));
      if (b.null_literal) return SQL_ERROR(a->offset, "NULL argument of {}()", e.name);
      args.push_back(b.text);
    }
    if (std::string_view(f.target) == "%") {
      return Typed(fmt::format("({} % {})", args[0], args[1]), e.offset);
    }
    std::string t = std::string(f.target) + "(";
    for (size_t i = 0; i < args.size(); ++i) t += (i > 0 ? ", " : "") + args[i];
    return Typed(t + ")", e.offset);
  }
  if (const std::string* udf = catalog_ != nullptr ? catalog_->FindFunction(e.name) : nullptr) {
    // A plugin's scalar function (CREATE FUNCTION): typed by its ResultType.
    std::string t = *udf + "(";
    for (size_t i = 0; i < e.args.size(); ++i) {
      ASSIGN_OR_RETURN(Bound b, Bind(*e.args[i]));
      if (b.null_literal) return SQL_ERROR(e.args[i]->offset, "NULL argument of {}()", e.name);
      t += (i > 0 ? ", " : "") + b.text;
    }
    return Typed(t + ")", e.offset);
  }
  return SQL_ERROR(e.offset, "unknown function '{}' (known: {})", e.name, KnownFunctions());
}

}  // namespace sluice::sql
