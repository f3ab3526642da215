#include "runtime/metrics/process_metrics.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sluice::metrics {
namespace {

int64_t BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  int64_t value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

}  // namespace

ProcessMetrics ReadProcessMetrics() {
  ProcessMetrics m;
  std::ifstream in("/proc/self/stat");
  std::string stat;
  if (!std::getline(in, stat)) return m;
  // Fields after "(comm)": comm may hold spaces, so parse from the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return m;
  std::istringstream fields(stat.substr(close + 2));
  std::string f[22];
  for (auto& x : f) fields >> x;
  // proc(5) field n is f[n - 3]: utime 14, stime 15, num_threads 20, starttime 22, rss 24.
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  try {
    m.cpu_time_ms = (std::stoll(f[11]) + std::stoll(f[12])) * 1000 / (ticks > 0 ? ticks : 100);
    m.threads = static_cast<int32_t>(std::stol(f[17]));
    m.start_time_ms =
        BootTimeSeconds() * 1000 + std::stoll(f[19]) * 1000 / (ticks > 0 ? ticks : 100);
    m.rss_bytes = std::stoll(f[21]) * (page > 0 ? page : 4096);
  } catch (...) {
    return ProcessMetrics();
  }
  return m;
}

}  // namespace sluice::metrics
