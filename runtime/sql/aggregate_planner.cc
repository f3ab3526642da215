// GROUP BY and aggregate functions (QueryPlanner::Aggregate): window aggregations over a
// window table function (GROUP BY window_start, window_end, ...) or a group window
// (GROUP BY TUMBLE(ts, INTERVAL ...)), and non-windowed GROUP BY (an updating result).
// Plan: [map: keys and arguments] -> key-by -> window | aggregate -> [filter: HAVING] -> map.

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/sql/query_planner.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

using ast::ExprKind;

bool IsGroupWindow(const ast::Expr& e) {
  return e.kind == ExprKind::kCall && (e.name == "tumble" || e.name == "hop" || e.name == "session");
}

// Collects the aggregate and window-property calls of an expression (not inside aggregates).
void CollectCalls(const ast::Expr& e, std::vector<const ast::Expr*>& out) {
  if (e.kind == ExprKind::kCall && !e.over && (IsAggregateFunction(e.name) || IsWindowProperty(e.name))) {
    out.push_back(&e);
    return;
  }
  for (const auto& a : e.args) {
    if (a) CollectCalls(*a, out);
  }
  if (e.case_operand) CollectCalls(*e.case_operand, out);
  if (e.else_expr) CollectCalls(*e.else_expr, out);
}

// The spec's aggregate function for a SQL one.
absl::StatusOr<std::string> SpecAggregate(const ast::Expr& call) {
  const std::string& n = call.name;
  if (call.distinct && n != "count") {
    return SQL_ERROR(call.offset, "{}(DISTINCT ...) is not supported; only COUNT(DISTINCT ...)", n);
  }
  if (n == "count") return std::string(call.distinct ? "count_distinct" : "count");
  if (n == "first_value") return std::string("first");
  if (n == "last_value") return std::string("last");
  if (n == "stddev") return std::string("stddev_samp");
  if (n == "variance") return std::string("var_samp");
  if (n == "listagg") {
    if (call.args.size() == 2) {
      const auto& sep = call.args[1];
      if (sep->kind != ExprKind::kLiteral || !std::holds_alternative<std::string>(sep->value) ||
          std::get<std::string>(sep->value) != ",") {
        return SqlError(sep->offset, "LISTAGG supports only the default separator ','");
      }
    }
    return std::string("collect_list");
  }
  if (n == "collect") return SqlError(call.offset, "COLLECT (a multiset) is not supported");
  return n;  // sum, min, max, avg, stddev_pop, stddev_samp, var_pop, var_samp
}

absl::StatusOr<WindowAssignment> GroupWindow(const ast::Expr& call, const Rel& in,
                                             const ExprBinder& binder) {
  WindowAssignment w;
  w.offset = call.offset;
  const size_t want = call.name == "hop" ? 3 : 2;
  if (call.args.size() != want && call.args.size() != want + 1) {
    return SQL_ERROR(call.offset, "{}() takes the time attribute and {} interval{}", call.name,
                     want - 1, want == 3 ? "s (slide, size)" : "");
  }
  if (call.args[0]->kind != ExprKind::kColumn) {
    return SQL_ERROR(call.args[0]->offset, "{}(): the first argument must be a time attribute column",
                     call.name);
  }
  ASSIGN_OR_RETURN(int col, binder.ResolveColumn(*call.args[0]));
  const RelColumn& c = in.columns[static_cast<size_t>(col)];
  if (!c.rowtime && !c.proctime) {
    return SQL_ERROR(call.args[0]->offset, "{}(): '{}' is not a time attribute (declare WATERMARK "
                                           "FOR {} in its table, or use PROCTIME())",
                     call.name, c.name, c.name);
  }
  w.processing_time = c.proctime;
  std::vector<int64_t> ms;
  for (size_t i = 1; i < call.args.size(); ++i) {
    if (call.args[i]->kind != ExprKind::kInterval) {
      return SQL_ERROR(call.args[i]->offset, "{}(): expected an INTERVAL", call.name);
    }
    ms.push_back(call.args[i]->interval_ms);
  }
  if (call.name == "tumble") {
    w.kind = WindowAssignment::Kind::kTumble;
    w.size_ms = ms[0];
  } else if (call.name == "hop") {
    w.kind = WindowAssignment::Kind::kHop;
    w.slide_ms = ms[0];
    w.size_ms = ms[1];
  } else {
    w.kind = WindowAssignment::Kind::kSession;
    w.gap_ms = ms[0];
  }
  return w;
}

YAML::Node WindowBody(const WindowAssignment& w) {
  YAML::Node body(YAML::NodeType::Map);
  auto ms = [](int64_t v) { return fmt::format("{} ms", v); };
  switch (w.kind) {
    case WindowAssignment::Kind::kTumble:
      body["type"] = "tumbling";
      body["size"] = ms(w.size_ms);
      break;
    case WindowAssignment::Kind::kHop:
      body["type"] = "sliding";
      body["size"] = ms(w.size_ms);
      body["slide"] = ms(w.slide_ms);
      break;
    case WindowAssignment::Kind::kCumulate:
      body["type"] = "cumulate";
      body["size"] = ms(w.size_ms);
      body["step"] = ms(w.step_ms);
      break;
    case WindowAssignment::Kind::kSession:
      body["type"] = "session";
      body["gap"] = ms(w.gap_ms);
      break;
  }
  if (w.offset_ms != 0) body["offset"] = ms(w.offset_ms);
  if (w.processing_time) body["time"] = "processing";
  return body;
}

bool IsIntegral(core::Type t) {
  return t == core::Type::kInt64 || t == core::Type::kInt32;
}

}  // namespace

absl::StatusOr<Rel> QueryPlanner::Aggregate(const ast::Query& q, const Rel& in) {
  ExprBinder input(in, nullptr, &catalog_);
  input.AllowWindowProperties();
  std::optional<WindowAssignment> window = in.window;
  const ast::Expr* group_window = nullptr;
  bool has_start = false, has_end = false;
  std::vector<const ast::Expr*> keys;
  for (const auto& g : q.group_by) {
    if (in.window && g->kind == ExprKind::kColumn) {
      ASSIGN_OR_RETURN(int col, input.ResolveColumn(*g));
      const RelColumn& c = in.columns[static_cast<size_t>(col)];
      if (c.window_property) {
        if (c.name == "window_start") has_start = true;
        else if (c.name == "window_end") has_end = true;
        // window_time (window_end - 1) adds nothing to the grouping.
        continue;
      }
    }
    if (IsGroupWindow(*g)) {
      if (window) return SqlError(g->offset, "a query has one window");
      ASSIGN_OR_RETURN(WindowAssignment w, GroupWindow(*g, in, input));
      window = w;
      group_window = g.get();
      continue;
    }
    keys.push_back(g.get());
  }
  // GROUP BY the window_start and window_end of upstream windows: those windows again. Their
  // rows all carry window_end - 1 as event time, so a 1 ms tumbling window keyed by the window
  // columns collects exactly one upstream window per group.
  bool cascade = false;
  if (!window) {
    bool start = false, end = false;
    for (const ast::Expr* k : keys) {
      if (k->kind != ExprKind::kColumn) continue;
      auto col = input.ResolveColumn(*k);
      if (!col.ok()) continue;
      const auto bound = in.columns[static_cast<size_t>(*col)].window_bound;
      start |= bound == RelColumn::WindowBound::kStart;
      end |= bound == RelColumn::WindowBound::kEnd;
    }
    if (start && end) {
      cascade = true;
      WindowAssignment w;
      w.kind = WindowAssignment::Kind::kTumble;
      w.size_ms = 1;
      w.offset = q.offset;
      window = w;
    }
  }
  if (in.window && !(has_start && has_end)) {
    return SqlError(in.window->offset, "a window table function needs GROUP BY window_start, "
                                       "window_end (and any keys)");
  }
  // Aggregates and window properties of SELECT and HAVING.
  std::vector<const ast::Expr*> calls;
  for (const ast::SelectItem& item : q.select) {
    if (item.star) return SqlError(item.offset, "SELECT * cannot be used with GROUP BY");
    CollectCalls(*item.expr, calls);
  }
  if (q.having) CollectCalls(*q.having, calls);

  // The pre-aggregation projection: keys, then aggregate arguments.
  std::vector<Bound> pre;
  std::vector<std::string> pre_names;
  std::vector<std::string> taken;
  std::vector<std::string> key_fields;
  Grouping grouping;
  grouping.input = &input;
  std::vector<std::pair<std::string, Bound>> key_texts;  // input text -> (later) output
  if (window) {  // the window's own output fields
    taken.push_back("window_start");
    taken.push_back("window_end");
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSIGN_OR_RETURN(Bound b, input.Bind(*keys[i]));
    if (b.null_literal) return SqlError(keys[i]->offset, "GROUP BY NULL");
    std::string name = b.column >= 0 ? in.columns[static_cast<size_t>(b.column)].field
                                     : fmt::format("key_{}", i);
    name = FieldName(name, taken);
    key_fields.push_back(name);
    pre.push_back(b);
    pre_names.push_back(name);
    key_texts.emplace_back(b.text, b);
  }
  if (keys.empty()) {  // one group: a constant key
    Bound zero;
    zero.text = "0";
    zero.type = core::Type::kInt64;
    const std::string name = FieldName("global_key", taken);
    key_fields.push_back(name);
    pre.push_back(zero);
    pre_names.push_back(name);
  }
  YAML::Node aggregates(YAML::NodeType::Map);
  std::vector<std::pair<std::string, std::pair<std::string, core::Type>>> outputs;  // key -> field, type
  std::string agg_desc;
  for (const ast::Expr* call : calls) {
    ASSIGN_OR_RETURN(std::string key, input.CallKey(*call));
    if (grouping.calls.count(key) > 0) continue;
    Bound out;
    if (IsWindowProperty(call->name)) {
      if (group_window == nullptr) {
        return SQL_ERROR(call->offset, "{}() needs GROUP BY {}(...)", call->name,
                         call->name.substr(0, call->name.find('_')));
      }
      const std::string kind = call->name.substr(0, call->name.find('_'));
      ASSIGN_OR_RETURN(std::string window_key, input.CallKey(*group_window));
      if (kind != group_window->name || key.substr(key.find('|')) != window_key.substr(window_key.find('|'))) {
        return SQL_ERROR(call->offset, "{}() does not match the GROUP BY's {}(...)", call->name,
                         group_window->name);
      }
      const std::string prop = call->name.substr(call->name.find('_') + 1);
      out.type = core::Type::kTimestamp;
      if (prop == "rowtime") {  // window_end - 1: the rows' event time
        out.text = fmt::format("({} - 1)", QuoteField("window_end"));
        out.rowtime = true;
      } else {
        out.text = QuoteField(prop == "start" ? "window_start" : "window_end");
        out.column = static_cast<int>(key_fields.size()) + (prop == "start" ? 0 : 1);
      }
      grouping.calls[key] = out;
      continue;
    }
    ASSIGN_OR_RETURN(std::string fn, SpecAggregate(*call));
    std::string arg_field;
    core::Type arg_type = core::Type::kInt64;
    if (!call->star && call->args.empty()) {
      return SQL_ERROR(call->offset, "{}() needs an argument", call->name);
    }
    if (!call->star && (call->args.size() > 1 && call->name != "listagg")) {
      return SQL_ERROR(call->offset, "{}() takes one argument", call->name);
    }
    if (!call->star || call->filter) {
      Bound arg;
      if (call->star) {
        arg.text = "1";
        arg.type = core::Type::kInt64;
      } else {
        ASSIGN_OR_RETURN(arg, input.Bind(*call->args[0]));
        if (arg.null_literal) return SqlError(call->args[0]->offset, "an aggregate of NULL");
      }
      if (call->filter) {
        ASSIGN_OR_RETURN(Bound f, input.BindPredicate(*call->filter, "FILTER (WHERE ...)"));
        arg.text = fmt::format("CASE WHEN {} THEN {} END", f.text, arg.text);
        arg.column = -1;
      }
      arg_type = arg.type;
      arg_field = arg.column >= 0 ? in.columns[static_cast<size_t>(arg.column)].field
                                  : fmt::format("arg_{}", outputs.size());
      if (arg.column < 0 || std::find(pre_names.begin(), pre_names.end(), arg_field) == pre_names.end()) {
        if (arg.column < 0) arg_field = FieldName(arg_field, taken);
        pre.push_back(arg);
        pre_names.push_back(arg_field);
      }
    }
    const std::string field = FieldName(fmt::format("agg_{}", outputs.size()), taken);
    aggregates[field] = fmt::format("{}({})", fn, arg_field);
    agg_desc += fmt::format("{}{} = {}({}{})", agg_desc.empty() ? "" : ", ", field, call->name,
                            call->distinct ? "DISTINCT " : "", call->star ? "*" : arg_field);
    // Result types (the engine's): count -> int64; avg/stddev/var -> double; others keep.
    core::Type type = arg_type;
    if (fn == "count" || fn == "count_distinct") type = core::Type::kInt64;
    else if (fn == "avg" || fn.rfind("stddev", 0) == 0 || fn.rfind("var", 0) == 0) type = core::Type::kDouble;
    else if (fn == "collect_list") type = core::Type::kString;
    if (type == core::Type::kInt32) type = core::Type::kInt64;  // the expression language's ints
    out.text = QuoteField(field);
    out.type = type;
    if (fn == "avg" && IsIntegral(arg_type)) {
      // Flink: AVG of an integer column is an integer (the sum divided, truncated).
      out.text = fmt::format("to_int({})", QuoteField(field));
      out.type = core::Type::kInt64;
    }
    grouping.calls[key] = out;
    outputs.push_back({key, {field, type}});
  }
  // The projection before the key-by, unless the keys and arguments are plain columns.
  Rel keyed_input = in;
  keyed_input.window.reset();
  bool need_pre = keys.empty();
  for (size_t i = 0; i < pre.size(); ++i) {
    need_pre |= pre[i].column < 0 || in.columns[static_cast<size_t>(pre[i].column)].field != pre_names[i];
  }
  if (need_pre) {
    ASSIGN_OR_RETURN(keyed_input, Project(keyed_input, pre, pre_names, "group keys and arguments"));
  }
  if (in.updating) {
    if (window) {
      return SQL_ERROR(q.offset, "a window aggregation over an updating input ({}) is not "
                                 "supported", in.updating_reason);
    }
    for (const ast::Expr* call : calls) {
      const std::string& f = call->name;
      if (!((f == "count" && !call->distinct) || f == "sum" || f == "avg")) {
        return SQL_ERROR(call->offset, "{}() over an updating input ({}) is not supported yet: "
                                       "only COUNT, SUM and AVG take retractions",
                         f, in.updating_reason);
      }
    }
  }
  // The aggregation's output: keys, [window_start, window_end], aggregates.
  Rel agg;
  for (size_t i = 0; i < key_fields.size(); ++i) {
    RelColumn c{key_fields[i], "", key_fields[i], i < pre.size() ? pre[i].type : core::Type::kInt64};
    if (cascade && pre[i].column >= 0) {
      c.window_bound = in.columns[static_cast<size_t>(pre[i].column)].window_bound;
    }
    agg.columns.push_back(c);
  }
  if (window) {
    const bool event_time = !window->processing_time && !cascade;
    RelColumn start{"window_start", "", "window_start", core::Type::kTimestamp};
    RelColumn end{"window_end", "", "window_end", core::Type::kTimestamp};
    if (event_time) {
      start.window_bound = RelColumn::WindowBound::kStart;
      end.window_bound = RelColumn::WindowBound::kEnd;
    }
    agg.columns.push_back(start);
    agg.columns.push_back(end);
  }
  for (const auto& [key, ft] : outputs) agg.columns.push_back(RelColumn{ft.first, "", ft.first, ft.second});
  // The step needs an aggregate; a GROUP BY without any (SELECT DISTINCT) counts the rows.
  if (aggregates.size() == 0) aggregates[FieldName("group_rows", taken)] = "count()";
  if (window) {
    YAML::Node body = WindowBody(*window);
    body["aggregates"] = aggregates;
    agg.stream = spec_.AddKeyedStep(key_fields, "window", body, keyed_input.stream,
                                    fmt::format("WindowAggregate({}{}; {}) state: window contents "
                                                "per key and window, until the watermark passes "
                                                "the window's end", body["type"].as<std::string>(),
                                                cascade ? " of the upstream windows" : "",
                                                agg_desc));
  } else {
    YAML::Node body(YAML::NodeType::Map);
    body["aggregates"] = aggregates;
    body["changelog"] = true;
    if (auto ttl = StateTtl()) body["ttl"] = *ttl;
    agg.stream = spec_.AddKeyedStep(key_fields, "aggregate", body, keyed_input.stream,
                                    fmt::format("GroupAggregate({}) -> changelog +I/-U/+U; state: "
                                                "accumulators per key (bounded by "
                                                "table.exec.state.ttl)", agg_desc));
    agg.updating = true;
    agg.updating_reason = "a GROUP BY without a window";
  }
  // Keys as the SELECT sees them.
  for (size_t i = 0; i < key_texts.size(); ++i) {
    Bound b;
    b.text = QuoteField(key_fields[i]);
    b.type = agg.columns[i].type;
    b.column = static_cast<int>(i);
    grouping.keys[key_texts[i].first] = b;
  }
  if (window && !cascade && !window->processing_time) {
    // window_time: window_end - 1, the event time the window's rows carry (a time attribute for
    // windows further down).
    Bound t;
    t.text = fmt::format("({} - 1)", QuoteField("window_end"));
    t.type = core::Type::kTimestamp;
    t.rowtime = true;
    grouping.keys[QuoteField("$window_time")] = t;
  }
  if (window) {
    for (const char* prop : {"window_start", "window_end"}) {
      Bound b;
      b.text = QuoteField(prop);
      b.type = core::Type::kTimestamp;
      b.column = static_cast<int>(key_fields.size()) + (std::string_view(prop) == "window_end");
      for (const RelColumn& c : in.columns) {
        if (c.window_property && c.name == prop) {
          grouping.keys[QuoteField("$" + std::string(prop))] = b;
        }
      }
    }
  }
  ExprBinder binder(agg, &grouping, &catalog_);
  Rel result = agg;
  if (q.having) {
    ASSIGN_OR_RETURN(Bound h, binder.BindPredicate(*q.having, "HAVING"));
    result.stream = spec_.AddStep("filter", YAML::Node(h.text), agg.stream,
                                  fmt::format("Filter(HAVING: {})", h.text));
  }
  std::vector<Bound> exprs;
  std::vector<std::string> names;
  for (size_t i = 0; i < q.select.size(); ++i) {
    const ast::SelectItem& item = q.select[i];
    ASSIGN_OR_RETURN(Bound b, binder.Bind(*item.expr));
    if (b.null_literal) return SqlError(item.expr->offset, "an untyped NULL; write CAST(NULL AS type)");
    exprs.push_back(b);
    names.push_back(!item.alias.empty() ? item.alias
                    : item.expr->kind == ExprKind::kColumn ? item.expr->name
                                                           : fmt::format("EXPR${}", i));
  }
  return Project(result, exprs, names, "SELECT");
}

}  // namespace sluice::sql
