#include "runtime/graph/job_graph.h"

#include <algorithm>

namespace sluice::graph {

std::string_view Name(PartitionerKind k) {
  switch (k) {
    case PartitionerKind::kForward: return "FORWARD";
    case PartitionerKind::kRebalance: return "REBALANCE";
    case PartitionerKind::kHash: return "HASH";
  }
  return "?";
}

bool JobGraph::checkpointing_enabled() const {
  auto it = settings.find("execution.checkpointing.interval");
  return it != settings.end() && it->second != "0" && !it->second.empty();
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

}  // namespace sluice::graph
