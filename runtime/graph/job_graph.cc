#include "runtime/graph/job_graph.h"

#include <algorithm>
#include <functional>
#include <map>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/graph/topological_sort.h"

namespace sluice::graph {

std::string_view Name(PartitionerKind k) {
  switch (k) {
    case PartitionerKind::kForward: return "FORWARD";
    case PartitionerKind::kRebalance: return "REBALANCE";
    case PartitionerKind::kHash: return "HASH";
    case PartitionerKind::kBroadcast: return "BROADCAST";
    case PartitionerKind::kRescale: return "RESCALE";
  }
  return "?";
}

std::vector<std::string> JobVertex::uids() const {
  std::vector<std::string> out;
  if (source) out.push_back(source->uid);
  for (const auto& op : operators) out.push_back(op.uid);
  return out;
}

int JobGraph::RequiredSlots() const {
  int n = 0;
  for (const auto& v : vertices) n = std::max(n, v.parallelism);
  return n;
}

int JobGraph::TotalSubtasks() const {
  int n = 0;
  for (const auto& v : vertices) n += v.parallelism;
  return n;
}

namespace {

absl::Status ValidateEdges(const StreamGraph& g) {
  const int n = static_cast<int>(g.nodes.size());
  for (const auto& node : g.nodes) {
    if (node.is_source() == static_cast<bool>(node.op)) {
      return InvalidArgumentF("operator '{}' must be either a source or an operator", node.name);
    }
  }
  for (const auto& e : g.edges) {
    if (e.source < 0 || e.source >= n || e.target < 0 || e.target >= n) {
      return InvalidArgumentF("an edge names node {} -> {}, the graph has {} nodes", e.source,
                              e.target, n);
    }
    const StreamNode& from = g.nodes[static_cast<size_t>(e.source)];
    const StreamNode& to = g.nodes[static_cast<size_t>(e.target)];
    if (from.sink) return InvalidArgumentF("sink '{}' has no output to feed '{}'", from.name, to.name);
    if (to.is_source()) {
      return InvalidArgumentF("source '{}' cannot have an input (from '{}')", to.name, from.name);
    }
    if (e.source_output < 0 ||
        e.source_output > static_cast<int>(from.side_output_schemas.size())) {
      return InvalidArgumentF("'{}' has no side output {} (it has {})", from.name,
                              e.source_output, from.side_output_schemas.size());
    }
    if (e.target_input < 0 || e.target_input >= to.num_inputs) {
      return InvalidArgumentF("'{}' has no input {} (it has {})", to.name, e.target_input,
                              to.num_inputs);
    }
    if (!g.OutputSchema(e.source, e.source_output)) {
      return InvalidArgumentF("'{}' declares no schema for output {}", from.name, e.source_output);
    }
    if (e.partitioner == PartitionerKind::kForward && from.parallelism != to.parallelism) {
      return InvalidArgumentF(
          "a FORWARD edge from '{}' (parallelism {}) to '{}' (parallelism {}) cannot change "
          "parallelism; use rebalance or rescale",
          from.name, from.parallelism, to.name, to.parallelism);
    }
    if (e.partitioner == PartitionerKind::kHash && e.key_fields.empty()) {
      return InvalidArgumentF("the HASH edge from '{}' to '{}' has no key fields", from.name,
                              to.name);
    }
  }
  // Every input of every operator is fed, with one schema per logical input (a union of
  // streams needs identical schemas).
  for (int t = 0; t < n; ++t) {
    const StreamNode& to = g.nodes[static_cast<size_t>(t)];
    for (int input = 0; input < to.num_inputs; ++input) {
      const StreamEdge* first = nullptr;
      for (const auto& e : g.edges) {
        if (e.target != t || e.target_input != input) continue;
        if (!first) {
          first = &e;
          continue;
        }
        const core::Schema& a = *g.OutputSchema(first->source, first->source_output);
        const core::Schema& b = *g.OutputSchema(e.source, e.source_output);
        if (!(a == b)) {
          return InvalidArgumentF(
              "the streams into input {} of '{}' must have the same fields: '{}' has ({}), "
              "'{}' has ({})",
              input + 1, to.name, g.nodes[static_cast<size_t>(first->source)].name, a.ToString(),
              g.nodes[static_cast<size_t>(e.source)].name, b.ToString());
        }
      }
      if (!first) {
        return InvalidArgumentF("input {} of '{}' is not connected to any stream", input + 1,
                                to.name);
      }
    }
  }
  return absl::OkStatus();
}

bool Chainable(const StreamGraph& g, const StreamEdge& e, int target_in_degree) {
  const StreamNode& from = g.nodes[static_cast<size_t>(e.source)];
  const StreamNode& to = g.nodes[static_cast<size_t>(e.target)];
  return e.partitioner == PartitionerKind::kForward && from.parallelism == to.parallelism &&
         from.max_parallelism == to.max_parallelism && target_in_degree == 1 &&
         to.num_inputs == 1;
}

std::string VertexIdOf(const std::string& job, const JobVertex& v) {
  std::string seed = job;
  for (const auto& uid : v.uids()) seed += "/" + uid;
  const uint64_t h1 = std::hash<std::string>{}(seed);
  const uint64_t h2 = std::hash<std::string>{}(seed + "#");
  return fmt::format("{:016x}{:016x}", h1, h2);
}

}  // namespace

absl::StatusOr<std::vector<int>> TopologicalOrder(const StreamGraph& g) {
  std::vector<std::pair<int, int>> edges;
  for (const auto& e : g.edges) edges.emplace_back(e.source, e.target);
  TopologicalSort sorted = SortTopologically(static_cast<int>(g.nodes.size()), edges);
  if (sorted.cycle.empty()) return std::move(sorted.order);
  std::string cycle;
  for (int c : sorted.cycle) cycle += fmt::format("'{}' -> ", g.nodes[static_cast<size_t>(c)].name);
  cycle += fmt::format("'{}'", g.nodes[static_cast<size_t>(sorted.cycle.front())].name);
  return InvalidArgumentF("the job's dataflow has a cycle: {}", cycle);
}

namespace {

// State in checkpoints and savepoints is addressed by operator uid, so two operators with one
// uid would restore each other's state (Flink refuses duplicate uids too).
absl::Status ValidateUids(const StreamGraph& stream) {
  std::map<std::string, const StreamNode*> by_uid;
  for (const StreamNode& node : stream.nodes) {
    auto [it, inserted] = by_uid.emplace(node.uid, &node);
    if (!inserted) {
      return InvalidArgumentF(
          "operators '{}' and '{}' have the same uid '{}'; every operator needs its own uid "
          "(state in checkpoints and savepoints is addressed by uid; a sink's default uid is its "
          "name)",
          it->second->name, node.name, node.uid);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JobGraph> BuildJobGraph(const StreamGraph& stream, int parallelism,
                                       int max_parallelism, JobConfig config) {
  RETURN_IF_ERROR(ValidateEdges(stream));
  RETURN_IF_ERROR(ValidateUids(stream));
  ASSIGN_OR_RETURN(std::vector<int> order, TopologicalOrder(stream));
  const size_t n = stream.nodes.size();
  std::vector<std::vector<int>> in_edges(n);
  for (size_t i = 0; i < stream.edges.size(); ++i) {
    in_edges[static_cast<size_t>(stream.edges[i].target)].push_back(static_cast<int>(i));
  }
  // Chain heads in topological order: a node joins its single upstream's chain when chainable.
  std::vector<int> head(n, -1);
  std::vector<bool> chained_edge(stream.edges.size(), false);
  for (int v : order) {
    const auto& in = in_edges[static_cast<size_t>(v)];
    if (in.size() == 1 && Chainable(stream, stream.edges[static_cast<size_t>(in[0])], 1)) {
      head[static_cast<size_t>(v)] = head[static_cast<size_t>(stream.edges[static_cast<size_t>(in[0])].source)];
      chained_edge[static_cast<size_t>(in[0])] = true;
    } else {
      head[static_cast<size_t>(v)] = v;
    }
  }
  JobGraph g;
  g.name = stream.name;
  g.parallelism = parallelism;
  g.max_parallelism = max_parallelism;
  g.config = std::move(config);
  // Vertices in the topological order of their heads; members in topological order.
  std::vector<int> vertex_of(n, -1), element_of(n, -1);  // element: -1 = the vertex's source
  for (int v : order) {
    if (head[static_cast<size_t>(v)] != v) continue;
    JobVertex vx;
    vx.index = static_cast<int>(g.vertices.size());
    vx.parallelism = stream.nodes[static_cast<size_t>(v)].parallelism;
    vx.max_parallelism = stream.nodes[static_cast<size_t>(v)].max_parallelism;
    vertex_of[static_cast<size_t>(v)] = vx.index;
    g.vertices.push_back(std::move(vx));
  }
  for (int v : order) {
    const StreamNode& node = stream.nodes[static_cast<size_t>(v)];
    JobVertex& vx = g.vertices[static_cast<size_t>(vertex_of[static_cast<size_t>(head[static_cast<size_t>(v)])])];
    vertex_of[static_cast<size_t>(v)] = vx.index;
    if (node.is_source()) {
      vx.source = ChainedSource{node.name, node.uid, node.source, node.enumerator,
                                node.output_schema, {}};
      continue;
    }
    ChainedOperator op;
    op.name = node.name;
    op.uid = node.uid;
    op.factory = node.op;
    op.keyed = node.keyed;
    op.num_inputs = node.num_inputs;
    op.sink = node.sink;
    op.output_schema = node.output_schema;
    op.side_output_schemas = node.side_output_schemas;
    op.outputs.resize(node.side_output_schemas.size() + 1);
    element_of[static_cast<size_t>(v)] = static_cast<int>(vx.operators.size());
    vx.operators.push_back(std::move(op));
  }
  auto targets_of = [&](int node, int output) -> OutputTargets& {
    JobVertex& vx = g.vertices[static_cast<size_t>(vertex_of[static_cast<size_t>(node)])];
    const int el = element_of[static_cast<size_t>(node)];
    return el < 0 ? vx.source->outputs
                  : vx.operators[static_cast<size_t>(el)].outputs[static_cast<size_t>(output)];
  };
  for (size_t i = 0; i < stream.edges.size(); ++i) {
    const StreamEdge& e = stream.edges[i];
    if (chained_edge[i]) {
      targets_of(e.source, e.source_output).chained.push_back(element_of[static_cast<size_t>(e.target)]);
      continue;
    }
    JobEdge je;
    je.index = static_cast<int>(g.edges.size());
    je.source = vertex_of[static_cast<size_t>(e.source)];
    je.source_operator = element_of[static_cast<size_t>(e.source)];
    je.source_output = e.source_output;
    je.target = vertex_of[static_cast<size_t>(e.target)];
    JobVertex& target = g.vertices[static_cast<size_t>(je.target)];
    je.target_gate = static_cast<int>(target.inputs.size());
    je.target_input = e.target_input;
    je.partitioner = e.partitioner;
    je.key_fields = e.key_fields;
    je.schema = stream.OutputSchema(e.source, e.source_output);
    target.inputs.push_back(je.index);
    g.vertices[static_cast<size_t>(je.source)].outputs.push_back(je.index);
    targets_of(e.source, e.source_output).edges.push_back(je.index);
    g.edges.push_back(std::move(je));
  }
  // Flink's chained names (StreamingJobGraphGenerator#createChainedName).
  for (JobVertex& vx : g.vertices) {
    std::function<std::string(int)> chained_name = [&](int el) {
      const std::string& own = el < 0 ? vx.source->name : vx.operators[static_cast<size_t>(el)].name;
      std::vector<int> next;
      if (el < 0) {
        next = vx.source->outputs.chained;
      } else {
        for (const auto& out : vx.operators[static_cast<size_t>(el)].outputs) {
          next.insert(next.end(), out.chained.begin(), out.chained.end());
        }
      }
      if (next.empty()) return own;
      if (next.size() == 1) return own + " -> " + chained_name(next.front());
      std::string inner;
      for (int c : next) inner += (inner.empty() ? "" : ", ") + chained_name(c);
      return own + " -> (" + inner + ")";
    };
    vx.name = chained_name(vx.is_source() ? -1 : 0);
    vx.id = VertexIdOf(g.name, vx);
  }
  return g;
}

}  // namespace sluice::graph
