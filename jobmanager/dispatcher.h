#pragma once
// Dispatcher: accepts jobs and keeps them (Flink's Dispatcher with its job store): it compiles
// a submitted spec, creates the job's JobMaster (which validates checkpointing, restore path and
// split enumerators) and starts it, and answers lookups by job id for the CLI, REST and the
// TaskManagers' messages. Jobs are kept in submission order for listings.
//
// Threading: thread-safe (a mutex guards the job store; each JobMaster serialises its own work).
// Lifecycle: Shutdown() shuts every JobMaster down (cancelling what runs).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobmanager/job_master.h"

namespace sluice::jobmanager {

// Loads the plugin of a submission that names one (job::PluginRef) into it: its spec and
// functions. Set by the JobManager over its blob store (runtime/plugin).
using PluginResolver = std::function<absl::Status(job::JobSubmission*)>;

class Dispatcher {
 public:
  Dispatcher(JobMasterOptions options, std::string default_savepoint_dir, SlotProvider* slots,
             PluginResolver plugins = nullptr)
      : options_(std::move(options)),
        default_savepoint_dir_(std::move(default_savepoint_dir)),
        slots_(slots),
        plugins_(std::move(plugins)) {}
  ~Dispatcher() { Shutdown(); }

  // Compiles and starts a job (a plugin job: loads its plugin first). InvalidArgument (naming
  // the spec, line and column, or the restore path; for a plugin, why it does not load) when it
  // cannot run; NotFound for a plugin not in the blob store; Unavailable while shutting down.
  absl::StatusOr<JobId> SubmitJob(job::JobSubmission submission, const SubmitOptions& options);
  // The job's JobMaster; NotFound naming the id.
  absl::StatusOr<std::shared_ptr<JobMaster>> Lookup(const JobId& id);
  // Parses `id` first: InvalidArgument for a malformed one.
  absl::StatusOr<std::shared_ptr<JobMaster>> Lookup(const std::string& id);
  std::vector<JobSummaryView> ListJobs();
  std::vector<std::shared_ptr<JobMaster>> Jobs();
  const std::string& default_savepoint_dir() const { return default_savepoint_dir_; }

  // Rescales a running job in place, keeping its id (Flink's PUT
  // /jobs/:jobid/resource-requirements): a stop with savepoint into <checkpoint root>/rescale/,
  // then the job runs again from it with `parallelism` per vertex (by vertex id; vertices not
  // named keep theirs). While it restarts the job reports RESTARTING. InvalidArgument for an
  // unknown vertex or a parallelism outside 1..its max parallelism; FailedPrecondition when the
  // job is not RUNNING, does not checkpoint or already rescales. Nothing to change: OK at once.
  absl::Status Rescale(const std::string& job_id, const std::map<std::string, int>& parallelism);
  // A rescale of `id` is in progress (its old attempt may already be FINISHED).
  bool IsRescaling(const JobId& id);

  // A TaskManager is gone: every job that ran something there fails over.
  void OnTaskManagerLost(const std::string& resource_id, const std::string& cause);
  void Tick();
  void Shutdown();

 private:
  struct PendingRescale {
    JobId id;
    std::shared_ptr<JobMaster> stopping;  // the attempt taking the savepoint
    std::string trigger_id;
    job::JobSubmission submission;        // with the new parallelism
  };

  // Loads the plugin, compiles and creates the JobMaster of `submission` (not started).
  absl::StatusOr<std::shared_ptr<JobMaster>> CreateJobMaster(const JobId& id,
                                                             job::JobSubmission submission,
                                                             const SubmitOptions& options);
  // Once a rescale's savepoint completed and its job finished: the job runs again from it.
  void AdvanceRescales();

  const JobMasterOptions options_;
  const std::string default_savepoint_dir_;
  SlotProvider* slots_;
  const PluginResolver plugins_;
  std::mutex mu_;
  bool stopping_ = false;
  std::map<JobId, std::shared_ptr<JobMaster>> jobs_;
  std::vector<JobId> order_;
  std::vector<PendingRescale> rescales_;  // guarded by mu_
};

}  // namespace sluice::jobmanager
