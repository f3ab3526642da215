#include <algorithm>
#include <string>

#include "fmt/format.h"
#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/rest_views.h"
#include "jobmanager/rest/routes.h"
#include "runtime/base/clock.h"

namespace sluice::jobmanager::rest {
namespace {

// ?get=a,b of Flink's metrics handlers: only those metrics, with values; without it, the ids.
Json FilterMetrics(const Json& all, const http::Request& req) {
  if (!req.HasQuery("get")) {
    Json ids = Json::array();
    for (const auto& m : all) ids.push_back(Json{{"id", m["id"]}});
    return ids;
  }
  std::string wanted = "," + std::string(req.Query("get")) + ",";
  Json filtered = Json::array();
  for (const auto& m : all) {
    if (wanted.find("," + m["id"].get<std::string>() + ",") != std::string::npos) {
      filtered.push_back(m);
    }
  }
  return filtered;
}

bool ParseId(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return v > 0;
}

// Flink's JobExecutionResultResponseBody: IN_PROGRESS until the job reached a terminal state.
Json ExecutionResultJson(const v1::GetJobResponse& r) {
  const v1::JobSummary& job = r.job();
  if (!IsTerminalJobState(job.state())) return Json{{"status", Json{{"id", "IN_PROGRESS"}}}};
  const std::string_view application_status = job.state() == "FINISHED"   ? "SUCCEEDED"
                                              : job.state() == "CANCELED" ? "CANCELED"
                                                                          : "FAILED";
  Json result{{"id", job.job_id()},
              {"application-status", application_status},
              {"accumulator-results", Json::object()},
              {"net-runtime", std::max<int64_t>(0, job.end_time_ms() - job.start_time_ms())}};
  if (!job.failure_cause().empty()) {
    result["failure-cause"] = Json{{"class", "sluice.JobFailure"},
                                   {"stack-trace", job.failure_cause()},
                                   {"serialized-throwable", ""}};
  }
  return Json{{"status", Json{{"id", "COMPLETED"}}}, {"job-execution-result", std::move(result)}};
}

}  // namespace

void AddJobRoutes(http::Router& router, RestBackend* backend) {
  router.Get("/jobs", [backend](const http::Request&, http::Response* res) {
    Json jobs = Json::array();
    const v1::ListJobsResponse list = backend->ListJobs();
    for (const auto& job : list.jobs()) {
      jobs.push_back(Json{{"id", job.job_id()}, {"status", job.state()}});
    }
    Reply(res, 200, Json{{"jobs", std::move(jobs)}});
  });

  router.Get("/jobs/overview", [backend](const http::Request&, http::Response* res) {
    int64_t now = NowMillis();
    Json jobs = Json::array();
    const v1::ListJobsResponse list = backend->ListJobs();
    for (const auto& job : list.jobs()) jobs.push_back(JobOverviewJson(job, now));
    Reply(res, 200, Json{{"jobs", std::move(jobs)}});
  });

  router.Get("/jobs/:jobid", [backend](const http::Request& req, http::Response* res) {
    std::string job_id(req.PathParam("jobid"));
    auto job = backend->GetJob(job_id);
    if (!job.ok()) return ReplyJobError(res, job.status(), job_id);
    Reply(res, 200, JobDetailsJson(*job, NowMillis()));
  });

  // Views of GetJob: the job's status, plan and execution result.
  auto job_view = [&](const char* path, Json (*render)(const v1::GetJobResponse&)) {
    router.Get(path, [backend, render](const http::Request& req, http::Response* res) {
      std::string job_id(req.PathParam("jobid"));
      auto job = backend->GetJob(job_id);
      if (!job.ok()) return ReplyJobError(res, job.status(), job_id);
      Reply(res, 200, render(*job));
    });
  };
  job_view("/jobs/:jobid/status", [](const v1::GetJobResponse& r) {
    return Json{{"status", r.job().state()}};
  });
  job_view("/jobs/:jobid/plan", [](const v1::GetJobResponse& r) {
    return Json{{"plan", PlanJson(r)}};
  });
  job_view("/jobs/:jobid/execution-result", &ExecutionResultJson);

  // Bodies the backend renders itself (checkpoint statistics, exception history, metrics).
  auto json_route = [&](const char* path,
                        absl::StatusOr<std::string> (RestBackend::*getter)(const std::string&),
                        bool metrics) {
    router.Get(path, [backend, getter, metrics](const http::Request& req, http::Response* res) {
      std::string job_id(req.PathParam("jobid"));
      auto body = (backend->*getter)(job_id);
      if (!body.ok()) return ReplyJobError(res, body.status(), job_id);
      Json j = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
      Reply(res, 200, metrics ? FilterMetrics(j, req) : j);
    });
  };
  json_route("/jobs/:jobid/checkpoints", &RestBackend::GetJobCheckpointsJson, false);
  json_route("/jobs/:jobid/exceptions", &RestBackend::GetJobExceptionsJson, false);
  json_route("/jobs/:jobid/metrics", &RestBackend::GetJobMetricsJson, true);
  json_route("/jobs/:jobid/config", &RestBackend::GetJobConfigJson, false);
  json_route("/jobs/:jobid/checkpoints/config", &RestBackend::GetCheckpointConfigJson, false);

  router.Get("/jobs/:jobid/checkpoints/details/:checkpointid",
             [backend](const http::Request& req, http::Response* res) {
               std::string job_id(req.PathParam("jobid"));
               int64_t id = 0;
               if (!ParseId(req.PathParam("checkpointid"), &id)) {
                 return ReplyError(res, 400,
                                   fmt::format("checkpoint id must be a positive integer, found "
                                               "'{}'",
                                               req.PathParam("checkpointid")));
               }
               auto body = backend->GetCheckpointDetailsJson(job_id, id);
               if (!body.ok()) return ReplyJobError(res, body.status(), job_id);
               Reply(res, 200, Json::parse(*body, nullptr, /*allow_exceptions=*/false));
             });
}

}  // namespace sluice::jobmanager::rest
