#include "jobmanager/rest/rest_views.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"

namespace sluice::jobmanager::rest {
namespace {

// Flink's ExecutionState names; every map of counts lists all of them (RECONCILING is Flink's
// for jobs recovered with high availability; Sluice never enters it).
constexpr std::array<std::string_view, 10> kExecutionStates = {
    "CREATED",  "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
    "FINISHED", "CANCELING", "CANCELED",  "FAILED",       "RECONCILING"};
// Flink's JobStatus names, for "timestamps".
constexpr std::array<std::string_view, 11> kJobStates = {
    "INITIALIZING", "CREATED",  "RUNNING", "FAILING",   "RESTARTING", "CANCELLING",
    "CANCELED",     "FINISHED", "FAILED",  "SUSPENDED", "RECONCILING"};

}  // namespace

bool IsTerminalJobState(std::string_view s) {
  return s == "FINISHED" || s == "CANCELED" || s == "FAILED";
}

namespace {

std::string Lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Flink's IOMetricsInfo of a subtask, or summed over a vertex's subtasks.
struct IoTotals {
  int64_t bytes_in = 0, bytes_out = 0, records_in = 0, records_out = 0;
  int64_t backpressured_ms = 0, idle_ms = 0, busy_ms = 0;

  void Add(const v1::TaskMetrics& m) {
    bytes_in += m.bytes_in();
    bytes_out += m.bytes_out();
    records_in += m.records_in();
    records_out += m.records_out();
    backpressured_ms += m.backpressured_time_ms();
    idle_ms += m.idle_time_ms();
    busy_ms += m.busy_time_ms();
  }
};

Json MetricsJson(const IoTotals& t) {
  return Json{{"read-bytes", t.bytes_in},
              {"read-bytes-complete", true},
              {"write-bytes", t.bytes_out},
              {"write-bytes-complete", true},
              {"read-records", t.records_in},
              {"read-records-complete", true},
              {"write-records", t.records_out},
              {"write-records-complete", true},
              {"accumulated-backpressured-time", t.backpressured_ms},
              {"accumulated-idle-time", t.idle_ms},
              {"accumulated-busy-time", static_cast<double>(t.busy_ms)}};
}

Json MetricsJson(const v1::TaskMetrics& m) {
  IoTotals t;
  t.Add(m);
  return MetricsJson(t);
}

// "host:port" -> host; an address without a colon is all host.
std::string HostOf(const std::string& location) {
  auto colon = location.rfind(':');
  return colon == std::string::npos ? location : location.substr(0, colon);
}

int PortOf(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  try {
    return std::stoi(address.substr(colon + 1));
  } catch (...) {
    return -1;
  }
}

Json StateCounts(const std::array<int, kExecutionStates.size()>& counts, bool lowercase) {
  Json j = Json::object();
  for (size_t i = 0; i < kExecutionStates.size(); ++i) {
    j[lowercase ? Lowercase(kExecutionStates[i]) : std::string(kExecutionStates[i])] = counts[i];
  }
  return j;
}

void CountState(std::string_view state, std::array<int, kExecutionStates.size()>* counts) {
  for (size_t i = 0; i < kExecutionStates.size(); ++i) {
    if (kExecutionStates[i] == state) {
      ++(*counts)[i];
      return;
    }
  }
}

}  // namespace

int64_t StateEnteredMs(const v1::SubtaskInfo& s, std::string_view state) {
  auto it = s.state_timestamps().find(std::string(state));
  return it == s.state_timestamps().end() ? 0 : it->second;
}

Json StateTimestampsJson(const v1::SubtaskInfo& s) {
  Json j = Json::object();
  for (auto state : kExecutionStates) j[std::string(state)] = StateEnteredMs(s, state);
  return j;
}

// Flink's status-duration: ms spent in each ExecutionState (until the next state entered, or now
// in the current one); 0 for states never entered.
Json StatusDurationJson(const v1::SubtaskInfo& s, int64_t now_ms) {
  Json j = Json::object();
  for (auto state : kExecutionStates) {
    const int64_t entered = StateEnteredMs(s, state);
    int64_t left = entered > 0 ? now_ms : 0;
    if (entered > 0 && state != s.state()) {
      for (const auto& [other, ms] : s.state_timestamps()) {
        if (ms >= entered && other != state && (left == now_ms || ms < left)) left = ms;
      }
    }
    j[std::string(state)] = std::max<int64_t>(0, left - entered);
  }
  return j;
}

// Flink's SubtaskExecutionAttemptDetailsInfo, plus Sluice's "failure".
Json SubtaskJson(const v1::SubtaskInfo& s, int64_t now_ms) {
  return Json{
      {"subtask", s.subtask()},
      {"status", s.state()},
      {"attempt", s.attempt()},
      {"host", HostOf(s.location())},
      {"endpoint", s.location()},
      {"start-time", s.start_time_ms() > 0 ? s.start_time_ms() : -1},
      {"end-time", s.end_time_ms() > 0 ? s.end_time_ms() : -1},
      {"duration", Duration(s.start_time_ms(), s.end_time_ms() > 0 ? s.end_time_ms() : -1, now_ms)},
      {"metrics", MetricsJson(s.metrics())},
      {"taskmanager-id", s.taskmanager_id()},
      {"status-duration", StatusDurationJson(s, now_ms)},
      {"failure", s.failure()}};
}

// A vertex's first subtask start and, once all subtasks ended, its last end (-1 otherwise).
static std::pair<int64_t, int64_t> VertexTimes(const v1::VertexInfo& v) {
  int64_t start = -1;
  int64_t end = -1;
  bool all_ended = v.subtasks_size() > 0;
  for (const auto& s : v.subtasks()) {
    if (s.start_time_ms() > 0 && (start < 0 || s.start_time_ms() < start))
      start = s.start_time_ms();
    if (s.end_time_ms() > 0) {
      end = std::max(end, s.end_time_ms());
    } else {
      all_ended = false;
    }
  }
  return {start, all_ended ? end : -1};
}

Json VertexJson(const v1::VertexInfo& v, const std::string& job_id, int64_t now_ms) {
  std::array<int, kExecutionStates.size()> counts{};
  IoTotals io;
  Json subtasks = Json::array();
  for (const auto& s : v.subtasks()) {
    CountState(s.state(), &counts);
    io.Add(s.metrics());
    subtasks.push_back(SubtaskJson(s, now_ms));
  }
  auto [start, end] = VertexTimes(v);
  return Json{{"id", v.id()},
              {"name", v.name()},
              {"parallelism", v.parallelism()},
              {"maxParallelism", v.max_parallelism()},
              // One slot sharing group per job (every vertex shares the slots): the job's id.
              {"slotSharingGroupId", job_id},
              {"status", v.state()},
              {"start-time", start},
              {"end-time", end},
              {"duration", Duration(start, end, now_ms)},
              {"tasks", StateCounts(counts, /*lowercase=*/false)},
              {"metrics", MetricsJson(io)},
              {"subtasks", std::move(subtasks)}};
}

// Flink's JobPlanInfo: one node per vertex with its inputs (vertex id and ship strategy); the
// node's description is the chain. Sluice adds "operators": the chained operators with uids.
Json PlanJson(const v1::GetJobResponse& r) {
  Json nodes = Json::array();
  for (const auto& v : r.vertices()) {
    Json inputs = Json::array();
    for (int i = 0; i < v.inputs_size(); ++i) {
      const auto& in = v.inputs(i);
      Json input{{"num", i},
                 {"id", in.source_vertex_id()},
                 {"ship_strategy", in.ship_strategy()},
                 {"exchange", "pipelined_bounded"}};
      if (in.side_output() > 0) input["side_output"] = in.side_output();
      inputs.push_back(std::move(input));
    }
    Json operators = Json::array();
    for (int i = 0; i < v.operators_size(); ++i) {
      operators.push_back({{"name", v.operators(i)}, {"uid", i < v.uids_size() ? v.uids(i) : ""}});
    }
    Json node{{"id", v.id()},
              {"parallelism", v.parallelism()},
              {"operator", ""},
              {"operator_strategy", ""},
              {"description", v.name()},
              {"optimizer_properties", Json::object()},
              {"operators", std::move(operators)}};
    if (!inputs.empty()) node["inputs"] = std::move(inputs);
    nodes.push_back(std::move(node));
  }
  return Json{{"jid", r.job().job_id()},
              {"name", r.job().name()},
              {"type", "STREAMING"},
              {"nodes", std::move(nodes)}};
}

Json JobDetailsJson(const v1::GetJobResponse& r, int64_t now_ms) {
  const v1::JobSummary& job = r.job();
  Json timestamps = Json::object();
  for (auto state : kJobStates) {
    int64_t t = 0;
    auto stamped = job.state_timestamps().find(std::string(state));
    if (stamped != job.state_timestamps().end()) {
      t = stamped->second;
    } else if ((state == "INITIALIZING" || state == "CREATED") && job.start_time_ms() > 0) {
      t = job.start_time_ms();
    } else if (state == job.state() && IsTerminalJobState(state) && job.end_time_ms() > 0) {
      t = job.end_time_ms();
    }
    timestamps[std::string(state)] = t;
  }
  std::array<int, kExecutionStates.size()> vertex_counts{};
  Json vertices = Json::array();
  for (const auto& v : r.vertices()) {
    CountState(v.state(), &vertex_counts);
    vertices.push_back(VertexJson(v, job.job_id(), now_ms));
  }
  int max_parallelism = 0;
  for (const auto& v : r.vertices())
    max_parallelism = std::max(max_parallelism, v.max_parallelism());
  Json j{{"jid", job.job_id()},
         {"name", job.name()},
         {"isStoppable", false},
         {"job-type", "STREAMING"},
         {"maxParallelism", max_parallelism},
         {"state", job.state()},
         {"start-time", job.start_time_ms()},
         {"end-time", job.end_time_ms()},
         {"duration", Duration(job.start_time_ms(), job.end_time_ms(), now_ms)},
         {"now", now_ms},
         {"timestamps", std::move(timestamps)},
         {"vertices", std::move(vertices)},
         {"status-counts", StateCounts(vertex_counts, /*lowercase=*/false)},
         {"plan", PlanJson(r)}};
  if (!job.failure_cause().empty()) j["failure-cause"] = job.failure_cause();
  if (!job.status_message().empty()) j["status-message"] = job.status_message();
  return j;
}

// Flink's JobDetails (an element of /jobs/overview).
Json JobOverviewJson(const v1::JobSummary& job, int64_t now_ms) {
  Json tasks = Json::object();
  int total = 0;
  for (auto state : kExecutionStates) {
    auto it = job.task_counts().find(std::string(state));
    int n = it == job.task_counts().end() ? 0 : it->second;
    tasks[Lowercase(state)] = n;
    total += n;
  }
  tasks["total"] = total;
  int64_t last_modification =
      job.end_time_ms() > 0 ? job.end_time_ms() : std::max<int64_t>(job.start_time_ms(), 0);
  return Json{{"jid", job.job_id()},
              {"name", job.name()},
              {"state", job.state()},
              {"start-time", job.start_time_ms()},
              {"end-time", job.end_time_ms()},
              {"duration", Duration(job.start_time_ms(), job.end_time_ms(), now_ms)},
              {"last-modification", last_modification},
              {"tasks", std::move(tasks)}};
}

Json TaskManagerJson(const v1::TaskManagerInfo& tm) {
  // Flink's ResourceProfileInfo; Sluice does not divide a TaskManager's memory between slots.
  const Json resource{{"cpuCores", tm.cpu_cores()}, {"taskHeapMemory", 0},
                      {"taskOffHeapMemory", 0},     {"managedMemory", 0},
                      {"networkMemory", 0},         {"extendedResources", Json::object()}};
  return Json{{"id", tm.resource_id()},
              {"path", tm.address()},
              {"dataPort", PortOf(tm.address())},
              {"jmxPort", -1},  // no JVM
              // Flink's name, Flink's meaning: the epoch ms of the last heartbeat.
              {"timeSinceLastHeartbeat", tm.last_heartbeat_ms()},
              {"slotsNumber", tm.slots_total()},
              {"freeSlots", tm.slots_free()},
              {"totalResource", resource},
              {"freeResource", resource},
              {"hardware", Json{{"cpuCores", tm.cpu_cores()},
                                {"physicalMemory", tm.physical_memory_bytes()},
                                {"freeMemory", 0},
                                {"managedMemory", 0}}},
              {"memoryConfiguration", Json{{"frameworkHeap", 0},
                                           {"taskHeap", 0},
                                           {"frameworkOffHeap", 0},
                                           {"taskOffHeap", 0},
                                           {"networkMemory", 0},
                                           {"managedMemory", 0},
                                           {"jvmMetaspace", 0},
                                           {"jvmOverhead", 0},
                                           {"totalFlinkMemory", 0},
                                           {"totalProcessMemory", tm.physical_memory_bytes()}}}};
}

Json TaskManagerDetailsJson(const v1::TaskManagerInfo& tm) {
  Json j = TaskManagerJson(tm);
  Json slots = Json::array();
  for (const auto& job : tm.allocated_jobs()) {
    slots.push_back(Json{{"jobId", job}, {"resource", j["totalResource"]}});
  }
  j["allocatedSlots"] = std::move(slots);
  // Flink's TaskManagerMetricsInfo is JVM memory; a native process has its resident set.
  const int64_t rss = tm.process().rss_bytes();
  j["metrics"] = Json{{"heapUsed", rss},
                      {"heapCommitted", rss},
                      {"heapMax", tm.physical_memory_bytes()},
                      {"nonHeapUsed", 0},
                      {"nonHeapCommitted", 0},
                      {"nonHeapMax", 0},
                      {"directCount", 0},
                      {"directUsed", 0},
                      {"directMax", 0},
                      {"mappedCount", 0},
                      {"mappedUsed", 0},
                      {"mappedMax", 0},
                      {"memorySegmentsAvailable", 0},
                      {"memorySegmentsTotal", 0},
                      {"nettyShuffleMemorySegmentsAvailable", 0},
                      {"nettyShuffleMemorySegmentsUsed", 0},
                      {"nettyShuffleMemorySegmentsTotal", 0},
                      {"nettyShuffleMemoryAvailable", 0},
                      {"nettyShuffleMemoryUsed", 0},
                      {"nettyShuffleMemoryTotal", 0},
                      {"garbageCollectors", Json::array()}};
  j["blocked"] = false;
  // Sluice: where Prometheus scrapes this TaskManager (0: no endpoint).
  j["metricsPort"] = tm.metrics_port();
  return j;
}

namespace {

// Flink's aggregated value statistics: min, max, avg, sum, median, p25, p75, p95 (nearest rank).
Json Statistics(std::vector<int64_t> xs) {
  if (xs.empty()) xs.push_back(0);
  std::sort(xs.begin(), xs.end());
  int64_t sum = 0;
  for (int64_t x : xs) sum += x;
  auto rank = [&xs](double q) {
    const size_t i =
        static_cast<size_t>(std::max(1.0, std::ceil(q * static_cast<double>(xs.size()))));
    return xs[std::min(i, xs.size()) - 1];
  };
  return Json{
      {"min", xs.front()}, {"max", xs.back()},    {"avg", sum / static_cast<int64_t>(xs.size())},
      {"sum", sum},        {"median", rank(0.5)}, {"p25", rank(0.25)},
      {"p75", rank(0.75)}, {"p95", rank(0.95)}};
}

}  // namespace

double Skew(double max, double avg) { return max <= 0 ? 0.0 : (max - avg) / max * 100.0; }

Json AggregatedJson(const v1::VertexInfo& v, int64_t now_ms) {
  static constexpr std::string_view kIo[] = {"read-bytes",
                                             "write-bytes",
                                             "read-records",
                                             "write-records",
                                             "accumulated-backpressured-time",
                                             "accumulated-idle-time",
                                             "accumulated-busy-time"};
  Json metrics = Json::object();
  for (std::string_view name : kIo) {
    std::vector<int64_t> xs;
    for (const auto& s : v.subtasks()) {
      const Json m = MetricsJson(s.metrics());
      xs.push_back(static_cast<int64_t>(m[std::string(name)].get<double>()));
    }
    metrics[std::string(name)] = Statistics(std::move(xs));
  }
  Json durations = Json::object();
  for (auto state : kExecutionStates) {
    std::vector<int64_t> xs;
    for (const auto& s : v.subtasks()) {
      xs.push_back(StatusDurationJson(s, now_ms)[std::string(state)].get<int64_t>());
    }
    durations[std::string(state)] = Statistics(std::move(xs));
  }
  return Json{{"metrics", std::move(metrics)}, {"status-duration", std::move(durations)}};
}

}  // namespace sluice::jobmanager::rest
