#pragma once
// Prometheus text exposition format 0.0.4, written the way Flink's PrometheusReporter names
// metrics: "flink_" + the scope ("taskmanager_job_task") + "_" + the metric name, with every
// character outside [a-zA-Z0-9_:] replaced by '_' ("Status.JVM.CPU.Load" ->
// "Status_JVM_CPU_Load"), and the scope variables as labels (job_id, job_name, task_name,
// subtask_index, ...). Every metric is a gauge, as Flink reports counters too.
//
// Thread-compatible: build one per scrape.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// "Status.JVM.CPU.Load" -> "Status_JVM_CPU_Load".
std::string SanitizeMetricName(std::string_view name);

class PrometheusText {
 public:
  // Adds a sample of flink_<scope>_<name>; samples of one name are grouped under one # TYPE.
  void Add(std::string_view scope, std::string_view name, const Labels& labels, double value);
  // The exposition text (content type kContentType).
  std::string Render() const;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  std::map<std::string, std::vector<std::string>> samples_;  // metric name -> sample lines
};

}  // namespace sluice::metrics
