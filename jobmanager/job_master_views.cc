// The JobMaster's read-only views: summaries and details for the CLI and REST, Flink's JSON
// bodies of /jobs/:jobid/checkpoints, /exceptions and /metrics, and the job metrics.

#include "jobmanager/job_master.h"
#include "nlohmann/json.hpp"
#include "runtime/base/clock.h"

namespace sluice::jobmanager {

using graph::ExecutionState;

std::map<std::string, int64_t> JobMaster::JobMetrics() const {
  const int64_t now = NowMillis();
  std::map<std::string, int64_t> m;
  m["numRestarts"] = num_restarts_;
  m["fullRestarts"] = num_restarts_;
  m["uptime"] = running_since_ms_ ? now - running_since_ms_ : 0;
  m["downtime"] = down_since_ms_ ? now - down_since_ms_ : 0;
  m["lastRecoveryDuration"] = last_recovery_ms_;
  // Flink's restartingTime: how long the restart in progress has taken, else the last one's.
  m["restartingTime"] = down_since_ms_ ? now - down_since_ms_ : last_recovery_ms_;
  if (checkpoints_) {
    for (const auto& [k, v] : checkpoints_->Metrics()) m[k] = v;
  }
  // Keyed state and connector gauges of the current attempts, summed over subtasks; a "-max"
  // gauge is the maximum over subtasks (e.g. "kafka.records-lag-max").
  // Flink's numLateRecordsDropped, summed over the window operators of all subtasks.
  m["numLateRecordsDropped"] = 0;
  executions_.ForEach([&](const Execution& e) {
    m["numLateRecordsDropped"] += e.metrics.late_records_dropped;
    for (const auto& [k, v] : e.metrics.gauges) {
      if (k.ends_with("-max")) {
        auto [it, fresh] = m.emplace(k, v);
        if (!fresh) it->second = std::max(it->second, v);
      } else {
        m[k] += v;
      }
    }
  });
  return m;
}

JobSummaryView JobMaster::SummaryLocked() const {
  JobSummaryView s;
  s.id = id_;
  s.name = graph_.name;
  s.state = status_.state();
  s.start_ms = start_ms_;
  s.end_ms = end_ms_;
  s.failure_cause = failure_cause_;
  s.status_message = status_message_;
  for (int i = 0; i < graph::kNumJobStatus; ++i) {
    s.state_timestamps[static_cast<size_t>(i)] = status_.timestamp(static_cast<graph::JobStatus>(i));
  }
  s.metrics = JobMetrics();
  s.task_counts = executions_.StateCounts();
  return s;
}

JobSummaryView JobMaster::Summary() {
  return executor_.Call([this] { return SummaryLocked(); });
}

JobDetailsView JobMaster::Details() {
  return executor_.Call([this] {
    JobDetailsView d;
    d.summary = SummaryLocked();
    d.submission = submission_;
    for (const auto& v : graph_.vertices) {
      VertexView vv;
      vv.id = v.id;
      vv.name = v.name;
      vv.parallelism = v.parallelism;
      vv.max_parallelism = v.max_parallelism;
      vv.state = executions_.VertexState(v.index);
      if (v.source) vv.operators.push_back(v.source->name);
      for (const auto& op : v.operators) vv.operators.push_back(op.name);
      vv.uids = v.uids();
      for (int e : v.inputs) {
        const graph::JobEdge& edge = graph_.edge(e);
        vv.inputs.push_back({graph_.vertex(edge.source).id, edge.partitioner, edge.target_input,
                             edge.source_output});
      }
      for (int i = 0; i < executions_.num_subtasks(v.index); ++i) {
        const Execution& e = executions_.at(v.index, i);
        SubtaskView sv;
        sv.subtask = e.subtask;
        sv.state = e.state.state();
        sv.attempt = e.attempt_number;
        sv.taskmanager_id = e.taskmanager;
        sv.location = e.location;
        sv.metrics = e.metrics;
        sv.failure = e.failure;
        sv.start_ms = e.state.timestamp(ExecutionState::kDeploying);
        int64_t end = 0;
        for (auto t : {ExecutionState::kFinished, ExecutionState::kCanceled, ExecutionState::kFailed}) {
          end = std::max(end, e.state.timestamp(t));
        }
        sv.end_ms = end > 0 ? end : -1;
        for (int s = 0; s < graph::kNumExecutionState; ++s) {
          sv.state_ms[static_cast<size_t>(s)] = e.state.timestamp(static_cast<ExecutionState>(s));
        }
        vv.subtasks.push_back(std::move(sv));
      }
      d.vertices.push_back(std::move(vv));
    }
    return d;
  });
}

std::string JobMaster::CheckpointsJson() {
  return executor_.Call([this]() -> std::string {
    if (!checkpoints_) {
      // Flink answers with empty statistics for jobs without checkpointing.
      return R"({"counts":{"restored":0,"total":0,"in_progress":0,"completed":0,"failed":0},)"
             R"("summary":{},"latest":{"completed":null,"savepoint":null,"failed":null,)"
             R"("restored":null},"history":[]})";
    }
    return checkpoints_->StatsJson(NowMillis()).dump();
  });
}

std::string JobMaster::ExceptionsJson() {
  return executor_.Call([this]() -> std::string {
    nlohmann::json j;
    nlohmann::json entries = nlohmann::json::array();
    for (auto it = exceptions_.rbegin(); it != exceptions_.rend(); ++it) {
      entries.push_back({{"exceptionName", "sluice.TaskFailure"},
                         {"stacktrace", it->message},
                         {"timestamp", it->timestamp_ms},
                         {"taskName", it->task_name.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(it->task_name)},
                         {"location", it->location.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(it->location)},
                         {"concurrentExceptions", nlohmann::json::array()}});
    }
    if (exceptions_.empty()) {
      j["root-exception"] = nullptr;
      j["timestamp"] = nullptr;
    } else {
      // Flink's root exception is the one that ended (or last restarted) the job.
      j["root-exception"] = exceptions_.back().message;
      j["timestamp"] = exceptions_.back().timestamp_ms;
    }
    j["all-exceptions"] = nlohmann::json::array();
    j["truncated"] = false;
    j["exceptionHistory"] = {{"entries", entries}, {"truncated", false}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
}

std::string JobMaster::MetricsJson() {
  return executor_.Call([this] {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [k, v] : JobMetrics()) arr.push_back({{"id", k}, {"value", std::to_string(v)}});
    return arr.dump();
  });
}

}  // namespace sluice::jobmanager
