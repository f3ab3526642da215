// Top-N and deduplication (QueryPlanner::TopN): Flink's pattern
//   SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY k ORDER BY o [DESC], ...) AS rn
//                    FROM t ...) WHERE rn <= N [AND ...]
// becomes key-by k + top-n (N rows per key by o; an updating stream), or, ordered by a
// processing-time attribute with N = 1, key-by k + deduplicate (keep first for ASC, keep last
// for DESC). When the outer query selects rn, the top-n step emits the rank (rank-field).

#include "runtime/base/status.h"
#include "runtime/sql/query_planner.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

using ast::ExprKind;

bool IsColumnNamed(const ast::Expr& e, const std::string& name) {
  return e.kind == ExprKind::kColumn && e.name == name;
}

bool Mentions(const ast::Expr& e, const std::string& name) {
  if (IsColumnNamed(e, name)) return true;
  for (const auto& a : e.args) {
    if (a && Mentions(*a, name)) return true;
  }
  for (const auto* x : {&e.case_operand, &e.else_expr, &e.filter}) {
    if (*x && Mentions(**x, name)) return true;
  }
  return false;
}

// `rn <= N`, `rn < N`, `rn = 1`, `N >= rn`: N, or nullopt.
std::optional<int64_t> RowNumberBound(const ast::Expr& e, const std::string& rn) {
  if (e.kind != ExprKind::kBinary || e.args.size() != 2) return std::nullopt;
  const ast::Expr* col = e.args[0].get();
  const ast::Expr* lit = e.args[1].get();
  std::string op = e.name;
  if (!IsColumnNamed(*col, rn)) {
    std::swap(col, lit);
    if (op == ">=") op = "<=";
    else if (op == ">") op = "<";
    else if (op != "=") return std::nullopt;
  }
  if (!IsColumnNamed(*col, rn) || lit->kind != ExprKind::kLiteral ||
      !std::holds_alternative<int64_t>(lit->value)) {
    return std::nullopt;
  }
  const int64_t v = std::get<int64_t>(lit->value);
  if (op == "<=") return v;
  if (op == "<") return v - 1;
  if (op == "=" && v == 1) return 1;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::optional<Rel>> QueryPlanner::TopN(const ast::Query& q, const Ctes* ctes) {
  if (q.from.size() != 1 || q.from[0]->kind != ast::TableRefKind::kSubquery || !q.where) {
    return std::optional<Rel>();
  }
  const ast::Query& sub = *q.from[0]->subquery;
  const ast::SelectItem* rn_item = nullptr;
  for (const ast::SelectItem& item : sub.select) {
    if (item.expr && item.expr->kind == ExprKind::kCall && item.expr->name == "row_number" &&
        item.expr->over) {
      rn_item = &item;
    }
  }
  if (rn_item == nullptr) return std::optional<Rel>();
  const std::string rn = rn_item->alias.empty() ? "row_number" : rn_item->alias;
  // The outer WHERE: the bound on rn, and the rest.
  std::vector<const ast::Expr*> conjuncts;
  std::vector<const ast::Expr*> pending = {q.where.get()};
  while (!pending.empty()) {
    const ast::Expr* e = pending.back();
    pending.pop_back();
    if (e->kind == ExprKind::kBinary && e->name == "and") {
      pending.push_back(e->args[1].get());
      pending.push_back(e->args[0].get());
    } else {
      conjuncts.push_back(e);
    }
  }
  std::optional<int64_t> n;
  std::vector<const ast::Expr*> rest;
  for (const ast::Expr* c : conjuncts) {
    std::optional<int64_t> bound = RowNumberBound(*c, rn);
    if (bound && !n) {
      n = bound;
      continue;
    }
    rest.push_back(c);
  }
  if (!n || *n < 1) {
    return SQL_ERROR(q.where->offset, "ROW_NUMBER() needs a filter {} <= N (N >= 1) in the query "
                                      "around it (Flink's Top-N)", rn);
  }
  const ast::WindowSpec& over = *rn_item->expr->over;
  if (over.order_by.empty()) {
    return SqlError(over.offset, "ROW_NUMBER() OVER (...) needs ORDER BY");
  }
  // The subquery's FROM and WHERE, then the ranking, then its SELECT.
  ast::Query inner = sub;
  inner.select.clear();
  ASSIGN_OR_RETURN(Rel in, PlanFrom(inner, ctes));
  if (in.updating) {
    return SQL_ERROR(over.offset, "a Top-N over an updating input ({}) is not supported yet",
                     in.updating_reason);
  }
  ExprBinder binder(in, nullptr, &catalog_);
  YAML::Node keys(YAML::NodeType::Sequence);
  std::vector<std::string> key_fields;
  for (const auto& p : over.partition_by) {
    if (p->kind != ExprKind::kColumn) {
      return SqlError(p->offset, "PARTITION BY of ROW_NUMBER() takes columns");
    }
    ASSIGN_OR_RETURN(int c, binder.ResolveColumn(*p));
    if (in.columns[static_cast<size_t>(c)].field.empty()) {
      return SqlError(p->offset, "cannot partition by a time attribute");
    }
    key_fields.push_back(in.columns[static_cast<size_t>(c)].field);
  }
  if (key_fields.empty()) {
    return SqlError(over.offset, "ROW_NUMBER() OVER (...) needs PARTITION BY (a global Top-N is "
                                 "not supported yet)");
  }
  std::vector<const RelColumn*> order;
  for (const auto& o : over.order_by) {
    if (o->kind != ExprKind::kColumn) return SqlError(o->offset, "ORDER BY of ROW_NUMBER() takes columns");
    ASSIGN_OR_RETURN(int c, binder.ResolveColumn(*o));
    order.push_back(&in.columns[static_cast<size_t>(c)]);
  }
  bool rank_selected = false;
  for (const ast::SelectItem& item : q.select) {
    rank_selected |= item.star || (item.expr && Mentions(*item.expr, rn));
  }
  for (const ast::Expr* c : rest) rank_selected |= Mentions(*c, rn);
  Rel ranked = in;
  ranked.updating = true;
  bool window_top_n = false;
  if (order[0]->proctime) {
    if (*n != 1 || order.size() != 1 || rank_selected) {
      return SqlError(over.offset, "ordered by a processing-time attribute, ROW_NUMBER() is a "
                                   "deduplication: rn = 1, one ORDER BY column, rn not selected");
    }
    YAML::Node body(YAML::NodeType::Map);
    const bool last = over.descending[0];
    body["keep"] = last ? "last" : "first";
    if (auto ttl = StateTtl()) body["ttl"] = *ttl;
    ranked.stream = spec_.AddKeyedStep(key_fields, "deduplicate", body, in.stream,
                                       fmt::format("Deduplicate(keep {} row per key) state: {} "
                                                   "per key", last ? "last" : "first",
                                                   last ? "the last row" : "a flag"));
    ranked.updating = last;
    ranked.updating_reason = "a deduplication keeping the last row";
  } else {
    YAML::Node body(YAML::NodeType::Map);
    body["n"] = *n;
    if (auto ttl = StateTtl()) body["ttl"] = *ttl;
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i]->proctime || order[i]->field.empty()) {
        return SqlError(over.order_by[i]->offset, "cannot order a Top-N by this column");
      }
    }
    body["order-by"] = order[0]->field;
    body["order"] = over.descending[0] ? "desc" : "asc";
    // Partitioned by the window of an upstream window aggregation: a window Top-N, emitted
    // once per window when the watermark passes it (append-only), as Flink's window Top-N.
    bool by_start = false, by_end = false;
    for (const auto& p : over.partition_by) {
      ASSIGN_OR_RETURN(int c, binder.ResolveColumn(*p));
      const RelColumn::WindowBound wb = in.columns[static_cast<size_t>(c)].window_bound;
      by_start |= wb == RelColumn::WindowBound::kStart;
      by_end |= wb == RelColumn::WindowBound::kEnd;
    }
    window_top_n = by_start && by_end;
    if (window_top_n) body["emit"] = "final";
    if (order.size() > 1) {
      YAML::Node then(YAML::NodeType::Sequence);
      for (size_t i = 1; i < order.size(); ++i) {
        then.push_back(order[i]->field + (over.descending[i] ? " desc" : " asc"));
      }
      body["then-by"] = then;
    }
    std::vector<std::string> taken;
    for (const RelColumn& c : in.columns) {
      if (!c.field.empty()) taken.push_back(c.field);
    }
    const std::string rank_field = FieldName(rn, taken);
    if (rank_selected) body["rank-field"] = rank_field;
    ranked.stream = spec_.AddKeyedStep(
        key_fields, "top-n", body, in.stream,
        fmt::format("{}(top {} by {} {}) -> {}; state: the top {} rows per key",
                    window_top_n ? "WindowRank" : "Rank", *n, order[0]->name,
                    over.descending[0] ? "desc" : "asc",
                    window_top_n ? "once per window, append-only" : "changelog", *n));
    ranked.updating = !window_top_n;
    ranked.updating_reason = "a Top-N (ROW_NUMBER)";
    if (rank_selected) {
      RelColumn r{rn, "", rank_field, core::Type::kInt64};
      ranked.columns.push_back(r);
    }
    if (!window_top_n) {
      for (RelColumn& c : ranked.columns) c.rowtime = false;
    }
  }
  // The subquery's SELECT without rn (a `*` includes the rank column; otherwise it is added).
  ast::Query projection = sub;
  projection.select.clear();
  bool star = false;
  for (const ast::SelectItem& item : sub.select) {
    if (&item == rn_item) continue;
    projection.select.push_back(item);
    star |= item.star && item.star_qualifier.empty();
  }
  if (rank_selected && !star) {
    ast::SelectItem rank_item;
    auto ref = std::make_shared<ast::Expr>();
    ref->kind = ExprKind::kColumn;
    ref->name = rn;
    ref->offset = rn_item->offset;
    rank_item.expr = ref;
    rank_item.alias = rn;
    projection.select.push_back(rank_item);
  }
  ASSIGN_OR_RETURN(Rel selected, Select(projection, ranked));
  selected.updating = ranked.updating;
  selected.updating_reason = ranked.updating_reason;
  selected = Requalify(std::move(selected), q.from[0]->alias);
  // The outer query over it, without the bound on rn.
  ast::Query outer = q;
  outer.where = nullptr;
  Rel rel = selected;
  for (const ast::Expr* c : rest) {
    ASSIGN_OR_RETURN(rel, Filter(rel, *c, "WHERE"));
  }
  bool grouped = !outer.group_by.empty() || outer.having != nullptr;
  for (const ast::SelectItem& item : outer.select) grouped |= item.expr && HasAggregate(*item.expr);
  if (grouped) {
    ASSIGN_OR_RETURN(Rel agg, Aggregate(outer, rel));
    return std::optional<Rel>(std::move(agg));
  }
  ASSIGN_OR_RETURN(Rel out, Select(outer, rel));
  return std::optional<Rel>(std::move(out));
}

}  // namespace sluice::sql
