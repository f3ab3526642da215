#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/sql_routes.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kVersion = "sluice-0.1.0";
constexpr const char* kJsonType = "application/json";

// Flink's ExecutionState names, in Flink's order; every map of counts lists all of them.
constexpr std::array<std::string_view, 9> kExecutionStates = {
    "CREATED",  "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
    "FINISHED", "CANCELING", "CANCELED",  "FAILED"};
// Flink's JobStatus names, for "timestamps".
constexpr std::array<std::string_view, 10> kJobStates = {
    "INITIALIZING", "CREATED",  "RUNNING",  "FAILING", "RESTARTING",
    "CANCELLING",   "CANCELED", "FINISHED", "FAILED",  "SUSPENDED"};

bool IsTerminalJobState(std::string_view s) {
  return s == "FINISHED" || s == "CANCELED" || s == "FAILED";
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Flink's duration rule: end - start once ended, now - start while running, -1 before start.
int64_t Duration(int64_t start_ms, int64_t end_ms, int64_t now_ms) {
  if (start_ms <= 0) return -1;
  return (end_ms >= 0 ? end_ms : now_ms) - start_ms;
}

// Invalid UTF-8 in user-provided names or failure messages must not make dump() throw.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void Reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(Dump(body), kJsonType);
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, Json{{"errors", Json::array({message})}});
}

Json MetricsJson(int64_t bytes_in, int64_t bytes_out, int64_t records_in, int64_t records_out) {
  return Json{{"read-bytes", bytes_in},       {"read-bytes-complete", true},
              {"write-bytes", bytes_out},     {"write-bytes-complete", true},
              {"read-records", records_in},   {"read-records-complete", true},
              {"write-records", records_out}, {"write-records-complete", true}};
}

Json MetricsJson(const v1::TaskMetrics& m) {
  return MetricsJson(m.bytes_in(), m.bytes_out(), m.records_in(), m.records_out());
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
      {"failure", s.failure()}};
}

// A vertex's first subtask start and, once all subtasks ended, its last end (-1 otherwise).
std::pair<int64_t, int64_t> VertexTimes(const v1::VertexInfo& v) {
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

Json VertexJson(const v1::VertexInfo& v, int64_t now_ms) {
  std::array<int, kExecutionStates.size()> counts{};
  int64_t bytes_in = 0, bytes_out = 0, records_in = 0, records_out = 0;
  Json subtasks = Json::array();
  for (const auto& s : v.subtasks()) {
    CountState(s.state(), &counts);
    bytes_in += s.metrics().bytes_in();
    bytes_out += s.metrics().bytes_out();
    records_in += s.metrics().records_in();
    records_out += s.metrics().records_out();
    subtasks.push_back(SubtaskJson(s, now_ms));
  }
  auto [start, end] = VertexTimes(v);
  return Json{{"id", v.id()},
              {"name", v.name()},
              {"parallelism", v.parallelism()},
              {"maxParallelism", v.max_parallelism()},
              {"status", v.state()},
              {"start-time", start},
              {"end-time", end},
              {"duration", Duration(start, end, now_ms)},
              {"tasks", StateCounts(counts, /*lowercase=*/false)},
              {"metrics", MetricsJson(bytes_in, bytes_out, records_in, records_out)},
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
    vertices.push_back(VertexJson(v, now_ms));
  }
  Json j{{"jid", job.job_id()},
         {"name", job.name()},
         {"isStoppable", false},
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
  return Json{{"id", tm.resource_id()},
              {"path", tm.address()},
              {"dataPort", PortOf(tm.address())},
              // Flink's name, Flink's meaning: the epoch ms of the last heartbeat.
              {"timeSinceLastHeartbeat", tm.last_heartbeat_ms()},
              {"slotsNumber", tm.slots_total()},
              {"freeSlots", tm.slots_free()},
              {"hardware", Json{{"cpuCores", tm.cpu_cores()},
                                {"physicalMemory", tm.physical_memory_bytes()},
                                {"freeMemory", 0},
                                {"managedMemory", 0}}}};
}

// Maps a backend error of GetJob to Flink's error response.
void ReplyJobError(httplib::Response& res, const absl::Status& status, const std::string& job_id) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      ReplyError(res, 404, fmt::format("Job {} not found", job_id));
      return;
    case absl::StatusCode::kInvalidArgument:
      ReplyError(res, 400, std::string(status.message()));
      return;
    default:
      ReplyError(res, 500, std::string(status.message()));
  }
}

}  // namespace

RestServer::RestServer(RestBackend* backend) : backend_(backend) {}

RestServer::~RestServer() { Stop(); }

absl::Status RestServer::Start(const std::string& host, int port) {
  if (server_ != nullptr)
    return FailedPreconditionF("REST server already started on port {}", port_);
  auto server = std::make_unique<httplib::Server>();
  RestBackend* backend = backend_;

  server->Get("/overview", [backend](const httplib::Request&, httplib::Response& res) {
    auto jobs = backend->ListJobs();
    auto tms = backend->ListTaskManagers();
    int slots_total = 0, slots_free = 0;
    for (const auto& tm : tms.taskmanagers()) {
      slots_total += tm.slots_total();
      slots_free += tm.slots_free();
    }
    int running = 0, finished = 0, cancelled = 0, failed = 0;
    for (const auto& job : jobs.jobs()) {
      if (job.state() == "FINISHED") {
        ++finished;
      } else if (job.state() == "CANCELED") {
        ++cancelled;
      } else if (job.state() == "FAILED") {
        ++failed;
      } else {
        ++running;
      }
    }
    Reply(res, 200,
          Json{{"taskmanagers", tms.taskmanagers_size()},
               {"slots-total", slots_total},
               {"slots-available", slots_free},
               {"jobs-running", running},
               {"jobs-finished", finished},
               {"jobs-cancelled", cancelled},
               {"jobs-failed", failed},
               {"flink-version", kVersion},
               {"flink-commit", ""}});
  });

  server->Get("/config", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200,
          Json{{"refresh-interval", 3000},
               {"timezone-name", "UTC"},
               {"timezone-offset", 0},
               {"flink-version", kVersion},
               {"flink-revision", ""},
               {"features", Json{{"web-submit", false},
                                 {"web-cancel", false},
                                 {"web-rescale", false},
                                 {"web-history", false}}}});
  });

  server->Get("/jobs", [backend](const httplib::Request&, httplib::Response& res) {
    Json jobs = Json::array();
    const v1::ListJobsResponse list = backend->ListJobs();
    for (const auto& job : list.jobs()) {
      jobs.push_back(Json{{"id", job.job_id()}, {"status", job.state()}});
    }
    Reply(res, 200, Json{{"jobs", std::move(jobs)}});
  });

  // Registered before /jobs/:jobid so that "overview" is not taken for a job id.
  server->Get("/jobs/overview", [backend](const httplib::Request&, httplib::Response& res) {
    int64_t now = NowMillis();
    Json jobs = Json::array();
    const v1::ListJobsResponse list = backend->ListJobs();
    for (const auto& job : list.jobs()) jobs.push_back(JobOverviewJson(job, now));
    Reply(res, 200, Json{{"jobs", std::move(jobs)}});
  });

  server->Get(R"(/jobs/([^/]+))", [backend](const httplib::Request& req, httplib::Response& res) {
    std::string job_id = req.matches[1];
    auto job = backend->GetJob(job_id);
    if (!job.ok()) return ReplyJobError(res, job.status(), job_id);
    Reply(res, 200, JobDetailsJson(*job, NowMillis()));
  });

  server->Get(R"(/jobs/([^/]+)/vertices/([^/]+))", [backend](const httplib::Request& req,
                                                             httplib::Response& res) {
    std::string job_id = req.matches[1];
    std::string vertex_id = req.matches[2];
    auto job = backend->GetJob(job_id);
    if (!job.ok()) return ReplyJobError(res, job.status(), job_id);
    int64_t now = NowMillis();
    for (const auto& v : job->vertices()) {
      if (v.id() != vertex_id) continue;
      Json subtasks = Json::array();
      for (const auto& s : v.subtasks()) subtasks.push_back(SubtaskJson(s, now));
      return Reply(res, 200,
                   Json{{"id", v.id()},
                        {"name", v.name()},
                        {"parallelism", v.parallelism()},
                        {"maxParallelism", v.max_parallelism()},
                        {"now", now},
                        {"subtasks", std::move(subtasks)}});
    }
    ReplyError(res, 404, fmt::format("Vertex {} not found in job {}", vertex_id, job_id));
  });

  // Bodies the backend renders itself (checkpoint statistics, exception history, metrics).
  auto json_route = [&](const char* pattern,
                        absl::StatusOr<std::string> (RestBackend::*getter)(const std::string&),
                        bool metrics) {
    server->Get(pattern, [backend, getter, metrics](const httplib::Request& req,
                                                    httplib::Response& res) {
      std::string job_id = req.matches[1];
      auto body = (backend->*getter)(job_id);
      if (!body.ok()) return ReplyJobError(res, body.status(), job_id);
      Json j = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
      if (metrics && req.has_param("get")) {
        // Flink: ?get=a,b returns only those metrics.
        std::string wanted = "," + req.get_param_value("get") + ",";
        Json filtered = Json::array();
        for (const auto& m : j) {
          if (wanted.find("," + m["id"].get<std::string>() + ",") != std::string::npos) {
            filtered.push_back(m);
          }
        }
        j = std::move(filtered);
      } else if (metrics) {
        Json ids = Json::array();
        for (const auto& m : j) ids.push_back(Json{{"id", m["id"]}});
        j = std::move(ids);
      }
      Reply(res, 200, j);
    });
  };
  json_route(R"(/jobs/([^/]+)/checkpoints)", &RestBackend::GetJobCheckpointsJson, false);
  json_route(R"(/jobs/([^/]+)/exceptions)", &RestBackend::GetJobExceptionsJson, false);
  json_route(R"(/jobs/([^/]+)/metrics)", &RestBackend::GetJobMetricsJson, true);

  // Savepoints (Flink's SavepointTriggerHandler / SavepointStatusHandler / StopWithSavepoint).
  auto trigger = [backend](const httplib::Request& req, httplib::Response& res, bool stop) {
    std::string job_id = req.matches[1];
    Json body = req.body.empty() ? Json::object() : Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return ReplyError(res, 400, "request body must be a JSON object");
    }
    const char* dir_key = stop ? "targetDirectory" : "target-directory";
    std::string dir = body.value(dir_key, std::string());
    if (stop && body.value("drain", false)) {
      return ReplyError(res, 400, "stop with drain is not supported yet; use drain: false");
    }
    if (!stop && body.value("cancel-job", false)) {
      return ReplyError(res, 400, "cancel-job is not supported; use POST /jobs/:jobid/stop");
    }
    // Flink's formatType: "CANONICAL" (default) or "NATIVE".
    std::string format = body.value("formatType", std::string("CANONICAL"));
    if (format != "CANONICAL" && format != "NATIVE") {
      return ReplyError(res, 400, "formatType must be CANONICAL or NATIVE, found '" + format + "'");
    }
    auto id = backend->TriggerSavepoint(job_id, dir, stop, format == "NATIVE");
    if (!id.ok()) {
      if (id.status().code() == absl::StatusCode::kFailedPrecondition) {
        return ReplyError(res, 409, std::string(id.status().message()));
      }
      return ReplyJobError(res, id.status(), job_id);
    }
    Reply(res, 202, Json{{"request-id", *id}});
  };
  server->Post(R"(/jobs/([^/]+)/savepoints)", [trigger](const httplib::Request& req,
                                                       httplib::Response& res) {
    trigger(req, res, false);
  });
  server->Post(R"(/jobs/([^/]+)/stop)", [trigger](const httplib::Request& req,
                                                 httplib::Response& res) {
    trigger(req, res, true);
  });
  server->Get(R"(/jobs/([^/]+)/savepoints/([^/]+))", [backend](const httplib::Request& req,
                                                              httplib::Response& res) {
    std::string job_id = req.matches[1];
    auto st = backend->GetSavepoint(job_id, req.matches[2]);
    if (!st.ok()) {
      if (st.status().code() == absl::StatusCode::kNotFound) {
        return ReplyError(res, 404, std::string(st.status().message()));
      }
      return ReplyJobError(res, st.status(), job_id);
    }
    Json operation = Json::object();
    if (st->status() == "COMPLETED") operation["location"] = st->location();
    if (st->status() == "FAILED") {
      operation["failure-cause"] = Json{{"class", "sluice.SavepointFailure"},
                                        {"stack-trace", st->failure()},
                                        {"serialized-throwable", ""}};
    }
    Json status = Json{{"id", st->status() == "IN_PROGRESS" ? "IN_PROGRESS" : "COMPLETED"}};
    Reply(res, 200, Json{{"status", status}, {"operation", operation}});
  });

  server->Get("/taskmanagers", [backend](const httplib::Request&, httplib::Response& res) {
    Json tms = Json::array();
    const v1::ListTaskManagersResponse list = backend->ListTaskManagers();
    for (const auto& tm : list.taskmanagers()) {
      tms.push_back(TaskManagerJson(tm));
    }
    Reply(res, 200, Json{{"taskmanagers", std::move(tms)}});
  });

  AddSqlRoutes(*server);

  // Unmatched routes and methods: httplib sets 404/405 with an empty body; fill in Flink's
  // error shape. Responses our handlers produced already carry a body and pass through.
  server->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message =
            res.status == 404 ? fmt::format("Not found: {}", req.path)
                              : fmt::format("HTTP {} for {} {}", res.status, req.method, req.path);
        res.set_content(Dump(Json{{"errors", Json::array({message})}}), kJsonType);
        return httplib::Server::HandlerResponse::Handled;
      }));

  // httplib's default sets SO_REUSEPORT, which lets a second server bind a port in use; a
  // JobManager started twice must fail instead.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  int bound = -1;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
  } else if (server->bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return UnavailableF("REST server cannot bind {}:{} (port in use or address not local)", host,
                        port);
  }
  server_ = std::move(server);
  port_ = bound;
  thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so Stop() cannot race.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::debug("REST server bound to {}:{}", host, port_);
  return absl::OkStatus();
}

void RestServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace sluice::jobmanager
