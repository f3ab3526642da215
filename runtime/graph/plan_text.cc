#include "runtime/graph/plan_text.h"

#include "fmt/format.h"
#include "fmt/ranges.h"

namespace sluice::graph {
namespace {

void Line(std::string* out, const std::string& name, const std::string& uid, bool keyed,
          const core::SchemaPtr& schema, bool sink) {
  *out += fmt::format("    {:<40} uid {:<24}{}", name, uid, keyed ? " keyed" : "");
  if (schema != nullptr) *out += fmt::format(" {} {}", sink ? "<-" : "->", schema->FieldNames());
  *out += "\n";
}

}  // namespace

std::string FormatPlan(const JobGraph& g) {
  std::string out = fmt::format(
      "Job {}: parallelism {}, max parallelism {}, checkpointing {}\n", g.name, g.parallelism,
      g.max_parallelism,
      g.checkpointing_enabled() ? fmt::format("every {} ms", g.config.checkpointing->interval_ms)
                                : std::string("off"));
  for (const JobVertex& v : g.vertices) {
    out += fmt::format("  Vertex {}: {}  (parallelism {})\n", v.index, v.name, v.parallelism);
    if (v.source.has_value()) {
      Line(&out, v.source->name, v.source->uid, false, v.source->output_schema, false);
    }
    for (const ChainedOperator& op : v.operators) {
      Line(&out, op.name, op.uid, op.keyed, op.output_schema, op.sink);
    }
  }
  out += "  Edges:\n";
  for (const JobEdge& e : g.edges) {
    out += fmt::format("    {} -> {}  {}", e.source, e.target, Name(e.partitioner));
    if (!e.key_fields.empty()) out += fmt::format(" [{}]", fmt::join(e.key_fields, ", "));
    if (e.source_output > 0) out += fmt::format("  (side output {})", e.source_output);
    if (g.vertex(e.target).num_logical_inputs() > 1) {
      out += fmt::format("  (input {})", e.target_input);
    }
    out += "\n";
  }
  return out;
}

}  // namespace sluice::graph
