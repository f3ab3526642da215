#include "jobmanager/dispatcher.h"

#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

absl::StatusOr<JobId> Dispatcher::SubmitJob(job::JobSubmission submission,
                                            const SubmitOptions& options) {
  const JobId id = JobId::Random();
  ASSIGN_OR_RETURN(std::shared_ptr<JobMaster> shared,
                   CreateJobMaster(id, std::move(submission), options));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return absl::UnavailableError("the JobManager is shutting down");
    jobs_[id] = shared;
    order_.push_back(id);
  }
  shared->Start();
  return id;
}

absl::StatusOr<std::shared_ptr<JobMaster>> Dispatcher::CreateJobMaster(
    const JobId& id, job::JobSubmission submission, const SubmitOptions& options) {
  if (!submission.plugin_ref.blob_key.empty() && submission.plugin == nullptr) {
    absl::Status loaded = plugins_ ? plugins_(&submission)
                                   : absl::FailedPreconditionError(
                                         "this JobManager cannot load job plugins");
    if (!loaded.ok()) {
      spdlog::info("Refused job submission: {}", loaded.message());
      return loaded;
    }
  }
  if (submission.spec_path.empty()) submission.spec_path = "<job spec>";
  // Compiled on the caller's thread: CPU work that needs no cluster state.
  auto graph = job::CompileJob(submission);
  if (!graph.ok()) {
    spdlog::info("Refused job submission: {}", graph.status().message());
    return graph.status();
  }
  auto jm = JobMaster::Create(id, std::move(submission), std::move(*graph), options, options_, slots_);
  if (!jm.ok()) {
    spdlog::info("Refused job submission: {}", jm.status().message());
    return jm.status();
  }
  return std::shared_ptr<JobMaster>(std::move(*jm));
}

absl::StatusOr<std::shared_ptr<JobMaster>> Dispatcher::Lookup(const JobId& id) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return NotFoundF("Job {} not found", id.ToString());
  return it->second;
}

absl::StatusOr<std::shared_ptr<JobMaster>> Dispatcher::Lookup(const std::string& id) {
  auto parsed = JobId::Parse(id);
  if (!parsed.ok()) return parsed.status();
  return Lookup(*parsed);
}

std::vector<std::shared_ptr<JobMaster>> Dispatcher::Jobs() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<JobMaster>> out;
  for (const auto& id : order_) out.push_back(jobs_.at(id));
  return out;
}

std::vector<JobSummaryView> Dispatcher::ListJobs() {
  std::vector<JobSummaryView> out;
  for (const auto& jm : Jobs()) {
    out.push_back(jm->Summary());
    if (out.back().state == graph::JobStatus::kFinished && IsRescaling(jm->id())) {
      out.back().state = graph::JobStatus::kRestarting;
    }
  }
  return out;
}

void Dispatcher::OnTaskManagerLost(const std::string& resource_id, const std::string& cause) {
  for (const auto& jm : Jobs()) jm->OnTaskManagerLost(resource_id, cause);
}

void Dispatcher::Tick() {
  AdvanceRescales();
  for (const auto& jm : Jobs()) jm->Tick();
}

void Dispatcher::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (const auto& jm : Jobs()) jm->Shutdown();
}

}  // namespace sluice::jobmanager
