// Vertex endpoints of Flink's REST API v1: /jobs/:jobid/vertices/:vertexid and its subtasks,
// subtask times, back pressure, watermarks and metrics. Metric ids and values as Flink's
// metric handlers: "<subtask>.<name>" per subtask, values as strings; aggregated over subtasks
// at /subtasks/metrics (min, max, avg, sum).

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/rest_views.h"
#include "jobmanager/rest/routes.h"
#include "runtime/base/clock.h"

namespace sluice::jobmanager::rest {
namespace {

using Metric = std::pair<std::string, double>;

// Flink's task metrics of one subtask, as numbers.
std::vector<Metric> SubtaskMetrics(const v1::TaskMetrics& m) {
  const v1::MetricRates& r = m.rates();
  return {{"numRecordsIn", static_cast<double>(m.records_in())},
          {"numRecordsOut", static_cast<double>(m.records_out())},
          {"numBytesIn", static_cast<double>(m.bytes_in())},
          {"numBytesOut", static_cast<double>(m.bytes_out())},
          {"numRecordsInPerSecond", r.records_in()},
          {"numRecordsOutPerSecond", r.records_out()},
          {"numBytesInPerSecond", r.bytes_in()},
          {"numBytesOutPerSecond", r.bytes_out()},
          {"busyTimeMsPerSecond", r.busy_ms()},
          {"idleTimeMsPerSecond", r.idle_ms()},
          {"backPressuredTimeMsPerSecond", r.backpressured_ms()},
          {"accumulateBusyTimeMs", static_cast<double>(m.busy_time_ms())},
          {"accumulateIdleTimeMs", static_cast<double>(m.idle_time_ms())},
          {"accumulateBackPressuredTimeMs", static_cast<double>(m.backpressured_time_ms())},
          {"currentInputWatermark", static_cast<double>(m.current_input_watermark())},
          {"currentOutputWatermark", static_cast<double>(m.current_output_watermark())},
          {"numLateRecordsDropped", static_cast<double>(m.late_records_dropped())}};
}

// Integral values print without a fraction, as Flink's gauges and counters do.
std::string MetricText(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9.2e18) return std::to_string(static_cast<int64_t>(v));
  return fmt::format("{:.3f}", v);
}

// The names of ?get=a,b (all when absent).
bool Wanted(const http::Request& req, std::string_view id) {
  if (!req.HasQuery("get")) return true;
  const std::string wanted = "," + std::string(req.Query("get")) + ",";
  return wanted.find("," + std::string(id) + ",") != std::string::npos;
}

// Flink's back pressure level of a back-pressured ratio (0..1): ok <= 0.1 < low <= 0.5 < high.
std::string_view Level(double ratio) {
  return ratio <= 0.10 ? "ok" : ratio <= 0.5 ? "low" : "high";
}

// Looks up the vertex, or answers 404 and returns null.
const v1::VertexInfo* FindVertex(const absl::StatusOr<v1::GetJobResponse>& job,
                                 const http::Request& req, http::Response* res) {
  const std::string job_id(req.PathParam("jobid"));
  if (!job.ok()) {
    ReplyJobError(res, job.status(), job_id);
    return nullptr;
  }
  for (const auto& v : job->vertices()) {
    if (v.id() == req.PathParam("vertexid")) return &v;
  }
  ReplyError(res, 404,
             fmt::format("Vertex {} not found in job {}", req.PathParam("vertexid"), job_id));
  return nullptr;
}

using VertexHandler = Json (*)(const v1::VertexInfo&, const http::Request&, http::Response*);

Json VertexDetails(const v1::VertexInfo& v, const http::Request&, http::Response*) {
  const int64_t now = NowMillis();
  Json subtasks = Json::array();
  for (const auto& s : v.subtasks()) subtasks.push_back(SubtaskJson(s, now));
  return Json{{"id", v.id()},
              {"name", v.name()},
              {"parallelism", v.parallelism()},
              {"maxParallelism", v.max_parallelism()},
              {"now", now},
              {"subtasks", std::move(subtasks)},
              {"aggregated", AggregatedJson(v, now)}};
}

Json SubtaskTimes(const v1::VertexInfo& v, const http::Request&, http::Response*) {
  const int64_t now = NowMillis();
  Json subtasks = Json::array();
  for (const auto& s : v.subtasks()) {
    const std::string& location = s.location();
    subtasks.push_back(Json{
        {"subtask", s.subtask()},
        {"host", location.substr(0, location.rfind(':'))},
        {"endpoint", location},
        {"duration", Duration(s.start_time_ms(), s.end_time_ms() > 0 ? s.end_time_ms() : -1, now)},
        {"timestamps", StateTimestampsJson(s)}});
  }
  return Json{{"id", v.id()}, {"name", v.name()}, {"now", now}, {"subtasks", std::move(subtasks)}};
}

// Flink's JobVertexBackPressureInfo from the tasks' back-pressured, idle and busy time rates.
Json BackPressure(const v1::VertexInfo& v, const http::Request&, http::Response*) {
  Json subtasks = Json::array();
  double worst = 0;
  for (const auto& s : v.subtasks()) {
    const v1::MetricRates& r = s.metrics().rates();
    const double ratio = std::clamp(r.backpressured_ms() / 1000.0, 0.0, 1.0);
    worst = std::max(worst, ratio);
    subtasks.push_back(Json{{"subtask", s.subtask()},
                            {"attempt-number", s.attempt()},
                            {"backpressure-level", Level(ratio)},  // Flink's deprecated name
                            {"backpressureLevel", Level(ratio)},
                            {"ratio", ratio},
                            {"idleRatio", std::clamp(r.idle_ms() / 1000.0, 0.0, 1.0)},
                            {"busyRatio", std::clamp(r.busy_ms() / 1000.0, 0.0, 1.0)}});
  }
  return Json{{"status", "ok"},
              {"backpressure-level", Level(worst)},
              {"backpressureLevel", Level(worst)},
              {"end-timestamp", NowMillis()},
              {"subtasks", std::move(subtasks)}};
}

Json Watermarks(const v1::VertexInfo& v, const http::Request&, http::Response*) {
  Json out = Json::array();
  for (const auto& s : v.subtasks()) {
    out.push_back(Json{{"id", fmt::format("{}.currentInputWatermark", s.subtask())},
                       {"value", std::to_string(s.metrics().current_input_watermark())}});
  }
  return out;
}

Json VertexMetrics(const v1::VertexInfo& v, const http::Request& req, http::Response*) {
  Json out = Json::array();
  for (const auto& s : v.subtasks()) {
    for (const auto& [name, value] : SubtaskMetrics(s.metrics())) {
      const std::string id = fmt::format("{}.{}", s.subtask(), name);
      if (!req.HasQuery("get")) {
        out.push_back(Json{{"id", id}});
      } else if (Wanted(req, id)) {
        out.push_back(Json{{"id", id}, {"value", MetricText(value)}});
      }
    }
  }
  return out;
}

// Flink's AggregatedSubtaskMetricsHandler: ?get=names&agg=min,max,avg,sum,skew (all by default).
Json AggregatedMetrics(const v1::VertexInfo& v, const http::Request& req, http::Response*) {
  std::vector<Metric> names = SubtaskMetrics(v1::TaskMetrics());
  Json out = Json::array();
  const std::string agg =
      req.HasQuery("agg") ? "," + std::string(req.Query("agg")) + "," : ",min,max,avg,sum,skew,";
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i].first;
    if (!req.HasQuery("get")) {
      out.push_back(Json{{"id", name}});
      continue;
    }
    if (!Wanted(req, name) || v.subtasks_size() == 0) continue;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    for (const auto& s : v.subtasks()) {
      const double x = SubtaskMetrics(s.metrics())[i].second;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    Json m{{"id", name}};
    if (agg.find(",min,") != std::string::npos) m["min"] = lo;
    if (agg.find(",max,") != std::string::npos) m["max"] = hi;
    if (agg.find(",avg,") != std::string::npos) m["avg"] = sum / v.subtasks_size();
    if (agg.find(",sum,") != std::string::npos) m["sum"] = sum;
    if (agg.find(",skew,") != std::string::npos) m["skew"] = Skew(hi, sum / v.subtasks_size());
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

void AddVertexRoutes(http::Router& router, RestBackend* backend) {
  auto vertex_route = [&](const char* path, VertexHandler render) {
    router.Get(path, [backend, render](const http::Request& req, http::Response* res) {
      auto job = backend->GetJob(std::string(req.PathParam("jobid")));
      const v1::VertexInfo* v = FindVertex(job, req, res);
      if (v != nullptr) Reply(res, 200, render(*v, req, res));
    });
  };
  vertex_route("/jobs/:jobid/vertices/:vertexid", &VertexDetails);
  vertex_route("/jobs/:jobid/vertices/:vertexid/subtasktimes", &SubtaskTimes);
  vertex_route("/jobs/:jobid/vertices/:vertexid/backpressure", &BackPressure);
  vertex_route("/jobs/:jobid/vertices/:vertexid/watermarks", &Watermarks);
  vertex_route("/jobs/:jobid/vertices/:vertexid/metrics", &VertexMetrics);
  vertex_route("/jobs/:jobid/vertices/:vertexid/subtasks/metrics", &AggregatedMetrics);

  router.Get("/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex",
             [backend](const http::Request& req, http::Response* res) {
               auto job = backend->GetJob(std::string(req.PathParam("jobid")));
               const v1::VertexInfo* v = FindVertex(job, req, res);
               if (v == nullptr) return;
               const std::string_view index = req.PathParam("subtaskindex");
               for (const auto& s : v->subtasks()) {
                 if (std::to_string(s.subtask()) == index) {
                   return Reply(res, 200, SubtaskJson(s, NowMillis()));
                 }
               }
               ReplyError(res, 404,
                          fmt::format("Subtask {} not found in vertex {} (parallelism {})", index,
                                      v->id(), v->parallelism()));
             });
}

}  // namespace sluice::jobmanager::rest
