// `process:` steps of the job spec: a user function of the job's C++ plugin (include/sluice).
// The C++ DataStream API writes them; a YAML job has no functions to name.
//
//   - process: {function: f1, schema: {card: string, n: int64}}   # after key-by: keyed
//   - process:
//       function: f2
//       schema: {card: string, alert: bool}
//       side-output-schema: {card: string}       # with `side-output: <stream>` on the step
//       inputs:                                  # two inputs (connect)
//         - {input: counts, key: [card]}
//         - {input: rules, broadcast: true}

#include "runtime/base/status.h"
#include "runtime/job/node_compilers.h"
#include "runtime/udf/function_operator.h"

namespace sluice::job {

absl::StatusOr<IntervalJoinInputs> ConnectInputsOf(const SpecReader& r, const YAML::Node& body) {
  const YAML::Node list = body["inputs"];
  if (!list.IsSequence() || list.size() != 2) {
    return r.Error(list, "process: 'inputs' must list two inputs like [{{input: a, key: [k]}}, "
                   "{{input: b, broadcast: true}}]");
  }
  IntervalJoinInputs in;
  in.kind = JoinKind::kConnect;
  for (size_t k = 0; k < 2; ++k) {
    const YAML::Node s = list[k];
    if (!s.IsMap() || !s["input"]) {
      return r.Error(s, "process: input {} must be a mapping with 'input' (and 'key' or "
                     "'broadcast')", k + 1);
    }
    RETURN_IF_ERROR(r.CheckKeys(s, "process input", {"input", "key", "broadcast"}));
    std::vector<std::string> keys;
    const YAML::Node key = s["key"];
    if (key && key.IsScalar()) keys.push_back(key.Scalar());
    if (key && key.IsSequence()) for (const auto& f : key) keys.push_back(f.as<std::string>());
    if (key && keys.empty()) return r.Error(key, "process: 'key' must name the key field(s)");
    bool broadcast = false;
    if (s["broadcast"]) broadcast = s["broadcast"].as<bool>();
    if (broadcast && k == 0) {
      return r.Error(s, "process: the broadcast input must be the second one");
    }
    if (broadcast && !keys.empty()) {
      return r.Error(s, "process: a broadcast input has no key");
    }
    (k == 0 ? in.left : in.right) = s["input"];
    (k == 0 ? in.left_keys : in.right_keys) = std::move(keys);
    if (k == 1) in.right_broadcast = broadcast;
  }
  return in;
}

absl::StatusOr<graph::StreamNode> CompileProcess(const SpecReader& r, const YAML::Node& at,
                                                 const YAML::Node& body,
                                                 const sluice::JobDefinition* plugin,
                                                 const std::vector<core::SchemaPtr>& inputs,
                                                 const std::vector<std::vector<std::string>>& keys) {
  if (!body.IsMap()) {
    return r.Error(body, "process: expected a mapping with 'function' and 'schema'");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "process", {"function", "schema", "side-output-schema", "inputs"}));
  ASSIGN_OR_RETURN(std::string id, r.GetString(body, "process", "function", true, ""));
  if (plugin == nullptr) {
    return r.Error(body["function"], "process: names function '{}', but the job has no C++ "
                   "functions (process steps come from a plugin built with the C++ DataStream "
                   "API: docs/cpp-api.md)", id);
  }
  auto fn = plugin->functions.find(id);
  if (fn == plugin->functions.end()) {
    std::string known;
    for (const auto& [name, f] : plugin->functions) known += (known.empty() ? "" : ", ") + name;
    return r.Error(body["function"], "process: unknown function '{}' (the plugin has: {})", id, known);
  }
  udf::FunctionOperatorSpec spec;
  spec.function_id = id;
  spec.factory = fn->second;
  spec.inputs = inputs;
  spec.keys = keys;
  if (fn->second.kind != sluice::FunctionKind::kFilter) {
    ASSIGN_OR_RETURN(spec.output, r.GetSchema(body, "process"));
  } else if (body["schema"]) {
    return r.Error(body["schema"], "process: a filter keeps its input's fields; it has no 'schema'");
  }
  if (body["side-output-schema"]) {
    YAML::Node side;
    side["schema"] = body["side-output-schema"];
    ASSIGN_OR_RETURN(spec.side_output, r.GetSchema(side, "process side-output-schema"));
  }
  auto probe = udf::MakeFunctionOperator(spec);
  if (!probe.ok()) return r.Error(at, "process: {}", probe.status().message());
  graph::StreamNode n;
  static constexpr std::string_view kNames[] = {"Map", "Filter", "FlatMap", "Process",
                                                "CoProcess", "BroadcastProcess"};
  n.name = std::string(kNames[static_cast<size_t>(spec.factory.kind)]);
  for (const auto& k : keys) n.keyed = n.keyed || !k.empty();
  if (n.keyed && spec.factory.kind == sluice::FunctionKind::kProcess) n.name = "KeyedProcess";
  n.num_inputs = static_cast<int>(inputs.size());
  n.output_schema = (*probe)->output_schema();
  if (spec.side_output) n.side_output_schemas.push_back(spec.side_output);
  n.op = [spec]() { return udf::MakeFunctionOperator(spec); };
  return n;
}

}  // namespace sluice::job
