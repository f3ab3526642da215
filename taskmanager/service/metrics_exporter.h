#pragma once
// The TaskManager's Prometheus endpoint (Flink's PrometheusReporter on a TaskManager):
// GET /metrics in the text exposition format, scraped by Prometheus. Task metrics are named as
// Flink's reporter names them, flink_taskmanager_job_task_<name> with the labels tm_id, host,
// job_id, job_name, task_id, task_name, task_attempt_id, task_attempt_num, subtask_index:
// numRecordsIn/Out, numBytesIn/Out, their ...PerSecond rates, busyTimeMsPerSecond,
// idleTimeMsPerSecond, backPressuredTimeMsPerSecond, currentInputWatermark,
// currentOutputWatermark; operator scope numLateRecordsDropped and the connectors' gauges
// (e.g. the Kafka source's records-lag-max, as flink_taskmanager_job_task_operator_
// kafka_records_lag_max); process metrics flink_taskmanager_Status_ProcessTree_*.
//
// Rates are derived at each scrape from the counters (metrics::Meter, >= 1 s windows).
// Thread safety: the HTTP threads call the snapshot function concurrently; it must be
// thread-safe. Start/Stop from the owner.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/http/http_server.h"
#include "runtime/metrics/meter.h"
#include "taskmanager/task_executor.h"

namespace sluice::taskmanager {

class MetricsExporter {
 public:
  using Snapshot = std::function<std::vector<TaskStatusReport>()>;
  MetricsExporter(std::string resource_id, std::string host, Snapshot tasks);
  ~MetricsExporter() { Stop(); }

  // Binds the first free port of [first_port, last_port] (0 = any free port). Unavailable when
  // every port is taken, naming the range (Flink's metrics.reporter.prom.port: "9250-9260").
  absl::Status Start(const std::string& bind_host, int first_port, int last_port);
  int port() const { return server_.port(); }
  void Stop() { server_.Stop(); }

  // The exposition text (what GET /metrics answers).
  std::string Render();

 private:
  std::string resource_id_;
  std::string host_;
  Snapshot tasks_;
  http::Router router_;
  http::HttpServer server_;
  std::mutex mu_;
  // Rates per attempt: records in/out, bytes in/out, busy, idle, back-pressured time.
  std::map<std::string, std::array<metrics::Meter, 7>> meters_;
};

}  // namespace sluice::taskmanager
