// JobManagerImpl: Dispatcher + ResourceManager + the JobMasters of all jobs. All cluster state
// lives on one SerialExecutor thread (Flink's RpcEndpoint main thread), so none of it is locked;
// gRPC and REST handler threads hop onto it with executor_.Call(). Blocking RPCs to TaskManagers
// (SubmitTask, CancelTask) run on helper threads and post their outcome back.

#include "jobmanager/jobmanager.h"

#include <algorithm>
#include <filesystem>
#include <condition_variable>
#include <list>
#include <map>
#include <thread>
#include <variant>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "grpcpp/grpcpp.h"
#include "sluice/grpc_defaults.h"
#include "jobmanager/execution_graph.h"
#include "jobmanager/rest/rest_server.h"
#include "runtime/base/check.h"
#include "runtime/base/clock.h"
#include "runtime/base/serial_executor.h"
#include "runtime/base/status.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/core/key_groups.h"
#include "sluice/v1/jobmanager.grpc.pb.h"
#include "sluice/v1/taskmanager.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

using graph::ExecutionState;
using graph::JobStatus;

namespace {

// A registered TaskManager (Flink's ResourceManager view of a TaskExecutor).
struct TaskManagerRecord {
  std::string id;  // the TaskManager's resource id (free-form, as Flink's ResourceID)
  std::string address;
  int slots = 0;
  int free_slots = 0;
  int cpu_cores = 0;
  int64_t memory_bytes = 0;
  int64_t last_heartbeat_mono = 0;
  int64_t last_heartbeat_wall = 0;
  int64_t registration = 0;  // distinguishes registrations of the same resource id
  std::shared_ptr<v1::TaskExecutorService::Stub> stub;
};

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// The SplitEnumeratorContext the JobMaster gives a source's enumerator: both calls only post
// to the JobManager's executor (thread-safe, non-blocking), which looks up the reader's current
// attempt or the job there.
class EnumeratorContext final : public operators::SplitEnumeratorContext {
 public:
  using SendFn = std::function<void(int32_t subtask, std::string event)>;
  using FailFn = std::function<void(absl::Status cause)>;
  EnumeratorContext(int32_t parallelism, SendFn send, FailFn fail)
      : parallelism_(parallelism), send_(std::move(send)), fail_(std::move(fail)) {}
  int32_t parallelism() const override { return parallelism_; }
  void SendEventToReader(int32_t subtask, std::string event) override {
    send_(subtask, std::move(event));
  }
  void FailJob(absl::Status cause) override { fail_(std::move(cause)); }

 private:
  const int32_t parallelism_;
  const SendFn send_;
  const FailFn fail_;
};

}  // namespace

class JobManagerImpl final : public v1::DispatcherService::Service,
                             public v1::JobMasterService::Service,
                             public RestBackend {
 public:
  explicit JobManagerImpl(JobManagerConfig config)
      : config_(std::move(config)), jobmanager_id_(Id128::Random().ToString()), rest_(this) {}
  ~JobManagerImpl() override { Shutdown(); }

  absl::Status Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(fmt::format("{}:{}", config_.bind_host, config_.rpc_port),
                             grpc::InsecureServerCredentials(), &rpc_port_);
    builder.RegisterService(static_cast<v1::DispatcherService::Service*>(this));
    builder.RegisterService(static_cast<v1::JobMasterService::Service*>(this));
    rpc::ConfigureServer(builder);
    server_ = builder.BuildAndStart();
    if (!server_ || rpc_port_ == 0) {
      return UnavailableF("JobManager cannot listen for RPC on {}:{} (port in use?)",
                          config_.bind_host, config_.rpc_port);
    }
    spdlog::info("JobManager {} RPC listening on {}:{}", jobmanager_id_, config_.bind_host, rpc_port_);
    if (config_.rest_port >= 0) {
      RETURN_IF_ERROR(rest_.Start(config_.rest_bind_host, config_.rest_port));
      spdlog::info("REST API listening on http://{}:{}", config_.rest_bind_host, rest_.port());
    }
    timer_ = std::thread([this] { TimerLoop(); });
    return absl::OkStatus();
  }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (timer_.joinable()) timer_.join();
    // Cancel what still runs so TaskManagers free their slots.
    std::vector<SourceCoordinator> coordinators;
    executor_.Call([this, &coordinators] {
      for (auto& [id, job] : jobs_) {
        if (!graph::IsTerminal(job->status.state())) CancelJobLocked(*job);
        for (auto& c : job->source_coordinators) {
          if (c.enumerator) c.enumerator->Close();
          coordinators.push_back(std::move(c));
        }
        job->source_coordinators.clear();
      }
      return 0;
    });
    coordinators.clear();  // joins their threads (each at most one metadata request)
    rest_.Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    storage_io_.Shutdown();
    executor_.Shutdown();
    event_io_.Shutdown();
    JoinHelpers();
    std::lock_guard lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }

  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return shut_down_; });
  }

  int rpc_port() const { return rpc_port_; }
  int rest_port() const { return config_.rest_port >= 0 ? rest_.port() : -1; }

  // --- DispatcherService ----------------------------------------------------------------
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* req,
                         v1::SubmitJobResponse* resp) override {
    job::JobSubmission sub{req->job().spec_yaml(), req->job().spec_path(), req->job().base_dir(),
                           req->job().parallelism()};
    if (sub.spec_path.empty()) sub.spec_path = "<job spec>";
    // Compile off the executor: it is CPU work and needs no cluster state.
    auto graph = job::CompileJob(sub);
    if (!graph.ok()) {
      spdlog::info("Refused job submission: {}", graph.status().message());
      return ToGrpc(graph.status());
    }
    auto job = std::make_unique<JobMaster>();
    job->id = JobId::Random();
    job->graph = std::move(*graph);
    if (absl::Status s = SetUpFaultTolerance(sub, req->job().restore_path(),
                                             req->job().allow_non_restored_state(), *job);
        !s.ok()) {
      spdlog::info("Refused job submission: {}", s.message());
      return ToGrpc(s);
    }
    if (absl::Status s = CreateSourceCoordinators(*job); !s.ok()) {
      spdlog::info("Refused job submission: {}", s.message());
      return ToGrpc(s);
    }
    job->submission = std::move(sub);
    job->start_ms = NowMillis();
    JobId id = job->id;
    executor_.Call([&] {
      JobMaster& j = *job;
      jobs_order_.push_back(j.id);
      jobs_[j.id] = std::move(job);
      spdlog::info("Received job {} ({}).", j.graph.name, j.id.ToString());
      for (const auto& v : j.graph.vertices) {
        spdlog::info("  vertex {} '{}' parallelism {}", v.id, v.name, v.parallelism);
        std::vector<std::unique_ptr<Execution>> subtasks;
        for (int i = 0; i < v.parallelism; ++i) {
          auto e = std::make_unique<Execution>();
          e->vertex = v.index;
          e->subtask = i;
          e->attempt_id = ExecutionAttemptId::Random();
          attempts_[e->attempt_id] = AttemptRef{j.id, e.get()};
          subtasks.push_back(std::move(e));
        }
        j.executions.push_back(std::move(subtasks));
      }
      SetJobStatus(j, JobStatus::kCreated);
      TrySchedule();
      return 0;
    });
    resp->set_job_id(id.ToString());
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse* resp) override {
    *resp = ListJobs();
    return grpc::Status::OK;
  }

  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* req,
                      v1::GetJobResponse* resp) override {
    auto r = GetJob(req->job_id());
    if (!r.ok()) return ToGrpc(r.status());
    *resp = std::move(*r);
    return grpc::Status::OK;
  }

  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* req,
                         v1::CancelJobResponse*) override {
    auto id = JobId::Parse(req->job_id());
    if (!id.ok()) return ToGrpc(id.status());
    absl::Status s = executor_.Call([&]() -> absl::Status {
      auto it = jobs_.find(*id);
      if (it == jobs_.end()) return NotFoundF("Job {} not found", req->job_id());
      if (graph::IsTerminal(it->second->status.state())) {
        return FailedPreconditionF("Job {} is already {}", req->job_id(),
                                   graph::Name(it->second->status.state()));
      }
      CancelJobLocked(*it->second);
      return absl::OkStatus();
    });
    return ToGrpc(s);
  }

  grpc::Status ListTaskManagers(grpc::ServerContext*, const v1::ListTaskManagersRequest*,
                                v1::ListTaskManagersResponse* resp) override {
    *resp = ListTaskManagers();
    return grpc::Status::OK;
  }

  // --- JobMasterService (from TaskManagers) ------------------------------------------------
  grpc::Status RegisterTaskManager(grpc::ServerContext*, const v1::RegisterTaskManagerRequest* req,
                                   v1::RegisterTaskManagerResponse* resp) override {
    if (req->resource_id().empty() || req->address().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "RegisterTaskManager needs a resource id and an address");
    }
    const std::string* id = &req->resource_id();
    if (req->slots() < 1) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a TaskManager needs at least 1 slot");
    }
    executor_.Call([&] {
      if (taskmanagers_.count(*id)) {
        TaskManagerLost(*id, "TaskManager registered again (restarted)");
      }
      TaskManagerRecord tm;
      tm.id = *id;
      tm.address = req->address();
      tm.slots = tm.free_slots = req->slots();
      tm.cpu_cores = req->cpu_cores();
      tm.memory_bytes = req->physical_memory_bytes();
      tm.last_heartbeat_mono = MonotonicMillis();
      tm.last_heartbeat_wall = NowMillis();
      tm.registration = ++registrations_;
      tm.stub = v1::TaskExecutorService::NewStub(grpc::CreateCustomChannel(
          tm.address, grpc::InsecureChannelCredentials(), rpc::ChannelArguments()));
      spdlog::info("Registering TaskManager {} at {} with {} slots", *id, tm.address,
                   tm.slots);
      taskmanagers_[*id] = std::move(tm);
      TrySchedule();
      return 0;
    });
    resp->set_jobmanager_id(jobmanager_id_);
    resp->set_heartbeat_interval_ms(config_.heartbeat_interval_ms);
    resp->set_heartbeat_timeout_ms(config_.heartbeat_timeout_ms);
    return grpc::Status::OK;
  }

  grpc::Status ConnectTaskManager(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>* stream) override {
    v1::TaskManagerSession hello;
    if (!stream->Read(&hello)) return grpc::Status::OK;
    const std::string id = hello.resource_id();
    // The session belongs to the TaskManager's current registration only.
    int64_t session = executor_.Call([&]() -> int64_t {
      auto it = taskmanagers_.find(id);
      return it == taskmanagers_.end() ? 0 : it->second.registration;
    });
    if (session == 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          fmt::format("TaskManager {} is not registered", id));
    }
    v1::TaskManagerSession msg;
    while (stream->Read(&msg)) {
    }
    bool shutting_down;
    {
      std::lock_guard lock(mu_);
      shutting_down = stopping_;
    }
    if (!shutting_down) {
      std::string peer = ctx->peer();
      executor_.Post([this, id, session, peer] {
        auto it = taskmanagers_.find(id);
        if (it == taskmanagers_.end() || it->second.registration != session) return;
        TaskManagerLost(id, fmt::format("its connection to the JobManager closed ({})", peer));
      });
    }
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                         v1::HeartbeatResponse* resp) override {
    const std::string* id = &req->resource_id();
    bool known = executor_.Call([&] {
      auto it = taskmanagers_.find(*id);
      if (it == taskmanagers_.end()) return false;
      it->second.last_heartbeat_mono = MonotonicMillis();
      it->second.last_heartbeat_wall = NowMillis();
      for (const auto& t : req->tasks()) {
        if (Execution* e = FindExecution(t.attempt_id())) e->metrics = t.metrics();
      }
      return true;
    });
    resp->set_registered(known);
    resp->set_jobmanager_id(jobmanager_id_);
    return grpc::Status::OK;
  }

  grpc::Status UpdateTaskExecutionState(grpc::ServerContext*,
                                        const v1::UpdateTaskExecutionStateRequest* req,
                                        v1::UpdateTaskExecutionStateResponse* resp) override {
    auto state = graph::ParseExecutionState(req->state());
    if (!state) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("unknown execution state '{}'", req->state()));
    }
    bool accepted = executor_.Call([&] {
      Execution* e = FindExecution(req->attempt_id());
      if (!e) {
        // Fencing: an attempt we do not know (stale, or of a job that is gone).
        spdlog::warn("Ignoring {} from unknown or stale execution attempt {} of job {}",
                     req->state(), req->attempt_id(), req->job_id());
        return false;
      }
      JobMaster& job = *jobs_.at(attempts_.at(e->attempt_id).job);
      if (job.id.ToString() != req->job_id()) return false;
      e->metrics = req->metrics();
      if (req->end_of_input()) {
        if (IsCurrent(job, *e) && e->state.state() == ExecutionState::kRunning) OnEndOfInput(job, *e);
        return true;
      }
      std::string failure = req->has_failure() ? req->failure().message() : "";
      bool retryable = !req->has_failure() || req->failure().retryable();
      UpdateExecution(job, *e, *state, failure, retryable);
      return true;
    });
    resp->set_accepted(accepted);
    return grpc::Status::OK;
  }

  grpc::Status AcknowledgeCheckpoint(grpc::ServerContext*, const v1::AcknowledgeCheckpointRequest* req,
                                     v1::AcknowledgeCheckpointResponse*) override {
    executor_.Call([&] {
      Execution* e = CurrentRunningExecution(req->job_id(), req->attempt_id());
      if (!e) return 0;
      JobMaster& job = JobOf(*e);
      if (!job.coordinator) return 0;
      checkpoint::Ack ack;
      ack.task = checkpoint::TaskKey{e->vertex, e->subtask};
      ack.state_size_bytes = req->state_size_bytes();
      ack.checkpointed_size_bytes = req->checkpointed_size_bytes();
      ack.alignment_ms = req->alignment_ms();
      ack.sync_ms = req->sync_ms();
      ack.async_ms = req->async_ms();
      ack.handle = req->state_handle();
      ExecuteActions(job, job.coordinator->OnAck(req->checkpoint_id(), std::move(ack), NowMillis()));
      return 0;
    });
    return grpc::Status::OK;
  }

  grpc::Status DeclineCheckpoint(grpc::ServerContext*, const v1::DeclineCheckpointRequest* req,
                                 v1::DeclineCheckpointResponse*) override {
    executor_.Call([&] {
      Execution* e = CurrentRunningExecution(req->job_id(), req->attempt_id());
      if (!e) return 0;
      JobMaster& job = JobOf(*e);
      if (!job.coordinator) return 0;
      ExecuteActions(job, job.coordinator->OnDecline(
                              req->checkpoint_id(), checkpoint::TaskKey{e->vertex, e->subtask},
                              fmt::format("{} declined: {}", job.TaskName(*e), req->reason()),
                              NowMillis()));
      return 0;
    });
    return grpc::Status::OK;
  }

  grpc::Status GetJobCheckpoints(grpc::ServerContext*, const v1::GetJobRequest* req,
                                 v1::JsonResponse* resp) override {
    auto r = GetJobCheckpointsJson(req->job_id());
    if (!r.ok()) return ToGrpc(r.status());
    resp->set_json(*r);
    return grpc::Status::OK;
  }

  grpc::Status TriggerSavepoint(grpc::ServerContext*, const v1::TriggerSavepointRequest* req,
                                v1::TriggerSavepointResponse* resp) override {
    auto id = TriggerSavepoint(req->job_id(), req->target_directory(), req->stop(), req->native());
    if (!id.ok()) return ToGrpc(id.status());
    resp->set_trigger_id(*id);
    return grpc::Status::OK;
  }

  grpc::Status GetSavepoint(grpc::ServerContext*, const v1::GetSavepointRequest* req,
                            v1::SavepointStatus* resp) override {
    auto st = GetSavepoint(req->job_id(), req->trigger_id());
    if (!st.ok()) return ToGrpc(st.status());
    *resp = std::move(*st);
    return grpc::Status::OK;
  }

  // --- RestBackend (also used by the gRPC views) --------------------------------------------
  absl::StatusOr<std::string> TriggerSavepoint(const std::string& job_id, const std::string& dir,
                                               bool stop, bool native) override {
    auto id = JobId::Parse(job_id);
    if (!id.ok()) return id.status();
    return executor_.Call([&]() -> absl::StatusOr<std::string> {
      auto it = jobs_.find(*id);
      if (it == jobs_.end()) return NotFoundF("Job {} not found", job_id);
      JobMaster& job = *it->second;
      if (job.status.state() != JobStatus::kRunning) {
        return FailedPreconditionF("job {} is {}: savepoints need a RUNNING job", job_id,
                                   graph::Name(job.status.state()));
      }
      if (!job.coordinator) {
        return FailedPreconditionF(
            "job {} does not checkpoint: savepoints need checkpointing enabled "
            "(checkpointing.interval in the job spec)", job_id);
      }
      std::string target = dir.empty() ? config_.savepoint_dir : dir;
      if (target.empty()) {
        return InvalidArgumentF(
            "no savepoint directory: pass one (--dir, or target-directory in REST) or set "
            "state.savepoints.dir (--savepoint-dir) on the JobManager");
      }
      for (const auto& op : job.savepoints) {
        if (op.stop && op.status == "IN_PROGRESS") {
          return FailedPreconditionF("job {} is already stopping with a savepoint", job_id);
        }
      }
      SavepointOperation op;
      op.trigger_id = Id128::Random().ToString();
      op.target_directory = target;
      op.stop = stop;
      op.native = native;
      op.requested_ms = MonotonicMillis();
      job.savepoints.push_back(op);
      spdlog::info("{} of job {} ({}) requested into {} (trigger {}).",
                   stop ? "Stop with savepoint" : "Savepoint", job.graph.name, job_id, target,
                   op.trigger_id);
      MaybeTriggerSavepoint(job);
      return op.trigger_id;
    });
  }

  absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                   const std::string& trigger_id) override {
    auto id = JobId::Parse(job_id);
    if (!id.ok()) return id.status();
    return executor_.Call([&]() -> absl::StatusOr<v1::SavepointStatus> {
      auto it = jobs_.find(*id);
      if (it == jobs_.end()) return NotFoundF("Job {} not found", job_id);
      for (const auto& op : it->second->savepoints) {
        if (op.trigger_id != trigger_id) continue;
        v1::SavepointStatus st;
        st.set_status(op.status);
        st.set_location(op.location);
        st.set_failure(op.failure);
        st.set_checkpoint_id(op.checkpoint_id);
        st.set_elapsed_ms(MonotonicMillis() - op.requested_ms);
        if (op.status == "IN_PROGRESS") {
          st.set_phase(op.checkpoint_id == 0 ? "waiting" : "copying");
          for (const auto& h : it->second->coordinator->history()) {
            if (h.id != op.checkpoint_id) continue;
            st.set_acknowledged_subtasks(h.num_acknowledged_subtasks);
            st.set_total_subtasks(h.num_subtasks);
            st.set_state_size_bytes(h.state_size);
            if (h.status == checkpoint::CheckpointStatus::kInProgress) st.set_phase("snapshotting");
          }
        }
        return st;
      }
      return NotFoundF("no savepoint operation {} for job {}", trigger_id, job_id);
    });
  }

  absl::StatusOr<std::string> GetJobCheckpointsJson(const std::string& job_id) override {
    return WithJob(job_id, [](JobMaster& job) -> std::string {
      if (!job.coordinator) {
        // Flink answers with empty statistics for jobs without checkpointing.
        return R"({"counts":{"restored":0,"total":0,"in_progress":0,"completed":0,"failed":0},)"
               R"("summary":{},"latest":{"completed":null,"savepoint":null,"failed":null,)"
               R"("restored":null},"history":[]})";
      }
      return job.coordinator->StatsJson(NowMillis()).dump();
    });
  }

  absl::StatusOr<std::string> GetJobExceptionsJson(const std::string& job_id) override {
    return WithJob(job_id, [](JobMaster& job) -> std::string {
      nlohmann::json j;
      nlohmann::json entries = nlohmann::json::array();
      for (auto it = job.exceptions.rbegin(); it != job.exceptions.rend(); ++it) {
        entries.push_back({{"exceptionName", "sluice.TaskFailure"},
                           {"stacktrace", it->message},
                           {"timestamp", it->timestamp_ms},
                           {"taskName", it->task_name.empty() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(it->task_name)},
                           {"location", it->location.empty() ? nlohmann::json(nullptr)
                                                             : nlohmann::json(it->location)},
                           {"concurrentExceptions", nlohmann::json::array()}});
      }
      if (job.exceptions.empty()) {
        j["root-exception"] = nullptr;
        j["timestamp"] = nullptr;
      } else {
        // Flink's root exception is the one that ended (or last restarted) the job.
        j["root-exception"] = job.exceptions.back().message;
        j["timestamp"] = job.exceptions.back().timestamp_ms;
      }
      j["all-exceptions"] = nlohmann::json::array();
      j["truncated"] = false;
      j["exceptionHistory"] = {{"entries", entries}, {"truncated", false}};
      return j.dump();
    });
  }

  absl::StatusOr<std::string> GetJobMetricsJson(const std::string& job_id) override {
    return WithJob(job_id, [this](JobMaster& job) -> std::string {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& [k, v] : JobMetrics(job)) arr.push_back({{"id", k}, {"value", std::to_string(v)}});
      return arr.dump();
    });
  }

  v1::ListJobsResponse ListJobs() override {
    return executor_.Call([this] {
      v1::ListJobsResponse r;
      for (const auto& id : jobs_order_) *r.add_jobs() = Summary(*jobs_.at(id));
      return r;
    });
  }

  absl::StatusOr<v1::GetJobResponse> GetJob(const std::string& job_id) override {
    auto id = JobId::Parse(job_id);
    if (!id.ok()) return id.status();
    return executor_.Call([&]() -> absl::StatusOr<v1::GetJobResponse> {
      auto it = jobs_.find(*id);
      if (it == jobs_.end()) return NotFoundF("Job {} not found", job_id);
      return Details(*it->second);
    });
  }

  v1::ListTaskManagersResponse ListTaskManagers() override {
    return executor_.Call([this] {
      v1::ListTaskManagersResponse r;
      for (const auto& [id, tm] : taskmanagers_) {
        auto* t = r.add_taskmanagers();
        t->set_resource_id(id);
        t->set_address(tm.address);
        t->set_slots_total(tm.slots);
        t->set_slots_free(tm.free_slots);
        t->set_last_heartbeat_ms(tm.last_heartbeat_wall);
        t->set_cpu_cores(tm.cpu_cores);
        t->set_physical_memory_bytes(tm.memory_bytes);
      }
      return r;
    });
  }

 private:
  // ---- everything below runs on executor_ -------------------------------------------------

  Execution* FindExecution(const std::string& attempt) {
    auto id = ExecutionAttemptId::Parse(attempt);
    if (!id.ok()) return nullptr;
    auto it = attempts_.find(*id);
    return it == attempts_.end() ? nullptr : it->second.execution;
  }

  void SetJobStatus(JobMaster& job, JobStatus to) {
    JobStatus from = job.status.state();
    if (auto s = job.status.TransitionTo(to); !s.ok()) {
      spdlog::error("Job {} ({}): {}", job.graph.name, job.id.ToString(), s.message());
      return;
    }
    spdlog::info("Job {} ({}) switched from state {} to {}.{}", job.graph.name, job.id.ToString(),
                 graph::Name(from), graph::Name(to),
                 to == JobStatus::kFailed ? " Cause: " + job.failure_cause : "");
    if (to == JobStatus::kFailing || to == JobStatus::kCancelling ||
        to == JobStatus::kRestarting) {
      job.terminating_since_ms = MonotonicMillis();
    }
    if (graph::IsTerminal(to)) {
      job.end_ms = NowMillis();
      // A stop-with-savepoint completes when its copy finishes; others end with the job.
      for (auto& op : job.savepoints) {
        if (op.status == "IN_PROGRESS" && !(op.stop && to == JobStatus::kFinished)) {
          op.status = "FAILED";
          op.failure = fmt::format("the job is {}", graph::Name(to));
        }
      }
      ReleaseSlots(job);
      DeleteSharedFiles(job.shared_state.TakeAll());
      CloseSourceCoordinators(job);
    }
  }

  bool SetExecutionState(JobMaster& job, Execution& e, ExecutionState to,
                         const std::string& failure = "") {
    ExecutionState from = e.state.state();
    if (from == to) return true;
    if (auto s = e.state.TransitionTo(to); !s.ok()) {
      spdlog::warn("{} ({}): {}", job.TaskName(e), e.attempt_id.ToString(), s.message());
      return false;
    }
    if (!failure.empty()) e.failure = failure;
    spdlog::info("{} ({}) switched from {} to {}.{}", job.TaskName(e), e.attempt_id.ToString(),
                 graph::Name(from), graph::Name(to), failure.empty() ? "" : " Cause: " + failure);
    return true;
  }

  // Once every subtask runs: the job is up (uptime/downtime) and checkpointing starts.
  void OnExecutionRunning(JobMaster& job) {
    bool all = true;
    job.ForEachExecution([&](Execution& x) { all &= x.state.state() == ExecutionState::kRunning; });
    if (!all || job.status.state() != JobStatus::kRunning || job.running_since_ms) return;
    job.running_since_ms = NowMillis();
    if (job.down_since_ms) {
      spdlog::info("Job {} ({}) recovered: all {} subtasks RUNNING {} ms after the failure.",
                   job.graph.name, job.id.ToString(), job.graph.TotalSubtasks(),
                   job.running_since_ms - job.down_since_ms);
      job.last_recovery_ms = job.running_since_ms - job.down_since_ms;
      job.down_since_ms = 0;
    }
    if (job.coordinator && !job.coordinator->running()) {
      ExecuteActions(job, job.coordinator->Start(NowMillis()));
    }
  }

  void UpdateExecution(JobMaster& job, Execution& e, ExecutionState to, const std::string& failure,
                       bool retryable = true) {
    ExecutionState from = e.state.state();
    if (graph::IsTerminal(from)) return;
    // A task reports RUNNING right after INITIALIZING; tolerate a lost intermediate report.
    if (to == ExecutionState::kRunning && from == ExecutionState::kDeploying) {
      SetExecutionState(job, e, ExecutionState::kInitializing);
    }
    if (to == ExecutionState::kFinished && from == ExecutionState::kDeploying) {
      SetExecutionState(job, e, ExecutionState::kInitializing);
    }
    if (!SetExecutionState(job, e, to, failure)) return;
    if (to == ExecutionState::kFailed && IsCurrent(job, e)) {
      HandleFailure(job,
                    fmt::format("{} ({}) on {} failed: {}", job.TaskName(e),
                                e.attempt_id.ToString(), e.location,
                                failure.empty() ? "unknown cause" : failure),
                    retryable, job.TaskName(e), e.location);
    }
    if (to == ExecutionState::kRunning) {
      if (IsCurrent(job, e)) OnReaderRunning(job, e);
      OnExecutionRunning(job);
    }
    CheckJobProgress(job);
  }


  // ---- fault tolerance ----------------------------------------------------------------------

  // Checkpoint coordinator, restart strategy and restore path of a new job. InvalidArgument
  // (naming the spec) for bad settings.
  static std::vector<std::string> KeysOf(const std::map<std::string, std::string>& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }

  absl::Status SetUpFaultTolerance(const job::JobSubmission& sub, const std::string& restore_path,
                                   bool allow_non_restored, JobMaster& job) {
    const auto& settings = job.graph.settings;
    auto get = [&](const char* key) -> std::optional<std::string> {
      auto it = settings.find(key);
      if (it == settings.end()) return std::nullopt;
      return it->second;
    };
    std::map<std::string, std::string> restart_keys;
    for (const auto& [k, v] : settings) {
      if (k.rfind("restart-strategy.", 0) == 0) restart_keys[k] = v;
    }
    if (job.graph.checkpointing_enabled()) {
      checkpoint::CheckpointConfig cfg;
      cfg.interval_ms = std::stoll(*get("execution.checkpointing.interval"));
      if (auto v = get("execution.checkpointing.timeout")) cfg.timeout_ms = std::stoll(*v);
      if (auto v = get("execution.checkpointing.min-pause")) cfg.min_pause_ms = std::stoll(*v);
      if (auto v = get("execution.checkpointing.max-concurrent-checkpoints")) cfg.max_concurrent = std::stoi(*v);
      if (auto v = get("execution.checkpointing.tolerable-failed-checkpoints")) {
        cfg.tolerable_failed_checkpoints = std::stoi(*v);
      }
      if (auto v = get("state.checkpoints.num-retained")) cfg.retained = std::stoi(*v);
      if (absl::Status s = cfg.Validate(); !s.ok()) {
        return InvalidArgumentF("{}: checkpointing: {}", sub.spec_path, s.message());
      }
      job.checkpoint_root = get("state.checkpoints.dir").value_or(config_.checkpoint_dir);
      if (job.checkpoint_root.empty()) {
        return InvalidArgumentF(
            "{}: checkpointing needs a directory: set checkpointing.dir in the job spec or "
            "state.checkpoints.dir (--checkpoint-dir) on the JobManager",
            sub.spec_path);
      }
      std::vector<checkpoint::TaskKey> all, sources;
      for (const auto& v : job.graph.vertices) {
        for (int i = 0; i < v.parallelism; ++i) {
          all.push_back({v.index, i});
          if (v.is_source()) sources.push_back({v.index, i});
        }
      }
      ASSIGN_OR_RETURN(auto coordinator,
                       checkpoint::CheckpointCoordinator::Create(cfg, all, sources));
      job.coordinator = std::make_unique<checkpoint::CheckpointCoordinator>(std::move(coordinator));
    } else if (restart_keys.empty()) {
      // Flink: without checkpointing the default is no restarts (state would be lost).
      restart_keys["restart-strategy.type"] = "none";
    }
    auto strategy = checkpoint::MakeRestartStrategy(restart_keys);
    if (!strategy.ok()) {
      return InvalidArgumentF("{}: restart-strategy: {}", sub.spec_path, strategy.status().message());
    }
    job.restart_strategy = std::move(*strategy);
    if (!restore_path.empty()) {
      if (!job.coordinator) {
        return InvalidArgumentF("{}: restoring from '{}' needs a job with checkpointing",
                                sub.spec_path, restore_path);
      }
      auto md = checkpoint::CheckpointStorage::ReadMetadata(restore_path);
      if (!md.ok()) return InvalidArgumentF("cannot restore from '{}': {}", restore_path, md.status().message());
      std::map<std::string, std::string> uids;  // uid -> operator name
      for (const auto& v : job.graph.vertices) {
        if (v.is_source()) uids[v.source_uid] = v.source_name;
        for (const auto& op : v.operators) uids[op.uid] = op.name;
      }
      for (const auto& st : md->subtasks) {
        for (const auto& op : st.operators) {
          if (uids.count(op.operator_uid)) {
            auto backend = job.graph.settings.find("state.backend");
            if (op.incremental && (backend == job.graph.settings.end() || backend->second != "rocksdb")) {
              return InvalidArgumentF(
                  "cannot restore from '{}': operator '{}' ({}) has incremental RocksDB state, "
                  "which only the RocksDB backend reads, and the job uses state.backend: heap; "
                  "restore it with state.backend: rocksdb, or restore from a savepoint "
                  "(canonical format) to switch backends",
                  restore_path, op.operator_uid, uids[op.operator_uid]);
            }
            if (!op.keyed_state_file.empty() && md->max_parallelism != job.graph.max_parallelism) {
              return InvalidArgumentF(
                  "cannot restore from '{}': operator '{}' ({}) has keyed state for max "
                  "parallelism {}, the job has max parallelism {} (key groups cannot change)",
                  restore_path, op.operator_uid, uids[op.operator_uid], md->max_parallelism,
                  job.graph.max_parallelism);
            }
            continue;
          }
          if (!allow_non_restored) {
            return InvalidArgumentF(
                "cannot restore from '{}': it has state for operator uid '{}', which the job "
                "does not have (uids: {}); pass --allow-non-restored-state to skip it",
                restore_path, op.operator_uid, fmt::join(KeysOf(uids), ", "));
          }
          spdlog::warn("Skipping state of operator uid '{}' from {}: not in the job",
                       op.operator_uid, restore_path);
        }
      }
      job.restore_path = CheckpointDirOf(restore_path);
      job.coordinator->Restored(md->checkpoint_id, md->timestamp_ms, job.restore_path);
      job.restored_coordinator_states = md->coordinator_states;
      for (const auto& st : md->subtasks) {
        for (const auto& op : st.operators) job.restored_operator_uids.insert(op.operator_uid);
      }
    }
    spdlog::info("Job {}: {}; restart strategy {}", job.graph.name,
                 job.coordinator ? fmt::format("checkpoints every {} ms into {}",
                                               std::stoll(*get("execution.checkpointing.interval")),
                                               job.checkpoint_root)
                                 : std::string("no checkpointing"),
                 job.restart_strategy->Describe());
    return absl::OkStatus();
  }

  // ---- source coordinators (split enumerators, runtime/operators/split_enumerator.h) --------

  // Creates the enumerator of every source vertex that has one and restores it from the
  // checkpoint/savepoint being restored. Runs before the job is registered (no executor state).
  // A restore whose metadata has reader state but no enumerator state for the source (written
  // before enumerators existed) tells the enumerator so (RestoredWithoutState).
  absl::Status CreateSourceCoordinators(JobMaster& job) {
    for (const auto& v : job.graph.vertices) {
      if (!v.enumerator) continue;
      SourceCoordinator c;
      c.vertex = v.index;
      c.uid = v.source_uid;
      const JobId job_id = job.id;
      const int vertex = v.index;
      c.context = std::make_shared<EnumeratorContext>(
          v.parallelism,
          [this, job_id, vertex](int32_t subtask, std::string event) {
            executor_.Post([this, job_id, vertex, subtask, event = std::move(event)]() mutable {
              SendOperatorEvent(job_id, vertex, subtask, std::move(event));
            });
          },
          [this, job_id, vertex](absl::Status cause) {
            executor_.Post([this, job_id, vertex, cause] {
              auto it = jobs_.find(job_id);
              if (it == jobs_.end()) return;
              JobMaster& job = *it->second;
              const std::string& name = job.graph.vertices[static_cast<size_t>(vertex)].source_name;
              const bool retryable = cause.code() != absl::StatusCode::kFailedPrecondition &&
                                     cause.code() != absl::StatusCode::kInvalidArgument;
              HandleFailure(job,
                            fmt::format("the split enumerator of {} failed: {}", name,
                                        cause.message()),
                            retryable, name + " (split enumerator)", "JobManager");
            });
          });
      auto e = v.enumerator(c.context.get());
      if (!e.ok()) return e.status();
      c.enumerator = std::move(*e);
      if (auto it = job.restored_coordinator_states.find(v.source_uid);
          it != job.restored_coordinator_states.end()) {
        if (absl::Status s = c.enumerator->RestoreState(it->second); !s.ok()) {
          return InvalidArgumentF("cannot restore from '{}': split enumerator of '{}': {}",
                                  job.restore_path, v.source_uid, s.message());
        }
      } else if (job.restored_operator_uids.count(v.source_uid) > 0) {
        c.enumerator->RestoredWithoutState();
      }
      job.source_coordinators.push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  // At the first deployment. A failover keeps the running enumerators (see split_enumerator.h).
  void StartSourceCoordinators(JobMaster& job) {
    for (auto& c : job.source_coordinators) {
      if (c.started || !c.enumerator) continue;
      c.started = true;
      if (absl::Status s = c.enumerator->Start(); !s.ok()) {
        HandleFailure(job, fmt::format("the split enumerator of '{}' did not start: {}", c.uid,
                                       s.message()),
                      /*retryable=*/false, "", "JobManager");
      }
    }
  }

  // A source subtask's current attempt is RUNNING (its reader is open): register it with the
  // enumerator, which re-sends the splits it assigned to that subtask.
  void OnReaderRunning(JobMaster& job, const Execution& e) {
    for (auto& c : job.source_coordinators) {
      if (c.vertex == e.vertex && c.started && c.enumerator) c.enumerator->AddReader(e.subtask);
    }
  }

  // Checkpoint `id` was triggered: snapshot every enumerator before any source sees the
  // trigger (Flink's checkpointCoordinator). On failure the checkpoint is declined (false).
  bool SnapshotSourceCoordinators(JobMaster& job, int64_t id) {
    if (job.source_coordinators.empty()) return true;
    std::map<std::string, std::string> states;
    for (auto& c : job.source_coordinators) {
      if (!c.enumerator) continue;
      auto st = c.enumerator->SnapshotState(id);
      if (!st.ok()) {
        ExecuteActions(job, job.coordinator->OnDecline(
                                id, checkpoint::TaskKey{c.vertex, 0},
                                fmt::format("the split enumerator of '{}' could not snapshot its "
                                            "state: {}",
                                            c.uid, st.status().message()),
                                NowMillis()));
        return false;
      }
      states[c.uid] = std::move(*st);
    }
    job.coordinator_snapshots[id] = std::move(states);
    while (job.coordinator_snapshots.size() > 64) {
      job.coordinator_snapshots.erase(job.coordinator_snapshots.begin());
    }
    return true;
  }

  // The job ended: stop its enumerators; they are destroyed (threads joined) off the executor.
  void CloseSourceCoordinators(JobMaster& job) {
    for (auto& c : job.source_coordinators) {
      if (!c.enumerator) continue;
      c.enumerator->Close();
      auto holder = std::make_shared<SourceCoordinator>(std::move(c));
      RunHelper([holder] { holder->enumerator.reset(); });
    }
    job.source_coordinators.clear();
    job.coordinator_snapshots.clear();
  }

  // Delivers an enumerator's event to the current attempt of (vertex, subtask) if it is
  // RUNNING; otherwise drops it (the reader gets its splits again when it registers). The RPCs
  // go out in order on one thread, so events to a reader arrive in the order sent.
  void SendOperatorEvent(const JobId& job_id, int vertex, int32_t subtask, std::string event) {
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    JobMaster& job = *it->second;
    if (graph::IsTerminal(job.status.state())) return;
    const auto& subtasks = job.executions[static_cast<size_t>(vertex)];
    if (subtask < 0 || static_cast<size_t>(subtask) >= subtasks.size()) {
      spdlog::error("Job {}: split enumerator event for subtask {} of a vertex with {} subtasks",
                    job_id.ToString(), subtask, subtasks.size());
      return;
    }
    const Execution& e = *subtasks[static_cast<size_t>(subtask)];
    auto tm = taskmanagers_.find(e.taskmanager);
    if (e.state.state() != ExecutionState::kRunning || tm == taskmanagers_.end()) {
      spdlog::debug("Operator event for {} dropped: it is {}", job.TaskName(e),
                    graph::Name(e.state.state()));
      return;
    }
    v1::SendOperatorEventRequest req;
    req.set_job_id(job_id.ToString());
    req.set_attempt_id(e.attempt_id.ToString());
    req.set_vertex_index(vertex);
    req.set_subtask_index(subtask);
    req.set_event(std::move(event));
    event_io_.Post([stub = tm->second.stub, req = std::move(req), task = job.TaskName(e)] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::SendOperatorEventResponse resp;
      grpc::Status st = stub->SendOperatorEvent(&ctx, req, &resp);
      if (st.ok()) return;
      if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
        spdlog::debug("Operator event for {} dropped by its TaskManager: {}", task,
                      st.error_message());
      } else {
        spdlog::warn("Operator event for {} not delivered: {}", task, st.error_message());
      }
    });
  }

  static std::string CheckpointDirOf(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    const std::string suffix = "/_metadata";
    if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      p.resize(p.size() - suffix.size());
    }
    return p;
  }

  template <typename F>
  absl::StatusOr<std::string> WithJob(const std::string& job_id, F&& f) {
    auto id = JobId::Parse(job_id);
    if (!id.ok()) return id.status();
    return executor_.Call([&]() -> absl::StatusOr<std::string> {
      auto it = jobs_.find(*id);
      if (it == jobs_.end()) return NotFoundF("Job {} not found", job_id);
      return f(*it->second);
    });
  }

  JobMaster& JobOf(const Execution& e) { return *jobs_.at(attempts_.at(e.attempt_id).job); }

  bool IsCurrent(JobMaster& job, const Execution& e) {
    return job.executions[static_cast<size_t>(e.vertex)][static_cast<size_t>(e.subtask)].get() == &e;
  }

  // The execution behind a checkpoint message, if it is the current attempt and RUNNING
  // (fencing: messages of earlier attempts are dropped).
  Execution* CurrentRunningExecution(const std::string& job_id, const std::string& attempt) {
    Execution* e = FindExecution(attempt);
    if (!e) return nullptr;
    JobMaster& job = JobOf(*e);
    if (job.id.ToString() != job_id || !IsCurrent(job, *e) ||
        e->state.state() != ExecutionState::kRunning) {
      spdlog::debug("Ignoring checkpoint message from stale attempt {}", attempt);
      return nullptr;
    }
    return e;
  }

  std::map<std::string, int64_t> JobMetrics(JobMaster& job) {
    int64_t now = NowMillis();
    std::map<std::string, int64_t> m;
    m["numRestarts"] = job.num_restarts;
    m["fullRestarts"] = job.num_restarts;
    m["uptime"] = job.running_since_ms ? now - job.running_since_ms : 0;
    m["downtime"] = job.down_since_ms ? now - job.down_since_ms : 0;
    if (job.coordinator) {
      m["lastCheckpointDuration"] = job.coordinator->last_duration_ms();
      m["lastCheckpointSize"] = job.coordinator->last_size_bytes();
      m["numberOfCompletedCheckpoints"] = job.coordinator->num_completed();
      m["numberOfFailedCheckpoints"] = job.coordinator->num_failed();
      m["numberOfInProgressCheckpoints"] = job.coordinator->num_pending();
      m["totalNumberOfCheckpoints"] = job.coordinator->num_triggered();
      m["lastCompletedCheckpointId"] = job.coordinator->last_completed_id();
    }
    // Keyed state gauges of the current attempts, summed over subtasks (RocksDB's native
    // metrics under "rocksdb.*", as Flink's state.backend.rocksdb.metrics.* report them).
    // Connector gauges (Source::Gauges, e.g. "kafka.records-lag-max") likewise; a "-max" gauge
    // is the maximum over subtasks.
    for (Execution* e : CurrentExecutions(job)) {
      for (const auto& [k, v] : e->metrics.state()) {
        if (k.ends_with("-max")) {
          auto [it, fresh] = m.emplace(k, v);
          if (!fresh) it->second = std::max(it->second, v);
        } else {
          m[k] += v;
        }
      }
    }
    return m;
  }

  // Sends one mailbox message (TriggerCheckpoint / Notify*) to the given executions, off the
  // executor thread. Failures are logged: a task that is gone is handled by failure detection.
  void SendToTasks(JobMaster& job, const std::vector<Execution*>& targets, const std::string& kind,
                   int64_t checkpoint_id, int64_t timestamp_ms = 0, bool savepoint = false,
                   bool native = false) {
    struct Call {
      std::shared_ptr<v1::TaskExecutorService::Stub> stub;
      std::string attempt;
    };
    std::vector<Call> calls;
    for (Execution* e : targets) {
      auto it = taskmanagers_.find(e->taskmanager);
      if (it == taskmanagers_.end() || graph::IsTerminal(e->state.state())) continue;
      calls.push_back(Call{it->second.stub, e->attempt_id.ToString()});
    }
    if (calls.empty()) return;
    std::string job_id = job.id.ToString();
    RunHelper([calls = std::move(calls), job_id, kind, checkpoint_id, timestamp_ms, savepoint,
               native] {
      for (const auto& c : calls) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        grpc::Status st;
        if (kind == "trigger" || kind == "final" || kind == "stop") {
          v1::TriggerCheckpointRequest req;
          req.set_job_id(job_id);
          req.set_attempt_id(c.attempt);
          req.set_checkpoint_id(checkpoint_id);
          req.set_timestamp_ms(timestamp_ms);
          req.set_final(kind == "final");
          req.set_stop(kind == "stop");
          req.set_savepoint(savepoint || kind == "stop");
          req.set_native(native);
          v1::TriggerCheckpointResponse resp;
          st = c.stub->TriggerCheckpoint(&ctx, req, &resp);
        } else {
          v1::NotifyCheckpointRequest req;
          req.set_job_id(job_id);
          req.set_attempt_id(c.attempt);
          req.set_checkpoint_id(checkpoint_id);
          v1::NotifyCheckpointResponse resp;
          SLUICE_CHECK(kind == "complete" || kind == "aborted", "unknown task message '{}'", kind);
          st = kind == "complete" ? c.stub->NotifyCheckpointComplete(&ctx, req, &resp)
                                  : c.stub->NotifyCheckpointAborted(&ctx, req, &resp);
        }
        if (!st.ok()) {
          spdlog::debug("{} {} to attempt {}: {}", kind, checkpoint_id, c.attempt, st.error_message());
        }
      }
    });
  }

  std::vector<Execution*> CurrentExecutions(JobMaster& job, bool sources_only = false) {
    std::vector<Execution*> out;
    for (auto& v : job.executions) {
      for (auto& e : v) {
        if (!sources_only || job.graph.vertices[static_cast<size_t>(e->vertex)].is_source()) {
          out.push_back(e.get());
        }
      }
    }
    return out;
  }

  // Carries out the checkpoint coordinator's decisions.
  void ExecuteActions(JobMaster& job, std::vector<checkpoint::Action> actions) {
    for (auto& action : actions) {
      std::visit(
          [&](auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, checkpoint::TriggerCheckpoint>) {
              std::vector<Execution*> targets;
              for (Execution* e : CurrentExecutions(job)) {
                bool source = job.graph.vertices[static_cast<size_t>(e->vertex)].is_source();
                if (source || e->end_of_input) targets.push_back(e);
              }
              if (!SnapshotSourceCoordinators(job, a.id)) return;
              SendToTasks(job, targets, "trigger", a.id, a.timestamp_ms);
            } else if constexpr (std::is_same_v<T, checkpoint::CompleteCheckpoint>) {
              PersistCheckpoint(job, a);
            } else if constexpr (std::is_same_v<T, checkpoint::NotifyComplete>) {
              spdlog::info("Completed checkpoint {} for job {} ({}).", a.id, job.graph.name,
                           job.id.ToString());
              if (SavepointOperation* op = SavepointFor(job, a.id)) CompleteSavepoint(job, *op);
              SendToTasks(job, CurrentExecutions(job), "complete", a.id);
              RegisterSharedState(job, a.id);
            } else if constexpr (std::is_same_v<T, checkpoint::NotifyAborted>) {
              spdlog::info("Checkpoint {} of job {} aborted: {}", a.id, job.id.ToString(), a.reason);
              job.coordinator_snapshots.erase(a.id);
              SendToTasks(job, CurrentExecutions(job), "aborted", a.id);
              if (SavepointOperation* op = SavepointFor(job, a.id)) {
                op->status = "FAILED";
                op->failure = a.reason;
                if (op->stop && job.stop_savepoint_id == a.id) {
                  // The sources already stopped: fail over to resume from the latest checkpoint.
                  job.stop_savepoint_id = 0;
                  HandleFailure(job, "stop with savepoint failed: " + a.reason, true, "", "");
                }
              }
            } else if constexpr (std::is_same_v<T, checkpoint::DiscardCheckpoint>) {
              checkpoint::CheckpointStorage storage(job.checkpoint_root, job.id.ToString());
              int64_t id = a.id;
              // Its shared files without other references are deleted after the next
              // completed checkpoint (SharedStateRegistry's grace period).
              job.shared_state.Release(id);
              job.persisting_shared_files.erase(id);
              // Same serial I/O thread as metadata writes: a discard never races a write.
              storage_io_.Post([storage, id] {
                if (auto s = checkpoint::CheckpointStorage(storage).Discard(id); !s.ok()) {
                  spdlog::warn("Could not discard checkpoint {}: {}", id, s.message());
                }
              });
            } else if constexpr (std::is_same_v<T, checkpoint::FailJob>) {
              HandleFailure(job, a.reason, /*retryable=*/true, "", "");
            }
          },
          action);
    }
  }

  // Writes `_metadata` off the executor thread, then reports the outcome to the coordinator.
  void PersistCheckpoint(JobMaster& job, const checkpoint::CompleteCheckpoint& c) {
    checkpoint::CheckpointMetadata md;
    md.job_id = job.id.ToString();
    md.checkpoint_id = c.id;
    md.timestamp_ms = c.timestamp_ms;
    md.max_parallelism = job.graph.max_parallelism;
    for (const auto& v : job.graph.vertices) md.vertices.emplace_back(v.id, v.parallelism);
    // The enumerators' states of this checkpoint (taken at its trigger); older ones are moot.
    if (auto it = job.coordinator_snapshots.find(c.id); it != job.coordinator_snapshots.end()) {
      md.coordinator_states = std::move(it->second);
    }
    job.coordinator_snapshots.erase(job.coordinator_snapshots.begin(),
                                    job.coordinator_snapshots.upper_bound(c.id));
    for (const auto& ack : c.acks) {
      auto handle = checkpoint::DecodeSubtaskStateHandle(ack.handle);
      if (!handle.ok()) {
        ExecuteActions(job, job.coordinator->OnCheckpointPersistFailed(
                                c.id, std::string(handle.status().message()), NowMillis()));
        return;
      }
      md.subtasks.push_back(std::move(*handle));
    }
    checkpoint::CheckpointStorage storage(job.checkpoint_root, job.id.ToString());
    // Incremental state: the shared files this checkpoint references in this job's shared/
    // directory. A reused file must still exist (see SharedStateRegistry).
    std::vector<std::string> shared, reused;
    const std::string own_shared =
        std::filesystem::path(storage.SharedDir()).lexically_normal().string() + "/";
    for (const auto& st : md.subtasks) {
      for (const auto& op : st.operators) {
        if (!op.incremental) continue;
        for (const auto& f : op.incremental->shared_files) {
          std::string path = checkpoint::ResolveStatePath(storage.CheckpointDir(c.id), f.path);
          if (path.compare(0, own_shared.size(), own_shared) != 0) continue;
          if (f.uploaded_by != c.id) reused.push_back(path);
          shared.push_back(std::move(path));
        }
      }
    }
    if (auto missing = job.shared_state.Missing(reused); !missing.empty()) {
      ExecuteActions(job, job.coordinator->OnCheckpointPersistFailed(
                              c.id,
                              fmt::format("it reuses shared state file {} of an earlier "
                                          "checkpoint that was already deleted; the next "
                                          "checkpoint uploads it again",
                                          missing.front()),
                              NowMillis()));
      return;
    }
    job.persisting_shared_files[c.id] = std::move(shared);
    JobId job_id = job.id;
    int64_t id = c.id;
    storage_io_.Post([this, storage, md = std::move(md), job_id, id]() mutable {
      absl::Status s = storage.WriteMetadata(md);
      std::string dir = storage.CheckpointDir(id);
      executor_.Post([this, job_id, id, s, dir] {
        auto it = jobs_.find(job_id);
        if (it == jobs_.end() || !it->second->coordinator) return;
        JobMaster& job = *it->second;
        ExecuteActions(job, s.ok() ? job.coordinator->OnCheckpointPersisted(id, NowMillis(), dir)
                                   : job.coordinator->OnCheckpointPersistFailed(
                                         id, std::string(s.message()), NowMillis()));
      });
    });
  }

  // Checkpoint `id` completed: its shared files are referenced; files unreferenced since
  // before the previous completion are deleted.
  void RegisterSharedState(JobMaster& job, int64_t id) {
    auto it = job.persisting_shared_files.find(id);
    if (it != job.persisting_shared_files.end()) {
      job.shared_state.Register(id, it->second);
      job.persisting_shared_files.erase(it);
    }
    DeleteSharedFiles(job.shared_state.CollectGarbage());
  }

  void DeleteSharedFiles(std::vector<std::string> files) {
    if (files.empty()) return;
    // Same serial I/O thread as discards and metadata writes.
    storage_io_.Post([files = std::move(files)] {
      for (const auto& f : files) {
        if (auto s = checkpoint::CheckpointStorage::DeleteFile(f); !s.ok()) {
          spdlog::warn("Could not delete unreferenced shared state file: {}", s.message());
        }
      }
      spdlog::debug("Deleted {} unreferenced shared state files", files.size());
    });
  }

  // A task consumed all its input (Flink's FLIP-147). It stays alive: barriers can no longer
  // reach it, so checkpoints are triggered at it directly (it snapshots at once), including the
  // ones already pending. Once every task has drained, the final checkpoint is taken at all of
  // them, and its completion lets them finish (two-phase-commit sinks commit the last data).
  void OnEndOfInput(JobMaster& job, Execution& e) {
    if (e.end_of_input || !job.coordinator) return;
    e.end_of_input = true;
    for (const auto& st : job.coordinator->history()) {
      if (st.status == checkpoint::CheckpointStatus::kInProgress) {
        const SavepointOperation* sp = SavepointFor(job, st.id);
        SendToTasks(job, {&e}, st.id == job.stop_savepoint_id ? "final" : "trigger", st.id,
                    st.trigger_timestamp, sp != nullptr, sp != nullptr && sp->native);
      }
    }
    bool all = true;
    job.ForEachExecution([&](Execution& x) { all &= x.end_of_input; });
    // After a stop with savepoint the savepoint is the final checkpoint.
    if (all && job.stop_savepoint_id == 0) {
      job.awaiting_final_checkpoint = true;
      MaybeTriggerFinalCheckpoint(job);
    }
  }

  // Triggers the oldest waiting savepoint once no checkpoint is pending (one at a time).
  void MaybeTriggerSavepoint(JobMaster& job) {
    for (auto& op : job.savepoints) {
      if (op.status != "IN_PROGRESS" || op.checkpoint_id != 0) continue;
      if (!job.coordinator->running() || job.coordinator->num_pending() > 0 ||
          job.awaiting_final_checkpoint) {
        return;  // retried on the next tick
      }
      auto trigger = job.coordinator->TriggerNow(NowMillis());
      if (!trigger.ok()) return;
      op.checkpoint_id = trigger->id;
      if (op.stop) job.stop_savepoint_id = trigger->id;
      if (!SnapshotSourceCoordinators(job, trigger->id)) return;
      std::vector<Execution*> sources, drained;
      for (Execution* e : CurrentExecutions(job)) {
        if (e->end_of_input) drained.push_back(e);
        else if (job.graph.vertices[static_cast<size_t>(e->vertex)].is_source()) sources.push_back(e);
      }
      SendToTasks(job, sources, op.stop ? "stop" : "trigger", trigger->id, trigger->timestamp_ms,
                  /*savepoint=*/true, op.native);
      // Drained tasks snapshot at once; a stop savepoint is their final checkpoint.
      SendToTasks(job, drained, op.stop ? "final" : "trigger", trigger->id, trigger->timestamp_ms,
                  /*savepoint=*/true, op.native);
      return;
    }
  }

  SavepointOperation* SavepointFor(JobMaster& job, int64_t checkpoint_id) {
    for (auto& op : job.savepoints) {
      if (op.checkpoint_id == checkpoint_id && op.status == "IN_PROGRESS") return &op;
    }
    return nullptr;
  }

  // A savepoint's checkpoint completed: copy it out of the checkpoint directory into a
  // self-contained savepoint directory (never deleted by Sluice).
  void CompleteSavepoint(JobMaster& job, SavepointOperation& op) {
    checkpoint::CheckpointStorage storage(job.checkpoint_root, job.id.ToString());
    std::string from = storage.CheckpointDir(op.checkpoint_id);
    std::string to = fmt::format("{}/savepoint-{}-{}", op.target_directory,
                                 job.id.ToString().substr(0, 6),
                                 Id128::Random().ToString().substr(0, 12));
    JobId job_id = job.id;
    std::string trigger = op.trigger_id;
    storage_io_.Post([this, from, to, job_id, trigger] {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);
      if (!ec) std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, ec);
      std::string failure = ec ? fmt::format("cannot copy {} to {}: {}", from, to, ec.message()) : "";
      if (failure.empty()) {
        absl::Status s = checkpoint::MakeSelfContained(from, to);
        if (!s.ok()) failure = std::string(s.message());
      }
      executor_.Post([this, job_id, trigger, to, failure] {
        auto it = jobs_.find(job_id);
        if (it == jobs_.end()) return;
        for (auto& op : it->second->savepoints) {
          if (op.trigger_id != trigger) continue;
          op.status = failure.empty() ? "COMPLETED" : "FAILED";
          op.location = failure.empty() ? to : "";
          op.failure = failure;
          spdlog::info("Savepoint {} of job {}: {} {}", trigger, job_id.ToString(), op.status,
                       failure.empty() ? to : failure);
        }
      });
    });
  }

  void FailSavepoints(JobMaster& job, const std::string& why) {
    for (auto& op : job.savepoints) {
      if (op.status != "IN_PROGRESS") continue;
      op.status = "FAILED";
      op.failure = why;
    }
    job.stop_savepoint_id = 0;
  }

  void MaybeTriggerFinalCheckpoint(JobMaster& job) {
    if (!job.awaiting_final_checkpoint || job.final_checkpoint_id != 0) return;
    if (!job.coordinator->running() || job.coordinator->num_pending() > 0) return;
    auto trigger = job.coordinator->TriggerNow(NowMillis());
    if (!trigger.ok()) {
      HandleFailure(job, fmt::format("could not trigger the final checkpoint: {}",
                                     trigger.status().message()),
                    true, "", "");
      return;
    }
    job.final_checkpoint_id = trigger->id;
    if (!SnapshotSourceCoordinators(job, trigger->id)) return;
    spdlog::info("All tasks of job {} ({}) reached end of input; final checkpoint {}.",
                 job.graph.name, job.id.ToString(), trigger->id);
    SendToTasks(job, CurrentExecutions(job), "final", trigger->id, trigger->timestamp_ms);
  }

  // A task failed, a TaskManager was lost, or checkpoints kept failing: restart from the latest
  // checkpoint if the restart strategy allows, otherwise fail the job with the root cause.
  void HandleFailure(JobMaster& job, const std::string& cause, bool retryable,
                     const std::string& task_name, const std::string& location) {
    job.exceptions.push_back(ExceptionEntry{cause, NowMillis(), task_name, location});
    if (job.exceptions.size() > 64) job.exceptions.erase(job.exceptions.begin());
    JobStatus s = job.status.state();
    if (s != JobStatus::kRunning) return;  // already failing, restarting or done
    if (job.coordinator && job.coordinator->running()) ExecuteActions(job, job.coordinator->Stop());
    checkpoint::RestartDecision d = job.restart_strategy->OnFailure(MonotonicMillis(), retryable);
    if (job.running_since_ms) job.uptime_total_ms += NowMillis() - job.running_since_ms;
    job.running_since_ms = 0;
    if (!d.restart) {
      job.failure_cause = cause;
      spdlog::warn("Job {} ({}) will not restart: {}", job.graph.name, job.id.ToString(), d.reason);
      SetJobStatus(job, JobStatus::kFailing);
      job.ForEachExecution([&](Execution& e) { CancelExecution(job, e); });
      CheckJobProgress(job);
      return;
    }
    spdlog::info("Job {} ({}) restarts in {} ms ({}): {}", job.graph.name, job.id.ToString(),
                 d.delay_ms, d.reason, cause);
    job.down_since_ms = NowMillis();
    job.restart_delay_ms = d.delay_ms;
    job.restart_scheduled = false;
    SetJobStatus(job, JobStatus::kRestarting);
    job.ForEachExecution([&](Execution& e) { CancelExecution(job, e); });
    CheckJobProgress(job);
  }

  // Redeploys every subtask as a new attempt, restoring from the latest completed checkpoint.
  void Restart(const JobId& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    JobMaster& job = *it->second;
    if (job.status.state() != JobStatus::kRestarting) return;
    ReleaseSlots(job);
    for (auto& v : job.executions) {
      for (auto& e : v) {
        auto next = std::make_unique<Execution>();
        next->vertex = e->vertex;
        next->subtask = e->subtask;
        next->attempt_number = e->attempt_number + 1;
        next->attempt_id = ExecutionAttemptId::Random();
        attempts_[next->attempt_id] = AttemptRef{job.id, next.get()};
        job.prior_attempts.push_back(std::move(e));
        e = std::move(next);
      }
    }
    if (job.coordinator && job.coordinator->last_completed_id() > 0) {
      checkpoint::CheckpointStorage storage(job.checkpoint_root, job.id.ToString());
      job.restore_path = storage.CheckpointDir(job.coordinator->last_completed_id());
    }
    job.final_checkpoint_id = 0;
    job.awaiting_final_checkpoint = false;
    FailSavepoints(job, "the job restarted");
    job.num_restarts++;
    SetJobStatus(job, JobStatus::kCreated);
    TrySchedule();
  }

  void CancelJobLocked(JobMaster& job) {
    if (job.status.state() == JobStatus::kCancelling || graph::IsTerminal(job.status.state())) return;
    SetJobStatus(job, JobStatus::kCancelling);
    job.ForEachExecution([&](Execution& e) { CancelExecution(job, e); });
    CheckJobProgress(job);
  }

  void CancelExecution(JobMaster& job, Execution& e) {
    ExecutionState s = e.state.state();
    if (graph::IsTerminal(s) || s == ExecutionState::kCanceling) return;
    if (s == ExecutionState::kCreated || s == ExecutionState::kScheduled) {
      SetExecutionState(job, e, ExecutionState::kCanceled);
      return;
    }
    SetExecutionState(job, e, ExecutionState::kCanceling);
    auto it = taskmanagers_.find(e.taskmanager);
    if (it == taskmanagers_.end()) {
      SetExecutionState(job, e, ExecutionState::kCanceled);
      return;
    }
    auto stub = it->second.stub;
    v1::CancelTaskRequest req;
    req.set_job_id(job.id.ToString());
    req.set_attempt_id(e.attempt_id.ToString());
    JobId job_id = job.id;
    RunHelper([this, stub, req, job_id] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::CancelTaskResponse resp;
      grpc::Status st = stub->CancelTask(&ctx, req, &resp);
      if (st.ok()) return;
      // The task is gone (finished meanwhile, or its TaskManager died): it is canceled.
      executor_.Post([this, job_id, attempt = req.attempt_id()] {
        Execution* e = FindExecution(attempt);
        if (!e || e->state.state() != ExecutionState::kCanceling) return;
        JobMaster& job = *jobs_.at(job_id);
        SetExecutionState(job, *e, ExecutionState::kCanceled);
        CheckJobProgress(job);
      });
    });
  }

  // Moves the job to a terminal state once its executions allow it.
  void CheckJobProgress(JobMaster& job) {
    bool all_terminal = true, all_finished = true;
    job.ForEachExecution([&](Execution& e) {
      all_terminal &= graph::IsTerminal(e.state.state());
      all_finished &= e.state.state() == ExecutionState::kFinished;
    });
    if (!all_terminal) return;
    switch (job.status.state()) {
      case JobStatus::kRunning:
        if (all_finished) SetJobStatus(job, JobStatus::kFinished);
        break;
      case JobStatus::kFailing: SetJobStatus(job, JobStatus::kFailed); break;
      case JobStatus::kRestarting:
        if (!job.restart_scheduled) {
          job.restart_scheduled = true;
          RunAfter(job.restart_delay_ms, [this, id = job.id] { Restart(id); });
        }
        break;
      case JobStatus::kCancelling: SetJobStatus(job, JobStatus::kCanceled); break;
      default: break;
    }
    if (graph::IsTerminal(job.status.state())) TrySchedule();
  }

  void ReleaseSlots(JobMaster& job) {
    for (const auto& tm : job.slots) {
      auto it = taskmanagers_.find(tm);
      if (it != taskmanagers_.end()) it->second.free_slots++;
    }
    job.slots.clear();
  }

  // Schedules waiting jobs in submission order while slots are free (all-at-once, slot sharing:
  // slot i hosts subtask i of every vertex, as Flink's default slot sharing group does).
  void TrySchedule() {
    for (const auto& id : jobs_order_) {
      JobMaster& job = *jobs_.at(id);
      if (job.status.state() != JobStatus::kCreated) continue;
      int need = job.graph.RequiredSlots();
      int free = 0;
      for (const auto& [tid, tm] : taskmanagers_) free += tm.free_slots;
      if (free < need) {
        std::string msg = fmt::format(
            "waiting for resources: the job needs {} slots, {} of {} are free on {} "
            "TaskManager(s)",
            need, free, TotalSlots(), taskmanagers_.size());
        if (msg != job.status_message) spdlog::info("Job {} ({}) is {}", job.graph.name, id.ToString(), msg);
        job.status_message = msg;
        continue;
      }
      job.status_message.clear();
      // Spread subtasks over TaskManagers: each slot from the TaskManager with most free slots.
      for (int i = 0; i < need; ++i) {
        TaskManagerRecord* best = nullptr;
        for (auto& [tid, tm] : taskmanagers_) {
          if (tm.free_slots > 0 && (!best || tm.free_slots > best->free_slots)) best = &tm;
        }
        best->free_slots--;
        job.slots.push_back(best->id);
      }
      SetJobStatus(job, JobStatus::kRunning);
      Deploy(job);
    }
  }

  int TotalSlots() const {
    int n = 0;
    for (const auto& [id, tm] : taskmanagers_) n += tm.slots;
    return n;
  }

  // Puts the state of (vertex, subtask) from `md` into a deployment, matched by operator uid
  // (never by position). Same parallelism: the operator state of the same subtask index.
  // Rescaled: the operator states of all old subtasks (union list state). Keyed state: the
  // files of every old subtask whose key groups overlap this subtask's range.
  void AddRestoredState(const checkpoint::CheckpointMetadata& md, const JobMaster& job,
                        const Execution& e, v1::SubmitTaskRequest* req) {
    req->set_restored_checkpoint_id(md.checkpoint_id);
    req->set_restored_from_own_checkpoint(
        md.job_id == job.id.ToString() &&
        std::filesystem::path(job.restore_path).lexically_normal().parent_path() ==
            std::filesystem::path(
                checkpoint::CheckpointStorage(job.checkpoint_root, job.id.ToString()).JobDir())
                .lexically_normal());
    const auto& vertex = job.graph.vertices[static_cast<size_t>(e.vertex)];
    const core::KeyGroupRange range = core::ComputeKeyGroupRangeForOperatorIndex(
        vertex.max_parallelism, vertex.parallelism, e.subtask);
    std::vector<std::string> uids;
    if (vertex.is_source()) uids.push_back(vertex.source_uid);
    for (const auto& op : vertex.operators) uids.push_back(op.uid);
    for (const auto& uid : uids) {
      std::vector<std::pair<int32_t, const checkpoint::OperatorStateHandle*>> found;
      for (const auto& st : md.subtasks) {
        for (const auto& op : st.operators) {
          if (op.operator_uid == uid) found.emplace_back(st.subtask, &op);
        }
      }
      if (found.empty()) continue;
      std::sort(found.begin(), found.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      const int32_t old_parallelism = static_cast<int32_t>(found.size());
      auto* r = req->add_restored();
      r->set_operator_uid(uid);
      for (const auto& [old_subtask, op] : found) {
        if (old_parallelism == vertex.parallelism) {
          if (old_subtask == e.subtask) {
            r->set_has_operator_state(true);
            r->set_operator_state(op->operator_state);
          }
        } else {
          r->add_union_states(op->operator_state);
          r->set_restored_parallelism(old_parallelism);
        }
        if (op->keyed_state_file.empty()) continue;
        bool overlaps = false;
        for (const auto& [g, off] : op->key_group_offsets) overlaps |= range.Contains(g);
        if (!overlaps) continue;
        v1::KeyedStateFile* f = nullptr;
        if (op->incremental) {
          auto* inc = r->add_incremental_state();
          inc->set_key_group_start(op->incremental->key_group_start);
          inc->set_key_group_end(op->incremental->key_group_end);
          auto add = [&](const checkpoint::StateFile& sf, bool shared) {
            auto* out = inc->add_files();
            out->set_name(sf.name);
            out->set_path(checkpoint::ResolveStatePath(job.restore_path, sf.path));
            out->set_relative_path(sf.path);
            out->set_size(sf.size);
            out->set_uploaded_by(sf.uploaded_by);
            out->set_shared(shared);
          };
          for (const auto& sf : op->incremental->shared_files) add(sf, true);
          for (const auto& sf : op->incremental->private_files) add(sf, false);
          f = inc->mutable_meta();
        } else {
          f = r->add_keyed_state();
        }
        f->set_path(job.restore_path + "/" + op->keyed_state_file);
        for (const auto& [g, off] : op->key_group_offsets) {
          auto* o = f->add_offsets();
          o->set_key_group(g);
          o->set_offset(off);
        }
      }
    }
  }

  void Deploy(JobMaster& job) {
    std::optional<checkpoint::CheckpointMetadata> restore;
    if (!job.restore_path.empty()) {
      auto md = checkpoint::CheckpointStorage::ReadMetadata(job.restore_path);
      if (!md.ok()) {
        job.failure_cause = fmt::format("cannot restore from {}: {}", job.restore_path,
                                        md.status().message());
        SetJobStatus(job, JobStatus::kFailing);
        job.ForEachExecution([&](Execution& e) { CancelExecution(job, e); });
        CheckJobProgress(job);
        return;
      }
      restore = std::move(*md);
      spdlog::info("Restoring job {} ({}) from checkpoint {} at {}", job.graph.name,
                   job.id.ToString(), restore->checkpoint_id, job.restore_path);
      if (job.coordinator) {
        job.coordinator->Restored(restore->checkpoint_id, restore->timestamp_ms, job.restore_path);
      }
    }
    std::vector<std::pair<std::shared_ptr<v1::TaskExecutorService::Stub>, v1::SubmitTaskRequest>> calls;
    for (auto& v : job.executions) {
      for (auto& e : v) {
        const TaskManagerRecord& tm = taskmanagers_.at(job.slots[static_cast<size_t>(e->subtask)]);
        e->taskmanager = tm.id;
        e->location = tm.address;
        SetExecutionState(job, *e, ExecutionState::kScheduled);
      }
    }
    // Consumers first, so their input gates usually exist when producers connect.
    for (int v = static_cast<int>(job.executions.size()) - 1; v >= 0; --v) {
      for (auto& e : job.executions[static_cast<size_t>(v)]) {
        SetExecutionState(job, *e, ExecutionState::kDeploying);
        v1::SubmitTaskRequest req;
        req.set_job_id(job.id.ToString());
        req.set_attempt_id(e->attempt_id.ToString());
        auto* sub = req.mutable_job();
        sub->set_spec_yaml(job.submission.spec_yaml);
        sub->set_spec_path(job.submission.spec_path);
        sub->set_base_dir(job.submission.base_dir);
        sub->set_parallelism(job.submission.parallelism);
        req.set_vertex_index(v);
        req.set_subtask_index(e->subtask);
        req.set_attempt_number(e->attempt_number);
        req.set_jobmanager_id(jobmanager_id_);
        req.set_buffer_timeout_ms(config_.buffer_timeout_ms);
        if (job.coordinator) req.set_checkpoint_dir(job.checkpoint_root);
        if (restore) AddRestoredState(*restore, job, *e, &req);
        if (static_cast<size_t>(v + 1) < job.executions.size()) {
          for (auto& c : job.executions[static_cast<size_t>(v + 1)]) {
            auto* loc = req.add_consumers();
            loc->set_subtask(c->subtask);
            loc->set_attempt_id(c->attempt_id.ToString());
            loc->set_address(c->location);
          }
        }
        calls.emplace_back(taskmanagers_.at(e->taskmanager).stub, std::move(req));
      }
    }
    StartSourceCoordinators(job);
    JobId job_id = job.id;
    RunHelper([this, calls = std::move(calls), job_id] {
      for (const auto& [stub, req] : calls) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        v1::SubmitTaskResponse resp;
        grpc::Status st = stub->SubmitTask(&ctx, req, &resp);
        if (st.ok()) continue;
        executor_.Post([this, job_id, attempt = req.attempt_id(), msg = st.error_message()] {
          Execution* e = FindExecution(attempt);
          if (!e) return;
          JobMaster& job = *jobs_.at(job_id);
          UpdateExecution(job, *e, ExecutionState::kFailed,
                          fmt::format("could not deploy to {}: {}", e->location, msg));
        });
        return;
      }
    });
  }

  void TaskManagerLost(const std::string& id, const std::string& why) {
    auto it = taskmanagers_.find(id);
    if (it == taskmanagers_.end()) return;
    std::string cause = fmt::format("TaskManager {} at {} lost: {}", id,
                                    it->second.address, why);
    spdlog::warn("{}", cause);
    taskmanagers_.erase(it);
    for (auto& [jid, job] : jobs_) {
      if (graph::IsTerminal(job->status.state())) continue;
      bool affected = false;
      job->ForEachExecution([&](Execution& e) {
        if (e.taskmanager == id && !graph::IsTerminal(e.state.state())) {
          affected = true;
          SetExecutionState(*job, e,
                            e.state.state() == ExecutionState::kCanceling ? ExecutionState::kCanceled
                                                                          : ExecutionState::kFailed,
                            cause);
        }
      });
      // Slots of the lost TaskManager are gone with it.
      job->slots.erase(std::remove(job->slots.begin(), job->slots.end(), id), job->slots.end());
      if (affected) {
        HandleFailure(*job, cause, /*retryable=*/true, "", "");
        CheckJobProgress(*job);
      }
    }
  }

  void CheckHeartbeats() {
    int64_t now = MonotonicMillis();
    std::vector<std::pair<std::string, int64_t>> lost;
    for (const auto& [id, tm] : taskmanagers_) {
      if (now - tm.last_heartbeat_mono > config_.heartbeat_timeout_ms) {
        lost.emplace_back(id, now - tm.last_heartbeat_mono);
      }
    }
    for (const auto& [id, ms] : lost) {
      TaskManagerLost(id, fmt::format("no heartbeat for {} ms (heartbeat.timeout {} ms)", ms,
                                      config_.heartbeat_timeout_ms));
    }
    // Tasks that never confirm cancellation must not keep a job from its terminal state.
    for (auto& [jid, job] : jobs_) {
      JobStatus s = job->status.state();
      if ((s == JobStatus::kFailing || s == JobStatus::kCancelling ||
           s == JobStatus::kRestarting) &&
          now - job->terminating_since_ms > 2 * config_.heartbeat_timeout_ms) {
        job->ForEachExecution([&](Execution& e) {
          if (!graph::IsTerminal(e.state.state())) {
            if (e.state.state() != ExecutionState::kCanceling) {
              SetExecutionState(*job, e, ExecutionState::kCanceling);
            }
            SetExecutionState(*job, e, ExecutionState::kCanceled);
          }
        });
        CheckJobProgress(*job);
      }
    }
  }

  void CheckpointTick() {
    for (auto& [id, job] : jobs_) {
      if (!job->coordinator || !job->coordinator->running()) continue;
      if (job->status.state() != JobStatus::kRunning) continue;
      MaybeTriggerSavepoint(*job);
      if (job->awaiting_final_checkpoint || job->stop_savepoint_id != 0) {
        // No new periodic checkpoints; pending ones still time out.
        if (job->coordinator->num_pending() > 0) {
          ExecuteActions(*job, job->coordinator->OnTick(NowMillis()));
        }
        MaybeTriggerFinalCheckpoint(*job);
        continue;
      }
      ExecuteActions(*job, job->coordinator->OnTick(NowMillis()));
    }
  }

  // Runs `fn` on the executor after `delay_ms` (a helper thread waits, interruptibly).
  void RunAfter(int64_t delay_ms, std::function<void()> fn) {
    RunHelper([this, delay_ms, fn = std::move(fn)] {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), [this] { return stopping_; })) {
          return;
        }
      }
      executor_.Post(fn);
    });
  }

  // ---- views ------------------------------------------------------------------------------

  v1::JobSummary Summary(JobMaster& job) {
    v1::JobSummary s;
    s.set_job_id(job.id.ToString());
    s.set_name(job.graph.name);
    s.set_state(std::string(graph::Name(job.status.state())));
    s.set_start_time_ms(job.start_ms);
    s.set_end_time_ms(job.end_ms);
    s.set_failure_cause(job.failure_cause);
    s.set_status_message(job.status_message);
    for (int i = 0; i < graph::kNumJobStatus; ++i) {
      auto status = static_cast<JobStatus>(i);
      (*s.mutable_state_timestamps())[std::string(graph::Name(status))] = job.status.timestamp(status);
    }
    for (const auto& [k, v] : JobMetrics(job)) (*s.mutable_metrics())[k] = v;
    auto& counts = *s.mutable_task_counts();
    for (int i = 0; i < graph::kNumExecutionState; ++i) {
      counts[std::string(graph::Name(static_cast<ExecutionState>(i)))] = 0;
    }
    job.ForEachExecution([&](Execution& e) { counts[std::string(graph::Name(e.state.state()))]++; });
    return s;
  }

  v1::GetJobResponse Details(JobMaster& job) {
    v1::GetJobResponse r;
    *r.mutable_job() = Summary(job);
    auto* sub = r.mutable_submission();
    sub->set_spec_yaml(job.submission.spec_yaml);
    sub->set_spec_path(job.submission.spec_path);
    sub->set_base_dir(job.submission.base_dir);
    sub->set_parallelism(job.submission.parallelism);
    for (const auto& v : job.graph.vertices) {
      auto* vi = r.add_vertices();
      vi->set_id(v.id);
      vi->set_name(v.name);
      vi->set_parallelism(v.parallelism);
      vi->set_max_parallelism(v.max_parallelism);
      int counts[graph::kNumExecutionState] = {};
      for (const auto& e : job.executions[static_cast<size_t>(v.index)]) {
        counts[static_cast<int>(e->state.state())]++;
        auto* si = vi->add_subtasks();
        si->set_subtask(e->subtask);
        si->set_state(std::string(graph::Name(e->state.state())));
        si->set_attempt(e->attempt_number);
        si->set_taskmanager_id(e->taskmanager);
        si->set_location(e->location);
        *si->mutable_metrics() = e->metrics;
        si->set_failure(e->failure);
        si->set_start_time_ms(e->state.timestamp(ExecutionState::kDeploying));
        int64_t end = 0;
        for (auto t : {ExecutionState::kFinished, ExecutionState::kCanceled, ExecutionState::kFailed}) {
          end = std::max(end, e->state.timestamp(t));
        }
        si->set_end_time_ms(end > 0 ? end : -1);
      }
      // Flink's aggregate vertex state: the "furthest behind" of its subtasks, with failures first.
      ExecutionState agg = ExecutionState::kFinished;
      if (counts[static_cast<int>(ExecutionState::kFailed)]) agg = ExecutionState::kFailed;
      else if (counts[static_cast<int>(ExecutionState::kCanceling)]) agg = ExecutionState::kCanceling;
      else if (counts[static_cast<int>(ExecutionState::kCanceled)]) agg = ExecutionState::kCanceled;
      else {
        for (int i = 0; i < graph::kNumExecutionState; ++i) {
          if (counts[i]) {
            agg = static_cast<ExecutionState>(i);
            break;
          }
        }
      }
      vi->set_state(std::string(graph::Name(agg)));
    }
    return r;
  }

  // ---- threads ----------------------------------------------------------------------------

  void TimerLoop() {
    // Fine enough for checkpoint intervals and timeouts; each tick is a few map lookups.
    const int64_t tick = std::max<int64_t>(10, std::min<int64_t>(config_.heartbeat_interval_ms, 50));
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(tick), [this] { return stopping_; })) {
      executor_.Post([this] {
        CheckHeartbeats();
        CheckpointTick();
      });
    }
  }

  // Runs a blocking RPC sequence off the executor thread; joined at shutdown.
  void RunHelper(std::function<void()> fn) {
    std::lock_guard lock(helpers_mu_);
    // Reap finished helpers so the list does not grow without bound.
    for (auto it = helpers_.begin(); it != helpers_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = helpers_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    helpers_.push_back(Helper{std::thread([fn = std::move(fn), done] {
                                fn();
                                done->store(true);
                              }),
                              done});
  }
  void JoinHelpers() {
    std::list<Helper> helpers;
    {
      std::lock_guard lock(helpers_mu_);
      helpers.swap(helpers_);
    }
    for (auto& h : helpers) h.thread.join();
  }

  struct Helper {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  JobManagerConfig config_;
  std::string jobmanager_id_;
  std::unique_ptr<grpc::Server> server_;
  int rpc_port_ = 0;
  RestServer rest_;
  SerialExecutor executor_;
  // Checkpoint storage I/O (metadata writes, discards) in submission order, off the executor.
  SerialExecutor storage_io_;
  // Operator events to TaskManagers (split enumerator -> readers), in order, off the executor.
  SerialExecutor event_io_;
  std::thread timer_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool shut_down_ = false;

  std::mutex helpers_mu_;
  std::list<Helper> helpers_;

  // Executor-thread state.
  std::map<JobId, std::unique_ptr<JobMaster>> jobs_;
  std::vector<JobId> jobs_order_;
  // Every execution attempt ever deployed, for fencing and O(log n) lookup of TaskManager messages.
  struct AttemptRef {
    JobId job;
    Execution* execution;  // owned by the job's JobMaster, which is never deleted
  };
  std::map<ExecutionAttemptId, AttemptRef> attempts_;
  std::map<std::string, TaskManagerRecord> taskmanagers_;
  int64_t registrations_ = 0;
};

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Start(const JobManagerConfig& config) {
  auto impl = std::make_unique<JobManagerImpl>(config);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

JobManager::JobManager(std::unique_ptr<JobManagerImpl> impl) : impl_(std::move(impl)) {}
JobManager::~JobManager() { Shutdown(); }
int JobManager::rpc_port() const { return impl_->rpc_port(); }
int JobManager::rest_port() const { return impl_->rest_port(); }
void JobManager::Wait() { impl_->Wait(); }
void JobManager::Shutdown() { impl_->Shutdown(); }

}  // namespace sluice::jobmanager
