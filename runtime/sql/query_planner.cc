#include "runtime/sql/query_planner.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {

bool HasAggregate(const ast::Expr& e) {
  if (e.kind == ast::ExprKind::kCall && IsAggregateFunction(e.name) && !e.over) return true;
  for (const auto& a : e.args) {
    if (a && HasAggregate(*a)) return true;
  }
  for (const auto* x : {&e.case_operand, &e.else_expr}) {
    if (*x && HasAggregate(**x)) return true;
  }
  return false;
}

std::string FieldName(const std::string& name, std::vector<std::string>& taken) {
  std::string base;
  for (char c : name) {
    base += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
  }
  if (base.empty()) base = "f";
  std::string out = base;
  for (int n = 2; std::find(taken.begin(), taken.end(), out) != taken.end(); ++n) {
    out = fmt::format("{}_{}", base, n);
  }
  taken.push_back(out);
  return out;
}

Rel Requalify(Rel rel, const std::string& qualifier) {
  for (RelColumn& c : rel.columns) c.qualifier = qualifier;
  return rel;
}

std::optional<YAML::Node> QueryPlanner::StateTtl() const {
  const auto& values = catalog_.settings().values;
  if (values.find("table.exec.state.ttl") == values.end()) return std::nullopt;
  return YAML::Clone(catalog_.settings().spec["state"]["ttl"]);
}

absl::StatusOr<Rel> QueryPlanner::PlanQuery(const ast::Query& q, const Ctes* ctes) {
  Ctes local;
  if (!q.with.empty()) {
    for (const auto& [name, query] : q.with) local.queries[name] = query;
    local.parent = ctes;
    ctes = &local;
  }
  if (!q.union_all.empty()) return PlanUnion(q, ctes);
  if (!q.order_by.empty() || q.limit) {
    return SqlError(q.offset, "ORDER BY and LIMIT are not supported on streams (a Top-N is "
                              "written ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) with "
                              "WHERE rownum <= N)");
  }
  if (q.distinct) {  // SELECT DISTINCT a, b: GROUP BY a, b
    ast::Query grouped = q;
    grouped.distinct = false;
    for (const ast::SelectItem& item : q.select) {
      if (item.star) return SqlError(item.offset, "SELECT DISTINCT * is not supported; list the columns");
      grouped.group_by.push_back(item.expr);
    }
    return PlanQuery(grouped, ctes);
  }
  if (q.from.empty()) return SqlError(q.offset, "a query needs FROM: Sluice reads tables");
  ASSIGN_OR_RETURN(std::optional<Rel> top, TopN(q, ctes));
  if (top) return std::move(*top);
  ASSIGN_OR_RETURN(Rel rel, PlanFrom(q, ctes));
  bool grouped = !q.group_by.empty() || q.having != nullptr;
  for (const ast::SelectItem& item : q.select) grouped |= item.expr && HasAggregate(*item.expr);
  if (HasOverAggregate(q)) {
    if (grouped) {
      return SqlError(q.offset, "OVER aggregations in a query with GROUP BY are not supported");
    }
    std::map<const ast::Expr*, Bound> over;
    ASSIGN_OR_RETURN(Rel with_over, Over(q, rel, &over));
    return Select(q, with_over, &over);
  }
  if (grouped) return Aggregate(q, rel);
  return Select(q, rel);
}

absl::StatusOr<Rel> QueryPlanner::PlanFrom(const ast::Query& q, const Ctes* ctes) {
  if (q.from.empty()) return SqlError(q.offset, "a query needs FROM: Sluice reads tables");
  ASSIGN_OR_RETURN(Rel rel, PlanTableRef(*q.from[0], ctes));
  if (q.from.size() == 1) {
    if (q.where) return Filter(rel, *q.where, "WHERE");
    return rel;
  }
  // FROM a, b WHERE ...: inner joins whose conditions are the WHERE's.
  for (size_t i = 1; i < q.from.size(); ++i) {
    ASSIGN_OR_RETURN(Rel right, PlanTableRef(*q.from[i], ctes));
    const bool last = i + 1 == q.from.size();
    ASSIGN_OR_RETURN(rel, Join(rel, right, last ? ast::JoinType::kInner : ast::JoinType::kCross,
                               last ? q.where.get() : nullptr, q.from[i]->offset));
  }
  return rel;
}

absl::StatusOr<Rel> QueryPlanner::PlanTableRef(const ast::TableRef& ref, const Ctes* ctes) {
  switch (ref.kind) {
    case ast::TableRefKind::kTable: {
      if (ref.system_time) {
        return SqlError(ref.offset, "FOR SYSTEM_TIME AS OF is for the right side of a lookup "
                                    "join: ... JOIN t FOR SYSTEM_TIME AS OF o.proc_time ON ...");
      }
      ASSIGN_OR_RETURN(Rel rel, PlanNamed(ref.name, ref.offset, ctes));
      return Requalify(std::move(rel), ref.alias.empty() ? ref.name : ref.alias);
    }
    case ast::TableRefKind::kSubquery: {
      ASSIGN_OR_RETURN(Rel rel, PlanQuery(*ref.subquery, ctes));
      return Requalify(std::move(rel), ref.alias);
    }
    case ast::TableRefKind::kFunction: return WindowFunction(ref, ctes);
    case ast::TableRefKind::kJoin: {
      ASSIGN_OR_RETURN(Rel left, PlanTableRef(*ref.left, ctes));
      if (ref.right->kind == ast::TableRefKind::kTable && ref.right->system_time) {
        return LookupJoin(left, *ref.right, ref.join_type, ref.on.get(), ref.offset);
      }
      ASSIGN_OR_RETURN(Rel right, PlanTableRef(*ref.right, ctes));
      ASSIGN_OR_RETURN(Rel joined, Join(left, right, ref.join_type, ref.on.get(), ref.offset));
      if (!ref.alias.empty()) joined = Requalify(std::move(joined), ref.alias);
      return joined;
    }
  }
  return SqlError(ref.offset, "unsupported FROM item");
}

absl::StatusOr<Rel> QueryPlanner::PlanNamed(const std::string& name, int offset, const Ctes* ctes) {
  for (const Ctes* c = ctes; c != nullptr; c = c->parent) {
    auto it = c->queries.find(name);
    if (it != c->queries.end()) return PlanQuery(*it->second, c->parent);
  }
  if (const ViewDef* view = catalog_.FindView(name)) {
    auto cached = planned_.find("view:" + view->name);
    if (cached != planned_.end()) return cached->second;
    ASSIGN_OR_RETURN(Rel rel, PlanQuery(*view->query, nullptr));
    if (!view->column_names.empty()) {
      if (view->column_names.size() != rel.columns.size()) {
        return SQL_ERROR(view->offset, "view '{}' names {} columns but its query has {}",
                         view->name, view->column_names.size(), rel.columns.size());
      }
      for (size_t i = 0; i < rel.columns.size(); ++i) rel.columns[i].name = view->column_names[i];
    }
    planned_["view:" + view->name] = rel;
    return rel;
  }
  if (const TableDef* table = catalog_.FindTable(name)) return Scan(*table);
  return SQL_ERROR(offset, "unknown table '{}' (tables and views: {})", name, catalog_.TableNames());
}

absl::StatusOr<Rel> QueryPlanner::Scan(const TableDef& table) {
  auto cached = planned_.find("table:" + table.name);
  if (cached != planned_.end()) return cached->second;
  Rel physical;
  physical.stream = table.name;
  for (const TableColumn& c : table.columns) {
    if (c.computed) continue;
    if (c.name.find('`') != std::string::npos) {
      return SqlError(c.offset, "a column name cannot contain a backquote");
    }
    physical.columns.push_back(RelColumn{c.name, table.name, c.name, c.type});
  }
  // Computed columns: typed over the physical ones; a computed rowtime is the source's
  // event-time expression.
  ExprBinder binder(physical, nullptr, &catalog_);
  std::vector<Bound> computed(table.columns.size());
  std::string rowtime_expression;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const TableColumn& c = table.columns[i];
    if (!c.computed || c.proctime) continue;
    ASSIGN_OR_RETURN(computed[i], binder.Bind(*c.computed));
    if (computed[i].null_literal) return SqlError(c.offset, "a computed column cannot be NULL");
    if (table.rowtime && *table.rowtime == c.name) {
      if (computed[i].type != core::Type::kTimestamp) {
        return SQL_ERROR(c.offset, "WATERMARK FOR {}: the column must be a TIMESTAMP(3), is {}",
                         c.name, core::TypeName(computed[i].type));
      }
      rowtime_expression = computed[i].text;
    }
  }
  ASSIGN_OR_RETURN(YAML::Node source, SourceSpec(table, rowtime_expression));
  if (!spec_.HasSource(table.name)) {
    spec_.AddSource(table.name, source, fmt::format("Source: table {} ({}){}", table.name,
                                                    source["type"].as<std::string>(),
                                                    table.rowtime ? ", watermark on " + *table.rowtime : ""));
  }
  Rel rel = physical;
  if (table.HasComputed()) {
    std::vector<Bound> exprs;
    std::vector<std::string> names;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const TableColumn& c = table.columns[i];
      if (c.proctime) continue;
      if (c.computed) {
        exprs.push_back(computed[i]);
      } else {
        Bound b;
        b.text = QuoteField(c.name);
        b.type = c.type;
        for (size_t k = 0; k < physical.columns.size(); ++k) {
          if (physical.columns[k].name == c.name) b.column = static_cast<int>(k);
        }
        exprs.push_back(b);
      }
      names.push_back(c.name);
    }
    ASSIGN_OR_RETURN(rel, Project(physical, exprs, names, "computed columns"));
    for (RelColumn& c : rel.columns) c.qualifier = table.name;
  }
  // Columns in declared order, with the time attributes.
  Rel out;
  out.stream = rel.stream;
  for (const TableColumn& c : table.columns) {
    if (c.proctime) {
      RelColumn p{c.name, table.name, "", core::Type::kTimestamp};
      p.proctime = true;
      out.columns.push_back(p);
      continue;
    }
    for (const RelColumn& rc : rel.columns) {
      if (rc.name == c.name) out.columns.push_back(rc);
    }
    if (table.rowtime && *table.rowtime == c.name) out.columns.back().rowtime = true;
    if (c.computed) out.columns.back().type = computed[static_cast<size_t>(&c - &table.columns[0])].type;
  }
  planned_["table:" + table.name] = out;
  return out;
}

absl::StatusOr<Rel> QueryPlanner::Filter(const Rel& in, const ast::Expr& predicate,
                                         const std::string& what) {
  ExprBinder binder(in, nullptr, &catalog_);
  ASSIGN_OR_RETURN(Bound b, binder.BindPredicate(predicate, what));
  Rel out = in;
  out.stream = spec_.AddStep("filter", YAML::Node(b.text), in.stream,
                             fmt::format("Filter({}: {})", what, b.text));
  return out;
}

absl::StatusOr<Rel> QueryPlanner::Project(const Rel& in, const std::vector<Bound>& exprs,
                                          const std::vector<std::string>& names,
                                          const std::string& what) {
  Rel out;
  out.updating = in.updating;
  out.updating_reason = in.updating_reason;
  std::vector<std::string> taken;
  bool identity = exprs.size() == in.Schema()->num_fields();
  YAML::Node body(YAML::NodeType::Map);
  size_t stored = 0;
  for (size_t i = 0; i < exprs.size(); ++i) {
    RelColumn c;
    c.name = names[i];
    c.type = exprs[i].type;
    if (exprs[i].column >= 0) {
      const RelColumn& src = in.columns[static_cast<size_t>(exprs[i].column)];
      c.rowtime = src.rowtime;
      c.window_bound = src.window_bound;
      c.qualifier = src.qualifier;
    }
    c.rowtime |= exprs[i].rowtime;
    c.field = FieldName(names[i], taken);
    identity &= exprs[i].column >= 0 && in.columns[static_cast<size_t>(exprs[i].column)].field == c.field &&
                in.Schema()->field(stored).name == c.field;
    body[c.field] = exprs[i].text;
    ++stored;
    out.columns.push_back(c);
  }
  if (identity) {
    out.stream = in.stream;
    return out;
  }
  bool plain = true;  // only columns under their own field names: a project step
  YAML::Node fields(YAML::NodeType::Sequence);
  std::string field_list;
  for (size_t i = 0; i < exprs.size(); ++i) {
    plain &= exprs[i].column >= 0 &&
             in.columns[static_cast<size_t>(exprs[i].column)].field == out.columns[i].field;
    fields.push_back(out.columns[i].field);
    field_list += (i > 0 ? ", " : "") + out.columns[i].field;
  }
  if (plain) {
    out.stream = spec_.AddStep("project", fields, in.stream,
                               fmt::format("Project({}: {})", what, field_list));
    return out;
  }
  std::string desc;
  for (const auto& kv : body) {
    desc += fmt::format("{}{}: {}", desc.empty() ? "" : ", ", kv.first.as<std::string>(),
                        kv.second.as<std::string>());
  }
  out.stream = spec_.AddStep("map", body, in.stream, fmt::format("Calc({}: {})", what, desc));
  return out;
}

absl::StatusOr<Rel> QueryPlanner::Select(const ast::Query& q, const Rel& in,
                                         const std::map<const ast::Expr*, Bound>* over) {
  if (in.window) {
    // SELECT * FROM TABLE(TUMBLE(...)): the windowed table itself (a window join's input).
    if (q.select.size() == 1 && q.select[0].star && q.select[0].star_qualifier.empty()) return in;
    return SqlError(in.window->offset, "a window table function is supported as the input of "
                                       "GROUP BY window_start, window_end (a window "
                                       "aggregation) or of a window join; other uses are not "
                                       "supported yet");
  }
  ExprBinder binder(in, nullptr, &catalog_);
  binder.SetOverColumns(over);
  std::vector<Bound> exprs;
  std::vector<std::string> names;
  std::vector<RelColumn> proctimes;  // PROCTIME() items: virtual columns
  for (size_t i = 0; i < q.select.size(); ++i) {
    const ast::SelectItem& item = q.select[i];
    if (item.star) {
      bool any = false;
      for (size_t k = 0; k < in.columns.size(); ++k) {
        const RelColumn& c = in.columns[k];
        if (c.name.empty()) continue;  // a join's computed key: not visible to SQL
        if (!item.star_qualifier.empty() && c.qualifier != item.star_qualifier) continue;
        any = true;
        if (c.proctime) {
          proctimes.push_back(c);
          continue;
        }
        if (c.window_property) continue;
        exprs.push_back(ColumnBound(in, k));
        names.push_back(c.name);
      }
      if (!any) return SQL_ERROR(item.offset, "no table '{}' in FROM for {}.*", item.star_qualifier,
                                 item.star_qualifier);
      continue;
    }
    const ast::Expr& e = *item.expr;
    if (e.kind == ast::ExprKind::kCall && e.name == "proctime" && e.args.empty()) {
      RelColumn p{item.alias.empty() ? "proctime" : item.alias, "", "", core::Type::kTimestamp};
      p.proctime = true;
      proctimes.push_back(p);
      continue;
    }
    if (e.kind == ast::ExprKind::kColumn) {
      ASSIGN_OR_RETURN(int col, binder.ResolveColumn(e));
      if (in.columns[static_cast<size_t>(col)].proctime) {
        RelColumn p = in.columns[static_cast<size_t>(col)];
        if (!item.alias.empty()) p.name = item.alias;
        proctimes.push_back(p);
        continue;
      }
    }
    ASSIGN_OR_RETURN(Bound b, binder.Bind(e));
    if (b.null_literal) return SqlError(e.offset, "an untyped NULL; write CAST(NULL AS type)");
    exprs.push_back(b);
    names.push_back(!item.alias.empty() ? item.alias
                    : e.kind == ast::ExprKind::kColumn ? e.name
                                                       : fmt::format("EXPR${}", i));
  }
  ASSIGN_OR_RETURN(Rel out, Project(in, exprs, names, "SELECT"));
  for (RelColumn& p : proctimes) {
    p.qualifier.clear();
    out.columns.push_back(p);
  }
  return out;
}

absl::StatusOr<Rel> QueryPlanner::PlanUnion(const ast::Query& q, const Ctes* ctes) {
  std::vector<Rel> parts;
  for (const auto& part : q.union_all) {
    ASSIGN_OR_RETURN(Rel r, PlanQuery(*part, ctes));
    parts.push_back(std::move(r));
  }
  const Rel& first = parts[0];
  std::vector<std::string> inputs;
  bool updating = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    Rel& p = parts[i];
    if (p.columns.size() != first.columns.size()) {
      return SQL_ERROR(q.union_all[i]->offset, "UNION ALL: this query has {} columns, the first "
                                               "has {}", p.columns.size(), first.columns.size());
    }
    std::vector<Bound> exprs;
    std::vector<std::string> names;
    for (size_t k = 0; k < p.columns.size(); ++k) {
      if (p.columns[k].type != first.columns[k].type || p.columns[k].proctime) {
        return SQL_ERROR(q.union_all[i]->offset, "UNION ALL: column {} ('{}') is {} here but {} "
                                                 "in the first query", k + 1, p.columns[k].name,
                         core::TypeName(p.columns[k].type), core::TypeName(first.columns[k].type));
      }
      exprs.push_back(ColumnBound(p, k));
      names.push_back(first.columns[k].field);
    }
    ASSIGN_OR_RETURN(Rel aligned, Project(p, exprs, names, "UNION ALL input"));
    inputs.push_back(aligned.stream);
    updating |= p.updating;
  }
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& s : inputs) list.push_back(s);
  Rel out = first;
  for (RelColumn& c : out.columns) c.rowtime = false;
  out.updating = updating;
  out.stream = spec_.AddMultiInputStep("union", list, inputs, "Union(ALL)");
  return out;
}

}  // namespace sluice::sql
