// The `sluice` command-line client (Flink's `flink` CLI): submits jobs to a JobManager and
// inspects them over gRPC, or runs a job on an in-process mini-cluster (`sluice local`).
//
// Exit codes: 0 success, 1 failure (job not FINISHED, bad spec, unknown job, JobManager
// unreachable), 2 usage error (CLI11 parse errors), 130 when `run` is interrupted.

#include <unistd.h>

#include <filesystem>
#include <thread>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <cstdlib>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "google/protobuf/util/json_util.h"
#include "runtime/base/version.h"
#include "runtime/base/status.h"
#include "client/cli_options.h"
#include "client/commands.h"
#include "client/savepoint_commands.h"
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

// --output json: the view as JSON (the proto's field names).
int PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return 1;
  std::cout << json;
  return 0;
}

// Flink's `list`: running and scheduled jobs; -r running only; -a every job.
int List(const Options& o) {
  auto jobs = DispatcherClient::Create(o.jobmanager)->ListJobs();
  if (!jobs.ok()) return PrintError(jobs.status());
  v1::ListJobsResponse shown;
  for (const auto& job : jobs->jobs()) {
    const bool keep = o.list_all       ? true
                      : o.list_running ? job.state() == "RUNNING"
                                       : !IsTerminalJobState(job.state());
    if (keep) *shown.add_jobs() = job;
  }
  if (o.output == OutputFormat::kJson) return PrintJson(shown);
  std::cout << FormatJobsTable(shown, NowMillis());
  return 0;
}

int Status(const Options& o) {
  auto job = DispatcherClient::Create(o.jobmanager)->GetJob(o.job_id);
  if (!job.ok()) return PrintError(job.status());
  if (o.output == OutputFormat::kJson) {
    job->clear_submission();  // the spec text is not status
    return PrintJson(*job);
  }
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
  if (o.output == OutputFormat::kJson) {
    std::cout << *json << "\n";  // Flink's CheckpointingStatistics
    return 0;
  }
  std::cout << FormatCheckpoints(*json);
  return 0;
}

int TaskManagers(const Options& o) {
  auto tms = DispatcherClient::Create(o.jobmanager)->ListTaskManagers();
  if (!tms.ok()) return PrintError(tms.status());
  if (o.output == OutputFormat::kJson) return PrintJson(*tms);
  std::cout << FormatTaskManagers(*tms, NowMillis());
  return 0;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"Submit, run and inspect Sluice stream processing jobs.", "sluice"};
  app.set_version_flag("--version", std::string("sluice ") + std::string(kSluiceVersion));
  app.require_subcommand(1);
  app.fallthrough(false);

  std::vector<CLI::Option*> jobmanager_options;
  auto add_jobmanager = [&o, &jobmanager_options](CLI::App* sub) {
    jobmanager_options.push_back(sub->add_option(
        "--jobmanager,-m", o.jobmanager,
        "JobManager gRPC address HOST:PORT (default: $SLUICE_JOBMANAGER, else "
        "jobmanager.rpc.address/port of the --config file or $SLUICE_CONF_DIR/config.yaml, else " +
            std::string(kDefaultJobManager) + ")"));
    sub->add_option("--config", o.config_path,
                    "the daemons' configuration file, for the JobManager's address");
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

  auto add_output = [&o](CLI::App* sub) {
    sub->add_option("--output,-o", o.output, "table (default) or json")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, OutputFormat>{{"table", OutputFormat::kTable},
                                                {"json", OutputFormat::kJson}}));
  };
  CLI::App* list = app.add_subcommand(
      "list", "List running and scheduled jobs (Flink's default): id, name, state, start time, "
              "duration");
  list->add_flag("--running,-r", o.list_running, "only RUNNING jobs");
  list->add_flag("--all,-a", o.list_all, "every job, ended ones too");
  add_jobmanager(list);
  add_output(list);

  CLI::App* status = app.add_subcommand(
      "status", "Show a job: state, status message, failure cause, vertices and subtasks");
  status->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(status);
  add_output(status);

  CLI::App* cancel = app.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  add_jobmanager(cancel);

  CLI::App* savepoint = app.add_subcommand(
      "savepoint", "Take a savepoint of a running job, or dispose of one (--dispose PATH)");
  auto* savepoint_job =
      savepoint->add_option("job_id", o.job_id, "the job's id (32 hex characters)");
  auto* dispose = savepoint->add_option(
      "--dispose,-d", o.dispose_path,
      "delete the savepoint at PATH (a savepoint-* directory or its _metadata) instead");
  savepoint_job->excludes(dispose);
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
      "stop", "Stop a job with a final savepoint; the job ends FINISHED");
  stop->add_option("job_id", o.job_id, "the job's id (32 hex characters)")->required();
  stop->add_flag("--savepoint", o.with_savepoint,
                 "take the final savepoint (always taken; accepted for older scripts)");
  stop->add_flag("--drain,-d", o.drain,
                 "first end every source's input, so event time advances to its end and every "
                 "window fires; then the final savepoint (Flink's --drain)");
  stop->add_option("--dir,--savepointPath,-p", o.savepoint_dir,
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
  add_output(checkpoints);

  CLI::App* tms = app.add_subcommand(
      "taskmanagers", "List registered TaskManagers: id, address, slots, last heartbeat");
  add_jobmanager(tms);
  add_output(tms);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0 (CLI11 "success" errors); every real parse error is a usage error.
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Like Flink's CLI, the JobManager's address may come from the cluster's configuration file.
  const bool address_given =
      std::any_of(jobmanager_options.begin(), jobmanager_options.end(),
                  [](const CLI::Option* opt) { return opt->count() > 0; }) ||
      std::getenv("SLUICE_JOBMANAGER") != nullptr;
  if (!address_given) {
    auto from_config = JobManagerFromConfig(o.config_path);
    if (!from_config.ok()) return PrintError(from_config.status());
    if (!from_config->empty()) o.jobmanager = *from_config;
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

  if (savepoint->parsed() && o.job_id.empty() && o.dispose_path.empty()) {
    std::cerr << "savepoint: expected a job id, or --dispose PATH\n"
              << "Run with --help for more information.\n";
    return 2;
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
