#include <gtest/gtest.h>

#include <string>

#include "runtime/metrics/meter.h"
#include "runtime/metrics/process_metrics.h"
#include "runtime/metrics/prometheus.h"

namespace sluice::metrics {
namespace {

TEST(Meter, RateIsTheCountersSlopeOverTheLastCompleteWindow) {
  Meter m(1000);
  EXPECT_EQ(m.Update(100, 10'000), 0.0);
  EXPECT_EQ(m.Update(150, 10'500), 0.0) << "the window is not complete yet";
  EXPECT_DOUBLE_EQ(m.Update(2100, 12'000), 1000.0);  // 2000 in 2 s
  EXPECT_DOUBLE_EQ(m.Update(2200, 12'400), 1000.0) << "keeps the last rate inside a window";
  EXPECT_DOUBLE_EQ(m.Update(2600, 13'000), 500.0);
  EXPECT_DOUBLE_EQ(m.Update(5, 14'000), 500.0) << "a counter that restarts opens a new window";
  EXPECT_DOUBLE_EQ(m.Update(105, 15'000), 100.0);
}

TEST(Prometheus, NamesAreFlinksReporterNames) {
  EXPECT_EQ(SanitizeMetricName("Status.JVM.CPU.Load"), "Status_JVM_CPU_Load");
  EXPECT_EQ(SanitizeMetricName("kafka.records-lag-max"), "kafka_records_lag_max");
  PrometheusText text;
  text.Add("taskmanager_job_task", "numRecordsIn",
           {{"job_id", "j1"}, {"task_name", "Source: \"a\"\\b"}, {"subtask_index", "0"}}, 42);
  text.Add("taskmanager_job_task", "numRecordsIn", {{"job_id", "j1"}, {"subtask_index", "1"}},
           1.5);
  text.Add("jobmanager", "numRegisteredTaskManagers", {}, 2);
  EXPECT_EQ(text.Render(),
            "# TYPE flink_jobmanager_numRegisteredTaskManagers gauge\n"
            "flink_jobmanager_numRegisteredTaskManagers 2\n"
            "# TYPE flink_taskmanager_job_task_numRecordsIn gauge\n"
            "flink_taskmanager_job_task_numRecordsIn{job_id=\"j1\",task_name=\"Source: "
            "\\\"a\\\"\\\\b\",subtask_index=\"0\"} 42\n"
            "flink_taskmanager_job_task_numRecordsIn{job_id=\"j1\",subtask_index=\"1\"} 1.5\n");
}

TEST(ProcessMetrics, ReadsThisProcess) {
  ProcessMetrics m = ReadProcessMetrics();
  EXPECT_GT(m.rss_bytes, 1 << 20);
  EXPECT_GE(m.threads, 1);
  EXPECT_GT(m.start_time_ms, 1'600'000'000'000);  // after 2020
  volatile double x = 0;
  for (int i = 0; i < 50'000'000; ++i) x = x + i;  // burn some CPU
  EXPECT_GT(ReadProcessMetrics().cpu_time_ms, 0);
}

}  // namespace
}  // namespace sluice::metrics
