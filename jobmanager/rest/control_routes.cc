// Control endpoints of Flink's REST API v1: cancel (PATCH /jobs/:jobid), savepoints (with
// cancel-job), stop with savepoint (with drain), manual checkpoints, savepoint disposal. Every
// asynchronous operation answers 202 {"request-id"} and is polled as Flink's
// AsynchronousOperationResult {"status": {"id": IN_PROGRESS|COMPLETED}, "operation": {...}}.

#include <map>
#include <string>

#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/routes.h"
#include "runtime/base/status.h"

namespace sluice::jobmanager::rest {
namespace {

// Flink's SerializedThrowable as it appears in operation results.
Json FailureCause(const std::string& message) {
  return Json{
      {"class", "sluice.OperationFailure"}, {"stack-trace", message}, {"serialized-throwable", ""}};
}

// Flink's AsynchronousOperationResult: the operation is null while in progress.
Json OperationResult(bool in_progress, Json operation) {
  return Json{{"status", Json{{"id", in_progress ? "IN_PROGRESS" : "COMPLETED"}}},
              {"operation", in_progress ? Json(nullptr) : std::move(operation)}};
}

// GET <path>: polls a savepoint or manual checkpoint; `completed` renders a successful result,
// a failure goes under `failure_key`.
void AddPollRoute(http::Router& router, RestBackend* backend, const char* path,
                  const char* failure_key, Json (*completed)(const v1::SavepointStatus&)) {
  router.Get(path, [=](const http::Request& req, http::Response* res) {
    std::string job_id(req.PathParam("jobid"));
    auto st = backend->GetSavepoint(job_id, std::string(req.PathParam("triggerid")));
    if (!st.ok()) return ReplyJobError(res, st.status(), job_id);
    Json operation = Json::object();
    if (st->status() == "COMPLETED") operation = completed(*st);
    if (st->status() == "FAILED") operation[failure_key] = FailureCause(st->failure());
    Reply(res, 200, OperationResult(st->status() == "IN_PROGRESS", operation));
  });
}

// Flink's SavepointTriggerRequestBody (stop = false) and StopWithSavepointRequestBody.
absl::StatusOr<v1::TriggerSavepointRequest> ParseSavepointRequest(const http::Request& req,
                                                                  bool stop) {
  ASSIGN_OR_RETURN(Json body, ParseObjectBody(req));
  v1::TriggerSavepointRequest r;
  r.set_job_id(std::string(req.PathParam("jobid")));
  r.set_stop(stop);
  std::string directory, format = "CANONICAL", trigger_id;
  bool flag = false;
  RETURN_IF_ERROR(ReadString(body, stop ? "targetDirectory" : "target-directory", &directory));
  r.set_target_directory(directory);
  RETURN_IF_ERROR(ReadBool(body, stop ? "drain" : "cancel-job", &flag));
  if (stop) {
    r.set_drain(flag);
  } else {
    r.set_cancel_job(flag);
  }
  RETURN_IF_ERROR(ReadString(body, "triggerId", &trigger_id));  // Flink's idempotency key
  RETURN_IF_ERROR(ReadString(body, "formatType", &format));
  if (format != "CANONICAL" && format != "NATIVE") {
    return InvalidArgumentF("field 'formatType' must be CANONICAL or NATIVE, found '{}'", format);
  }
  r.set_native(format == "NATIVE");
  return r;
}

void AddSavepointRoutes(http::Router& router, RestBackend* backend) {
  auto trigger = [backend](const http::Request& req, http::Response* res, bool stop) {
    std::string job_id(req.PathParam("jobid"));
    auto request = ParseSavepointRequest(req, stop);
    if (!request.ok()) return ReplyError(res, 400, request.status());
    auto id = backend->TriggerSavepoint(*request);
    if (!id.ok()) return ReplyJobError(res, id.status(), job_id);
    Reply(res, 202, Json{{"request-id", *id}});
  };
  router.Post("/jobs/:jobid/savepoints", [trigger](const http::Request& req, http::Response* res) {
    trigger(req, res, false);
  });
  router.Post("/jobs/:jobid/stop", [trigger](const http::Request& req, http::Response* res) {
    trigger(req, res, true);
  });
  // Flink's SavepointInfo: "location" or "failure-cause".
  AddPollRoute(router, backend, "/jobs/:jobid/savepoints/:triggerid", "failure-cause",
               [](const v1::SavepointStatus& st) {
                 return Json{{"location", st.location()}};
               });
}

void AddCheckpointRoutes(http::Router& router, RestBackend* backend) {
  // Flink 1.19+'s CheckpointTriggerRequestBody: checkpointType CONFIGURED | FULL | INCREMENTAL.
  // Sluice takes the checkpoint its configuration says (incremental on RocksDB when enabled).
  router.Post("/jobs/:jobid/checkpoints", [backend](const http::Request& req, http::Response* res) {
    std::string job_id(req.PathParam("jobid"));
    auto body = ParseObjectBody(req);
    if (!body.ok()) return ReplyError(res, 400, body.status());
    std::string type = "CONFIGURED", trigger_id;
    absl::Status st = ReadString(*body, "checkpointType", &type);
    if (st.ok()) st = ReadString(*body, "triggerId", &trigger_id);
    if (st.ok() && type != "CONFIGURED" && type != "FULL" && type != "INCREMENTAL") {
      st = InvalidArgumentF(
          "field 'checkpointType' must be CONFIGURED, FULL or INCREMENTAL, found '{}'", type);
    }
    if (!st.ok()) return ReplyError(res, 400, st);
    auto id = backend->TriggerCheckpoint(job_id);
    if (!id.ok()) return ReplyJobError(res, id.status(), job_id);
    Reply(res, 202, Json{{"request-id", *id}});
  });
  // Flink's CheckpointInfo: "checkpointId" or "failureCause".
  AddPollRoute(router, backend, "/jobs/:jobid/checkpoints/:triggerid", "failureCause",
               [](const v1::SavepointStatus& st) {
                 return Json{{"checkpointId", st.checkpoint_id()}};
               });
}

void AddDisposalRoutes(http::Router& router, RestBackend* backend) {
  router.Post("/savepoint-disposal", [backend](const http::Request& req, http::Response* res) {
    auto body = ParseObjectBody(req);
    if (!body.ok()) return ReplyError(res, 400, body.status());
    std::string path;
    if (auto st = ReadString(*body, "savepoint-path", &path); !st.ok()) {
      return ReplyError(res, 400, st);
    }
    auto r = backend->DisposeSavepoint(path);
    if (!r.ok()) return ReplyStatus(res, r.status());
    Reply(res, 200, Json{{"request-id", r->trigger_id()}});
  });
  router.Get("/savepoint-disposal/:triggerid",
             [backend](const http::Request& req, http::Response* res) {
               auto r = backend->GetSavepointDisposal(std::string(req.PathParam("triggerid")));
               if (!r.ok()) return ReplyStatus(res, r.status());
               Json operation = Json::object();
               if (!r->failure().empty()) operation["failure-cause"] = FailureCause(r->failure());
               Reply(res, 200, OperationResult(false, operation));
             });
}

// Flink's JobResourceRequirementsBody: {"<vertex id>": {"parallelism": {"lowerBound": int,
// "upperBound": int}}}; the upper bound is the parallelism to run at.
absl::StatusOr<std::map<std::string, int>> ParseResourceRequirements(const http::Request& req) {
  ASSIGN_OR_RETURN(Json body, ParseObjectBody(req));
  std::map<std::string, int> out;
  for (const auto& [vertex, requirement] : body.items()) {
    if (!requirement.is_object() || !requirement.contains("parallelism") ||
        !requirement["parallelism"].is_object()) {
      return InvalidArgumentF(
          "field '{}.parallelism' must be an object with lowerBound and "
          "upperBound",
          vertex);
    }
    const Json& p = requirement["parallelism"];
    int64_t lower = 1, upper = 0;
    absl::Status st = ReadInt(p, "lowerBound", 1, 1 << 15, &lower);
    if (st.ok()) st = ReadInt(p, "upperBound", 1, 1 << 15, &upper);
    if (!st.ok()) return InvalidArgumentF("vertex {}: {}", vertex, st.message());
    if (upper == 0) return InvalidArgumentF("field '{}.parallelism.upperBound' is missing", vertex);
    if (lower > upper) {
      return InvalidArgumentF("field '{}.parallelism': lowerBound {} is above upperBound {}",
                              vertex, lower, upper);
    }
    out[vertex] = static_cast<int>(upper);
  }
  return out;
}

void AddRescaleRoutes(http::Router& router, RestBackend* backend) {
  router.Get("/jobs/:jobid/resource-requirements", [backend](const http::Request& req,
                                                             http::Response* res) {
    std::string job_id(req.PathParam("jobid"));
    auto job = backend->GetJob(job_id);
    if (!job.ok()) return ReplyJobError(res, job.status(), job_id);
    Json out = Json::object();
    for (const auto& v : job->vertices()) {
      out[v.id()] = Json{{"parallelism", Json{{"lowerBound", 1}, {"upperBound", v.parallelism()}}}};
    }
    Reply(res, 200, out);
  });
  router.Put("/jobs/:jobid/resource-requirements",
             [backend](const http::Request& req, http::Response* res) {
               std::string job_id(req.PathParam("jobid"));
               auto parallelism = ParseResourceRequirements(req);
               if (!parallelism.ok()) return ReplyError(res, 400, parallelism.status());
               absl::Status st = backend->RescaleJob(job_id, *parallelism);
               if (!st.ok()) return ReplyJobError(res, st, job_id);
               Reply(res, 200, Json::object());
             });
}

}  // namespace

void AddControlRoutes(http::Router& router, RestBackend* backend) {
  // Flink's JobCancellationHandler: 202 with an empty body; mode "cancel" (the default).
  router.Patch("/jobs/:jobid", [backend](const http::Request& req, http::Response* res) {
    std::string job_id(req.PathParam("jobid"));
    if (req.HasQuery("mode") && req.Query("mode") != "cancel") {
      return ReplyError(res, 400,
                        fmt::format("query parameter 'mode' must be 'cancel', found '{}' (stop "
                                    "a job with POST /jobs/:jobid/stop)",
                                    req.Query("mode")));
    }
    absl::Status st = backend->CancelJob(job_id);
    if (!st.ok()) return ReplyJobError(res, st, job_id);
    Reply(res, 202, Json::object());
  });
  AddSavepointRoutes(router, backend);
  AddCheckpointRoutes(router, backend);
  AddDisposalRoutes(router, backend);
  AddRescaleRoutes(router, backend);
}

}  // namespace sluice::jobmanager::rest
