// `interval-join:` steps of the job spec (runtime/operators/interval_join.h):
//
//   - interval-join:
//       left:  {input: payments, key: [card]}
//       right: {input: logins, key: [card]}
//       between: {lower: -10 min, upper: 0 s}   # right.ts - left.ts in [lower, upper]
//       right-prefix: login_                     # for right fields the left also has
//
//   - window-join:                              # pairs in the same window (Flink's join().window())
//       left:  {input: clicks, key: [user]}
//       right: {input: views, key: [user]}
//       window: {type: tumbling, size: 1 min}    # or sliding with slide
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

std::string_view JoinStepName(JoinKind kind) {
  switch (kind) {
    case JoinKind::kInterval: return "interval-join";
    case JoinKind::kRegular: return "join";
    case JoinKind::kWindow: return "window-join";
    case JoinKind::kConnect: return "process";
  }
  return "join";
}

absl::StatusOr<IntervalJoinInputs> IntervalJoinInputsOf(const SpecReader& r,
                                                        const YAML::Node& body, JoinKind kind) {
  const std::string what(JoinStepName(kind));
  const char* own = kind == JoinKind::kInterval ? "between"
                    : kind == JoinKind::kWindow ? "window"
                                                : "ttl";
  if (!body.IsMap()) {
    return r.Error(body, "{}: expected a mapping with left, right and {}", what, own);
  }
  if (kind == JoinKind::kRegular) {
    RETURN_IF_ERROR(r.CheckKeys(body, what, {"left", "right", own, "right-prefix", "type"}));
  } else {
    RETURN_IF_ERROR(r.CheckKeys(body, what, {"left", "right", own, "right-prefix"}));
  }
  IntervalJoinInputs in;
  in.kind = kind;
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

namespace {

// `window: {type: tumbling | sliding, size, slide}` of a window join.
absl::StatusOr<operators::WindowAssigner> JoinWindow(const SpecReader& r, const YAML::Node& body) {
  const YAML::Node w = body["window"];
  if (!w || !w.IsMap()) {
    return r.Error(w ? w : body, "window-join: 'window' must be a mapping like {{type: tumbling, "
                   "size: 1 min}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(w, "window-join window", {"type", "size", "slide"}));
  ASSIGN_OR_RETURN(std::string type, r.GetString(w, "window-join window", "type", false, "tumbling"));
  ASSIGN_OR_RETURN(int64_t size, r.GetDuration(w, "window-join window", "size"));
  absl::StatusOr<operators::WindowAssigner> a = absl::InvalidArgumentError("");
  if (type == "tumbling") {
    if (w["slide"]) return r.Error(w["slide"], "window-join: 'slide' needs type: sliding");
    a = operators::WindowAssigner::Tumbling(size);
  } else if (type == "sliding" || type == "hop") {
    ASSIGN_OR_RETURN(int64_t slide, r.GetDuration(w, "window-join window", "slide"));
    a = operators::WindowAssigner::Sliding(size, slide);
  } else {
    return r.Error(w["type"], "window-join: unknown window type '{}' (expected tumbling or sliding)",
                   type);
  }
  if (!a.ok()) return r.Error(w, "window-join: {}", a.status().message());
  return a;
}

}  // namespace

absl::StatusOr<graph::StreamNode> CompileIntervalJoin(const SpecReader& r, const YAML::Node& body,
                                                      const IntervalJoinInputs& in,
                                                      core::SchemaPtr left, core::SchemaPtr right) {
  operators::IntervalJoinSpec spec;
  spec.left_keys = in.left_keys;
  spec.right_keys = in.right_keys;
  spec.bounded = in.kind != JoinKind::kRegular;
  const std::string what(JoinStepName(in.kind));
  ASSIGN_OR_RETURN(spec.right_prefix, r.GetString(body, what, "right-prefix", false, "right_"));
  std::string name;
  switch (in.kind) {
    case JoinKind::kRegular:
      if (body["ttl"]) {
        ASSIGN_OR_RETURN(spec.state_ttl_ms, r.GetDuration(body, "join", "ttl"));
      }
      {
        // type: inner (default) | left | right | full (outer joins: an updating result)
        ASSIGN_OR_RETURN(std::string type, r.GetString(body, "join", "type", false, "inner"));
        if (type != "inner" && type != "left" && type != "right" && type != "full") {
          return r.Error(body["type"], "join: unknown type '{}' (expected inner, left, right or "
                                       "full)", type);
        }
        spec.outer_left = type == "left" || type == "full";
        spec.outer_right = type == "right" || type == "full";
        name = type == "inner" ? "Join" : fmt::format("Join({})", type);
      }
      if (spec.state_ttl_ms > 0) name = fmt::format("{}(ttl={})", name, spec.state_ttl_ms);
      break;
    case JoinKind::kWindow: {
      ASSIGN_OR_RETURN(spec.window, JoinWindow(r, body));
      name = fmt::format("WindowJoin({}, {})", spec.window->size_ms(), spec.window->slide_ms());
      break;
    }
    case JoinKind::kConnect: return r.Error(body, "process: not a join");
    case JoinKind::kInterval: {
      const YAML::Node between = body["between"];
      if (!between || !between.IsMap()) {
        return r.Error(between ? between : body, "interval-join: 'between' must be a mapping "
                       "like {{lower: -5 min, upper: 0 s}}");
      }
      RETURN_IF_ERROR(r.CheckKeys(between, "interval-join between", {"lower", "upper"}));
      ASSIGN_OR_RETURN(spec.lower_ms, SignedDuration(r, between, "lower"));
      ASSIGN_OR_RETURN(spec.upper_ms, SignedDuration(r, between, "upper"));
      name = fmt::format("IntervalJoin(between=[{}, {}])", spec.lower_ms, spec.upper_ms);
      break;
    }
  }
  auto probe = operators::MakeIntervalJoin(left, right, spec);
  if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
  graph::StreamNode n;
  n.name = std::move(name);
  n.keyed = true;
  n.num_inputs = 2;
  n.changelog = spec.outer_left || spec.outer_right;  // padded rows are retracted later
  n.output_schema = (*probe)->output_schema();
  n.op = [left, right, spec]() { return operators::MakeIntervalJoin(left, right, spec); };
  return n;
}

}  // namespace sluice::job
