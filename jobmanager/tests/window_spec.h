#pragma once
// The job spec the JobManager's unit tests compile: a file source "events" (ts, k, v), key-by k,
// a 1-hour tumbling count window (uid "window-2") chained with a print sink "out". Vertex 0 is
// the source, vertex 1 "Window(TumblingEventTimeWindows(3600000)) -> Sink: out".

#include <string>

#include "fmt/format.h"

namespace sluice::jobmanager::testing_specs {

// `source_parallelism` 0: the job's parallelism.
inline std::string WindowSpec(const std::string& name, int parallelism, int source_parallelism = 0) {
  return fmt::format(R"(name: {}
parallelism: {}
max-parallelism: 128
source:
  name: events
  type: file
{}  path: events.csv
  schema: {{ts: timestamp, k: string, v: int64}}
  event-time: {{field: ts, max-out-of-orderness: 1 min}}
pipeline:
  - key-by: [k]
  - window:
      size: 1 h
      aggregates:
        n: count()
sink:
  name: out
  type: print
)",
                     name, parallelism,
                     source_parallelism > 0 ? fmt::format("  parallelism: {}\n", source_parallelism)
                                            : std::string());
}

}  // namespace sluice::jobmanager::testing_specs
