// The `sluice` command-line client (Flink's `flink` CLI): submits jobs to a JobManager and
// inspects them over gRPC, or runs a job on an in-process mini-cluster (`sluice local`).
//
// Exit codes: 0 success, 1 failure (job not FINISHED, bad spec, unknown job, JobManager
// unreachable), 2 usage error (CLI11 parse errors), 130 when `run` is interrupted.

#include <filesystem>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "client/commands.h"
#include "client/dispatcher_client.h"
#include "client/job_runner.h"
#include "client/local_cluster.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/logging.h"

namespace sluice::client {
namespace {

constexpr char kDefaultJobManager[] = "127.0.0.1:6123";

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

// SIGINT/SIGTERM set the flag the job runner polls; a second signal kills the process (the
// handler is reset after the first one), so a hung shutdown can still be interrupted.
void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string DefaultJobManager() {
  const char* env = std::getenv("SLUICE_JOBMANAGER");
  return env != nullptr && env[0] != '\0' ? env : kDefaultJobManager;
}

int PrintError(const absl::Status& status) {
  std::cerr << status.message() << "\n";
  return 1;
}

struct Options {
  std::string jobmanager = DefaultJobManager();
  std::string spec_path;
  std::string job_id;
  int parallelism = 0;
  bool detached = false;
  std::string from_checkpoint;
  int taskmanagers = 2;
  int slots = 2;
  std::string log_level = "warn";
};

int Run(const Options& o) {
  auto job = ReadJobSubmission(o.spec_path, o.parallelism);
  if (!job.ok()) return PrintError(job.status());
  if (!o.from_checkpoint.empty()) {
    job->set_restore_path(std::filesystem::absolute(o.from_checkpoint).lexically_normal().string());
  }
  auto client = DispatcherClient::Create(o.jobmanager);
  RunOptions run;
  run.detached = o.detached;
  run.interrupted = &g_interrupted;
  InstallInterruptHandler();
  return SubmitAndWait(*client, *job, run, std::cout, std::cerr);
}

int Local(const Options& o) {
  auto job = ReadJobSubmission(o.spec_path, o.parallelism);
  if (!job.ok()) return PrintError(job.status());
  InitLogging("local", o.log_level);
  InstallInterruptHandler();
  auto cluster = LocalCluster::Start(o.taskmanagers, o.slots);
  if (!cluster.ok()) return PrintError(cluster.status());
  std::cout << fmt::format(
                   "Local cluster: JobManager at {}, REST API at http://127.0.0.1:{}, {} "
                   "TaskManager(s) with {} slot(s) each\n",
                   (*cluster)->jobmanager_address(), (*cluster)->rest_port(), o.taskmanagers,
                   o.slots)
            << std::flush;
  auto client = DispatcherClient::Create((*cluster)->jobmanager_address());
  RunOptions run;
  run.interrupted = &g_interrupted;
  run.cancel_on_interrupt = true;
  int code = SubmitAndWait(*client, *job, run, std::cout, std::cerr);
  (*cluster)->Shutdown();
  return code;
}

int List(const Options& o) {
  auto jobs = DispatcherClient::Create(o.jobmanager)->ListJobs();
  if (!jobs.ok()) return PrintError(jobs.status());
  std::cout << FormatJobsTable(*jobs, NowMillis());
  return 0;
}

int Status(const Options& o) {
  auto job = DispatcherClient::Create(o.jobmanager)->GetJob(o.job_id);
  if (!job.ok()) return PrintError(job.status());
  std::cout << FormatJobStatus(*job, NowMillis());
  return 0;
}

int Cancel(const Options& o) {
  absl::Status status = DispatcherClient::Create(o.jobmanager)->CancelJob(o.job_id);
  if (!status.ok()) return PrintError(status);
  std::cout << fmt::format("Cancellation of job {} requested.\n", o.job_id);
  return 0;
}

int Checkpoints(const Options& o) {
  auto json = DispatcherClient::Create(o.jobmanager)->GetJobCheckpoints(o.job_id);
  if (!json.ok()) return PrintError(json.status());
  std::cout << FormatCheckpoints(*json);
  return 0;
}

int TaskManagers(const Options& o) {
  auto tms = DispatcherClient::Create(o.jobmanager)->ListTaskManagers();
  if (!tms.ok()) return PrintError(tms.status());
  std::cout << FormatTaskManagers(*tms, NowMillis());
  return 0;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"Submit, run and inspect Sluice stream processing jobs.", "sluice"};
  app.require_subcommand(1);
  app.fallthrough(false);

  auto add_jobmanager = [&o](CLI::App* sub) {
    sub->add_option("--jobmanager,-m", o.jobmanager,
                    "JobManager gRPC address HOST:PORT (default: $SLUICE_JOBMANAGER or " +
                        std::string(kDefaultJobManager) + ")");
  };
  auto add_parallelism = [&o](CLI::App* sub) {
    sub->add_option("--parallelism,-p", o.parallelism,
                    "parallelism of every vertex (overrides the spec's)")
        ->check(CLI::Range(1, 1 << 15));
  };

  CLI::App* run = app.add_subcommand(
      "run", "Submit a job spec (YAML) to a JobManager and follow it until it ends");
  run->add_option("job", o.spec_path, "the job spec (YAML)")->required();
  add_jobmanager(run);
  add_parallelism(run);
  run->add_flag("--detached,-d", o.detached, "return right after the submission");
  run->add_option("--from-checkpoint,-s", o.from_checkpoint,
                  "restore the job's state from a retained checkpoint (a chk-<n> directory or "
                  "its _metadata file)");

  CLI::App* local = app.add_subcommand(
      "local", "Run a job spec on an in-process mini-cluster (a JobManager and N TaskManagers)");
  local->add_option("job", o.spec_path, "the job spec (YAML)")->required();
  local->add_option("--taskmanagers", o.taskmanagers, "number of TaskManagers")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  local->add_option("--slots", o.slots, "slots per TaskManager")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  add_parallelism(local);
  local->add_option("--log-level", o.log_level, "log level of the mini-cluster")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* list = app.add_subcommand("list", "List jobs: id, name, state, start time, duration");
  add_jobmanager(list);

  CLI::App* status = app.add_subcommand(
      "status", "Show a job: state, status message, failure cause, vertices and subtasks");
  status->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(status);

  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(cancel);

  CLI::App* checkpoints = app.add_subcommand(
      "checkpoints", "Show a job's checkpoint counts, latest checkpoints and history");
  checkpoints->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(checkpoints);

  CLI::App* tms = app.add_subcommand(
      "taskmanagers", "List registered TaskManagers: id, address, slots, last heartbeat");
  add_jobmanager(tms);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0 (CLI11 "success" errors); every real parse error is a usage error.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (run->parsed()) return Run(o);
  if (local->parsed()) return Local(o);
  if (list->parsed()) return List(o);
  if (status->parsed()) return Status(o);
  if (cancel->parsed()) return Cancel(o);
  if (tms->parsed()) return TaskManagers(o);
  if (checkpoints->parsed()) return Checkpoints(o);
  std::cerr << app.help();
  return 2;
}

}  // namespace
}  // namespace sluice::client

int main(int argc, char** argv) { return sluice::client::Main(argc, argv); }
