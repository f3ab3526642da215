// `over:` steps: OVER aggregations (runtime/operators/over_aggregate.h; docs/job-spec.md).
//
//   - key-by: [auction]
//   - over:
//       rows: 2              # or range: 10 s; rows/range: unbounded
//       aggregates: {recent: sum(price), n: count()}

#include "runtime/job/node_compilers.h"
#include "runtime/operators/over_aggregate.h"

namespace sluice::job {

absl::StatusOr<graph::StreamNode> CompileOver(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (c.key_fields.empty()) {
    return r.Error(c.step, "over: missing key: an over aggregation needs a key-by step before it");
  }
  if (!body.IsMap()) {
    return r.Error(body, "over: expected a mapping like {{rows: 2, aggregates: {{s: sum(x)}}}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "over", {"rows", "range", "aggregates"}));
  if (static_cast<bool>(body["rows"]) == static_cast<bool>(body["range"])) {
    return r.Error(body, "over: give exactly one of 'rows' (a row count or unbounded) or 'range' "
                         "(a duration or unbounded)");
  }
  if (!c.input_has_event_time) {
    return r.Error(c.step, "over: needs event time (declare event-time on the source)");
  }
  operators::OverAggregateSpec spec;
  spec.keys = c.key_fields;
  spec.frame = body["rows"] ? operators::OverFrame::kRows : operators::OverFrame::kRange;
  const char* key = body["rows"] ? "rows" : "range";
  ASSIGN_OR_RETURN(std::string bound, r.GetString(body, "over", key, true));
  if (bound != "unbounded") {
    if (spec.frame == operators::OverFrame::kRows) {
      ASSIGN_OR_RETURN(const int rows, r.GetInt(body, "over", "rows", 0));
      if (rows < 0) return r.Error(body["rows"], "over: rows must be >= 0 or unbounded");
      spec.preceding = rows;
    } else {
      ASSIGN_OR_RETURN(spec.preceding, r.GetDuration(body, "over", "range"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<operators::AggregateSpec> aggs, ParseAggregates(r, body, "over"));
  for (const operators::AggregateSpec& a : aggs) {
    operators::OverAggregateCall call;
    call.output = a.output_name;
    call.field = a.field;
    switch (a.kind) {
      case operators::AggregateKind::kCount:
        call.kind = a.field.empty() ? operators::OverAggKind::kCountStar
                                    : operators::OverAggKind::kCount;
        break;
      case operators::AggregateKind::kSum: call.kind = operators::OverAggKind::kSum; break;
      case operators::AggregateKind::kMin: call.kind = operators::OverAggKind::kMin; break;
      case operators::AggregateKind::kMax: call.kind = operators::OverAggKind::kMax; break;
      case operators::AggregateKind::kAvg: call.kind = operators::OverAggKind::kAvg; break;
      default:
        return r.Error(body["aggregates"][a.output_name], "over: aggregate '{}': {}() is not "
                       "supported over a frame (count, sum, min, max, avg)", a.output_name,
                       operators::AggregateKindName(a.kind));
    }
    spec.calls.push_back(std::move(call));
  }
  const core::SchemaPtr in = c.input;
  auto probe = operators::MakeOverAggregate(in, spec);
  if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
  graph::StreamNode node;
  node.name = fmt::format("Over({} {})", key, bound);
  node.keyed = true;
  node.output_schema = (*probe)->output_schema();
  node.op = [in, spec]() { return operators::MakeOverAggregate(in, spec); };
  return node;
}

}  // namespace sluice::job
