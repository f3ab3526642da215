// `interval-join:` steps of the job spec (runtime/operators/interval_join.h):
//
//   - interval-join:
//       left:  {input: payments, key: [card]}
//       right: {input: logins, key: [card]}
//       between: {lower: -10 min, upper: 0 s}   # right.ts - left.ts in [lower, upper]
//       right-prefix: login_                     # for right fields the left also has
//
//   - join:                                     # a regular inner join (no time bounds)
//       left:  {input: orders, key: [customer]}
//       right: {input: customers, key: [id]}
//       ttl: 1 d                                 # buffered rows expire (processing time)
//
// Both steps partition their inputs by their keys themselves (no key-by steps before them).

#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/job/node_compilers.h"
#include "runtime/operators/interval_join.h"

namespace sluice::job {
namespace {

// A signed duration: "-10 min", "5 s", "0".
absl::StatusOr<int64_t> SignedDuration(const SpecReader& r, const YAML::Node& map,
                                       const std::string& key) {
  const YAML::Node v = map[key];
  if (!v) return r.Error(map, "interval-join: missing required key '{}'", key);
  if (!v.IsScalar()) return r.Error(v, "interval-join: '{}' must be a duration like -5 min", key);
  std::string text = v.Scalar();
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.erase(0, 1);
  absl::StatusOr<int64_t> ms = ParseDurationMs(text);
  if (!ms.ok()) return r.Error(v, "interval-join: {}: {}", key, ms.status().message());
  return negative ? -*ms : *ms;
}

}  // namespace

absl::StatusOr<IntervalJoinInputs> IntervalJoinInputsOf(const SpecReader& r,
                                                        const YAML::Node& body, bool bounded) {
  const std::string what = bounded ? "interval-join" : "join";
  if (!body.IsMap()) {
    return r.Error(body, "{}: expected a mapping with left, right and {}", what,
                   bounded ? "between" : "ttl");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, what,
                              {"left", "right", bounded ? "between" : "ttl", "right-prefix"}));
  IntervalJoinInputs in;
  in.bounded = bounded;
  for (const char* side : {"left", "right"}) {
    const YAML::Node s = body[side];
    if (!s || !s.IsMap()) {
      return r.Error(s ? s : body, "{}: '{}' must be a mapping like {{input: <stream>, key: "
                     "[field]}}", what, side);
    }
    RETURN_IF_ERROR(r.CheckKeys(s, fmt::format("{} {}", what, side), {"input", "key"}));
    if (!s["input"]) return r.Error(s, "{} {}: missing required key 'input'", what, side);
    std::vector<std::string> keys;
    const YAML::Node k = s["key"];
    if (k && k.IsScalar()) keys.push_back(k.Scalar());
    if (k && k.IsSequence()) for (const auto& f : k) keys.push_back(f.as<std::string>());
    if (keys.empty()) {
      return r.Error(k ? k : s, "{} {}: 'key' must name the join key field(s)", what, side);
    }
    (std::string_view(side) == "left" ? in.left : in.right) = s["input"];
    (std::string_view(side) == "left" ? in.left_keys : in.right_keys) = std::move(keys);
  }
  return in;
}

absl::StatusOr<graph::StreamNode> CompileIntervalJoin(const SpecReader& r, const YAML::Node& body,
                                                      const IntervalJoinInputs& in,
                                                      core::SchemaPtr left, core::SchemaPtr right) {
  operators::IntervalJoinSpec spec;
  spec.left_keys = in.left_keys;
  spec.right_keys = in.right_keys;
  spec.bounded = in.bounded;
  const std::string what = in.bounded ? "interval-join" : "join";
  ASSIGN_OR_RETURN(spec.right_prefix, r.GetString(body, what, "right-prefix", false, "right_"));
  if (!in.bounded) {
    if (body["ttl"]) {
      ASSIGN_OR_RETURN(spec.state_ttl_ms, r.GetDuration(body, "join", "ttl"));
    }
    auto probe = operators::MakeIntervalJoin(left, right, spec);
    if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
    graph::StreamNode n;
    n.name = spec.state_ttl_ms > 0 ? fmt::format("Join(ttl={})", spec.state_ttl_ms) : "Join";
    n.keyed = true;
    n.num_inputs = 2;
    n.output_schema = (*probe)->output_schema();
    n.op = [left, right, spec]() { return operators::MakeIntervalJoin(left, right, spec); };
    return n;
  }
  const YAML::Node between = body["between"];
  if (!between || !between.IsMap()) {
    return r.Error(between ? between : body,
                   "interval-join: 'between' must be a mapping like {{lower: -5 min, upper: 0 s}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(between, "interval-join between", {"lower", "upper"}));
  ASSIGN_OR_RETURN(spec.lower_ms, SignedDuration(r, between, "lower"));
  ASSIGN_OR_RETURN(spec.upper_ms, SignedDuration(r, between, "upper"));
  auto probe = operators::MakeIntervalJoin(left, right, spec);
  if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
  graph::StreamNode n;
  n.name = fmt::format("IntervalJoin(between=[{}, {}])", spec.lower_ms, spec.upper_ms);
  n.keyed = true;
  n.num_inputs = 2;
  n.output_schema = (*probe)->output_schema();
  n.op = [left, right, spec]() { return operators::MakeIntervalJoin(left, right, spec); };
  return n;
}

}  // namespace sluice::job
