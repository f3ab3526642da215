#pragma once
// The plan of a JobGraph as text, for `sluice run --dry-run` / `sluice local --dry-run` (and
// later SQL's EXPLAIN): the job's settings, each vertex (chained operators with their uids,
// parallelism, keyed or not, output fields) and each edge (partitioner, key fields, side
// output, logical input). Deterministic: the same graph prints the same text.
//
//   Job flights-by-state: parallelism 2, max parallelism 128, checkpointing off
//   Vertex 0: Source: flights -> with-state  (parallelism 2)
//     Source: flights            uid flights          -> date, delay, ...
//     with-state                 uid lookup-join-1    -> date, delay, ..., state
//   Edges:
//     0 -> 1  HASH [state]
//
// Thread safety: a pure function.

#include <string>

#include "runtime/graph/job_graph.h"

namespace sluice::graph {

std::string FormatPlan(const JobGraph& graph);

}  // namespace sluice::graph
