// The `sluice` command-line client (Flink's `flink` CLI): submits jobs to a JobManager and
// inspects them over gRPC, or runs a job on an in-process mini-cluster (`sluice local`).
//
// Exit codes: 0 success, 1 failure (job not FINISHED, bad spec, unknown job, JobManager
// unreachable), 2 usage error (CLI11 parse errors), 130 when `run` is interrupted.

#include <unistd.h>

#include <filesystem>
#include <thread>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "runtime/base/status.h"
#include "client/commands.h"
#include "client/dispatcher_client.h"
#include "client/job_runner.h"
#include "client/local_cluster.h"
#include "client/sql_client.h"
#include "client/sql_command.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/logging.h"
#include "runtime/graph/plan_text.h"
#include "runtime/job/job_compiler.h"
#include "runtime/plugin/blob_store.h"
#include "runtime/plugin/plugin_loader.h"
#include "proto/convert/deployment_convert.h"

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
  std::string plugin_path;                // --plugin: a job plugin (C++ DataStream API)
  std::vector<std::string> positionals;   // the job spec, or with --plugin the plugin's args
  std::string job_id;
  int parallelism = 0;
  bool detached = false;
  bool dry_run = false;
  std::string from_checkpoint;
  bool allow_non_restored_state = false;
  std::string savepoint_dir;
  std::string savepoint_type;  // "canonical" or "native" (Flink's --type)
  bool with_savepoint = false;
  int taskmanagers = 2;
  int slots = 2;
  std::string log_level = "warn";
  bool sql = false;   // `sluice sql run`: the positional is a SQL script, whatever its name
  bool plan = false;  // `sluice sql validate --plan`
  bool sql_local = false;  // `sluice sql --local`: the interactive client on a mini-cluster
};

bool IsSqlScript(const Options& o) {
  return o.sql || (o.positionals.size() == 1 && o.positionals[0].size() > 4 &&
                   o.positionals[0].compare(o.positionals[0].size() - 4, 4, ".sql") == 0);
}

// The submission of `sluice run/local`: a job spec (the one positional argument), or with
// --plugin a plugin job whose arguments are the positionals; its relative paths resolve against
// the current directory.
absl::StatusOr<v1::JobSubmission> ReadSubmission(const Options& o) {
  if (IsSqlScript(o)) {  // with --plugin: the script's function library
    return ReadSqlSubmission(o.positionals[0], o.parallelism, nullptr, o.plugin_path);
  }
  if (o.plugin_path.empty()) {
    if (o.positionals.size() != 1) {
      return InvalidArgumentF("expected one job spec (YAML), or --plugin <library> [-- args]; got "
                              "{} arguments", o.positionals.size());
    }
    return ReadJobSubmission(o.positionals[0], o.parallelism);
  }
  ASSIGN_OR_RETURN(std::string key, plugin::Sha256OfFile(o.plugin_path));
  v1::JobSubmission job;
  v1::PluginRef* ref = job.mutable_plugin();
  ref->set_blob_key(key);
  for (const auto& a : o.positionals) ref->add_args(a);
  ref->set_file_name(std::filesystem::path(o.plugin_path).filename().string());
  job.set_base_dir(std::filesystem::current_path().string());
  job.set_parallelism(o.parallelism > 0 ? o.parallelism : 0);
  return job;
}

// `--dry-run`: compiles the job here, as the JobManager would, and prints its plan (for a
// plugin job, also the job spec its build function generated).
int DryRun(const Options& o, const v1::JobSubmission& job) {
  if (IsSqlScript(o)) {
    sql::CompiledSql compiled;
    auto again = ReadSqlSubmission(o.positionals[0], o.parallelism, &compiled, o.plugin_path);
    if (!again.ok()) return PrintError(again.status());
    PrintSqlPlan(compiled, std::cout);
    std::cout << "== Generated job spec ==\n" << compiled.spec_yaml;
    return 0;
  }
  job::JobSubmission sub = rpc::FromProto(job);
  if (!o.plugin_path.empty()) {
    if (absl::Status s = plugin::AttachPlugin(o.plugin_path, &sub); !s.ok()) return PrintError(s);
  }
  auto graph = job::CompileJob(sub);
  if (!graph.ok()) return PrintError(graph.status());
  std::cout << graph::FormatPlan(*graph);
  if (sub.plugin != nullptr) std::cout << "Generated job spec:\n" << sub.spec_yaml;
  return 0;
}

// Uploads a plugin job's library to the JobManager (a no-op for spec jobs).
absl::Status UploadPlugin(const Options& o, DispatcherClient& client, const v1::JobSubmission& job) {
  if (o.plugin_path.empty()) return absl::OkStatus();
  return client.UploadBlob(o.plugin_path, job.plugin().blob_key()).status();
}

int Run(const Options& o) {
  auto job = ReadSubmission(o);
  if (!job.ok()) return PrintError(job.status());
  if (o.dry_run) return DryRun(o, *job);
  if (!o.from_checkpoint.empty()) {
    job->set_restore_path(std::filesystem::absolute(o.from_checkpoint).lexically_normal().string());
  }
  job->set_allow_non_restored_state(o.allow_non_restored_state);
  auto client = DispatcherClient::Create(o.jobmanager);
  if (absl::Status s = UploadPlugin(o, *client, *job); !s.ok()) return PrintError(s);
  RunOptions run;
  run.detached = o.detached;
  run.interrupted = &g_interrupted;
  InstallInterruptHandler();
  return SubmitAndWait(*client, *job, run, std::cout, std::cerr);
}

int Local(const Options& o) {
  auto job = ReadSubmission(o);
  if (!job.ok()) return PrintError(job.status());
  if (o.dry_run) return DryRun(o, *job);
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
  int code = 1;
  if (absl::Status s = UploadPlugin(o, *client, *job); !s.ok()) {
    PrintError(s);
  } else {
    code = SubmitAndWait(*client, *job, run, std::cout, std::cerr);
  }
  (*cluster)->Shutdown();
  return code;
}

// `sluice sql` without a script: the interactive client, on a JobManager or a mini-cluster.
int SqlShell(const Options& o) {
  std::unique_ptr<LocalCluster> cluster;
  std::string address = o.jobmanager;
  if (o.sql_local) {
    InitLogging("local", o.log_level);
    auto started = LocalCluster::Start(o.taskmanagers, o.slots);
    if (!started.ok()) return PrintError(started.status());
    cluster = std::move(*started);
    address = cluster->jobmanager_address();
  }
  auto client = DispatcherClient::Create(address);
  SqlClientOptions opts;
  opts.in = &std::cin;
  opts.out = &std::cout;
  opts.terminal = ::isatty(STDIN_FILENO) != 0;
  opts.interrupted = &g_interrupted;
  opts.rearm_interrupt = InstallInterruptHandler;
  if (const char* home = std::getenv("HOME"); home != nullptr && opts.terminal) {
    opts.history_file = std::string(home) + "/.sluice_sql_history";
  }
  InstallInterruptHandler();
  const int code = RunSqlClient(*client, opts);
  if (cluster) cluster->Shutdown();
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

// Triggers a savepoint (or stop with savepoint) and waits for it, showing progress.
absl::StatusOr<std::string> TakeSavepoint(DispatcherClient& client, const std::string& job_id,
                                          const std::string& dir, bool stop, bool native) {
  std::string target = dir.empty() ? "" : std::filesystem::absolute(dir).lexically_normal().string();
  ASSIGN_OR_RETURN(std::string trigger, client.TriggerSavepoint(job_id, target, stop, native));
  std::cout << fmt::format("{} for job {} triggered (request {}).\n",
                           stop ? "Stop with savepoint" : "Savepoint", job_id, trigger)
            << std::flush;
  // Progress: one line per change of phase or acknowledgements (rewritten in place on a
  // terminal), e.g. "  snapshotting: 3/5 subtasks acknowledged, 1.2 MB, 0.8 s".
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  std::string last;
  auto show = [&](const v1::SavepointStatus& st) {
    std::string phase = st.phase() == "snapshotting"
                            ? fmt::format("snapshotting: {}/{} subtasks acknowledged, {:.1f} MB",
                                          st.acknowledged_subtasks(), st.total_subtasks(),
                                          st.state_size_bytes() / 1e6)
                        : st.phase() == "copying" ? "copying into the savepoint directory"
                                                  : "waiting for a pending checkpoint";
    if (phase == last) {
      if (tty) std::cout << fmt::format("\r  {}, {:.1f} s", phase, st.elapsed_ms() / 1e3) << std::flush;
      return;
    }
    if (tty && !last.empty()) std::cout << "\n";
    last = phase;
    std::cout << fmt::format("  {}, {:.1f} s", phase, st.elapsed_ms() / 1e3) << (tty ? "" : "\n")
              << std::flush;
  };
  const int64_t deadline = MonotonicMillis() + 10 * 60 * 1000;
  while (MonotonicMillis() < deadline) {
    ASSIGN_OR_RETURN(v1::SavepointStatus st, client.GetSavepoint(job_id, trigger));
    if (st.status() == "COMPLETED" || st.status() == "FAILED") {
      if (tty && !last.empty()) std::cout << "\n";
      std::cout << fmt::format("{} after {:.1f} s.\n",
                               st.status() == "COMPLETED" ? "Done" : "Failed", st.elapsed_ms() / 1e3);
      if (st.status() == "COMPLETED") return st.location();
      return FailedPreconditionF("savepoint of job {} failed: {}", job_id, st.failure());
    }
    show(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling interval
  }
  return absl::DeadlineExceededError("savepoint did not complete within 10 minutes");
}

int Savepoint(const Options& o) {
  auto client = DispatcherClient::Create(o.jobmanager);
  auto location = TakeSavepoint(*client, o.job_id, o.savepoint_dir, false,
                                o.savepoint_type == "native");
  if (!location.ok()) return PrintError(location.status());
  std::cout << "Savepoint completed. Path: " << *location << "\n";
  return 0;
}

int Stop(const Options& o) {
  auto client = DispatcherClient::Create(o.jobmanager);
  auto location = TakeSavepoint(*client, o.job_id, o.savepoint_dir, true,
                                o.savepoint_type == "native");
  if (!location.ok()) return PrintError(location.status());
  std::cout << "Savepoint completed. Path: " << *location << "\n";
  return 0;
}

// Stop with savepoint, then run the same job from it at the new parallelism.
int Rescale(const Options& o) {
  auto client = DispatcherClient::Create(o.jobmanager);
  auto job = client->GetJob(o.job_id);
  if (!job.ok()) return PrintError(job.status());
  for (const auto& v : job->vertices()) {
    if (o.parallelism > v.max_parallelism()) {
      std::cerr << fmt::format(
          "cannot rescale job {} to parallelism {}: vertex '{}' has max parallelism {} (the "
          "number of key groups); nothing was stopped\n",
          o.job_id, o.parallelism, v.name(), v.max_parallelism());
      return 1;
    }
  }
  const int64_t start = MonotonicMillis();
  // Native by default: RocksDB state moves as its SST files (restore by key-group ranges of
  // whole files, far faster for large state); heap state is written canonically either way.
  auto location = TakeSavepoint(*client, o.job_id, o.savepoint_dir, true,
                                o.savepoint_type != "canonical");
  if (!location.ok()) return PrintError(location.status());
  const int64_t stopped = MonotonicMillis();
  // The stopped job must end (its tasks release their slots and state) before the new one
  // starts, as Flink's stop-with-savepoint completes only with the job.
  const int64_t end_deadline = stopped + 120 * 1000;
  for (;;) {
    auto st = client->GetJob(o.job_id);
    if (!st.ok()) return PrintError(st.status());
    const std::string& state = st->job().state();
    if (state == "FINISHED" || state == "CANCELED" || state == "FAILED") break;
    if (MonotonicMillis() > end_deadline) {
      std::cerr << fmt::format("job {} is still {} 120 s after its final savepoint {}; not "
                               "starting the rescaled job (restore it with sluice run "
                               "--from-savepoint)\n",
                               o.job_id, state, *location);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
  const int64_t ended = MonotonicMillis();
  v1::JobSubmission sub = job->submission();
  sub.set_parallelism(o.parallelism);
  sub.set_restore_path(*location);
  auto new_id = client->SubmitJob(sub);
  if (!new_id.ok()) return PrintError(new_id.status());
  // Downtime: from the savepoint's completion (sources stopped) to every subtask RUNNING.
  for (;;) {
    auto st = client->GetJob(*new_id);
    if (!st.ok()) return PrintError(st.status());
    bool running = st->job().state() == "RUNNING";
    for (const auto& v : st->vertices())
      for (const auto& s : v.subtasks()) running &= s.state() == "RUNNING" || s.state() == "FINISHED";
    if (running || st->job().state() == "FINISHED") break;
    if (st->job().state() == "FAILED" || st->job().state() == "CANCELED") {
      std::cerr << "rescaled job " << *new_id << " ended " << st->job().state() << ": "
                << st->job().failure_cause() << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
  std::cout << fmt::format(
      "Rescaled job {} to parallelism {} as job {} from savepoint {}; downtime {} ms (stop "
      "with savepoint took {} ms; the old job ended {} ms after it)\n",
      o.job_id, o.parallelism, *new_id, *location, MonotonicMillis() - stopped, stopped - start,
      ended - stopped);
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
                    "default parallelism: of every operator without its own `parallelism:` "
                    "(overrides the spec's job parallelism)")
        ->check(CLI::Range(1, 1 << 15));
  };

  CLI::App* run = app.add_subcommand(
      "run", "Submit a job (a YAML spec, or a C++ plugin with --plugin) to a JobManager and follow "
             "it until it ends");
  auto add_job = [&o](CLI::App* sub) {
    sub->add_option("job", o.positionals,
                    "the job spec (YAML); with --plugin, the arguments of the plugin's build "
                    "function (after --)");
    sub->add_option("--plugin", o.plugin_path,
                    "a job plugin: a shared library built against the C++ DataStream API "
                    "(docs/cpp-api.md), uploaded to the JobManager")
        ->check(CLI::ExistingFile);
  };
  add_job(run);
  add_jobmanager(run);
  add_parallelism(run);
  run->add_flag("--detached,-d", o.detached, "return right after the submission");
  run->add_flag("--dry-run", o.dry_run,
                "print the plan (vertices, chained operators and uids, edges) and exit without "
                "submitting");
  run->add_option("--from-checkpoint,--from-savepoint,-s", o.from_checkpoint,
                  "restore the job's state from a savepoint or a retained checkpoint (its "
                  "directory or _metadata file)");
  run->add_flag("--allow-non-restored-state", o.allow_non_restored_state,
                "skip state of operators (uids) the job no longer has instead of refusing");

  CLI::App* local = app.add_subcommand(
      "local", "Run a job (a YAML spec, or a C++ plugin with --plugin) on an in-process "
               "mini-cluster (a JobManager and N TaskManagers)");
  add_job(local);
  local->add_option("--taskmanagers", o.taskmanagers, "number of TaskManagers")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  local->add_option("--slots", o.slots, "slots per TaskManager")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  add_parallelism(local);
  local->add_flag("--dry-run", o.dry_run, "print the plan and exit without starting a cluster");
  local->add_option("--log-level", o.log_level, "log level of the mini-cluster")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* sql = app.add_subcommand(
      "sql", "SQL (docs/sql.md): without a subcommand the interactive client; validate a "
             "script offline, or plan and run it as one job");
  sql->require_subcommand(0, 1);
  sql->add_flag("--local", o.sql_local,
                "without a subcommand: run the interactive client's jobs on an in-process "
                "mini-cluster instead of a JobManager");
  add_jobmanager(sql);
  CLI::App* sql_validate = sql->add_subcommand(
      "validate", "Check a SQL script without a cluster: parse, resolve tables and columns, "
                  "type-check, check that sinks take the query's changelog; every error as "
                  "FILE:line:column: message (exit 1)");
  sql_validate->add_option("script", o.positionals, "the SQL script")->required()->expected(1);
  sql_validate->add_flag("--plan", o.plan,
                         "also print the logical plan, the job graph and the generated job spec");
  CLI::App* sql_run = sql->add_subcommand(
      "run", "Validate a SQL script, then submit its INSERTs (and SELECTs) as one job and follow "
             "it (as `sluice run`)");
  sql_run->add_option("script", o.positionals, "the SQL script")->required()->expected(1);
  for (CLI::App* c : {sql_validate, sql_run}) {
    c->add_option("--plugin", o.plugin_path, "a C++ plugin whose scalar functions the script's "
                  "CREATE FUNCTION statements name (docs/sql.md)")->check(CLI::ExistingFile);
  }
  add_jobmanager(sql_run);
  add_parallelism(sql_run);
  sql_run->add_flag("--detached,-d", o.detached, "return right after the submission");
  sql_run->add_flag("--dry-run", o.dry_run,
                    "print the plan and the generated job spec and exit without submitting");
  sql_run->add_option("--from-checkpoint,--from-savepoint,-s", o.from_checkpoint,
                      "restore from a savepoint or retained checkpoint (operator uids are derived "
                      "from the plan, so an unchanged script restores)");
  sql_run->add_flag("--allow-non-restored-state", o.allow_non_restored_state,
                    "skip state of operators (uids) the job no longer has instead of refusing");

  CLI::App* list = app.add_subcommand("list", "List jobs: id, name, state, start time, duration");
  add_jobmanager(list);

  CLI::App* status = app.add_subcommand(
      "status", "Show a job: state, status message, failure cause, vertices and subtasks");
  status->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(status);

  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(cancel);

  CLI::App* savepoint = app.add_subcommand("savepoint", "Take a savepoint of a running job");
  savepoint->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  savepoint->add_option("--dir", o.savepoint_dir,
                        "target directory (default: the JobManager's state.savepoints.dir)");
  auto add_type = [&](CLI::App* cmd, const char* def) {
    cmd->add_option("--type,-t", o.savepoint_type,
                    fmt::format("savepoint format: canonical (restores into either backend) or "
                                "native (RocksDB's own files: faster, RocksDB only); default {}",
                                def))
        ->check(CLI::IsMember({"canonical", "native"}));
  };
  add_type(savepoint, "canonical");
  add_jobmanager(savepoint);

  CLI::App* stop = app.add_subcommand(
      "stop", "Stop a job with a final savepoint (sources stop after it; the job ends FINISHED)");
  stop->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  stop->add_flag("--savepoint", o.with_savepoint, "take the final savepoint (required)")->required();
  stop->add_option("--dir", o.savepoint_dir,
                   "target directory (default: the JobManager's state.savepoints.dir)");
  add_type(stop, "canonical");
  add_jobmanager(stop);

  CLI::App* rescale = app.add_subcommand(
      "rescale", "Change a job's parallelism: stop with savepoint, restore at the new parallelism");
  rescale->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  rescale->add_option("--parallelism,-p", o.parallelism,
                      "the new default parallelism (operators with their own `parallelism:` "
                      "keep it)")
      ->required()
      ->check(CLI::PositiveNumber);
  rescale->add_option("--dir", o.savepoint_dir, "savepoint directory");
  add_type(rescale, "native");
  add_jobmanager(rescale);

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
  // run/local take one job spec, or a plugin with any number of arguments.
  for (CLI::App* sub : {run, local}) {
    if (sub->parsed() && o.plugin_path.empty() && o.positionals.size() != 1) {
      std::cerr << sub->get_name() << ": expected one job spec (YAML), or --plugin <library> "
                << "[-- args]; got " << o.positionals.size() << " arguments\n"
                << "Run with --help for more information.\n";
      return 2;
    }
  }

  if (sql_validate->parsed()) {
    return SqlValidate(o.positionals[0], o.plan, std::cout, std::cerr, o.plugin_path);
  }
  if (sql->parsed() && !sql_run->parsed()) return SqlShell(o);
  if (sql_run->parsed()) {
    o.sql = true;
    return Run(o);
  }
  if (run->parsed()) return Run(o);
  if (local->parsed()) return Local(o);
  if (list->parsed()) return List(o);
  if (status->parsed()) return Status(o);
  if (cancel->parsed()) return Cancel(o);
  if (tms->parsed()) return TaskManagers(o);
  if (checkpoints->parsed()) return Checkpoints(o);
  if (savepoint->parsed()) return Savepoint(o);
  if (stop->parsed()) return Stop(o);
  if (rescale->parsed()) return Rescale(o);
  std::cerr << app.help();
  return 2;
}

}  // namespace
}  // namespace sluice::client

int main(int argc, char** argv) { return sluice::client::Main(argc, argv); }
