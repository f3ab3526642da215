#pragma once
// `sluice run` and `sluice local` share this: read the job spec, submit it, follow the job
// until it ends and print the summary. Output goes to the given streams (stdout/stderr in the
// CLI) so that tests can capture it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "client/dispatcher_client.h"
#include "sluice/v1/jobmanager.pb.h"

namespace sluice::client {

// Reads the YAML job spec at `path` into a submission: spec_path as given, base_dir the
// absolute directory of the file, parallelism (> 0 overrides the spec's).
// Errors: NotFound/InvalidArgument "cannot read job spec '<path>': <strerror>".
absl::StatusOr<v1::JobSubmission> ReadJobSubmission(const std::string& path, int parallelism);

struct RunOptions {
  bool detached = false;                         // return right after submission
  // GetJob period while waiting, reached by doubling from 5 ms (a short job is seen ending early).
  std::chrono::milliseconds poll_interval{200};
  // Set asynchronously (e.g. by a SIGINT handler); checked between polls.
  const std::atomic<bool>* interrupted = nullptr;
  // On interrupt: true = cancel the job and wait for it to end (sluice local), false = leave
  // it running and return 130 (sluice run).
  bool cancel_on_interrupt = false;
  // How long the JobManager may be unreachable while following a job before giving up.
  std::chrono::milliseconds unreachable_timeout{std::chrono::seconds(15)};
};

// Submits `job` and, unless detached, follows it: prints "Job <id> switched to <STATE>" on each
// observed change, the status message once while CREATED, then FormatJobSummary.
// Returns the exit code: 0 if submitted (detached) or FINISHED; 1 on a submission or RPC error
// (printed to `err` as is) or another terminal state; 130 when interrupted and left running.
int SubmitAndWait(DispatcherClient& client, const v1::JobSubmission& job, const RunOptions& options,
                  std::ostream& out, std::ostream& err);

}  // namespace sluice::client
