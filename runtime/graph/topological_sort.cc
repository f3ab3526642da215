#include "runtime/graph/topological_sort.h"

#include <algorithm>
#include <functional>
#include <queue>

namespace sluice::graph {

TopologicalSort SortTopologically(int n, const std::vector<std::pair<int, int>>& edges) {
  const size_t size = static_cast<size_t>(n);
  std::vector<int> indegree(size, 0);
  std::vector<std::vector<int>> succ(size), pred(size);
  for (const auto& [from, to] : edges) {
    ++indegree[static_cast<size_t>(to)];
    succ[static_cast<size_t>(from)].push_back(to);
    pred[static_cast<size_t>(to)].push_back(from);
  }
  TopologicalSort out;
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < n; ++i) {
    if (indegree[static_cast<size_t>(i)] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    out.order.push_back(v);
    for (int s : succ[static_cast<size_t>(v)]) {
      if (--indegree[static_cast<size_t>(s)] == 0) ready.push(s);
    }
  }
  if (out.order.size() == size) return out;
  // Every node left has a predecessor that is left too: walking predecessors repeats a node.
  int at = 0;
  while (indegree[static_cast<size_t>(at)] == 0) ++at;
  std::vector<int> seen_at(size, -1);
  std::vector<int> path;
  while (seen_at[static_cast<size_t>(at)] < 0) {
    seen_at[static_cast<size_t>(at)] = static_cast<int>(path.size());
    path.push_back(at);
    for (int p : pred[static_cast<size_t>(at)]) {
      if (indegree[static_cast<size_t>(p)] > 0) {
        at = p;
        break;
      }
    }
  }
  out.cycle.assign(path.begin() + seen_at[static_cast<size_t>(at)], path.end());
  std::reverse(out.cycle.begin(), out.cycle.end());  // predecessors were walked
  std::rotate(out.cycle.begin(), std::min_element(out.cycle.begin(), out.cycle.end()),
              out.cycle.end());
  return out;
}

}  // namespace sluice::graph
