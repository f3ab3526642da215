#include "taskmanager/taskmanager.h"

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "sluice/grpc_defaults.h"
#include "runtime/base/clock.h"
#include "runtime/base/serial_executor.h"
#include "runtime/base/status.h"
#include "runtime/job/job_compiler.h"
#include "sluice/v1/jobmanager.grpc.pb.h"
#include "sluice/v1/taskmanager.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "taskmanager/service/remote_channel.h"
#include "taskmanager/task.h"

namespace sluice::taskmanager {

using graph::ExecutionState;

class TaskManagerImpl final : public TaskEnvironment,
                              public v1::TaskExecutorService::Service,
                              public v1::DataExchangeService::Service {
 public:
  explicit TaskManagerImpl(TaskManagerConfig config) : config_(std::move(config)) {
    if (config_.resource_id.empty()) config_.resource_id = ResourceId::Random().ToString();
  }
  ~TaskManagerImpl() override { Shutdown(); }

  absl::Status Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(fmt::format("{}:{}", config_.bind_host, config_.rpc_port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(static_cast<v1::TaskExecutorService::Service*>(this));
    builder.RegisterService(static_cast<v1::DataExchangeService::Service*>(this));
    rpc::ConfigureServer(builder);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
      return UnavailableF("TaskManager cannot listen on {}:{}", config_.bind_host, config_.rpc_port);
    }
    location_ = fmt::format("{}:{}", config_.host, port_);
    spdlog::info("TaskManager {} serving on {} with {} slots", config_.resource_id, location_,
                 config_.slots);
    jm_channel_ = grpc::CreateChannel(config_.jobmanager_address, grpc::InsecureChannelCredentials());
    jm_ = v1::JobMasterService::NewStub(jm_channel_);
    control_ = std::thread([this] { ControlLoop(); });
    return absl::OkStatus();
  }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (control_.joinable()) control_.join();
    CloseSession();
    CancelAllTasks("TaskManager shutting down");
    std::map<ExecutionAttemptId, std::unique_ptr<Task>> doomed;
    {
      std::lock_guard lock(mu_);
      doomed.swap(tasks_);
    }
    doomed.clear();  // joins task threads, which take mu_ on their way out
    reaper_.Shutdown();  // runs what is queued: tasks reaped earlier are destroyed
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    std::lock_guard lock(wait_mu_);
    shut_down_ = true;
    wait_cv_.notify_all();
  }

  void Wait() {
    std::unique_lock lock(wait_mu_);
    wait_cv_.wait(lock, [this] { return shut_down_; });
  }

  int port() const { return port_; }
  const std::string& resource_id() const { return config_.resource_id; }

  // --- TaskExecutorService ---------------------------------------------------------------
  grpc::Status SubmitTask(grpc::ServerContext*, const v1::SubmitTaskRequest* req,
                          v1::SubmitTaskResponse*) override {
    auto job_id = JobId::Parse(req->job_id());
    auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
    if (!job_id.ok() || !attempt.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed job or attempt id");
    }
    {
      std::lock_guard lock(mu_);
      if (!req->jobmanager_id().empty() && req->jobmanager_id() != jobmanager_id_) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            fmt::format("task from JobManager {} but registered with {}",
                                        req->jobmanager_id(), jobmanager_id_));
      }
    }
    auto graph = GraphFor(*job_id, req->job());
    if (!graph.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(graph.status().message()));
    }
    if (req->vertex_index() < 0 ||
        static_cast<size_t>(req->vertex_index()) >= (*graph)->vertices.size()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("vertex index {} out of range: job has {} vertices",
                                      req->vertex_index(), (*graph)->vertices.size()));
    }
    const graph::JobVertex& vertex = (*graph)->vertices[static_cast<size_t>(req->vertex_index())];
    if (req->subtask_index() < 0 || req->subtask_index() >= vertex.parallelism) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("subtask index {} out of range for '{}' with parallelism {}",
                                      req->subtask_index(), vertex.name, vertex.parallelism));
    }
    const graph::JobEdge* out = (*graph)->output_edge(req->vertex_index());
    int expected_consumers =
        out ? (*graph)->vertices[static_cast<size_t>(out->target)].parallelism : 0;
    if (req->consumers_size() != expected_consumers) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          fmt::format("'{}' needs {} consumer locations, the request has {}",
                                      vertex.name, expected_consumers, req->consumers_size()));
    }
    TaskDeployment d;
    d.job_id = *job_id;
    d.attempt_id = *attempt;
    d.graph = *graph;
    d.vertex = req->vertex_index();
    d.subtask = req->subtask_index();
    d.attempt_number = req->attempt_number();
    d.buffer_timeout_ms = req->buffer_timeout_ms();
    d.checkpoint_dir = req->checkpoint_dir();
    d.restored_checkpoint_id = req->restored_checkpoint_id();
    d.restored_from_own_checkpoint = req->restored_from_own_checkpoint();
    for (const auto& r : req->restored()) {
      RestoredOperator& op = d.restored[r.operator_uid()];
      if (r.has_operator_state()) op.operator_state = r.operator_state();
      for (const auto& f : r.keyed_state()) {
        RestoredOperator::KeyedFile kf;
        kf.path = f.path();
        for (const auto& o : f.offsets()) kf.key_group_offsets.emplace_back(o.key_group(), o.offset());
        op.keyed_files.push_back(std::move(kf));
      }
      for (const auto& inc : r.incremental_state()) {
        state::IncrementalRestoreSource src;
        src.range = {inc.key_group_start(), inc.key_group_end()};
        for (const auto& f : inc.files()) {
          src.files.emplace_back(f.name(), f.path());
          if (f.shared()) {
            op.incremental_shared_files.push_back(
                {f.name(), f.relative_path(), f.size(), f.uploaded_by()});
          }
        }
        op.incremental_meta_paths.push_back(inc.meta().path());
        for (const auto& o : inc.meta().offsets()) src.meta_offsets.emplace_back(o.key_group(), o.offset());
        op.incremental.push_back(std::move(src));
      }
      for (const auto& u : r.union_states()) op.union_states.push_back(u);
      op.restored_parallelism = r.restored_parallelism();
    }
    for (const auto& c : req->consumers()) {
      auto cid = ExecutionAttemptId::Parse(c.attempt_id());
      if (!cid.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad consumer id");
      d.consumers.push_back(ConsumerLocation{c.subtask(), *cid, c.address()});
    }
    auto task = std::make_unique<Task>(std::move(d), this);
    Task* raw = task.get();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
      ReapFinishedLocked();
      tasks_[*attempt] = std::move(task);
    }
    spdlog::info("Received task {} ({}).", raw->name(), attempt->ToString());
    raw->Start();
    return grpc::Status::OK;
  }

  grpc::Status CancelTask(grpc::ServerContext*, const v1::CancelTaskRequest* req,
                          v1::CancelTaskResponse*) override {
    auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
    if (!attempt.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed attempt id");
    std::lock_guard lock(mu_);
    auto it = tasks_.find(*attempt);
    if (it == tasks_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such task");
    spdlog::info("Cancelling task {} ({}).", it->second->name(), req->attempt_id());
    it->second->Cancel();
    return grpc::Status::OK;
  }

  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const v1::TriggerCheckpointRequest* req,
                                 v1::TriggerCheckpointResponse*) override {
    return Post(req->attempt_id(), req->final() ? "final" : req->stop() ? "stop" : "trigger",
                req->checkpoint_id(), req->savepoint(), req->native());
  }
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext*, const v1::NotifyCheckpointRequest* req,
                                        v1::NotifyCheckpointResponse*) override {
    return Post(req->attempt_id(), "complete", req->checkpoint_id());
  }
  grpc::Status NotifyCheckpointAborted(grpc::ServerContext*, const v1::NotifyCheckpointRequest* req,
                                       v1::NotifyCheckpointResponse*) override {
    return Post(req->attempt_id(), "aborted", req->checkpoint_id());
  }

  // A split enumerator's event for the source of one running attempt. Fencing: an attempt that
  // does not run here (stale, finished) or whose job, vertex or subtask differ gets NOT_FOUND
  // and the event is dropped.
  grpc::Status SendOperatorEvent(grpc::ServerContext*, const v1::SendOperatorEventRequest* req,
                                 v1::SendOperatorEventResponse*) override {
    auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
    if (!attempt.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed attempt id");
    std::lock_guard lock(mu_);
    auto it = tasks_.find(*attempt);
    if (it == tasks_.end() || it->second->done()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such running task");
    }
    const TaskDeployment& d = it->second->deployment();
    if (d.job_id.ToString() != req->job_id() || d.vertex != req->vertex_index() ||
        d.subtask != req->subtask_index()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          fmt::format("attempt {} is not subtask {} of vertex {} of job {}",
                                      req->attempt_id(), req->subtask_index(),
                                      req->vertex_index(), req->job_id()));
    }
    absl::Status st = it->second->HandleOperatorEvent(req->event());
    if (!st.ok()) {
      return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
    }
    return grpc::Status::OK;
  }

  // --- DataExchangeService --------------------------------------------------------------
  grpc::Status Exchange(grpc::ServerContext* ctx,
                        grpc::ServerReaderWriter<v1::CreditMessage, v1::DataMessage>* stream) override {
    return ServeExchange(
        ctx, stream,
        [this](const std::string& id) -> std::shared_ptr<network::InputGate> {
          auto attempt = ExecutionAttemptId::Parse(id);
          if (!attempt.ok()) return nullptr;
          // The consumer may be deployed after its producer connects: wait for it.
          std::unique_lock lock(mu_);
          std::shared_ptr<network::InputGate> gate;
          cv_.wait_for(lock, std::chrono::seconds(30), [&] {
            auto it = gates_.find(*attempt);
            if (it != gates_.end()) gate = it->second;
            return gate != nullptr || stopping_;
          });
          return gate;
        },
        config_.buffers_per_channel);
  }

  // --- TaskEnvironment ------------------------------------------------------------------
  void RegisterInputGate(const ExecutionAttemptId& attempt,
                         std::shared_ptr<network::InputGate> gate) override {
    {
      std::lock_guard lock(mu_);
      gates_[attempt] = std::move(gate);
    }
    cv_.notify_all();
  }
  void UnregisterInputGate(const ExecutionAttemptId& attempt) override {
    std::lock_guard lock(mu_);
    gates_.erase(attempt);
  }

  std::unique_ptr<network::OutputChannel> CreateOutputChannel(const JobId& job,
                                                              const ConsumerLocation& consumer,
                                                              int channel) override {
    if (consumer.address == location_) {
      std::shared_ptr<network::InputGate> gate;
      {
        std::lock_guard lock(mu_);
        auto it = gates_.find(consumer.attempt_id);
        if (it != gates_.end()) gate = it->second;
      }
      // Deployment order does not matter on the same TaskManager either: fall back to the
      // loopback gRPC path when the local consumer is not registered yet.
      if (gate) {
        return std::make_unique<network::LocalOutputChannel>(gate, channel,
                                                             config_.buffers_per_channel);
      }
    }
    return std::make_unique<RemoteOutputChannel>(ChannelTo(consumer.address), consumer.address,
                                                 location_, job, consumer.attempt_id, channel);
  }

  // Failure classification for the restart strategy (Arroyo's ErrorDomain/RetryHint): bad data
  // or expressions are the user's and may be retried (the strategy bounds it, as in Flink); I/O
  // and network errors are external and retryable; a failed precondition (e.g. state that does
  // not fit the job) cannot be fixed by a retry.
  static void Classify(absl::StatusCode code, v1::TaskFailure* f) {
    switch (code) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kOutOfRange:
        f->set_domain(v1::ERROR_DOMAIN_USER);
        f->set_retryable(true);
        break;
      case absl::StatusCode::kFailedPrecondition:
        f->set_domain(v1::ERROR_DOMAIN_USER);
        f->set_retryable(false);
        break;
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kNotFound:
      case absl::StatusCode::kDeadlineExceeded:
      case absl::StatusCode::kPermissionDenied:
      case absl::StatusCode::kResourceExhausted:
      case absl::StatusCode::kAborted:
        f->set_domain(v1::ERROR_DOMAIN_EXTERNAL);
        f->set_retryable(true);
        break;
      default:
        f->set_domain(v1::ERROR_DOMAIN_INTERNAL);
        f->set_retryable(true);
    }
  }

  void ReportState(const TaskDeployment& d, ExecutionState state, const absl::Status& failure,
                   const TaskMetricsSnapshot& m) override {
    v1::UpdateTaskExecutionStateRequest req;
    req.set_job_id(d.job_id.ToString());
    req.set_attempt_id(d.attempt_id.ToString());
    req.set_state(std::string(graph::Name(state)));
    FillMetrics(m, req.mutable_metrics());
    if (!failure.ok()) {
      auto* f = req.mutable_failure();
      f->set_message(std::string(failure.message()));
      f->set_location(location_);
      f->set_timestamp_ms(NowMillis());
      Classify(failure.code(), f);
    }
    v1::UpdateTaskExecutionStateResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = jm_->UpdateTaskExecutionState(&ctx, req, &resp);
    if (!st.ok()) {
      spdlog::warn("Could not report {} of attempt {} to the JobManager: {}", graph::Name(state),
                   req.attempt_id(), st.error_message());
    }
  }
  std::string location() const override { return location_; }

  void AcknowledgeCheckpoint(const TaskDeployment& d, const CheckpointAck& ack) override {
    v1::AcknowledgeCheckpointRequest req;
    req.set_job_id(d.job_id.ToString());
    req.set_attempt_id(d.attempt_id.ToString());
    req.set_checkpoint_id(ack.checkpoint_id);
    req.set_state_handle(ack.state_handle);
    req.set_state_size_bytes(ack.state_size_bytes);
    req.set_alignment_ms(ack.alignment_ms);
    req.set_sync_ms(ack.sync_ms);
    req.set_async_ms(ack.async_ms);
    req.set_checkpointed_size_bytes(ack.checkpointed_size_bytes);
    v1::AcknowledgeCheckpointResponse resp;
    CallJobManager("acknowledge checkpoint", [&](grpc::ClientContext* ctx) {
      return jm_->AcknowledgeCheckpoint(ctx, req, &resp);
    });
  }

  void DeclineCheckpoint(const TaskDeployment& d, int64_t checkpoint_id,
                         const std::string& reason) override {
    v1::DeclineCheckpointRequest req;
    req.set_job_id(d.job_id.ToString());
    req.set_attempt_id(d.attempt_id.ToString());
    req.set_checkpoint_id(checkpoint_id);
    req.set_reason(reason);
    v1::DeclineCheckpointResponse resp;
    CallJobManager("decline checkpoint", [&](grpc::ClientContext* ctx) {
      return jm_->DeclineCheckpoint(ctx, req, &resp);
    });
  }

  void ReportEndOfInput(const TaskDeployment& d, const TaskMetricsSnapshot& m) override {
    v1::UpdateTaskExecutionStateRequest req;
    req.set_job_id(d.job_id.ToString());
    req.set_attempt_id(d.attempt_id.ToString());
    req.set_state(std::string(graph::Name(ExecutionState::kRunning)));
    req.set_end_of_input(true);
    FillMetrics(m, req.mutable_metrics());
    v1::UpdateTaskExecutionStateResponse resp;
    CallJobManager("report end of input", [&](grpc::ClientContext* ctx) {
      return jm_->UpdateTaskExecutionState(ctx, req, &resp);
    });
  }

 private:
  static void FillMetrics(const TaskMetricsSnapshot& m, v1::TaskMetrics* out) {
    out->set_records_in(m.records_in);
    out->set_records_out(m.records_out);
    out->set_bytes_in(m.bytes_in);
    out->set_bytes_out(m.bytes_out);
    out->set_late_records_dropped(m.late_records_dropped);
    for (const auto& [k, v] : m.state) (*out->mutable_state())[k] = v;
  }

  template <typename F>
  void CallJobManager(const char* what, F&& call) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status st = call(&ctx);
    if (!st.ok()) spdlog::warn("Could not {} at the JobManager: {}", what, st.error_message());
  }

  grpc::Status Post(const std::string& attempt_id, const std::string& kind, int64_t checkpoint,
                    bool savepoint = false, bool native = false) {
    auto attempt = ExecutionAttemptId::Parse(attempt_id);
    if (!attempt.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed attempt id");
    std::lock_guard lock(mu_);
    auto it = tasks_.find(*attempt);
    if (it == tasks_.end() || it->second->done()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such running task");
    }
    it->second->PostControl(kind, checkpoint, savepoint, native);
    return grpc::Status::OK;
  }

  absl::StatusOr<std::shared_ptr<const graph::JobGraph>> GraphFor(const JobId& id,
                                                                  const v1::JobSubmission& job) {
    std::lock_guard lock(graph_mu_);
    auto it = graphs_.find(id);
    if (it != graphs_.end()) return it->second;
    job::JobSubmission sub{job.spec_yaml(), job.spec_path(), job.base_dir(), job.parallelism()};
    ASSIGN_OR_RETURN(graph::JobGraph g, job::CompileJob(sub));
    auto shared = std::make_shared<const graph::JobGraph>(std::move(g));
    graphs_[id] = shared;
    return shared;
  }

  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
    std::lock_guard lock(graph_mu_);
    auto& ch = channels_[address];
    if (!ch) {
      ch = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                     rpc::ChannelArguments());
    }
    return ch;
  }

  // Finished tasks are destroyed on reaper_, not under mu_ in an RPC: destroying one closes its
  // RocksDB instances and deletes their directories, which takes long for large state (and
  // held up the deployment of a rescaled job's tasks).
  void ReapFinishedLocked() {
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (it->second->done()) {
        std::shared_ptr<Task> finished(std::move(it->second));
        reaper_.Post([finished]() mutable { finished.reset(); });
        it = tasks_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void CancelAllTasks(const std::string& why) {
    std::lock_guard lock(mu_);
    for (auto& [id, t] : tasks_) {
      if (!t->done()) {
        spdlog::warn("Cancelling task {}: {}", t->name(), why);
        t->Cancel();
      }
    }
  }

  bool WaitStopping(int64_t ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  }

  bool Register() {
    v1::RegisterTaskManagerRequest req;
    req.set_resource_id(config_.resource_id);
    req.set_address(location_);
    req.set_slots(config_.slots);
    req.set_cpu_cores(static_cast<int32_t>(std::thread::hardware_concurrency()));
    req.set_physical_memory_bytes(static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                                  sysconf(_SC_PAGE_SIZE));
    v1::RegisterTaskManagerResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status st = jm_->RegisterTaskManager(&ctx, req, &resp);
    if (!st.ok()) {
      last_error_ = st.error_message();
      return false;
    }
    {
      std::lock_guard lock(mu_);
      jobmanager_id_ = resp.jobmanager_id();
    }
    heartbeat_interval_ms_ = resp.heartbeat_interval_ms() > 0 ? resp.heartbeat_interval_ms() : 1000;
    heartbeat_timeout_ms_ = resp.heartbeat_timeout_ms() > 0 ? resp.heartbeat_timeout_ms() : 5000;
    spdlog::info("Registered at JobManager {} ({}) as {}", config_.jobmanager_address,
                 resp.jobmanager_id(), config_.resource_id);
    return true;
  }

  // The session stream to the JobManager (see ConnectTaskManager): its break tells either side
  // at once that the other process is gone.
  void OpenSession() {
    CloseSession();
    session_ctx_ = std::make_unique<grpc::ClientContext>();
    session_ = jm_->ConnectTaskManager(session_ctx_.get());
    v1::TaskManagerSession hello;
    hello.set_resource_id(config_.resource_id);
    session_->Write(hello);
    session_broken_ = false;
    session_reader_ = std::thread([this] {
      v1::TaskManagerSession msg;
      while (session_->Read(&msg)) {
      }
      {
        std::lock_guard lock(mu_);
        session_broken_ = true;
      }
      cv_.notify_all();
    });
  }

  void CloseSession() {
    if (session_ctx_) session_ctx_->TryCancel();
    if (session_reader_.joinable()) session_reader_.join();
    if (session_) session_->Finish();
    session_.reset();
    session_ctx_.reset();
  }

  // Waits up to `ms`; true when stopping. Wakes early when the session breaks.
  bool WaitStoppingOrSessionBroken(int64_t ms, bool* broken) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_ || session_broken_; });
    *broken = session_broken_;
    return stopping_;
  }

  // Registration with backoff, then heartbeats; on JobManager loss cancel tasks and re-register.
  void ControlLoop() {
    int64_t backoff = 100;
    bool registered = false;
    int64_t last_ack = 0;
    while (true) {
      if (!registered) {
        if (Register()) {
          registered = true;
          backoff = 100;
          last_ack = MonotonicMillis();
          OpenSession();
        } else {
          spdlog::warn("Cannot register at JobManager {}: {}; retrying in {} ms",
                       config_.jobmanager_address, last_error_, backoff);
          if (WaitStopping(backoff)) return;
          backoff = std::min<int64_t>(backoff * 2, 10'000);
          continue;
        }
      }
      bool broken = false;
      if (WaitStoppingOrSessionBroken(heartbeat_interval_ms_, &broken)) return;
      if (broken) {
        spdlog::warn("Connection to JobManager {} closed; cancelling tasks and registering again",
                     config_.jobmanager_address);
        CancelAllTasks("lost the JobManager");
        registered = false;
        continue;
      }
      v1::HeartbeatRequest req;
      req.set_resource_id(config_.resource_id);
      {
        std::lock_guard lock(mu_);
        for (auto& [id, t] : tasks_) {
          if (t->done()) continue;
          auto* ts = req.add_tasks();
          ts->set_job_id(t->deployment().job_id.ToString());
          ts->set_attempt_id(id.ToString());
          FillMetrics(t->Metrics(), ts->mutable_metrics());
        }
      }
      v1::HeartbeatResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(heartbeat_interval_ms_ * 2));
      grpc::Status st = jm_->Heartbeat(&ctx, req, &resp);
      if (st.ok() && resp.registered()) {
        last_ack = MonotonicMillis();
      } else if (st.ok()) {
        spdlog::warn("JobManager does not know this TaskManager any more; cancelling tasks and "
                     "registering again");
        CancelAllTasks("JobManager lost this TaskManager");
        registered = false;
      } else if (MonotonicMillis() - last_ack > heartbeat_timeout_ms_) {
        spdlog::warn("JobManager {} unreachable for {} ms ({}); cancelling tasks and "
                     "registering again",
                     config_.jobmanager_address, MonotonicMillis() - last_ack, st.error_message());
        CancelAllTasks("lost the JobManager");
        registered = false;
      }
    }
  }

  TaskManagerConfig config_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string location_;
  std::shared_ptr<grpc::Channel> jm_channel_;
  std::unique_ptr<v1::JobMasterService::Stub> jm_;
  std::thread control_;
  std::unique_ptr<grpc::ClientContext> session_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>> session_;
  std::thread session_reader_;
  bool session_broken_ = false;  // guarded by mu_
  std::string last_error_;
  int64_t heartbeat_interval_ms_ = 1000;
  int64_t heartbeat_timeout_ms_ = 5000;

  std::mutex mu_;  // tasks_, gates_, stopping_, jobmanager_id_
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string jobmanager_id_;
  std::map<ExecutionAttemptId, std::unique_ptr<Task>> tasks_;
  SerialExecutor reaper_;  // destroys finished tasks off the RPC threads
  std::map<ExecutionAttemptId, std::shared_ptr<network::InputGate>> gates_;

  std::mutex graph_mu_;  // graphs_, channels_
  std::map<JobId, std::shared_ptr<const graph::JobGraph>> graphs_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;

  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool shut_down_ = false;
};

absl::StatusOr<std::unique_ptr<TaskManager>> TaskManager::Start(const TaskManagerConfig& config) {
  auto impl = std::make_unique<TaskManagerImpl>(config);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<TaskManager>(new TaskManager(std::move(impl)));
}

TaskManager::TaskManager(std::unique_ptr<TaskManagerImpl> impl) : impl_(std::move(impl)) {}
TaskManager::~TaskManager() { Shutdown(); }
int TaskManager::rpc_port() const { return impl_->port(); }
const std::string& TaskManager::resource_id() const { return impl_->resource_id(); }
void TaskManager::Wait() { impl_->Wait(); }
void TaskManager::Shutdown() { impl_->Shutdown(); }

}  // namespace sluice::taskmanager
