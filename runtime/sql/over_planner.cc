// OVER aggregations (Flink's "Over Aggregation"):
//   SELECT ..., agg(x) OVER (PARTITION BY k ORDER BY rowtime
//                             [ROWS|RANGE BETWEEN {n | INTERVAL ... | UNBOUNDED} PRECEDING
//                              AND CURRENT ROW]) ...
// become key-by k + an `over` step (runtime/operators/over_aggregate.h) that appends one column
// per call; the SELECT list then reads those columns. As in Flink, every OVER of a query must
// use the same window, ordered by the event-time attribute ascending; without a frame clause
// the frame is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.

#include "runtime/base/status.h"
#include "runtime/sql/expr_binder.h"
#include "runtime/sql/query_planner.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

// PostgreSQL's FRAMEOPTION_* bits (nodes/parsenodes.h).
constexpr int kNonDefault = 0x1, kRange = 0x2, kRows = 0x4, kGroups = 0x8;
constexpr int kStartUnboundedPreceding = 0x20, kEndCurrentRow = 0x400;
constexpr int kStartOffsetPreceding = 0x800;

bool IsOverAggregate(const ast::Expr& e) {
  return e.kind == ast::ExprKind::kCall && e.over && IsAggregateFunction(e.name);
}

void CollectOver(const ast::Expr& e, std::vector<const ast::Expr*>* out) {
  if (IsOverAggregate(e)) {
    out->push_back(&e);
    return;
  }
  for (const auto& a : e.args) {
    if (a) CollectOver(*a, out);
  }
  for (const auto* x : {&e.case_operand, &e.else_expr}) {
    if (*x) CollectOver(**x, out);
  }
}

std::vector<const ast::Expr*> OverCalls(const ast::Query& q) {
  std::vector<const ast::Expr*> calls;
  for (const ast::SelectItem& item : q.select) {
    if (item.expr) CollectOver(*item.expr, &calls);
  }
  return calls;
}

// A plain column of `binder`'s scope, or an error naming `what`.
absl::StatusOr<int> PlainColumn(const ExprBinder& binder, const ast::Expr& e, std::string_view what) {
  if (e.kind != ast::ExprKind::kColumn) {
    return SQL_ERROR(e.offset, "{} must be a column (compute it in a subquery first)", what);
  }
  return binder.ResolveColumn(e);
}

// The window's frame as the over step's `rows:` / `range:` value.
absl::StatusOr<std::pair<std::string, YAML::Node>> Frame(const ast::WindowSpec& w) {
  const int f = w.frame_options;
  if (!(f & kNonDefault)) return std::make_pair(std::string("range"), YAML::Node("unbounded"));
  if (f & kGroups) return SqlError(w.offset, "GROUPS frames are not supported (ROWS or RANGE)");
  const std::string kind = (f & kRows) ? "rows" : "range";
  if (!(f & kEndCurrentRow)) {
    return SqlError(w.offset, "an OVER frame must end at the current row (BETWEEN ... PRECEDING "
                              "AND CURRENT ROW), as in Flink");
  }
  if (f & kStartUnboundedPreceding) return std::make_pair(kind, YAML::Node("unbounded"));
  if (!(f & kStartOffsetPreceding) || !w.start_offset) {
    return SqlError(w.offset, "an OVER frame must start at UNBOUNDED PRECEDING or at an offset "
                              "PRECEDING");
  }
  const ast::Expr& o = *w.start_offset;
  if (kind == "rows") {
    const int64_t* n = o.kind == ast::ExprKind::kLiteral ? std::get_if<int64_t>(&o.value) : nullptr;
    if (n == nullptr || *n < 0) {
      return SqlError(o.offset, "ROWS BETWEEN n PRECEDING: n must be a non-negative integer");
    }
    return std::make_pair(kind, YAML::Node(*n));
  }
  if (o.kind != ast::ExprKind::kInterval || o.interval_ms < 0) {
    return SqlError(o.offset, "RANGE BETWEEN ... PRECEDING over event time takes an INTERVAL, "
                              "e.g. INTERVAL '1' HOUR PRECEDING");
  }
  return std::make_pair(kind, YAML::Node(fmt::format("{} ms", o.interval_ms)));
}

// Whether two OVER windows are the same (same partition and order columns, same frame).
bool SameWindow(const ast::WindowSpec& a, const ast::WindowSpec& b) {
  auto names = [](const std::vector<ast::ExprPtr>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(e->qualifier + "." + e->name);
    return out;
  };
  const bool same_offset =
      (!a.start_offset && !b.start_offset) ||
      (a.start_offset && b.start_offset && a.start_offset->value == b.start_offset->value &&
       a.start_offset->interval_ms == b.start_offset->interval_ms);
  return names(a.partition_by) == names(b.partition_by) && names(a.order_by) == names(b.order_by) &&
         a.descending == b.descending && a.frame_options == b.frame_options && same_offset;
}

}  // namespace

bool HasOverAggregate(const ast::Query& q) { return !OverCalls(q).empty(); }

absl::StatusOr<Rel> QueryPlanner::Over(const ast::Query& q, const Rel& in,
                                       std::map<const ast::Expr*, Bound>* columns) {
  const std::vector<const ast::Expr*> calls = OverCalls(q);
  const ast::WindowSpec& w = *calls[0]->over;
  if (in.updating) {
    return SqlError(w.offset, fmt::format("OVER aggregations read insert-only input; this input "
                                          "is updating ({})", in.updating_reason));
  }
  for (const ast::Expr* c : calls) {
    if (!SameWindow(*c->over, w)) {
      return SqlError(c->over->offset, "all OVER aggregations of a query must use the same "
                                       "window (PARTITION BY, ORDER BY and frame), as in Flink");
    }
  }
  ExprBinder binder(in, nullptr, &catalog_);
  if (w.partition_by.empty()) {
    return SqlError(w.offset, "OVER without PARTITION BY is not supported (it would run on one "
                              "subtask); partition by a column");
  }
  std::vector<std::string> keys;
  for (const auto& p : w.partition_by) {
    ASSIGN_OR_RETURN(int col, PlainColumn(binder, *p, "a PARTITION BY of OVER"));
    keys.push_back(in.columns[static_cast<size_t>(col)].field);
  }
  if (w.order_by.size() != 1 || w.descending[0]) {
    return SqlError(w.offset, "OVER needs ORDER BY the event-time attribute, ascending (one "
                              "column)");
  }
  ASSIGN_OR_RETURN(int order_col, PlainColumn(binder, *w.order_by[0], "ORDER BY of OVER"));
  if (!in.columns[static_cast<size_t>(order_col)].rowtime) {
    return SQL_ERROR(w.order_by[0]->offset, "OVER ... ORDER BY '{}': must be the event-time "
                                            "attribute (the table's WATERMARK column); "
                                            "processing time is not supported yet",
                     w.order_by[0]->name);
  }
  ASSIGN_OR_RETURN(auto frame, Frame(w));
  std::vector<std::string> taken;
  for (const RelColumn& c : in.columns) {
    if (!c.field.empty()) taken.push_back(c.field);
  }
  Rel out = in;
  YAML::Node aggs(YAML::NodeType::Map);
  std::string desc;
  for (const ast::Expr* c : calls) {
    if (c->distinct || c->filter) {
      return SqlError(c->offset, "DISTINCT and FILTER are not supported in OVER aggregations");
    }
    std::string arg;
    core::Type type = core::Type::kInt64;
    if (!c->star) {
      if (c->args.size() != 1) return SqlError(c->offset, "an OVER aggregate takes one argument");
      ASSIGN_OR_RETURN(int col, PlainColumn(binder, *c->args[0], "the argument of an OVER "
                                                                 "aggregate"));
      arg = in.columns[static_cast<size_t>(col)].field;
      if (c->name != "count") type = in.columns[static_cast<size_t>(col)].type;
    } else if (c->name != "count") {
      return SqlError(c->offset, fmt::format("{}(*) is not an aggregate", c->name));
    }
    const std::string field = FieldName("over_" + c->name, taken);
    aggs[field] = fmt::format("{}({})", c->name, arg);
    desc += fmt::format("{}{}({})", desc.empty() ? "" : ", ", c->name, arg.empty() ? "*" : arg);
    RelColumn col{"", "", field, type};
    out.columns.push_back(col);
    (*columns)[c] = ColumnBound(out, out.columns.size() - 1);
  }
  YAML::Node body(YAML::NodeType::Map);
  body[frame.first] = frame.second;
  body["aggregates"] = aggs;
  out.stream = spec_.AddKeyedStep(
      keys, "over", body, in.stream,
      fmt::format("OverAggregate({}; {} {} preceding); state: rows until the watermark passes "
                  "them, and per key the frame's rows (bounded) or accumulators (unbounded)",
                  desc, frame.first, frame.second.as<std::string>()));
  return out;
}

}  // namespace sluice::sql
