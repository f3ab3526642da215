#include "taskmanager/service/metrics_exporter.h"

#include <set>

#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/metrics/process_metrics.h"
#include "runtime/metrics/prometheus.h"

namespace sluice::taskmanager {
namespace {

constexpr std::string_view kTask = "taskmanager_job_task";
constexpr std::string_view kOperator = "taskmanager_job_task_operator";

void AddProcess(metrics::PrometheusText& text, const metrics::Labels& labels) {
  const metrics::ProcessMetrics p = metrics::ReadProcessMetrics();
  text.Add("taskmanager", "Status.ProcessTree.CPU.Time", labels,
           static_cast<double>(p.cpu_time_ms));
  text.Add("taskmanager", "Status.ProcessTree.Memory.RSS", labels,
           static_cast<double>(p.rss_bytes));
  text.Add("taskmanager", "Status.ProcessTree.Threads", labels, p.threads);
}

}  // namespace

MetricsExporter::MetricsExporter(std::string resource_id, std::string host, Snapshot tasks)
    : resource_id_(std::move(resource_id)),
      host_(std::move(host)),
      tasks_(std::move(tasks)),
      server_(&router_, http::HttpServerOptions{}) {
  router_.Get("/metrics", [this](const http::Request&, http::Response* res) {
    res->Set(200, Render(), std::string(metrics::PrometheusText::kContentType));
  });
}

absl::Status MetricsExporter::Start(const std::string& bind_host, int first_port, int last_port) {
  absl::Status last = absl::OkStatus();
  for (int port = first_port; port <= last_port; ++port) {
    last = server_.Start(bind_host, port);
    if (last.ok()) return last;
    if (last.code() != absl::StatusCode::kUnavailable) return last;
  }
  return UnavailableF("no free port for the Prometheus endpoint in {}-{} on {} ({})", first_port,
                      last_port, bind_host, last.message());
}

std::string MetricsExporter::Render() {
  const std::vector<TaskStatusReport> tasks = tasks_();
  const int64_t now = MonotonicMillis();
  metrics::PrometheusText text;
  const metrics::Labels tm{{"tm_id", resource_id_}, {"host", host_}};
  AddProcess(text, tm);
  std::lock_guard lock(mu_);
  std::set<std::string> live;
  for (const TaskStatusReport& t : tasks) {
    const std::string attempt = t.attempt_id.ToString();
    live.insert(attempt);
    metrics::Labels labels = tm;
    labels.insert(labels.end(), {{"job_id", t.job_id.ToString()},
                                 {"job_name", t.job_name},
                                 {"task_id", t.task_id},
                                 {"task_name", t.task_name},
                                 {"task_attempt_id", attempt},
                                 {"task_attempt_num", std::to_string(t.attempt_number)},
                                 {"subtask_index", std::to_string(t.subtask_index)}});
    const TaskMetricsSnapshot& m = t.metrics;
    auto& meter = meters_[attempt];
    const std::pair<std::string_view, int64_t> counters[] = {
        {"numRecordsIn", m.records_in},
        {"numRecordsOut", m.records_out},
        {"numBytesIn", m.bytes_in},
        {"numBytesOut", m.bytes_out},
        {"accumulateBusyTimeMs", m.busy_time_ms},
        {"accumulateIdleTimeMs", m.idle_time_ms},
        {"accumulateBackPressuredTimeMs", m.backpressured_time_ms}};
    constexpr std::string_view kRates[] = {"numRecordsInPerSecond",       "numRecordsOutPerSecond",
                                           "numBytesInPerSecond",         "numBytesOutPerSecond",
                                           "busyTimeMsPerSecond",         "idleTimeMsPerSecond",
                                           "backPressuredTimeMsPerSecond"};
    for (size_t i = 0; i < std::size(counters); ++i) {
      text.Add(kTask, counters[i].first, labels, static_cast<double>(counters[i].second));
      text.Add(kTask, kRates[i], labels, meter[i].Update(counters[i].second, now));
    }
    text.Add(kTask, "currentInputWatermark", labels,
             static_cast<double>(m.current_input_watermark));
    text.Add(kTask, "currentOutputWatermark", labels,
             static_cast<double>(m.current_output_watermark));
    text.Add(kTask, "numLateRecordsDropped", labels, static_cast<double>(m.late_records_dropped));
    for (const auto& [op, late] : m.late_records_by_operator) {
      metrics::Labels ol = labels;
      ol.emplace_back("operator_name", op);
      text.Add(kOperator, "numLateRecordsDropped", ol, static_cast<double>(late));
    }
    for (const auto& [gauge, value] : m.state) {
      text.Add(kOperator, gauge, labels, static_cast<double>(value));
    }
  }
  std::erase_if(meters_, [&](const auto& kv) { return !live.contains(kv.first); });
  return text.Render();
}

}  // namespace sluice::taskmanager
