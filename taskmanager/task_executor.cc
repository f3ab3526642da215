#include "taskmanager/task_executor.h"

#include <algorithm>
#include <chrono>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/job/job_compiler.h"
#include "spdlog/spdlog.h"

namespace sluice::taskmanager {

TaskExecutor::TaskExecutor(int buffers_per_channel, JobMasterGateway* jobmaster,
                           RemoteChannelFactory remote_channels, PluginResolver plugins)
    : buffers_per_channel_(buffers_per_channel),
      jobmaster_(jobmaster),
      remote_channels_(std::move(remote_channels)),
      plugins_(std::move(plugins)) {}

TaskExecutor::~TaskExecutor() { Shutdown(); }

void TaskExecutor::SetLocation(std::string location) {
  std::lock_guard lock(mu_);
  location_ = std::move(location);
}

std::string TaskExecutor::location() const {
  std::lock_guard lock(mu_);
  return location_;
}

void TaskExecutor::SetJobManagerId(std::string id) {
  std::lock_guard lock(mu_);
  jobmanager_id_ = std::move(id);
}

absl::StatusOr<std::shared_ptr<const graph::JobGraph>> TaskExecutor::GraphFor(
    const JobId& job_id, const job::JobSubmission& job) {
  // A rescaled job keeps its id but not its plan: the key includes the parallelism overrides.
  GraphKey id{job_id, ""};
  for (const auto& [uid, p] : job.operator_parallelism) id.second += uid + "=" + std::to_string(p) + ";";
  {
    std::lock_guard lock(mu_);
    auto it = graphs_.find(id);
    if (it != graphs_.end()) return it->second;
  }
  // Compiled outside the lock: it is CPU work; a concurrent compile of the same job is harmless.
  absl::StatusOr<graph::JobGraph> compiled;
  if (!job.plugin_ref.blob_key.empty() && job.plugin == nullptr) {
    if (!plugins_) return absl::FailedPreconditionError("this TaskManager cannot load job plugins");
    job::JobSubmission loaded = job;
    RETURN_IF_ERROR(plugins_(&loaded));
    compiled = job::CompileJob(loaded);
  } else {
    compiled = job::CompileJob(job);
  }
  if (!compiled.ok()) return compiled.status();
  graph::JobGraph g = std::move(*compiled);
  auto shared = std::make_shared<const graph::JobGraph>(std::move(g));
  std::lock_guard lock(mu_);
  return graphs_.emplace(id, shared).first->second;
}

absl::Status TaskExecutor::SubmitTask(deployment::TaskDeploymentDescriptor tdd) {
  {
    std::lock_guard lock(mu_);
    if (!tdd.jobmanager_id.empty() && tdd.jobmanager_id != jobmanager_id_) {
      return FailedPreconditionF("task from JobManager {} but registered with {}",
                                 tdd.jobmanager_id, jobmanager_id_);
    }
  }
  ASSIGN_OR_RETURN(auto graph, GraphFor(tdd.job_id, tdd.job));
  if (tdd.vertex < 0 || static_cast<size_t>(tdd.vertex) >= graph->vertices.size()) {
    return InvalidArgumentF("vertex index {} out of range: job has {} vertices", tdd.vertex,
                            graph->vertices.size());
  }
  const graph::JobVertex& vertex = graph->vertex(tdd.vertex);
  if (tdd.subtask < 0 || tdd.subtask >= vertex.parallelism) {
    return InvalidArgumentF("subtask index {} out of range for '{}' with parallelism {}",
                            tdd.subtask, vertex.name, vertex.parallelism);
  }
  if (tdd.outputs.size() != vertex.outputs.size()) {
    return InvalidArgumentF("'{}' has {} output edges, the deployment names consumers for {}",
                            vertex.name, vertex.outputs.size(), tdd.outputs.size());
  }
  for (size_t o = 0; o < vertex.outputs.size(); ++o) {
    const int expected = graph->vertex(graph->edge(vertex.outputs[o]).target).parallelism;
    if (static_cast<int>(tdd.outputs[o].size()) != expected) {
      return InvalidArgumentF("'{}' output {} needs {} consumer locations, the deployment has {}",
                              vertex.name, o, expected, tdd.outputs[o].size());
    }
  }
  const ExecutionAttemptId attempt = tdd.attempt_id;
  auto task = std::make_unique<Task>(std::move(tdd), graph, this);
  Task* raw = task.get();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return absl::UnavailableError("TaskManager shutting down");
    tasks_[attempt] = std::move(task);
    ReapFinishedLocked();
  }
  spdlog::info("Received task {} ({}).", raw->name(), attempt.ToString());
  raw->Start();
  return absl::OkStatus();
}

absl::Status TaskExecutor::CancelTask(const ExecutionAttemptId& attempt) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(attempt);
  if (it == tasks_.end()) return NotFoundF("no task attempt {} here", attempt.ToString());
  spdlog::info("Cancelling task {} ({}).", it->second->name(), attempt.ToString());
  it->second->Cancel();
  return absl::OkStatus();
}

absl::Status TaskExecutor::PostMail(const ExecutionAttemptId& attempt, Mail mail) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(attempt);
  if (it == tasks_.end() || it->second->done()) {
    return NotFoundF("no running task attempt {} here", attempt.ToString());
  }
  it->second->Post(std::move(mail));
  return absl::OkStatus();
}

absl::Status TaskExecutor::SendOperatorEvent(const JobId& job, const ExecutionAttemptId& attempt,
                                             int vertex, int subtask, std::string_view event) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(attempt);
  if (it == tasks_.end() || it->second->done()) {
    return NotFoundF("no running task attempt {} here", attempt.ToString());
  }
  const auto& d = it->second->deployment();
  if (d.job_id != job || d.vertex != vertex || d.subtask != subtask) {
    return NotFoundF("attempt {} is not subtask {} of vertex {} of job {}", attempt.ToString(),
                     subtask, vertex, job.ToString());
  }
  return it->second->HandleOperatorEvent(event);
}

std::shared_ptr<network::InputGate> TaskExecutor::AwaitInputGate(const ExecutionAttemptId& attempt,
                                                                 int64_t wait_ms) {
  std::unique_lock lock(mu_);
  std::shared_ptr<network::InputGate> gate;
  cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] {
    auto it = gates_.find(attempt);
    if (it != gates_.end()) gate = it->second;
    return gate != nullptr || stopping_;
  });
  return gate;
}

std::vector<TaskStatusReport> TaskExecutor::RunningTasks() const {
  std::lock_guard lock(mu_);
  std::vector<TaskStatusReport> out;
  for (const auto& [id, t] : tasks_) {
    if (t->done()) continue;
    const deployment::TaskDeploymentDescriptor& d = t->deployment();
    out.push_back(TaskStatusReport{d.job_id, id, t->Metrics(), t->job_name(), t->vertex().id,
                                   t->vertex().name, d.subtask, d.attempt_number});
  }
  return out;
}

void TaskExecutor::CancelAll(const std::string& why) {
  std::lock_guard lock(mu_);
  for (auto& [id, t] : tasks_) {
    if (!t->done()) {
      spdlog::warn("Cancelling task {}: {}", t->name(), why);
      t->Cancel();
    }
  }
}

void TaskExecutor::Shutdown() {
  std::map<ExecutionAttemptId, std::unique_ptr<Task>> doomed;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, t] : tasks_) t->Cancel();
    doomed.swap(tasks_);
  }
  cv_.notify_all();
  doomed.clear();      // joins task threads, which take mu_ on their way out
  reaper_.Shutdown();  // runs what is queued: tasks reaped earlier are destroyed
}

void TaskExecutor::ReapFinishedLocked() {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second->done()) {
      std::shared_ptr<Task> finished(std::move(it->second));
      reaper_.Post([finished]() mutable { finished.reset(); });
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
  // Compiled graphs of jobs with no task here any more (a task keeps its own reference).
  for (auto it = graphs_.begin(); it != graphs_.end();) {
    const bool used = std::any_of(tasks_.begin(), tasks_.end(), [&](const auto& t) {
      return t.second->deployment().job_id == it->first.first;
    });
    it = used ? std::next(it) : graphs_.erase(it);
  }
}

void TaskExecutor::RegisterInputGate(const ExecutionAttemptId& attempt,
                                     std::shared_ptr<network::InputGate> gate) {
  {
    std::lock_guard lock(mu_);
    gates_[attempt] = std::move(gate);
  }
  cv_.notify_all();
}

void TaskExecutor::UnregisterInputGate(const ExecutionAttemptId& attempt) {
  std::lock_guard lock(mu_);
  gates_.erase(attempt);
}

std::unique_ptr<network::OutputChannel> TaskExecutor::CreateOutputChannel(
    const JobId& job, const deployment::ConsumerLocation& consumer, int gate, int subtask) {
  std::shared_ptr<network::InputGate> target;
  {
    std::lock_guard lock(mu_);
    auto it = gates_.find(consumer.attempt_id);
    if (consumer.address == location_ && it != gates_.end()) target = it->second;
  }
  {
    // Deployment order does not matter on the same TaskManager either: fall back to the
    // loopback gRPC path when the local consumer is not registered yet.
    const int channel = target ? target->ChannelIndex(gate, subtask) : -1;
    if (channel >= 0) {
      return std::make_unique<network::LocalOutputChannel>(target, channel, buffers_per_channel_);
    }
  }
  return remote_channels_(job, consumer, gate, subtask);
}

void TaskExecutor::ReportState(const deployment::TaskDeploymentDescriptor& d,
                               graph::ExecutionState state, const absl::Status& failure,
                               const TaskMetricsSnapshot& metrics) {
  jobmaster_->UpdateTaskExecutionState({d.job_id, d.attempt_id, state, failure, metrics, false});
}

void TaskExecutor::AcknowledgeCheckpoint(const deployment::TaskDeploymentDescriptor& d,
                                         const CheckpointAck& ack) {
  jobmaster_->AcknowledgeCheckpoint(d.job_id, d.attempt_id, ack);
}

void TaskExecutor::DeclineCheckpoint(const deployment::TaskDeploymentDescriptor& d,
                                     int64_t checkpoint_id, const std::string& reason) {
  jobmaster_->DeclineCheckpoint(d.job_id, d.attempt_id, checkpoint_id, reason);
}

void TaskExecutor::ReportEndOfInput(const deployment::TaskDeploymentDescriptor& d,
                                    const TaskMetricsSnapshot& metrics) {
  jobmaster_->UpdateTaskExecutionState(
      {d.job_id, d.attempt_id, graph::ExecutionState::kRunning, absl::OkStatus(), metrics, true});
}

}  // namespace sluice::taskmanager
