#include "client/savepoint_commands.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "client/dispatcher_client.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::client {
namespace {

// Triggers a savepoint (or stop with savepoint, with drain) and waits for it, showing progress.
absl::StatusOr<std::string> TakeSavepoint(DispatcherClient& client, const std::string& job_id,
                                          const std::string& dir, bool stop, bool native,
                                          bool drain = false) {
  v1::TriggerSavepointRequest request;
  request.set_job_id(job_id);
  request.set_target_directory(
      dir.empty() ? "" : std::filesystem::absolute(dir).lexically_normal().string());
  request.set_stop(stop);
  request.set_drain(drain);
  request.set_native(native);
  ASSIGN_OR_RETURN(std::string trigger, client.TriggerSavepoint(request));
  std::cout << fmt::format("{} for job {} triggered (request {}).\n",
                           !stop   ? "Savepoint"
                           : drain ? "Stop with drain"
                                   : "Stop with savepoint",
                           job_id, trigger)
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
      if (tty)
        std::cout << fmt::format("\r  {}, {:.1f} s", phase, st.elapsed_ms() / 1e3) << std::flush;
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
                               st.status() == "COMPLETED" ? "Done" : "Failed",
                               st.elapsed_ms() / 1e3);
      if (st.status() == "COMPLETED") return st.location();
      return FailedPreconditionF("savepoint of job {} failed: {}", job_id, st.failure());
    }
    show(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling interval
  }
  return absl::DeadlineExceededError("savepoint did not complete within 10 minutes");
}

}  // namespace

int Savepoint(const Options& o) {
  auto client = DispatcherClient::Create(o.jobmanager);
  if (!o.dispose_path.empty()) {  // Flink's `savepoint --dispose <path>`
    auto r = client->DisposeSavepoint(
        std::filesystem::absolute(o.dispose_path).lexically_normal().string());
    if (!r.ok()) return PrintError(r.status());
    if (!r->failure().empty()) {
      std::cerr << "Savepoint disposal failed: " << r->failure() << "\n";
      return 1;
    }
    std::cout << "Savepoint " << r->path() << " disposed.\n";
    return 0;
  }
  auto location =
      TakeSavepoint(*client, o.job_id, o.savepoint_dir, false, o.savepoint_type == "native");
  if (!location.ok()) return PrintError(location.status());
  std::cout << "Savepoint completed. Path: " << *location << "\n";
  return 0;
}

int Stop(const Options& o) {
  auto client = DispatcherClient::Create(o.jobmanager);
  auto location = TakeSavepoint(*client, o.job_id, o.savepoint_dir, true,
                                o.savepoint_type == "native", o.drain);
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
  auto location =
      TakeSavepoint(*client, o.job_id, o.savepoint_dir, true, o.savepoint_type != "canonical");
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
      std::cerr << fmt::format(
          "job {} is still {} 120 s after its final savepoint {}; not "
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
      for (const auto& s : v.subtasks())
        running &= s.state() == "RUNNING" || s.state() == "FINISHED";
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

}  // namespace sluice::client
