#include "client/job_runner.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "client/commands.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::client {

absl::StatusOr<v1::JobSubmission> ReadJobSubmission(const std::string& path, int parallelism) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgumentF("cannot read job spec '{}': {}", path, std::strerror(EISDIR));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    auto status = err == ENOENT
                      ? NotFoundF("cannot read job spec '{}': {}", path, std::strerror(err))
                      : InvalidArgumentF("cannot read job spec '{}': {}", path, std::strerror(err));
    return status;
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::JobSubmission job;
  job.set_spec_yaml(text.str());
  job.set_spec_path(path);
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return InvalidArgumentF("cannot resolve job spec path '{}': {}", path, ec.message());
  job.set_base_dir(absolute.lexically_normal().parent_path().string());
  job.set_parallelism(parallelism > 0 ? parallelism : 0);
  return job;
}

namespace {

bool Interrupted(const RunOptions& options) {
  return options.interrupted != nullptr && options.interrupted->load();
}

}  // namespace

int SubmitAndWait(DispatcherClient& client, const v1::JobSubmission& job, const RunOptions& options,
                  std::ostream& out, std::ostream& err) {
  int64_t submitted_at = MonotonicMillis();
  auto job_id = client.SubmitJob(job);
  if (!job_id.ok()) {
    err << job_id.status().message() << "\n";
    return 1;
  }
  out << "Job has been submitted with JobID " << *job_id << "\n" << std::flush;
  if (options.detached) return 0;

  std::string last_state;
  std::string last_message;
  bool cancel_sent = false;
  int64_t unreachable_since = -1;
  // Polls often at first, so that a short job's end is seen at once, then every poll_interval.
  std::chrono::milliseconds wait = std::min(options.poll_interval, std::chrono::milliseconds(5));
  while (true) {
    if (Interrupted(options) && !cancel_sent) {
      if (!options.cancel_on_interrupt) {
        err << fmt::format(
            "Interrupted; job {} keeps running. Cancel it with `sluice cancel {}`.\n", *job_id,
            *job_id);
        return 130;
      }
      err << fmt::format("Interrupted; cancelling job {}\n", *job_id);
      absl::Status cancelled = client.CancelJob(*job_id);
      if (!cancelled.ok()) {
        err << cancelled.message() << "\n";
        return 1;
      }
      cancel_sent = true;
    }

    auto response = client.GetJob(*job_id);
    if (!response.ok()) {
      absl::StatusCode code = response.status().code();
      bool transient =
          code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
      int64_t now = MonotonicMillis();
      if (transient && unreachable_since < 0) unreachable_since = now;
      if (!transient || now - unreachable_since > options.unreachable_timeout.count()) {
        err << response.status().message() << "\n";
        return 1;
      }
    } else {
      unreachable_since = -1;
      const v1::JobSummary& summary = response->job();
      if (summary.state() != last_state) {
        out << "Job " << *job_id << " switched to " << summary.state() << "\n";
        last_state = summary.state();
      }
      if (summary.state() == "CREATED" && !summary.status_message().empty() &&
          summary.status_message() != last_message) {
        out << summary.status_message() << "\n";
        last_message = summary.status_message();
      }
      out << std::flush;
      if (IsTerminalJobState(summary.state())) {
        int64_t wall_ms = summary.start_time_ms() > 0 && summary.end_time_ms() > 0
                              ? summary.end_time_ms() - summary.start_time_ms()
                              : MonotonicMillis() - submitted_at;
        out << FormatJobSummary(*response, wall_ms) << std::flush;
        return summary.state() == "FINISHED" ? 0 : 1;
      }
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(options.poll_interval, wait * 2);
  }
}

}  // namespace sluice::client
