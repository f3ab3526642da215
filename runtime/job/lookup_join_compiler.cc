// `lookup-join:` steps of the job spec: an enrichment join against a CSV dimension table
// (runtime/operators/lookup_join.h, runtime/connectors/file/file_lookup_table.h).
//
//   - lookup-join:
//       table: {path: airports.csv, schema: {iata: string, state: string}, reload-interval: 1 h}
//       on: {origin: iata}            # stream field: table field, one pair per key field
//       select: {origin_state: state}  # output field: table field
//       type: inner                   # or left

#include "runtime/base/status.h"
#include "runtime/connectors/file/file_lookup_table.h"
#include "runtime/job/node_compilers.h"
#include "runtime/operators/lookup_join.h"

namespace sluice::job {

absl::StatusOr<graph::StreamNode> CompileLookupJoin(const SpecReader& r, const StepContext& c) {
  const YAML::Node& body = c.body;
  if (!body.IsMap()) {
    return r.Error(body, "lookup-join: expected a mapping with table, on and select");
  }
  RETURN_IF_ERROR(r.CheckKeys(body, "lookup-join", {"table", "on", "select", "type"}));
  const YAML::Node table = body["table"];
  if (!table || !table.IsMap()) {
    return r.Error(table ? table : body,
                   "lookup-join: 'table' must be a mapping with path and schema");
  }
  RETURN_IF_ERROR(
      r.CheckKeys(table, "lookup-join table",
                  {"path", "schema", "delimiter", "header", "reload-interval"}));
  connectors::FileLookupTableOptions file;
  ASSIGN_OR_RETURN(file.header, r.GetBool(table, "lookup-join table", "header", true));
  ASSIGN_OR_RETURN(std::string path, r.GetString(table, "lookup-join table", "path", true));
  file.path = r.ResolvePath(path);
  ASSIGN_OR_RETURN(file.schema, r.GetSchema(table, "lookup-join table"));
  ASSIGN_OR_RETURN(std::string delim, r.GetString(table, "lookup-join table", "delimiter", false, ","));
  if (delim.size() != 1) {
    return r.Error(table["delimiter"], "lookup-join table: delimiter must be one character");
  }
  file.delimiter = delim[0];

  operators::LookupJoinSpec spec;
  if (table["reload-interval"]) {
    ASSIGN_OR_RETURN(spec.reload_interval_ms,
                     r.GetDuration(table, "lookup-join table", "reload-interval"));
  }
  for (const char* key : {"on", "select"}) {
    const YAML::Node m = body[key];
    if (!m || !m.IsMap() || m.size() == 0) {
      return r.Error(m ? m : body, "lookup-join: '{}' must map {} to table fields", key,
                     std::string_view(key) == "on" ? "stream fields" : "output names");
    }
    for (const auto& kv : m) {
      if (!kv.second.IsScalar()) {
        return r.Error(kv.second, "lookup-join: '{}' values must be table field names", key);
      }
      std::string a = kv.first.as<std::string>(), b = kv.second.Scalar();
      if (std::string_view(key) == "on") {
        spec.stream_keys.push_back(a);
        spec.table_keys.push_back(b);
      } else {
        spec.select.emplace_back(a, b);
      }
    }
  }
  ASSIGN_OR_RETURN(std::string type, r.GetString(body, "lookup-join", "type", false, "inner"));
  if (type != "inner" && type != "left") {
    return r.Error(body["type"], "lookup-join: unknown type '{}' (expected inner or left)", type);
  }
  spec.left_join = type == "left";

  operators::LookupTableSourceFactory factory = [file]() {
    return connectors::MakeFileLookupTable(file);
  };
  const core::SchemaPtr in = c.input;
  auto probe = operators::MakeLookupJoin(in, spec, factory);
  if (!probe.ok()) return r.Error(body, "{}", probe.status().message());
  graph::StreamNode n;
  n.name = fmt::format("LookupJoin(table=[{}], type={})", path, type);
  n.output_schema = (*probe)->output_schema();
  n.op = [in, spec, factory]() { return operators::MakeLookupJoin(in, spec, factory); };
  return n;
}

}  // namespace sluice::job
