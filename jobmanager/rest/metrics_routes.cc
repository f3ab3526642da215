// Metrics of the JobManager's scope: Flink's /jobmanager/metrics, /jobs/metrics (aggregated over
// jobs), /taskmanagers/:taskmanagerid/metrics, and GET /metrics, the JobManager's Prometheus
// endpoint (names as Flink's PrometheusReporter writes them: flink_jobmanager_<name> and
// flink_jobmanager_job_<name> with job_id and job_name labels). Task metrics are the
// TaskManagers' own endpoints' (taskmanager/service/metrics_exporter.h), as in Flink.

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/rest_views.h"
#include "jobmanager/rest/routes.h"
#include "runtime/metrics/process_metrics.h"
#include "runtime/metrics/prometheus.h"

namespace sluice::jobmanager::rest {
namespace {

using Metrics = std::vector<std::pair<std::string, double>>;

Metrics ProcessMetricsOf(const metrics::ProcessMetrics& p) {
  return {{"Status.ProcessTree.CPU.Time", static_cast<double>(p.cpu_time_ms)},
          {"Status.ProcessTree.Memory.RSS", static_cast<double>(p.rss_bytes)},
          {"Status.ProcessTree.Threads", static_cast<double>(p.threads)}};
}

// Flink's cluster metrics of the JobManager, and its process metrics.
Metrics JobManagerMetrics(RestBackend* backend) {
  const v1::ListTaskManagersResponse tms = backend->ListTaskManagers();
  const v1::ListJobsResponse jobs = backend->ListJobs();
  int slots_total = 0, slots_free = 0, running = 0;
  for (const auto& tm : tms.taskmanagers()) {
    slots_total += tm.slots_total();
    slots_free += tm.slots_free();
  }
  for (const auto& job : jobs.jobs()) running += job.state() == "RUNNING";
  Metrics m = {{"numRegisteredTaskManagers", tms.taskmanagers_size()},
               {"numRunningJobs", running},
               {"taskSlotsAvailable", slots_free},
               {"taskSlotsTotal", slots_total}};
  for (auto& p : ProcessMetricsOf(metrics::ReadProcessMetrics())) m.push_back(std::move(p));
  return m;
}

Metrics TaskManagerMetrics(const v1::TaskManagerInfo& tm) {
  const v1::ProcessMetrics& p = tm.process();
  Metrics m = ProcessMetricsOf(
      metrics::ProcessMetrics{p.cpu_time_ms(), p.rss_bytes(), p.threads(), p.start_time_ms()});
  m.emplace_back("Status.Slots.Total", tm.slots_total());
  m.emplace_back("Status.Slots.Free", tm.slots_free());
  return m;
}

bool Wanted(const http::Request& req, std::string_view id) {
  if (!req.HasQuery("get")) return true;
  const std::string wanted = "," + std::string(req.Query("get")) + ",";
  return wanted.find("," + std::string(id) + ",") != std::string::npos;
}

std::string Text(double v) {
  return v == static_cast<double>(static_cast<int64_t>(v)) ? std::to_string(static_cast<int64_t>(v))
                                                           : fmt::format("{:.3f}", v);
}

// Flink's MetricCollectionResponseBody: ids without ?get, ids and values with it.
Json MetricList(const Metrics& metrics, const http::Request& req) {
  Json out = Json::array();
  for (const auto& [id, value] : metrics) {
    if (!req.HasQuery("get")) {
      out.push_back(Json{{"id", id}});
    } else if (Wanted(req, id)) {
      out.push_back(Json{{"id", id}, {"value", Text(value)}});
    }
  }
  return out;
}

std::string PrometheusText(RestBackend* backend) {
  metrics::PrometheusText text;
  for (const auto& [name, value] : JobManagerMetrics(backend)) {
    text.Add("jobmanager", name, {}, value);
  }
  const v1::ListJobsResponse jobs = backend->ListJobs();
  for (const auto& job : jobs.jobs()) {
    const metrics::Labels labels{{"job_id", job.job_id()}, {"job_name", job.name()}};
    for (const auto& [name, value] : job.metrics()) {
      text.Add("jobmanager_job", name, labels, static_cast<double>(value));
    }
  }
  return text.Render();
}

}  // namespace

void AddMetricsRoutes(http::Router& router, RestBackend* backend) {
  router.Get("/jobmanager/metrics", [backend](const http::Request& req, http::Response* res) {
    Reply(res, 200, MetricList(JobManagerMetrics(backend), req));
  });

  router.Get("/taskmanagers/:taskmanagerid/metrics", [backend](const http::Request& req,
                                                               http::Response* res) {
    const v1::ListTaskManagersResponse tms = backend->ListTaskManagers();
    for (const auto& tm : tms.taskmanagers()) {
      if (tm.resource_id() == req.PathParam("taskmanagerid")) {
        return Reply(res, 200, MetricList(TaskManagerMetrics(tm), req));
      }
    }
    ReplyError(res, 404, fmt::format("TaskManager {} not found", req.PathParam("taskmanagerid")));
  });

  // Flink's AggregatingJobsMetricsHandler: ?get=names&agg=min,max,avg,sum,skew over all jobs
  // (?jobs=a,b restricts them).
  router.Get("/jobs/metrics", [backend](const http::Request& req, http::Response* res) {
    const std::string only = "," + std::string(req.Query("jobs")) + ",";
    std::map<std::string, std::vector<double>> values;
    const v1::ListJobsResponse jobs = backend->ListJobs();
    for (const auto& job : jobs.jobs()) {
      if (req.HasQuery("jobs") && only.find("," + job.job_id() + ",") == std::string::npos) {
        continue;
      }
      for (const auto& [name, value] : job.metrics())
        values[name].push_back(static_cast<double>(value));
    }
    const std::string agg =
        req.HasQuery("agg") ? "," + std::string(req.Query("agg")) + "," : ",min,max,avg,sum,skew,";
    Json out = Json::array();
    for (const auto& [name, xs] : values) {
      if (!req.HasQuery("get")) {
        out.push_back(Json{{"id", name}});
        continue;
      }
      if (!Wanted(req, name)) continue;
      double sum = 0;
      for (double x : xs) sum += x;
      Json m{{"id", name}};
      if (agg.find(",min,") != std::string::npos)
        m["min"] = *std::min_element(xs.begin(), xs.end());
      if (agg.find(",max,") != std::string::npos)
        m["max"] = *std::max_element(xs.begin(), xs.end());
      if (agg.find(",avg,") != std::string::npos) m["avg"] = sum / static_cast<double>(xs.size());
      if (agg.find(",sum,") != std::string::npos) m["sum"] = sum;
      if (agg.find(",skew,") != std::string::npos) {
        m["skew"] =
            Skew(*std::max_element(xs.begin(), xs.end()), sum / static_cast<double>(xs.size()));
      }
      out.push_back(std::move(m));
    }
    Reply(res, 200, out);
  });

  router.Get("/metrics", [backend](const http::Request&, http::Response* res) {
    res->Set(200, PrometheusText(backend), std::string(metrics::PrometheusText::kContentType));
  });
}

}  // namespace sluice::jobmanager::rest
