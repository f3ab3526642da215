// Dispatcher::Rescale: in-place rescaling of a running job, keeping its id (Flink's adaptive
// rescale through PUT /jobs/:jobid/resource-requirements). A stop with savepoint ends the
// current attempt; once it finished, a new JobMaster with the same job id runs the job again,
// restored from the savepoint at the new parallelism (state is redistributed by key groups).

#include <utility>

#include "fmt/format.h"
#include "jobmanager/dispatcher.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

bool Dispatcher::IsRescaling(const JobId& id) {
  std::lock_guard lock(mu_);
  for (const auto& r : rescales_) {
    if (r.id == id) return true;
  }
  return false;
}

absl::Status Dispatcher::Rescale(const std::string& job_id,
                                 const std::map<std::string, int>& parallelism) {
  ASSIGN_OR_RETURN(std::shared_ptr<JobMaster> jm, Lookup(job_id));
  if (IsRescaling(jm->id())) {
    return FailedPreconditionF("job {} is already being rescaled", job_id);
  }
  const graph::JobGraph& graph = jm->graph();
  job::JobSubmission submission = jm->submission();
  bool changes = false;
  for (const auto& [vertex_id, p] : parallelism) {
    const graph::JobVertex* vertex = nullptr;
    for (const auto& v : graph.vertices) {
      if (v.id == vertex_id) vertex = &v;
    }
    if (vertex == nullptr) return InvalidArgumentF("job {} has no vertex {}", job_id, vertex_id);
    if (p < 1 || p > vertex->max_parallelism) {
      return InvalidArgumentF(
          "vertex {} ({}): parallelism {} is not in 1..{} (its max parallelism)", vertex_id,
          vertex->name, p, vertex->max_parallelism);
    }
    if (p == vertex->parallelism) continue;
    changes = true;
    for (const std::string& uid : vertex->uids()) submission.operator_parallelism[uid] = p;
  }
  if (!changes) return absl::OkStatus();
  // The new plan must compile before the running job is stopped.
  if (auto g = job::CompileJob(submission); !g.ok()) {
    return InvalidArgumentF("job {} cannot run at that parallelism: {}", job_id,
                            g.status().message());
  }
  const std::string root = jm->checkpoint_root();
  if (root.empty()) {
    return FailedPreconditionF(
        "job {} does not checkpoint: rescaling restores it from a "
        "savepoint, which needs checkpointing (checkpointing.interval)",
        job_id);
  }
  ASSIGN_OR_RETURN(std::string trigger,
                   jm->TriggerSavepoint(root + "/rescale", SavepointMode::kStop, false, ""));
  spdlog::info("Rescaling job {} ({}): stop with savepoint (trigger {}), then restart.", job_id,
               jm->name(), trigger);
  std::lock_guard lock(mu_);
  rescales_.push_back(PendingRescale{jm->id(), jm, trigger, std::move(submission)});
  return absl::OkStatus();
}

void Dispatcher::AdvanceRescales() {
  std::vector<PendingRescale> pending;
  {
    std::lock_guard lock(mu_);
    if (rescales_.empty() || stopping_) return;
    pending = rescales_;
  }
  for (PendingRescale& r : pending) {
    auto progress = r.stopping->GetSavepoint(r.trigger_id);
    std::string failure;
    std::shared_ptr<JobMaster> next;
    if (!progress.ok()) {
      failure = std::string(progress.status().message());
    } else if (progress->state == SavepointState::kFailed) {
      failure = "its savepoint failed: " + progress->failure;
    } else if (progress->state != SavepointState::kCompleted ||
               r.stopping->Summary().state != graph::JobStatus::kFinished) {
      continue;  // not yet
    } else {
      SubmitOptions options;
      options.restore_path = progress->location;
      options.discard_restore_after_first_checkpoint = true;
      auto created = CreateJobMaster(r.id, r.submission, options);
      if (created.ok()) {
        next = *created;
      } else {
        failure = fmt::format("it cannot restart from savepoint {}: {}", progress->location,
                              created.status().message());
      }
    }
    {
      std::lock_guard lock(mu_);
      std::erase_if(rescales_,
                    [&](const PendingRescale& p) { return p.trigger_id == r.trigger_id; });
      if (next != nullptr && !stopping_) jobs_[r.id] = next;
    }
    if (next == nullptr) {
      spdlog::warn("Rescaling job {} failed: {}", r.id.ToString(), failure);
      continue;
    }
    spdlog::info("Job {} restarts from savepoint {} at its new parallelism.", r.id.ToString(),
                 progress->location);
    r.stopping->Shutdown();
    next->Start();
  }
}

}  // namespace sluice::jobmanager
