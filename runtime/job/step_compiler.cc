#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/expr/expression.h"
#include "runtime/job/node_compilers.h"
#include "runtime/operators/basic_operators.h"
#include "runtime/operators/deduplicate_operator.h"
#include "runtime/operators/rolling_aggregate.h"
#include "runtime/operators/split_operator.h"
#include "runtime/operators/window_operator.h"

namespace sluice::job {

namespace {

using core::SchemaPtr;

// Parses "fn(field)" / "count()" / "count(*)".
bool ParseAggregate(const std::string& text, std::string* fn, std::string* field) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close != text.size() - 1) {
    return false;
  }
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
  };
  *fn = trim(text.substr(0, open));
  for (char& c : *fn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  *field = trim(text.substr(open + 1, close - open - 1));
  if (*field == "*") field->clear();
  return !fn->empty();
}

absl::StatusOr<graph::StreamNode> CompileFilter(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  ASSIGN_OR_RETURN(auto e, r.CompileExpr(body, "filter", *c.input));
  if (e->type() != core::Type::kBool) {
    return r.Error(body, "filter '{}': must be a bool expression, is {}", body.Scalar(),
                   core::TypeName(e->type()));
  }
  graph::StreamNode n;
  n.name = "Filter";
  n.output_schema = c.input;
  if (c.side_output) n.side_output_schemas.push_back(c.input);
  const std::string text = body.Scalar();
  const SchemaPtr in = c.input;
  const bool side = c.side_output;
  n.op = [in, text, side, fns = r.functions()]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    ASSIGN_OR_RETURN(auto ex, expr::Expression::Compile(text, *in, nullptr, fns.get()));
    return std::unique_ptr<api::Operator>(
        std::make_unique<operators::FilterOperator>(in, std::move(ex), side));
  };
  return n;
}

absl::StatusOr<graph::StreamNode> CompileMap(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (!body.IsMap() || body.size() == 0) {
    return r.Error(body, "map: expected a mapping of output field to expression");
  }
  std::vector<std::pair<std::string, std::string>> outs;
  std::vector<core::Field> fields;
  for (const auto& kv : body) {
    std::string fname = kv.first.as<std::string>();
    ASSIGN_OR_RETURN(auto e, r.CompileExpr(kv.second, fmt::format("map field '{}'", fname), *c.input));
    outs.emplace_back(fname, kv.second.Scalar());
    fields.push_back({fname, e->type()});
  }
  graph::StreamNode n;
  n.name = "Map";
  n.output_schema = std::make_shared<core::Schema>(std::move(fields));
  const SchemaPtr in = c.input;
  n.op = [in, outs, fns = r.functions()]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    std::vector<std::pair<std::string, std::unique_ptr<expr::Expression>>> exprs;
    for (const auto& [name, text] : outs) {
      ASSIGN_OR_RETURN(auto ex, expr::Expression::Compile(text, *in, nullptr, fns.get()));
      exprs.emplace_back(name, std::move(ex));
    }
    return std::unique_ptr<api::Operator>(std::make_unique<operators::MapOperator>(in, std::move(exprs)));
  };
  return n;
}

absl::StatusOr<graph::StreamNode> CompileProject(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (!body.IsSequence() || body.size() == 0) {
    return r.Error(body, "project: expected a list of field names");
  }
  std::vector<std::string> names;
  std::vector<core::Field> fields;
  for (const auto& f : body) {
    std::string name = f.as<std::string>();
    int idx = c.input->FindField(name);
    if (idx < 0) {
      return r.Error(f, "project: unknown field '{}' (fields: {})", name, c.input->HeaderLine());
    }
    names.push_back(name);
    fields.push_back(c.input->field(static_cast<size_t>(idx)));
  }
  graph::StreamNode n;
  n.name = "Project";
  n.output_schema = std::make_shared<core::Schema>(std::move(fields));
  const SchemaPtr in = c.input;
  n.op = [in, names]() { return operators::MakeProject(in, names); };
  return n;
}

absl::StatusOr<graph::StreamNode> CompileWindow(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (c.key_fields.empty()) {
    return r.Error(c.step, "window: missing key: a window needs a key-by step before it");
  }
  if (body.IsMap() && body["parallelism"]) {
    return r.Error(body["parallelism"],
                   "window: 'parallelism' goes beside 'window:' in the step (like name and "
                   "uid), not inside the window");
  }
  RETURN_IF_ERROR(
      r.CheckKeys(body, "window",
                  {"type", "time", "size", "slide", "step", "gap", "offset", "allowed-lateness",
                   "aggregates"}));
  ASSIGN_OR_RETURN(std::string time, r.GetString(body, "window", "time", false, "event"));
  if (time != "event" && time != "processing") {
    return r.Error(body["time"], "window: unknown time '{}' (expected event or processing)", time);
  }
  const bool processing = time == "processing";
  if (!processing && !c.input_has_event_time) {
    return r.Error(c.step, "window: event-time windows need 'event-time' declared on every "
                   "source they read (or use time: processing)");
  }
  if (processing && body["allowed-lateness"]) {
    return r.Error(body["allowed-lateness"],
                   "window: allowed-lateness applies to event-time windows only");
  }
  ASSIGN_OR_RETURN(std::string wtype, r.GetString(body, "window", "type", false, "tumbling"));
  using Kind = operators::WindowKind;
  operators::WindowAggregateSpec spec;
  std::string_view slide_key;  // the key that sets WindowAggregateSpec::slide_ms, if any
  if (wtype == "tumbling") {
    spec.kind = Kind::kTumbling;
  } else if (wtype == "sliding" || wtype == "hop") {
    spec.kind = Kind::kSliding;
    slide_key = "slide";
  } else if (wtype == "cumulate") {
    spec.kind = Kind::kCumulate;
    slide_key = "step";
  } else if (wtype == "session") {
    spec.kind = Kind::kSession;
  } else {
    return r.Error(body["type"],
                   "window: unknown type '{}' (types: tumbling, sliding (or hop), cumulate, "
                   "session)",
                   wtype);
  }
  const bool session = spec.kind == Kind::kSession;
  for (std::string_view k : {std::string_view("size"), std::string_view("offset")}) {
    if (session && body[std::string(k)]) {
      return r.Error(body[std::string(k)],
                     "window: a session window has no '{}'; it closes after 'gap' without rows", k);
    }
  }
  if (!session && body["gap"]) {
    return r.Error(body["gap"], "window: 'gap' applies to session windows (type: session)");
  }
  for (std::string_view k : {std::string_view("slide"), std::string_view("step")}) {
    if (body[std::string(k)] && k != slide_key) {
      return r.Error(body[std::string(k)], "window: '{}' does not apply to a {} window{}", k, wtype,
                     wtype == "tumbling" ? " (use type: sliding or cumulate)" : "");
    }
  }
  const std::string size_key = session ? "gap" : "size";
  ASSIGN_OR_RETURN(spec.size_ms, r.GetDuration(body, "window", size_key));
  if (spec.size_ms <= 0) return r.Error(body[size_key], "window: {} must be positive", size_key);
  if (!slide_key.empty()) {
    ASSIGN_OR_RETURN(spec.slide_ms, r.GetDuration(body, "window", std::string(slide_key)));
    if (spec.slide_ms <= 0) {
      return r.Error(body[std::string(slide_key)], "window: {} must be positive", slide_key);
    }
  }
  if (body["offset"]) {
    ASSIGN_OR_RETURN(spec.offset_ms, r.GetDuration(body, "window", "offset"));
  }
  if (body["allowed-lateness"]) {
    ASSIGN_OR_RETURN(spec.allowed_lateness_ms,  // durations are never negative
                     r.GetDuration(body, "window", "allowed-lateness"));
  }
  spec.key_fields = c.key_fields;
  spec.late_rows_to_side_output = c.side_output;
  spec.processing_time = processing;
  ASSIGN_OR_RETURN(spec.aggregates, ParseAggregates(r, body, "window"));
  const SchemaPtr in = c.input;
  auto probe = operators::MakeWindowAggregate(in, spec);
  if (!probe.ok()) return r.Error(body, "window: {}", probe.status().message());
  graph::StreamNode n;
  const char* tname = processing ? "ProcessingTime" : "EventTime";
  switch (spec.kind) {
    case Kind::kTumbling:
      n.name = fmt::format("Window(Tumbling{}Windows({}))", tname, spec.size_ms);
      break;
    case Kind::kSliding:
      n.name = fmt::format("Window(Sliding{}Windows({}, {}))", tname, spec.size_ms, spec.slide_ms);
      break;
    case Kind::kCumulate:
      n.name = fmt::format("Window(Cumulative{}Windows({}, {}))", processing ? tname : "",
                           spec.size_ms, spec.slide_ms);
      break;
    case Kind::kSession:
      n.name = fmt::format("Window(EventTimeSessionWindows({}))", spec.size_ms);
      break;
  }
  n.keyed = true;
  n.output_schema = (*probe)->output_schema();
  if (c.side_output) n.side_output_schemas.push_back(in);
  n.op = [in, spec]() { return operators::MakeWindowAggregate(in, spec); };
  return n;
}

// `flat-map: {split: field, delimiter: ",", as: part, keep-empty: false}`: one row per part.
absl::StatusOr<graph::StreamNode> CompileFlatMap(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (!body.IsMap()) {
    return r.Error(body, "flat-map: expected a mapping like {{split: tags, delimiter: \",\", as: "
                   "tag}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "flat-map", {"split", "delimiter", "as", "keep-empty"}));
  operators::SplitSpec spec;
  ASSIGN_OR_RETURN(spec.field, r.GetString(body, "flat-map", "split", true));
  ASSIGN_OR_RETURN(spec.delimiter, r.GetString(body, "flat-map", "delimiter", false, ","));
  ASSIGN_OR_RETURN(spec.as, r.GetString(body, "flat-map", "as", true));
  ASSIGN_OR_RETURN(spec.keep_empty, r.GetBool(body, "flat-map", "keep-empty", false));
  const SchemaPtr in = c.input;
  auto probe = operators::MakeSplit(in, spec);
  if (!probe.ok()) return r.Error(body, "flat-map: {}", probe.status().message());
  graph::StreamNode n;
  n.name = "FlatMap(split)";
  n.output_schema = (*probe)->output_schema();
  n.op = [in, spec]() { return operators::MakeSplit(in, spec); };
  return n;
}


// `aggregate: {aggregates: {...}, ttl: 1 d}` after a key-by: the key's updated aggregates for
// every row (Flink's rolling aggregation on a KeyedStream).
absl::StatusOr<graph::StreamNode> CompileRollingAggregate(const SpecReader& r,
                                                         const StepContext& c) {
  const YAML::Node& body = c.body;
  if (c.key_fields.empty()) {
    return r.Error(c.step, "aggregate: missing key: aggregate needs a key-by step before it");
  }
  if (!body.IsMap()) {
    return r.Error(body, "aggregate: expected a mapping like {{aggregates: {{n: count()}}}}");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "aggregate", {"aggregates", "ttl", "changelog"}));
  operators::RollingAggregateSpec spec;
  spec.key_fields = c.key_fields;
  ASSIGN_OR_RETURN(spec.changelog, r.GetBool(body, "aggregate", "changelog", false));
  spec.retract_input = c.updating_input;
  ASSIGN_OR_RETURN(spec.aggregates, ParseAggregates(r, body, "aggregate"));
  if (body["ttl"]) {
    ASSIGN_OR_RETURN(spec.ttl_ms, r.GetDuration(body, "aggregate", "ttl"));
  }
  const SchemaPtr in = c.input;
  auto probe = operators::MakeRollingAggregate(in, spec);
  if (!probe.ok()) return r.Error(body, "aggregate: {}", probe.status().message());
  graph::StreamNode n;
  n.name = "Aggregate";
  n.keyed = true;
  n.changelog = spec.changelog;
  n.output_schema = (*probe)->output_schema();
  n.op = [in, spec]() { return operators::MakeRollingAggregate(in, spec); };
  return n;
}

}  // namespace

// `aggregates:` of a window or aggregate step: an ordered mapping of output names to
// 'fn(field)' or 'count()'.
absl::StatusOr<std::vector<operators::AggregateSpec>> ParseAggregates(const SpecReader& r,
                                                                      const YAML::Node& body,
                                                                      std::string_view what) {
  YAML::Node aggs = body["aggregates"];
  if (!aggs || !aggs.IsMap() || aggs.size() == 0) {
    return r.Error(aggs ? aggs : body, "{}: 'aggregates' must map output names to 'fn(field)' ({})",
                   what, operators::AggregateKindNames());
  }
  std::vector<operators::AggregateSpec> out;
  for (const auto& kv : aggs) {
    std::string name = kv.first.as<std::string>();
    std::string fn, field;
    if (!kv.second.IsScalar() || !ParseAggregate(kv.second.Scalar(), &fn, &field)) {
      return r.Error(kv.second, "{}: aggregate '{}' must look like 'fn(field)' or 'count()'", what,
                     name);
    }
    std::optional<operators::AggregateKind> kind = operators::ParseAggregateKind(fn);
    if (!kind) {
      return r.Error(kv.second, "{}: aggregate '{}': unknown function '{}' (expected {})", what,
                     name, fn, operators::AggregateKindNames());
    }
    if (*kind != operators::AggregateKind::kCount && field.empty()) {
      return r.Error(kv.second, "{}: aggregate '{}': {}() needs a field", what, name, fn);
    }
    out.push_back(operators::AggregateSpec{name, *kind, field});
  }
  return out;
}


namespace {
constexpr std::pair<std::string_view, StepKind> kStepKinds[] = {
    {"filter", StepKind::kFilter},       {"map", StepKind::kMap},
    {"project", StepKind::kProject},     {"flat-map", StepKind::kFlatMap},
    {"key-by", StepKind::kKeyBy},        {"window", StepKind::kWindow},
    {"deduplicate", StepKind::kDeduplicate}, {"lookup-join", StepKind::kLookupJoin},
    {"aggregate", StepKind::kAggregate},
    {"interval-join", StepKind::kIntervalJoin}, {"window-join", StepKind::kWindowJoin},
    {"join", StepKind::kJoin},           {"process", StepKind::kProcess},
    {"top-n", StepKind::kTopN},          {"over", StepKind::kOver},
    {"rebalance", StepKind::kRebalance},
    {"broadcast", StepKind::kBroadcast}, {"rescale", StepKind::kRescale},
    {"union", StepKind::kUnion},
};
}  // namespace

std::string_view StepKindName(StepKind kind) {
  for (const auto& [name, k] : kStepKinds) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<StepKind> ParseStepKind(std::string_view name) {
  if (name == "key_by") return StepKind::kKeyBy;
  for (const auto& [n, k] : kStepKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string StepKindNames() {
  std::string s;
  for (const auto& [name, k] : kStepKinds) {
    if (!s.empty()) s += ", ";
    s += name;
  }
  return s;
}

bool IsPartitioning(StepKind kind) {
  return kind == StepKind::kKeyBy || kind == StepKind::kRebalance || kind == StepKind::kBroadcast ||
         kind == StepKind::kRescale;
}

bool IsKeyed(StepKind kind) {
  return kind == StepKind::kWindow || kind == StepKind::kDeduplicate ||
         kind == StepKind::kAggregate || kind == StepKind::kProcess || kind == StepKind::kTopN ||
         kind == StepKind::kOver;
}

bool PassesChangelog(StepKind kind) {
  switch (kind) {
    case StepKind::kFilter:
    case StepKind::kMap:
    case StepKind::kProject:
    case StepKind::kFlatMap:
    case StepKind::kKeyBy:
    case StepKind::kRebalance:
    case StepKind::kBroadcast:
    case StepKind::kRescale:
    case StepKind::kUnion: return true;
    default: return false;
  }
}

bool SupportsSideOutput(StepKind kind) {
  return kind == StepKind::kFilter || kind == StepKind::kWindow || kind == StepKind::kProcess;
}

absl::StatusOr<graph::StreamNode> CompileStepOperator(const SpecReader& r, const StepContext& c) {
  switch (c.kind) {
    case StepKind::kFilter: return CompileFilter(r, c);
    case StepKind::kMap: return CompileMap(r, c);
    case StepKind::kProject: return CompileProject(r, c);
    case StepKind::kWindow: return CompileWindow(r, c);
    case StepKind::kDeduplicate: return CompileDeduplicate(r, c);
    case StepKind::kTopN: return CompileTopN(r, c);
    case StepKind::kOver: return CompileOver(r, c);
    case StepKind::kAggregate: return CompileRollingAggregate(r, c);
    case StepKind::kFlatMap: return CompileFlatMap(r, c);
    case StepKind::kLookupJoin: return CompileLookupJoin(r, c);
    case StepKind::kProcess:
      return CompileProcess(r, c.step, c.body, c.plugin, {c.input}, {c.key_fields});
    default: return r.Error(c.step, "'{}' is not an operator", StepKindName(c.kind));
  }
}

}  // namespace sluice::job
