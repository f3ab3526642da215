#pragma once
// Flink REST API v1 bodies rendered from the JobManager's views (the protobuf messages the gRPC
// API serves, so REST and CLI agree). Field names, their mixed kebab/camel case and state strings
// follow Flink 1.20's rest_v1_dispatcher.yml; times are epoch ms, durations ms, -1 when unknown.

#include <cstdint>
#include <string>
#include <string_view>

#include "jobmanager/rest/rest_json.h"
#include "sluice/v1/jobmanager.pb.h"

namespace sluice::jobmanager::rest {

bool IsTerminalJobState(std::string_view state);

// SubtaskExecutionAttemptDetailsInfo (plus Sluice's "failure").
Json SubtaskJson(const v1::SubtaskInfo& s, int64_t now_ms);
// JobDetailsVertexInfo; `job_id` is its slotSharingGroupId (one group per job).
Json VertexJson(const v1::VertexInfo& v, const std::string& job_id, int64_t now_ms);
// Every ExecutionState -> epoch ms the subtask entered it (0: never).
Json StateTimestampsJson(const v1::SubtaskInfo& s);
// Flink's status-duration: every ExecutionState -> ms spent in it.
Json StatusDurationJson(const v1::SubtaskInfo& s, int64_t now_ms);
// Flink's AggregatedTaskDetailsInfo: per IO metric and per state duration, statistics over the
// vertex's subtasks (min, max, avg, sum, median, p25, p75, p95).
Json AggregatedJson(const v1::VertexInfo& v, int64_t now_ms);
// JobPlanInfo's "plan" (plus Sluice's "operators" with uids per node).
Json PlanJson(const v1::GetJobResponse& r);
// JobDetailsInfo.
Json JobDetailsJson(const v1::GetJobResponse& r, int64_t now_ms);
// JobDetails, an element of /jobs/overview.
Json JobOverviewJson(const v1::JobSummary& job, int64_t now_ms);
// Flink's data skew of an aggregated metric, percent: how far the largest value is above the
// average, relative to the largest: (max - avg) / max * 100; 0 when max <= 0.
double Skew(double max, double avg);
// TaskManagerInfo, and TaskManagerDetailsInfo (/taskmanagers/:taskmanagerid).
Json TaskManagerJson(const v1::TaskManagerInfo& tm);
Json TaskManagerDetailsJson(const v1::TaskManagerInfo& tm);

}  // namespace sluice::jobmanager::rest
