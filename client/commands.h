#pragma once
// Text rendering of the CLI's views (`sluice list`, `status`, `taskmanagers`, the end-of-run
// summary). Pure functions of the protobuf views and the current time, so they are testable
// without a cluster. Times are printed in UTC ("2001-01-01 00:01:00"), durations humanly
// ("3.41 s", "2 min 05 s", "1 h 02 min").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/v1/jobmanager.pb.h"

namespace sluice::client {

// Left-aligned text columns separated by two spaces; the first row is the header.
class TextTable {
 public:
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string Render(std::string_view indent = "") const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "3.41 s" below a minute, "2 min 05 s" below an hour, "1 h 02 min" above; "-" if negative.
std::string FormatDuration(int64_t ms);
// UTC "YYYY-MM-DD HH:MM:SS"; "-" for a non-positive time.
std::string FormatTimestamp(int64_t epoch_ms);

bool IsTerminalJobState(std::string_view state);

// `sluice list`: ID, NAME, STATE, START TIME, DURATION; "No jobs." when empty.
std::string FormatJobsTable(const v1::ListJobsResponse& jobs, int64_t now_ms);
// `sluice status`: job header (state, times, status message, failure cause), then per vertex
// its name, parallelism and state and a table of subtasks (state, attempt, location, records).
std::string FormatJobStatus(const v1::GetJobResponse& job, int64_t now_ms);
// `sluice taskmanagers`: ID, ADDRESS, SLOTS (free/total), LAST HEARTBEAT (age).
std::string FormatTaskManagers(const v1::ListTaskManagersResponse& tms, int64_t now_ms);

// End-of-run summary: "Job <name> (<id>) FINISHED in 3.41 s; Sink: x received N records",
// listing every vertex named "Sink..." (sum of its subtasks' records_in) or ending a chain in
// "-> Sink..." (sum of records_out: what a sink chain wrote); a FAILED job gets a second line
// "Failure cause: ...".
// `sluice checkpoints`: counts, latest completed/failed/restored and the history table, from
// the JobManager's Flink-shaped checkpoint statistics JSON.
std::string FormatCheckpoints(const std::string& stats_json);

// The end-of-job line of `sluice run`: state, wall time and the rows each sink wrote (summed
// over its subtasks, from the tasks' per-sink counters).
std::string FormatJobSummary(const v1::GetJobResponse& job, int64_t wall_ms);

}  // namespace sluice::client
