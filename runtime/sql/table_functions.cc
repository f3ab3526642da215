// Window table functions in FROM (QueryPlanner::WindowFunction): TUMBLE, HOP, CUMULATE and
// SESSION over a table, written as Flink's TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL ...))
// or TUMBLE(t, ts, INTERVAL ...), with positional or named (DATA => ..., TIMECOL => ...)
// arguments. The result is the table's columns plus window_start, window_end and window_time,
// which the GROUP BY window_start, window_end above it turns into a window step.

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/sql/query_planner.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {

absl::StatusOr<Rel> QueryPlanner::WindowFunction(const ast::TableRef& ref, const Ctes* ctes) {
  using Kind = WindowAssignment::Kind;
  static const std::map<std::string, std::pair<Kind, std::vector<std::string>>> kFunctions = {
      {"tumble", {Kind::kTumble, {"data", "timecol", "size", "offset"}}},
      {"hop", {Kind::kHop, {"data", "timecol", "slide", "size", "offset"}}},
      {"cumulate", {Kind::kCumulate, {"data", "timecol", "step", "size", "offset"}}},
      {"session", {Kind::kSession, {"data", "timecol", "gap"}}},
  };
  auto fn = kFunctions.find(ref.name);
  if (fn == kFunctions.end()) {
    return SQL_ERROR(ref.offset, "unknown table function '{}' (expected TUMBLE, HOP, CUMULATE or "
                                 "SESSION)", ref.name);
  }
  const std::vector<std::string>& params = fn->second.second;
  const std::string name = absl::AsciiStrToUpper(ref.name);  // for messages
  std::map<std::string, const ast::Expr*> args;
  for (size_t i = 0; i < ref.args.size(); ++i) {
    std::string arg = ref.arg_names[i];
    if (arg.empty()) {
      if (i >= params.size()) {
        return SQL_ERROR(ref.args[i]->offset, "{}() takes at most {} arguments", name,
                         params.size());
      }
      arg = params[i];
    }
    if (std::find(params.begin(), params.end(), arg) == params.end()) {
      return SQL_ERROR(ref.args[i]->offset, "{}() has no parameter '{}'", name, arg);
    }
    args[arg] = ref.args[i].get();
  }
  for (const std::string& p : params) {
    if (p != "offset" && args.count(p) == 0) {
      return SQL_ERROR(ref.offset, "{}() needs its {} argument", name, p);
    }
  }
  const ast::Expr& data = *args["data"];
  if (data.kind != ast::ExprKind::kColumn || !data.qualifier.empty()) {
    return SQL_ERROR(data.offset, "{}(): the first argument is a table: TABLE t", name);
  }
  ASSIGN_OR_RETURN(Rel rel, PlanNamed(data.name, data.offset, ctes));
  const std::string qualifier = ref.alias.empty() ? data.name : ref.alias;
  rel = Requalify(std::move(rel), qualifier);
  if (rel.window) return SqlError(data.offset, "a window table function over windows");
  const ast::Expr& time = *args["timecol"];
  if (time.kind != ast::ExprKind::kColumn) {
    return SQL_ERROR(time.offset, "{}(): the time column is DESCRIPTOR(column)", name);
  }
  ASSIGN_OR_RETURN(int col, ExprBinder(rel).ResolveColumn(time));
  const RelColumn& tc = rel.columns[static_cast<size_t>(col)];
  if (!tc.rowtime && !tc.proctime) {
    return SQL_ERROR(time.offset, "{}(): '{}' is not a time attribute (declare WATERMARK FOR {} "
                                  "in its table, or use a PROCTIME() column)",
                     name, tc.name, tc.name);
  }
  WindowAssignment w;
  w.kind = fn->second.first;
  w.offset = ref.offset;
  w.processing_time = tc.proctime;
  auto interval = [&](const char* p) -> absl::StatusOr<int64_t> {
    auto it = args.find(p);
    if (it == args.end()) return 0;
    if (it->second->kind != ast::ExprKind::kInterval || it->second->interval_ms <= 0) {
      if (std::string_view(p) == "offset" && it->second->kind == ast::ExprKind::kInterval) {
        return it->second->interval_ms;
      }
      return SQL_ERROR(it->second->offset, "{}(): {} must be a positive INTERVAL", name, p);
    }
    return it->second->interval_ms;
  };
  ASSIGN_OR_RETURN(w.size_ms, interval("size"));
  ASSIGN_OR_RETURN(w.slide_ms, interval("slide"));
  ASSIGN_OR_RETURN(w.step_ms, interval("step"));
  ASSIGN_OR_RETURN(w.gap_ms, interval("gap"));
  ASSIGN_OR_RETURN(w.offset_ms, interval("offset"));
  if (w.kind == Kind::kSession && w.processing_time) {
    return SqlError(ref.offset, "SESSION windows need an event-time attribute");
  }
  for (const char* prop : {"window_start", "window_end", "window_time"}) {
    RelColumn c{prop, qualifier, "", core::Type::kTimestamp};
    c.window_property = true;
    rel.columns.push_back(c);
  }
  rel.window = w;
  return rel;
}

}  // namespace sluice::sql
