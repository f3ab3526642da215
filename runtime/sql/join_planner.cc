// Joins (QueryPlanner::Join, LookupJoin): equality conditions become the join's keys; bounds
// between the two sides' event times make an interval join; the other conditions filter the
// joined rows. Lookup joins (FOR SYSTEM_TIME AS OF) read a CSV file table.

#include <limits>

#include "runtime/base/status.h"
#include "runtime/sql/query_planner.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

using ast::ExprKind;

void Conjuncts(const ast::Expr* e, std::vector<const ast::Expr*>& out) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kBinary && e->name == "and") {
    Conjuncts(e->args[0].get(), out);
    Conjuncts(e->args[1].get(), out);
    return;
  }
  out.push_back(e);
}

// An event-time column of one side, plus a constant: `t`, `t + INTERVAL`, `t - INTERVAL`.
struct TimePoint {
  int side = -1;  // 0 left, 1 right
  int64_t plus_ms = 0;
};

std::optional<TimePoint> AsTimePoint(const ast::Expr& e, const Rel& left, const Rel& right) {
  int64_t plus = 0;
  const ast::Expr* col = &e;
  if (e.kind == ExprKind::kBinary && (e.name == "+" || e.name == "-") &&
      e.args[1]->kind == ExprKind::kInterval) {
    plus = e.name == "+" ? e.args[1]->interval_ms : -e.args[1]->interval_ms;
    col = e.args[0].get();
  }
  if (col->kind != ExprKind::kColumn) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    const Rel& r = side == 0 ? left : right;
    auto c = ExprBinder(r).ResolveColumn(*col);
    if (c.ok() && r.columns[static_cast<size_t>(*c)].rowtime) return TimePoint{side, plus};
  }
  return std::nullopt;
}

// Bounds on d = right time - left time from `a <= b` (a, b time points of different sides).
void LessOrEqual(const TimePoint& a, const TimePoint& b, int64_t strict, int64_t& lower,
                 int64_t& upper) {
  // a.t + a.p <= b.t + b.p - strict
  if (a.side == 0) {  // l + ap <= r + bp  =>  d >= ap - bp + strict
    lower = std::max(lower, a.plus_ms - b.plus_ms + strict);
  } else {            // r + ap <= l + bp  =>  d <= bp - ap - strict
    upper = std::min(upper, b.plus_ms - a.plus_ms - strict);
  }
}

// Whether a conjunct bounds the two sides' event times; updates lower/upper if so.
bool TimeBound(const ast::Expr& e, const Rel& left, const Rel& right, int64_t& lower,
               int64_t& upper) {
  if (e.kind == ExprKind::kBetween && !e.negated) {
    auto x = AsTimePoint(*e.args[0], left, right), lo = AsTimePoint(*e.args[1], left, right),
         hi = AsTimePoint(*e.args[2], left, right);
    if (!x || !lo || !hi || lo->side == x->side || hi->side == x->side) return false;
    LessOrEqual(*lo, *x, 0, lower, upper);
    LessOrEqual(*x, *hi, 0, lower, upper);
    return true;
  }
  if (e.kind != ExprKind::kBinary) return false;
  const std::string& op = e.name;
  if (op != "<" && op != "<=" && op != ">" && op != ">=") return false;
  auto a = AsTimePoint(*e.args[0], left, right), b = AsTimePoint(*e.args[1], left, right);
  if (!a || !b || a->side == b->side) return false;
  const int64_t strict = op.size() == 1 ? 1 : 0;
  if (op[0] == '<') LessOrEqual(*a, *b, strict, lower, upper);
  else LessOrEqual(*b, *a, strict, lower, upper);
  return true;
}

// A key of one side: an expression over that side only.
struct KeyPart {
  Bound bound;
  std::string field;
};

// Adds computed key fields to a side (a map step) when a key is not a plain column.
absl::StatusOr<Rel> WithKeyFields(QueryPlanner& planner, const Rel& side, std::vector<KeyPart>& keys,
                                  const std::string& prefix) {
  bool computed = false;
  for (const KeyPart& k : keys) computed |= k.bound.column < 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].bound.column >= 0) keys[i].field = side.columns[static_cast<size_t>(keys[i].bound.column)].field;
  }
  if (!computed) return side;
  std::vector<Bound> exprs;
  std::vector<std::string> names;
  std::vector<std::string> taken;
  for (size_t i = 0; i < side.columns.size(); ++i) {
    const RelColumn& c = side.columns[i];
    if (c.field.empty()) continue;
    exprs.push_back(ColumnBound(side, i));
    names.push_back(c.field);
    taken.push_back(c.field);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].bound.column >= 0) continue;
    keys[i].field = FieldName(fmt::format("{}key_{}", prefix, i), taken);
    exprs.push_back(keys[i].bound);
    names.push_back(keys[i].field);
  }
  ASSIGN_OR_RETURN(Rel out, planner.Project(side, exprs, names, "join keys"));
  // Keep the SQL view of the side's columns (names, qualifiers, time attributes); the key
  // fields are extra, unnamed columns.
  Rel result = side;
  result.stream = out.stream;
  for (size_t i = side.Schema()->num_fields(); i < out.columns.size(); ++i) {
    RelColumn hidden = out.columns[i];
    hidden.name = "";  // not visible to SQL
    result.columns.push_back(hidden);
  }
  return result;
}

// `l.<bound> = r.<bound>` (either way round) for window_start / window_end of two window table
// functions.
bool IsWindowBoundEquality(const ast::Expr& e, const Rel& left, const Rel& right,
                           const std::string& bound) {
  if (e.kind != ExprKind::kBinary || e.name != "=") return false;
  auto is_bound = [&](const ast::Expr& x, const Rel& rel) {
    if (x.kind != ExprKind::kColumn) return false;
    auto c = ExprBinder(rel).ResolveColumn(x);
    return c.ok() && rel.columns[static_cast<size_t>(*c)].window_property &&
           rel.columns[static_cast<size_t>(*c)].name == bound;
  };
  return (is_bound(*e.args[0], left) && is_bound(*e.args[1], right)) ||
         (is_bound(*e.args[0], right) && is_bound(*e.args[1], left));
}

YAML::Node Keys(const std::vector<KeyPart>& keys) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const KeyPart& k : keys) n.push_back(k.field);
  return n;
}

}  // namespace

absl::StatusOr<Rel> QueryPlanner::Join(const Rel& left_in, const Rel& right_in, ast::JoinType type,
                                       const ast::Expr* on, int offset) {
  const bool outer =
      type == ast::JoinType::kLeft || type == ast::JoinType::kRight || type == ast::JoinType::kFull;
  const bool window_join = left_in.window.has_value() && right_in.window.has_value();
  if ((left_in.window || right_in.window) && !window_join) {
    return SqlError(offset, "a window table function joins only another one (a window join)");
  }
  if (window_join && outer) {
    return SqlError(offset, "outer window joins are not supported yet");
  }
  if (left_in.updating || right_in.updating) {
    return SQL_ERROR(offset, "a join of an updating input ({}) is not supported yet",
                     left_in.updating ? left_in.updating_reason : right_in.updating_reason);
  }
  std::vector<const ast::Expr*> conjuncts;
  Conjuncts(on, conjuncts);
  ExprBinder lb(left_in, nullptr, &catalog_), rb(right_in, nullptr, &catalog_);
  std::vector<KeyPart> lkeys, rkeys;
  std::vector<const ast::Expr*> residual, time_bounds;
  int64_t lower = std::numeric_limits<int64_t>::min(), upper = std::numeric_limits<int64_t>::max();
  bool same_start = false, same_end = false;
  for (const ast::Expr* c : conjuncts) {
    if (window_join && IsWindowBoundEquality(*c, left_in, right_in, "window_start")) {
      same_start = true;
      continue;
    }
    if (window_join && IsWindowBoundEquality(*c, left_in, right_in, "window_end")) {
      same_end = true;
      continue;
    }
    if (c->kind == ExprKind::kBinary && c->name == "=") {
      for (int swap = 0; swap < 2; ++swap) {
        auto l = lb.Bind(*c->args[swap]);
        auto r = rb.Bind(*c->args[1 - swap]);
        if (l.ok() && r.ok() && !l->null_literal && !r->null_literal) {
          if (l->type != r->type) {
            return SQL_ERROR(c->offset, "join keys of different types: {} and {}",
                             core::TypeName(l->type), core::TypeName(r->type));
          }
          lkeys.push_back(KeyPart{*l, ""});
          rkeys.push_back(KeyPart{*r, ""});
          c = nullptr;
          break;
        }
      }
      if (c == nullptr) continue;
    }
    if (TimeBound(*c, left_in, right_in, lower, upper)) {
      time_bounds.push_back(c);
      continue;
    }
    residual.push_back(c);
  }
  if (lkeys.empty()) {
    return SqlError(offset, "a join needs an equality condition between its two sides (a "
                            "cross join of streams is not supported)");
  }
  if (window_join && (!same_start || !same_end)) {
    return SqlError(offset, "a window join needs L.window_start = R.window_start AND "
                            "L.window_end = R.window_end in its ON");
  }
  const WindowAssignment* window = window_join ? &*left_in.window : nullptr;
  if (window != nullptr) {
    const WindowAssignment& r = *right_in.window;
    const bool same = window->kind == r.kind && window->size_ms == r.size_ms &&
                      window->slide_ms == r.slide_ms && window->offset_ms == r.offset_ms &&
                      !window->processing_time && !r.processing_time;
    if (!same || (window->kind != WindowAssignment::Kind::kTumble &&
                  window->kind != WindowAssignment::Kind::kHop)) {
      return SqlError(offset, "a window join needs the same TUMBLE or HOP windows on event time "
                              "on both sides");
    }
    // Rows pair within their windows: time conditions are ordinary conditions.
    residual.insert(residual.end(), time_bounds.begin(), time_bounds.end());
    time_bounds.clear();
    lower = std::numeric_limits<int64_t>::min();
  }
  const bool interval = lower != std::numeric_limits<int64_t>::min() &&
                        upper != std::numeric_limits<int64_t>::max();
  if (!interval) {
    // One-sided (or no) time bounds: ordinary conditions on the joined rows.
    residual.insert(residual.end(), time_bounds.begin(), time_bounds.end());
  }
  if (outer && (interval || !residual.empty())) {
    return SqlError((interval ? time_bounds : residual)[0]->offset,
                    "an outer join's ON takes equalities between the two sides only (other "
                    "conditions are not supported yet in outer joins)");
  }
  const std::string id = std::to_string(++unique_);
  ASSIGN_OR_RETURN(Rel left, WithKeyFields(*this, left_in, lkeys, "l" + id + "_"));
  ASSIGN_OR_RETURN(Rel right, WithKeyFields(*this, right_in, rkeys, "r" + id + "_"));
  // Output fields: the left's, then the right's, prefixed where the left has the name.
  std::vector<std::string> left_fields;
  for (const RelColumn& c : left.columns) {
    if (!c.field.empty()) left_fields.push_back(c.field);
  }
  std::string prefix = "right" + id + "_";
  Rel out;
  for (RelColumn c : left.columns) {
    c.rowtime = false;
    c.window_bound = RelColumn::WindowBound::kNone;
    out.columns.push_back(c);
  }
  for (RelColumn c : right.columns) {
    if (!c.field.empty() &&
        std::find(left_fields.begin(), left_fields.end(), c.field) != left_fields.end()) {
      c.field = prefix + c.field;
    }
    c.rowtime = false;
    c.window_bound = RelColumn::WindowBound::kNone;
    out.columns.push_back(c);
  }
  YAML::Node body(YAML::NodeType::Map);
  YAML::Node l(YAML::NodeType::Map), r(YAML::NodeType::Map);
  l["input"] = left.stream;
  l["key"] = Keys(lkeys);
  r["input"] = right.stream;
  r["key"] = Keys(rkeys);
  body["left"] = l;
  body["right"] = r;
  body["right-prefix"] = prefix;
  if (outer) {
    body["type"] = type == ast::JoinType::kLeft ? "left" : type == ast::JoinType::kRight ? "right"
                                                                                      : "full";
    out.updating = true;
    out.updating_reason = "an outer join";
  }
  std::string keys;
  for (size_t i = 0; i < lkeys.size(); ++i) {
    keys += fmt::format("{}{} = {}", i > 0 ? " AND " : "", lkeys[i].field, rkeys[i].field);
  }
  if (window != nullptr) {
    YAML::Node w(YAML::NodeType::Map);
    w["type"] = window->kind == WindowAssignment::Kind::kTumble ? "tumbling" : "sliding";
    w["size"] = fmt::format("{} ms", window->size_ms);
    if (window->kind == WindowAssignment::Kind::kHop) w["slide"] = fmt::format("{} ms", window->slide_ms);
    body["window"] = w;
    out.stream = spec_.AddMultiInputStep(
        "window-join", body, {left.stream, right.stream},
        fmt::format("WindowJoin({}; {} windows of {} ms) state: the rows of both sides until "
                    "their last window ends", keys, w["type"].as<std::string>(), window->size_ms));
  } else if (interval) {
    YAML::Node between(YAML::NodeType::Map);
    between["lower"] = fmt::format("{} ms", lower);
    between["upper"] = fmt::format("{} ms", upper);
    body["between"] = between;
    out.stream = spec_.AddMultiInputStep(
        "interval-join", body, {left.stream, right.stream},
        fmt::format("IntervalJoin({}; right time - left time in [{} ms, {} ms]) state: rows of "
                    "both sides until the watermark passes their last possible match",
                    keys, lower, upper));
  } else {
    if (auto ttl = StateTtl()) body["ttl"] = *ttl;
    out.stream = spec_.AddMultiInputStep(
        "join", body, {left.stream, right.stream},
        fmt::format("Join({}; {}){} state: every row of both sides{}",
                    outer ? body["type"].as<std::string>() : "inner", keys,
                    outer ? " -> changelog (padded rows retracted when a match arrives)" : "",
                    body["ttl"] ? " until table.exec.state.ttl" : " (unbounded without table.exec.state.ttl)"));
  }
  for (const ast::Expr* c : residual) {
    ASSIGN_OR_RETURN(out, Filter(out, *c, "join condition"));
  }
  return out;
}

absl::StatusOr<Rel> QueryPlanner::LookupJoin(const Rel& left_in, const ast::TableRef& ref,
                                             ast::JoinType type, const ast::Expr* on, int offset) {
  if (type != ast::JoinType::kInner && type != ast::JoinType::kLeft) {
    return SqlError(offset, "a lookup join is INNER or LEFT");
  }
  const TableDef* table = catalog_.FindTable(ref.name);
  if (table == nullptr) {
    return SQL_ERROR(ref.offset, "unknown table '{}' (tables: {})", ref.name, catalog_.TableNames());
  }
  std::string connector, format, path, delimiter = ",";
  bool header = false;
  std::string reload;
  for (const ast::Option& o : table->options) {
    if (o.key == "connector") connector = o.value;
    if (o.key == "format") format = o.value;
    if (o.key == "path") path = o.value;
    if (o.key == "csv.field-delimiter") delimiter = o.value;
    if (o.key == "csv.header") header = o.value == "true";
    if (o.key == "lookup.reload-interval") reload = o.value;
  }
  if (connector != "filesystem" || format != "csv") {
    return SQL_ERROR(ref.offset, "lookup join: table '{}' must be a filesystem table in csv format "
                                 "(a file every subtask loads)", ref.name);
  }
  ExprBinder lb(left_in, nullptr, &catalog_);
  ASSIGN_OR_RETURN(int time_col, lb.ResolveColumn(*ref.system_time));
  if (!left_in.columns[static_cast<size_t>(time_col)].proctime) {
    return SqlError(ref.system_time->offset, "FOR SYSTEM_TIME AS OF needs a processing-time "
                                             "attribute (PROCTIME()) of the probe side");
  }
  const std::string qualifier = ref.alias.empty() ? ref.name : ref.alias;
  Rel dim;
  for (const TableColumn& c : table->columns) {
    if (!c.computed) dim.columns.push_back(RelColumn{c.name, qualifier, c.name, c.type});
  }
  ExprBinder db(dim, nullptr, &catalog_);
  std::vector<const ast::Expr*> conjuncts;
  Conjuncts(on, conjuncts);
  std::vector<KeyPart> keys;
  std::vector<std::string> table_keys;
  for (const ast::Expr* c : conjuncts) {
    bool matched = false;
    if (c->kind == ExprKind::kBinary && c->name == "=") {
      for (int swap = 0; swap < 2 && !matched; ++swap) {
        const ast::Expr& t = *c->args[1 - swap];
        if (t.kind != ExprKind::kColumn) continue;
        auto col = db.ResolveColumn(t);
        auto s = lb.Bind(*c->args[swap]);
        if (!col.ok() || !s.ok()) continue;
        if (s->type != dim.columns[static_cast<size_t>(*col)].type) {
          return SQL_ERROR(c->offset, "lookup key types differ: {} and {}", core::TypeName(s->type),
                           core::TypeName(dim.columns[static_cast<size_t>(*col)].type));
        }
        keys.push_back(KeyPart{*s, ""});
        table_keys.push_back(dim.columns[static_cast<size_t>(*col)].field);
        matched = true;
      }
    }
    if (!matched) {
      return SqlError(c->offset, "a lookup join's ON has equalities between the stream and the "
                                 "table's columns only");
    }
  }
  if (keys.empty()) return SqlError(offset, "a lookup join needs ON <stream expr> = <table column>");
  const std::string id = std::to_string(++unique_);
  ASSIGN_OR_RETURN(Rel left, WithKeyFields(*this, left_in, keys, "l" + id + "_"));
  std::vector<std::string> taken;
  for (const RelColumn& c : left.columns) {
    if (!c.field.empty()) taken.push_back(c.field);
  }
  YAML::Node t(YAML::NodeType::Map), schema(YAML::NodeType::Map), on_node(YAML::NodeType::Map),
      select(YAML::NodeType::Map);
  t["path"] = path;
  for (const RelColumn& c : dim.columns) schema[c.field] = std::string(core::TypeName(c.type));
  t["schema"] = schema;
  if (delimiter != ",") t["delimiter"] = delimiter;
  t["header"] = header;
  if (!reload.empty()) t["reload-interval"] = reload;
  for (size_t i = 0; i < keys.size(); ++i) on_node[keys[i].field] = table_keys[i];
  Rel out = left;
  for (RelColumn c : dim.columns) {
    const std::string table_field = c.field;
    c.field = FieldName(c.field, taken);
    select[c.field] = table_field;
    out.columns.push_back(c);
  }
  YAML::Node body(YAML::NodeType::Map);
  body["table"] = t;
  body["on"] = on_node;
  body["select"] = select;
  body["type"] = type == ast::JoinType::kLeft ? "left" : "inner";
  out.stream = spec_.AddStep("lookup-join", body, left.stream,
                             fmt::format("LookupJoin({} table {} from {}) state: none (the file "
                                         "is loaded by every subtask)",
                                         type == ast::JoinType::kLeft ? "left" : "inner",
                                         ref.name, path));
  return out;
}

}  // namespace sluice::sql
