#include "taskmanager/service/jobmaster_client.h"

#include <unistd.h>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/metrics/process_metrics.h"
#include "spdlog/spdlog.h"

namespace sluice::taskmanager {

namespace {
void FillMetrics(const TaskMetricsSnapshot& m, v1::TaskMetrics* out) {
  out->set_records_in(m.records_in);
  out->set_records_out(m.records_out);
  out->set_bytes_in(m.bytes_in);
  out->set_bytes_out(m.bytes_out);
  out->set_late_records_dropped(m.late_records_dropped);
  for (const auto& [k, v] : m.state) (*out->mutable_state())[k] = v;
  for (const auto& [k, v] : m.sink_records) (*out->mutable_sink_records())[k] = v;
  out->set_current_input_watermark(m.current_input_watermark);
  out->set_current_output_watermark(m.current_output_watermark);
  out->set_busy_time_ms(m.busy_time_ms);
  out->set_idle_time_ms(m.idle_time_ms);
  out->set_backpressured_time_ms(m.backpressured_time_ms);
}

// Failure classification for the restart strategy (Arroyo's ErrorDomain/RetryHint): bad data
// or expressions are the user's and may be retried (the strategy bounds it, as in Flink); I/O
// and network errors are external and retryable; a failed precondition (e.g. state that does
// not fit the job) cannot be fixed by a retry.
void Classify(absl::StatusCode code, v1::TaskFailure* f) {
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

template <typename F>
void Call(const char* what, F&& call) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status st = call(&ctx);
  if (!st.ok()) spdlog::warn("Could not {} at the JobManager: {}", what, st.error_message());
}
}  // namespace

JobMasterClient::JobMasterClient(const std::string& jobmanager_address)
    : channel_(grpc::CreateChannel(jobmanager_address, grpc::InsecureChannelCredentials())),
      stub_(v1::JobMasterService::NewStub(channel_)) {}

JobMasterClient::~JobMasterClient() { CloseSession(); }

absl::StatusOr<std::string> JobMasterClient::FetchBlob(const std::string& key,
                                                       const plugin::BlobStore& cache) {
  if (auto path = cache.PathOf(key); path.ok()) return path;
  ASSIGN_OR_RETURN(auto writer, cache.Write(key));
  v1::FetchBlobRequest req;
  req.set_key(key);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub_->FetchBlob(&ctx, req);
  v1::BlobChunk chunk;
  while (reader->Read(&chunk)) RETURN_IF_ERROR(writer->Append(chunk.data()));
  grpc::Status st = reader->Finish();
  if (!st.ok()) {
    const auto code = st.error_code() == grpc::StatusCode::NOT_FOUND ? absl::StatusCode::kNotFound
                                                                    : absl::StatusCode::kUnavailable;
    return absl::Status(code, fmt::format("cannot fetch job plugin {} from the JobManager: {}", key,
                                          st.error_message()));
  }
  return writer->Commit();
}

absl::StatusOr<Registration> JobMasterClient::Register(const std::string& resource_id,
                                                       const std::string& address, int slots,
                                                       int metrics_port) {
  v1::RegisterTaskManagerRequest req;
  req.set_resource_id(resource_id);
  req.set_address(address);
  req.set_slots(slots);
  req.set_metrics_port(metrics_port > 0 ? metrics_port : 0);
  req.set_cpu_cores(static_cast<int32_t>(std::thread::hardware_concurrency()));
  req.set_physical_memory_bytes(static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                                sysconf(_SC_PAGE_SIZE));
  v1::RegisterTaskManagerResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status st = stub_->RegisterTaskManager(&ctx, req, &resp);
  if (!st.ok()) return absl::UnavailableError(st.error_message());
  Registration r;
  r.jobmanager_id = resp.jobmanager_id();
  if (resp.heartbeat_interval_ms() > 0) r.heartbeat_interval_ms = resp.heartbeat_interval_ms();
  if (resp.heartbeat_timeout_ms() > 0) r.heartbeat_timeout_ms = resp.heartbeat_timeout_ms();
  return r;
}

absl::StatusOr<bool> JobMasterClient::Heartbeat(const std::string& resource_id,
                                                const std::vector<TaskStatusReport>& tasks,
                                                int64_t deadline_ms) {
  v1::HeartbeatRequest req;
  req.set_resource_id(resource_id);
  const metrics::ProcessMetrics p = metrics::ReadProcessMetrics();
  v1::ProcessMetrics* process = req.mutable_process();
  process->set_cpu_time_ms(p.cpu_time_ms);
  process->set_rss_bytes(p.rss_bytes);
  process->set_threads(p.threads);
  process->set_start_time_ms(p.start_time_ms);
  for (const auto& t : tasks) {
    auto* ts = req.add_tasks();
    ts->set_job_id(t.job_id.ToString());
    ts->set_attempt_id(t.attempt_id.ToString());
    FillMetrics(t.metrics, ts->mutable_metrics());
  }
  v1::HeartbeatResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  grpc::Status st = stub_->Heartbeat(&ctx, req, &resp);
  if (!st.ok()) return absl::UnavailableError(st.error_message());
  return resp.registered();
}

void JobMasterClient::OpenSession(const std::string& resource_id, std::function<void()> on_broken) {
  CloseSession();
  session_ctx_ = std::make_unique<grpc::ClientContext>();
  session_ = stub_->ConnectTaskManager(session_ctx_.get());
  v1::TaskManagerSession hello;
  hello.set_resource_id(resource_id);
  session_->Write(hello);
  {
    std::lock_guard lock(session_mu_);
    session_ending_ = false;
    session_reader_done_ = false;
  }
  session_reader_ = std::thread([this, on_broken = std::move(on_broken)] {
    v1::TaskManagerSession msg;
    while (session_->Read(&msg)) {
    }
    bool ending;
    {
      std::lock_guard lock(session_mu_);
      session_reader_done_ = true;
      ending = session_ending_;
    }
    session_ended_cv_.notify_all();
    if (!ending) on_broken();
  });
}

void JobMasterClient::CloseSession() {
  if (session_ctx_) session_ctx_->TryCancel();
  JoinSession();
}

void JobMasterClient::JoinSession() {
  if (session_reader_.joinable()) session_reader_.join();
  if (session_) session_->Finish();
  session_.reset();
  session_ctx_.reset();
}

void JobMasterClient::EndSession(std::chrono::milliseconds timeout) {
  if (session_ == nullptr) return;
  // Half-close: the JobManager sees the stream end without cancellation (an orderly goodbye)
  // and finishes it, which ends the reader. A JobManager that does not answer is cut off.
  {
    std::lock_guard lock(session_mu_);
    session_ending_ = true;
  }
  session_->WritesDone();
  std::unique_lock lock(session_mu_);
  if (!session_ended_cv_.wait_for(lock, timeout, [this] { return session_reader_done_; })) {
    session_ctx_->TryCancel();
  }
  lock.unlock();
  JoinSession();
}

void JobMasterClient::UpdateTaskExecutionState(const TaskExecutionStateUpdate& u) {
  v1::UpdateTaskExecutionStateRequest req;
  req.set_job_id(u.job_id.ToString());
  req.set_attempt_id(u.attempt_id.ToString());
  req.set_state(std::string(graph::Name(u.state)));
  req.set_end_of_input(u.end_of_input);
  FillMetrics(u.metrics, req.mutable_metrics());
  if (!u.failure.ok()) {
    auto* f = req.mutable_failure();
    f->set_message(std::string(u.failure.message()));
    f->set_timestamp_ms(NowMillis());
    Classify(u.failure.code(), f);
  }
  v1::UpdateTaskExecutionStateResponse resp;
  Call(u.end_of_input ? "report end of input" : "report a task state", [&](grpc::ClientContext* ctx) {
    return stub_->UpdateTaskExecutionState(ctx, req, &resp);
  });
}

void JobMasterClient::AcknowledgeCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                            const CheckpointAck& ack) {
  v1::AcknowledgeCheckpointRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  req.set_checkpoint_id(ack.checkpoint_id);
  req.set_state_handle(ack.state_handle);
  req.set_state_size_bytes(ack.state_size_bytes);
  req.set_alignment_ms(ack.alignment_ms);
  req.set_sync_ms(ack.sync_ms);
  req.set_async_ms(ack.async_ms);
  req.set_checkpointed_size_bytes(ack.checkpointed_size_bytes);
  v1::AcknowledgeCheckpointResponse resp;
  Call("acknowledge checkpoint", [&](grpc::ClientContext* ctx) {
    return stub_->AcknowledgeCheckpoint(ctx, req, &resp);
  });
}

void JobMasterClient::DeclineCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                        int64_t checkpoint_id, const std::string& reason) {
  v1::DeclineCheckpointRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  req.set_checkpoint_id(checkpoint_id);
  req.set_reason(reason);
  v1::DeclineCheckpointResponse resp;
  Call("decline checkpoint", [&](grpc::ClientContext* ctx) {
    return stub_->DeclineCheckpoint(ctx, req, &resp);
  });
}

}  // namespace sluice::taskmanager
