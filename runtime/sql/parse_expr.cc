// libpg_query expression nodes and type names -> ast (see parser_internal.h).

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "runtime/base/status.h"
#include "runtime/sql/parser_internal.h"

namespace sluice::sql {
namespace {

using ast::Expr;
using ast::ExprKind;
using ast::ExprPtr;

std::shared_ptr<Expr> Make(ExprKind kind, int offset) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  e->offset = offset;
  return e;
}

// PostgreSQL's interval field bits (datetime.h: INTERVAL_MASK(b) = 1 << b).
constexpr int kMonth = 1 << 1, kYear = 1 << 2, kDay = 1 << 3, kHour = 1 << 10,
              kMinute = 1 << 11, kSecond = 1 << 12;

// Milliseconds of one unit word ("second", "minutes", ...); 0 if unknown.
int64_t UnitMillis(std::string unit) {
  unit = absl::AsciiStrToLower(unit);
  if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
  if (unit == "millisecond" || unit == "ms") return 1;
  if (unit == "second" || unit == "sec") return 1000;
  if (unit == "minute" || unit == "min") return 60'000;
  if (unit == "hour" || unit == "h") return 3'600'000;
  if (unit == "day" || unit == "d") return 86'400'000;
  return 0;
}

}  // namespace

absl::StatusOr<std::vector<ExprPtr>> Converter::Exprs(
    const google::protobuf::RepeatedPtrField<pg_query::Node>& nodes) {
  std::vector<ExprPtr> out;
  for (const auto& n : nodes) {
    ASSIGN_OR_RETURN(auto e, Expr(n));
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<ExprPtr> Converter::Expr(const pg_query::Node& n) {
  if (n.has_column_ref()) {
    const auto& c = n.column_ref();
    auto e = Make(ExprKind::kColumn, Loc(c.location()));
    if (c.fields_size() == 1) {
      e->name = NodeString(c.fields(0));
    } else if (c.fields_size() == 2 && !c.fields(1).has_a_star()) {
      e->qualifier = NodeString(c.fields(0));
      e->name = NodeString(c.fields(1));
    } else {
      return SqlError(e->offset, "expected a column or table.column here");
    }
    return ExprPtr(e);
  }
  if (n.has_a_const()) return Const(n.a_const());
  if (n.has_type_cast()) return TypeCast(n.type_cast());
  if (n.has_a_expr()) return AExpr(n.a_expr());
  if (n.has_func_call()) return FuncCall(n.func_call());
  if (n.has_bool_expr()) {
    const auto& b = n.bool_expr();
    ASSIGN_OR_RETURN(auto args, Exprs(b.args()));
    if (b.boolop() == pg_query::NOT_EXPR) {
      auto e = Make(ExprKind::kUnary, Loc(b.location()));
      e->name = "not";
      e->args = std::move(args);
      return ExprPtr(e);
    }
    ExprPtr acc = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      auto e = Make(ExprKind::kBinary, Loc(b.location()));
      e->name = b.boolop() == pg_query::AND_EXPR ? "and" : "or";
      e->args = {acc, args[i]};
      acc = e;
    }
    return acc;
  }
  if (n.has_null_test()) {
    const auto& t = n.null_test();
    auto e = Make(ExprKind::kIsNull, Loc(t.location()));
    e->negated = t.nulltesttype() == pg_query::IS_NOT_NULL;
    ASSIGN_OR_RETURN(auto a, Expr(t.arg()));
    e->args = {a};
    return ExprPtr(e);
  }
  if (n.has_case_expr()) {
    const auto& c = n.case_expr();
    auto e = Make(ExprKind::kCase, Loc(c.location()));
    if (c.has_arg()) { ASSIGN_OR_RETURN(e->case_operand, Expr(c.arg())); }
    for (const auto& w : c.args()) {
      ASSIGN_OR_RETURN(auto when, Expr(w.case_when().expr()));
      ASSIGN_OR_RETURN(auto then, Expr(w.case_when().result()));
      e->args.push_back(when);
      e->args.push_back(then);
    }
    if (c.has_defresult()) { ASSIGN_OR_RETURN(e->else_expr, Expr(c.defresult())); }
    return ExprPtr(e);
  }
  if (n.has_coalesce_expr()) {
    auto e = Make(ExprKind::kCall, Loc(n.coalesce_expr().location()));
    e->name = "coalesce";
    ASSIGN_OR_RETURN(e->args, Exprs(n.coalesce_expr().args()));
    return ExprPtr(e);
  }
  if (n.has_min_max_expr()) {
    auto e = Make(ExprKind::kCall, Loc(n.min_max_expr().location()));
    e->name = n.min_max_expr().op() == pg_query::IS_GREATEST ? "greatest" : "least";
    ASSIGN_OR_RETURN(e->args, Exprs(n.min_max_expr().args()));
    return ExprPtr(e);
  }
  if (n.has_sqlvalue_function()) {
    auto e = Make(ExprKind::kCall, Loc(n.sqlvalue_function().location()));
    switch (n.sqlvalue_function().op()) {
      case pg_query::SVFOP_CURRENT_TIMESTAMP:
      case pg_query::SVFOP_LOCALTIMESTAMP:
      case pg_query::SVFOP_CURRENT_TIMESTAMP_N:
      case pg_query::SVFOP_LOCALTIMESTAMP_N: e->name = "current_timestamp"; break;
      case pg_query::SVFOP_CURRENT_DATE: e->name = "current_date"; break;
      default: return SqlError(e->offset, "unsupported SQL value function");
    }
    return ExprPtr(e);
  }
  if (n.has_sub_link()) {
    return SqlError(Loc(n.sub_link().location()),
                    "subqueries inside expressions (IN (SELECT ...), EXISTS, scalar subqueries) "
                    "are not supported; write a JOIN");
  }
  if (n.has_boolean_test()) {
    return SqlError(Loc(n.boolean_test().location()),
                    "IS [NOT] TRUE/FALSE is not supported; compare with = true");
  }
  if (n.has_param_ref()) return SqlError(Loc(n.param_ref().location()), "parameters ($1) are not supported");
  return SqlError(fallback_, "unsupported expression");
}

absl::StatusOr<ExprPtr> Converter::Const(const pg_query::A_Const& c) {
  auto e = Make(ExprKind::kLiteral, Loc(c.location()));
  if (c.isnull()) return ExprPtr(e);
  if (c.has_ival()) {
    e->value = static_cast<int64_t>(c.ival().ival());
  } else if (c.has_fval()) {
    // Integers beyond int32 arrive as fval too.
    int64_t i;
    double d;
    const std::string& text = c.fval().fval();
    if (absl::SimpleAtoi(text, &i)) e->value = i;
    else if (absl::SimpleAtod(text, &d)) e->value = d;
    else return SQL_ERROR(e->offset, "bad number '{}'", text);
  } else if (c.has_sval()) {
    e->value = c.sval().sval();
  } else if (c.has_boolval()) {
    e->value = c.boolval().boolval();
  } else if (c.has_bsval()) {
    return SqlError(e->offset, "bit-string literals are not supported");
  }
  return ExprPtr(e);
}

absl::StatusOr<ExprPtr> Converter::TypeCast(const pg_query::TypeCast& c) {
  const auto& tn = c.type_name();
  const std::string type =
      tn.names_size() > 0 ? absl::AsciiStrToLower(NodeString(tn.names(tn.names_size() - 1))) : "";
  const bool string_arg = c.arg().has_a_const() && c.arg().a_const().has_sval();
  if (type == "interval") {
    const int offset = Loc(tn.location());
    if (!string_arg) return SqlError(offset, "expected INTERVAL '<number>' <unit>");
    const std::string text = c.arg().a_const().sval().sval();
    int mask = 0;
    for (const auto& m : tn.typmods()) {
      if (m.has_a_const() && m.a_const().has_ival()) mask = m.a_const().ival().ival();
    }
    if (tn.typmods_size() > 1) {
      return SqlError(offset, "INTERVAL with a precision is not supported");
    }
    int64_t unit = 0;
    std::string number = text;
    switch (mask) {
      case kSecond: unit = 1000; break;
      case kMinute: unit = 60'000; break;
      case kHour: unit = 3'600'000; break;
      case kDay: unit = 86'400'000; break;
      case 0: {
        // INTERVAL '5 minutes'
        auto space = text.find_first_of(" \t");
        if (space != std::string::npos) {
          number = text.substr(0, space);
          unit = UnitMillis(std::string(absl::StripAsciiWhitespace(text.substr(space))));
        }
        break;
      }
      case kMonth:
      case kYear:
        return SqlError(offset, "INTERVAL in months or years is not supported (their length "
                                "varies); use DAY, HOUR, MINUTE or SECOND");
      default:
        return SqlError(offset, "INTERVAL ranges (DAY TO SECOND, ...) are not supported; write "
                                "one unit, e.g. INTERVAL '90' SECOND");
    }
    double value;
    if (unit == 0 || !absl::SimpleAtod(number, &value)) {
      return SQL_ERROR(offset, "bad interval '{}': expected INTERVAL '10' SECOND (or MINUTE, "
                               "HOUR, DAY)", text);
    }
    auto e = Make(ExprKind::kInterval, offset);
    e->interval_ms = static_cast<int64_t>(std::llround(value * static_cast<double>(unit)));
    return ExprPtr(e);
  }
  ASSIGN_OR_RETURN(ast::SqlType t, Type(tn));
  if (string_arg && c.location() < 0 &&
      (t.type == core::Type::kTimestamp || t.type == core::Type::kDate)) {
    // TIMESTAMP '2001-01-01 00:00:00' / DATE '2001-01-01'
    auto e = Make(ExprKind::kLiteral, Loc(tn.location()));
    e->value = c.arg().a_const().sval().sval();
    e->literal_type = t.type;
    return ExprPtr(e);
  }
  auto e = Make(ExprKind::kCast, Loc(c.location() >= 0 ? c.location() : tn.location()));
  ASSIGN_OR_RETURN(auto arg, Expr(c.arg()));
  e->args = {arg};
  e->cast_type = t;
  return ExprPtr(e);
}

absl::StatusOr<ast::SqlType> Converter::Type(const pg_query::TypeName& tn) {
  ast::SqlType t;
  t.offset = Loc(tn.location());
  if (tn.array_bounds_size() > 0) return SqlError(t.offset, "array types are not supported");
  const std::string name =
      tn.names_size() > 0 ? absl::AsciiStrToLower(NodeString(tn.names(tn.names_size() - 1))) : "";
  struct Mapping { const char* name; core::Type type; const char* text; };
  static const Mapping kTypes[] = {
      {"int8", core::Type::kInt64, "BIGINT"},       {"bigint", core::Type::kInt64, "BIGINT"},
      {"int4", core::Type::kInt32, "INT"},          {"int", core::Type::kInt32, "INT"},
      {"integer", core::Type::kInt32, "INT"},       {"int2", core::Type::kInt32, "SMALLINT"},
      {"smallint", core::Type::kInt32, "SMALLINT"}, {"tinyint", core::Type::kInt32, "TINYINT"},
      {"float8", core::Type::kDouble, "DOUBLE"},    {"float4", core::Type::kDouble, "FLOAT"},
      {"double", core::Type::kDouble, "DOUBLE"},    {"float", core::Type::kDouble, "FLOAT"},
      {"real", core::Type::kDouble, "REAL"},        {"numeric", core::Type::kDouble, "DECIMAL"},
      {"decimal", core::Type::kDouble, "DECIMAL"},  {"varchar", core::Type::kString, "VARCHAR"},
      {"text", core::Type::kString, "STRING"},      {"string", core::Type::kString, "STRING"},
      {"bpchar", core::Type::kString, "CHAR"},      {"char", core::Type::kString, "CHAR"},
      {"bool", core::Type::kBool, "BOOLEAN"},       {"boolean", core::Type::kBool, "BOOLEAN"},
      {"timestamp", core::Type::kTimestamp, "TIMESTAMP(3)"},
      {"timestamptz", core::Type::kTimestamp, "TIMESTAMP_LTZ(3)"},
      {"timestamp_ltz", core::Type::kTimestamp, "TIMESTAMP_LTZ(3)"},
      {"date", core::Type::kDate, "DATE"},          {"bytea", core::Type::kBytes, "BYTES"},
      {"bytes", core::Type::kBytes, "BYTES"},       {"varbinary", core::Type::kBytes, "VARBINARY"},
      {"binary", core::Type::kBytes, "BINARY"},
  };
  for (const Mapping& m : kTypes) {
    if (name == m.name) {
      t.type = m.type;
      t.text = m.text;
      return t;
    }
  }
  return SQL_ERROR(t.offset, "unknown type '{}' (expected BIGINT, INT, SMALLINT, TINYINT, DOUBLE, "
                             "FLOAT, DECIMAL, STRING, VARCHAR, CHAR, BOOLEAN, TIMESTAMP(3), "
                             "TIMESTAMP_LTZ(3), DATE, BYTES)", name);
}

absl::StatusOr<ExprPtr> Converter::AExpr(const pg_query::A_Expr& a) {
  const int offset = Loc(a.location());
  const std::string op = a.name_size() > 0 ? NodeString(a.name(0)) : "";
  switch (a.kind()) {
    case pg_query::AEXPR_OP: {
      if (!a.has_lexpr()) {
        auto e = Make(ExprKind::kUnary, offset);
        e->name = op;
        ASSIGN_OR_RETURN(auto r, Expr(a.rexpr()));
        e->args = {r};
        if (op != "-" && op != "+") return SQL_ERROR(offset, "unsupported operator '{}'", op);
        return ExprPtr(e);
      }
      static const char* kOps[] = {"=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/",
                                   "%", "||"};
      bool known = false;
      for (const char* k : kOps) known |= op == k;
      if (!known) return SQL_ERROR(offset, "unsupported operator '{}'", op);
      auto e = Make(ExprKind::kBinary, offset);
      e->name = op == "!=" ? "<>" : op;
      ASSIGN_OR_RETURN(auto l, Expr(a.lexpr()));
      ASSIGN_OR_RETURN(auto r, Expr(a.rexpr()));
      e->args = {l, r};
      return ExprPtr(e);
    }
    case pg_query::AEXPR_IN: {
      auto e = Make(ExprKind::kIn, offset);
      e->negated = op == "<>";
      ASSIGN_OR_RETURN(auto l, Expr(a.lexpr()));
      e->args.push_back(l);
      if (!a.rexpr().has_list()) return SqlError(offset, "IN needs a list of values");
      ASSIGN_OR_RETURN(auto items, Exprs(a.rexpr().list().items()));
      e->args.insert(e->args.end(), items.begin(), items.end());
      return ExprPtr(e);
    }
    case pg_query::AEXPR_LIKE: {
      auto e = Make(ExprKind::kLike, offset);
      e->negated = op == "!~~";
      ASSIGN_OR_RETURN(auto l, Expr(a.lexpr()));
      ASSIGN_OR_RETURN(auto r, Expr(a.rexpr()));
      e->args = {l, r};
      return ExprPtr(e);
    }
    case pg_query::AEXPR_BETWEEN:
    case pg_query::AEXPR_NOT_BETWEEN: {
      auto e = Make(ExprKind::kBetween, offset);
      e->negated = a.kind() == pg_query::AEXPR_NOT_BETWEEN;
      ASSIGN_OR_RETURN(auto l, Expr(a.lexpr()));
      ASSIGN_OR_RETURN(auto bounds, Exprs(a.rexpr().list().items()));
      e->args = {l, bounds[0], bounds[1]};
      return ExprPtr(e);
    }
    case pg_query::AEXPR_NULLIF: {
      auto e = Make(ExprKind::kCall, offset);
      e->name = "nullif";
      ASSIGN_OR_RETURN(auto l, Expr(a.lexpr()));
      ASSIGN_OR_RETURN(auto r, Expr(a.rexpr()));
      e->args = {l, r};
      return ExprPtr(e);
    }
    default:
      return SqlError(offset, "unsupported operator (ILIKE, SIMILAR TO, IS DISTINCT FROM, "
                              "ANY/ALL are not supported)");
  }
}

absl::StatusOr<ExprPtr> Converter::FuncCall(const pg_query::FuncCall& f) {
  auto e = Make(ExprKind::kCall, Loc(f.location()));
  e->name = absl::AsciiStrToLower(NodeString(f.funcname(f.funcname_size() - 1)));
  if (f.funcname_size() == 2 && NodeString(f.funcname(0)) == "pg_catalog") {
    // PostgreSQL's names for SQL syntax: EXTRACT, SUBSTRING(x FROM a FOR b), TRIM, ...
    if (e->name == "date_part") e->name = "extract";
    if (e->name == "btrim") e->name = "trim";
  }
  e->star = f.agg_star();
  e->distinct = f.agg_distinct();
  if (f.agg_order_size() > 0 || f.agg_within_group() || f.func_variadic()) {
    return SqlError(e->offset, "ORDER BY / WITHIN GROUP / VARIADIC in a function call is not "
                               "supported");
  }
  for (const auto& a : f.args()) {
    if (a.has_named_arg_expr()) {
      return SqlError(e->offset, "named arguments are only supported in window table functions");
    }
    ASSIGN_OR_RETURN(auto x, Expr(a));
    e->args.push_back(x);
  }
  if (f.has_agg_filter()) { ASSIGN_OR_RETURN(e->filter, Expr(f.agg_filter())); }
  if (f.has_over()) {
    const auto& w = f.over();
    auto spec = std::make_shared<ast::WindowSpec>();
    spec->offset = Loc(w.location());
    if (!w.refname().empty() || !w.name().empty()) {
      return SqlError(spec->offset, "named windows (OVER w) are not supported");
    }
    ASSIGN_OR_RETURN(spec->partition_by, Exprs(w.partition_clause()));
    for (const auto& o : w.order_clause()) {
      ASSIGN_OR_RETURN(auto x, Expr(o.sort_by().node()));
      spec->order_by.push_back(x);
      spec->descending.push_back(o.sort_by().sortby_dir() == pg_query::SORTBY_DESC);
    }
    spec->frame_options = w.frame_options();
    if (w.has_start_offset()) { ASSIGN_OR_RETURN(spec->start_offset, Expr(w.start_offset())); }
    e->over = spec;
  }
  return ExprPtr(e);
}

}  // namespace sluice::sql
