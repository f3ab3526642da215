#pragma once
// Topological order of a directed graph given as edges between nodes 0..n-1 (Kahn's algorithm
// with a min-heap, so the order is deterministic: among nodes without an order between them,
// the lower index first), and a cycle when there is none. Used for StreamGraphs and for the
// steps of a job spec. Pure; thread-compatible.

#include <utility>
#include <vector>

namespace sluice::graph {

struct TopologicalSort {
  std::vector<int> order;  // every node, when acyclic; otherwise the ones that could be ordered
  std::vector<int> cycle;  // empty when acyclic; else nodes of one cycle in edge direction,
                           // starting at its lowest index (the first is not repeated)
};

// `edges`: (from, to) pairs, 0 <= from, to < n.
TopologicalSort SortTopologically(int n, const std::vector<std::pair<int, int>>& edges);

}  // namespace sluice::graph
