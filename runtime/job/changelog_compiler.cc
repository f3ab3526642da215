// `deduplicate:` and `top-n:` steps of the job spec (runtime/operators/deduplicate_operator.h,
// changelog_operators.h):
//
//   - key-by: [card]
//   - deduplicate: {keep: last, ttl: 1 d}       # first (default): an insert-only stream;
//                                               # last: an updating one (-U/+U)
//   - key-by: [origin]
//   - top-n: {n: 3, order-by: delay, order: desc, ttl: 1 d}   # an updating one (+I/-D)

#include "runtime/base/status.h"
#include "runtime/job/node_compilers.h"
#include "runtime/operators/changelog_operators.h"
#include "runtime/operators/deduplicate_operator.h"

namespace sluice::job {

absl::StatusOr<graph::StreamNode> CompileDeduplicate(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (c.key_fields.empty()) {
    return r.Error(c.step, "deduplicate: missing key: deduplicate needs a key-by step before it");
  }
  operators::DeduplicateSpec spec;
  spec.key_fields = c.key_fields;
  bool keep_last = false;
  if (!body.IsNull()) {
    if (!body.IsMap()) return r.Error(body, "deduplicate: expected a mapping like {{ttl: 1 h}}");
    RETURN_IF_ERROR(r.CheckKeys(body, "deduplicate", {"keep", "ttl"}));
    ASSIGN_OR_RETURN(std::string keep, r.GetString(body, "deduplicate", "keep", false, "first"));
    if (keep != "first" && keep != "last") {
      return r.Error(body["keep"], "deduplicate: unknown keep '{}' (expected first or last)", keep);
    }
    keep_last = keep == "last";
    if (body["ttl"]) {
      ASSIGN_OR_RETURN(spec.ttl_ms, r.GetDuration(body, "deduplicate", "ttl"));
    }
  }
  const core::SchemaPtr in = c.input;
  graph::StreamNode n;
  n.keyed = true;
  n.output_schema = in;
  if (keep_last) {
    const operators::KeepLastSpec last{spec.key_fields, spec.ttl_ms};
    auto probe = operators::MakeKeepLast(in, last);
    if (!probe.ok()) return r.Error(c.step, "deduplicate: {}", probe.status().message());
    n.name = "Deduplicate(keep last)";
    n.changelog = true;
    n.op = [in, last]() { return operators::MakeKeepLast(in, last); };
    return n;
  }
  auto probe = operators::MakeDeduplicate(in, spec);
  if (!probe.ok()) return r.Error(c.step, "deduplicate: {}", probe.status().message());
  n.name = "Deduplicate";
  n.op = [in, spec]() { return operators::MakeDeduplicate(in, spec); };
  return n;
}

absl::StatusOr<graph::StreamNode> CompileTopN(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (c.key_fields.empty()) {
    return r.Error(c.step, "top-n: missing key: top-n needs a key-by step before it");
  }
  if (!body.IsMap()) {
    return r.Error(body, "top-n: expected a mapping like {{n: 3, order-by: delay}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "top-n", {"n", "order-by", "order", "then-by", "rank-field",
                                             "ttl", "emit"}));
  operators::TopNSpec spec;
  spec.key_fields = c.key_fields;
  ASSIGN_OR_RETURN(const int n, r.GetInt(body, "top-n", "n", 0));
  if (!body["n"]) return r.Error(body, "top-n: missing required key 'n'");
  if (n < 1) return r.Error(body["n"], "top-n: n must be at least 1, got {}", n);
  spec.n = n;
  ASSIGN_OR_RETURN(spec.order_field, r.GetString(body, "top-n", "order-by", true));
  ASSIGN_OR_RETURN(std::string order, r.GetString(body, "top-n", "order", false, "desc"));
  if (order != "desc" && order != "asc") {
    return r.Error(body["order"], "top-n: unknown order '{}' (expected desc or asc)", order);
  }
  spec.descending = order == "desc";
  if (const YAML::Node then = body["then-by"]) {
    // then-by: [dateTime asc, id desc]
    if (!then.IsSequence()) return r.Error(then, "top-n: then-by must be a list like [t asc]");
    for (const auto& item : then) {
      std::string text = item.IsScalar() ? item.Scalar() : "";
      const auto space = text.find(' ');
      const std::string field = text.substr(0, space);
      const std::string dir = space == std::string::npos ? "asc" : text.substr(space + 1);
      if (field.empty() || (dir != "asc" && dir != "desc")) {
        return r.Error(item, "top-n: then-by entries are '<field> asc' or '<field> desc'");
      }
      spec.then_by.emplace_back(field, dir == "desc");
    }
  }
  if (body["rank-field"]) {
    ASSIGN_OR_RETURN(spec.rank_field, r.GetString(body, "top-n", "rank-field", true));
  }
  if (body["ttl"]) {
    ASSIGN_OR_RETURN(spec.ttl_ms, r.GetDuration(body, "top-n", "ttl"));
  }
  ASSIGN_OR_RETURN(std::string emit, r.GetString(body, "top-n", "emit", false, "updates"));
  if (emit != "updates" && emit != "final") {
    return r.Error(body["emit"], "top-n: unknown emit '{}' (expected updates or final)", emit);
  }
  spec.emit_final = emit == "final";
  if (spec.emit_final && !c.input_has_event_time) {
    return r.Error(body["emit"], "top-n: emit: final ranks per event time (a window Top-N): the "
                                 "input needs event time");
  }
  const core::SchemaPtr in = c.input;
  auto probe = operators::MakeTopN(in, spec);
  if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
  graph::StreamNode node;
  node.name = fmt::format("TopN({}, {} {})", spec.n, spec.order_field, order);
  node.keyed = true;
  node.changelog = !spec.emit_final;
  node.output_schema = (*probe)->output_schema();
  node.op = [in, spec]() { return operators::MakeTopN(in, spec); };
  return node;
}

}  // namespace sluice::job
