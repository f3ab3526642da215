#pragma once
// This process's resource use, read from /proc/self (Linux): CPU time, resident set size,
// threads and start time. The daemons export it as Flink's Status.ProcessTree.* metrics.
// Thread-safe (reads files only).

#include <cstdint>

namespace sluice::metrics {

struct ProcessMetrics {
  int64_t cpu_time_ms = 0;  // user + system
  int64_t rss_bytes = 0;
  int32_t threads = 0;
  int64_t start_time_ms = 0;  // epoch ms
};

// Zeros for what cannot be read (not Linux, /proc not mounted).
ProcessMetrics ReadProcessMetrics();

}  // namespace sluice::metrics
