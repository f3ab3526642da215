// The JobMaster's configuration views: Flink's JSON bodies of /jobs/:jobid/config
// (JobConfigInfo) and /jobs/:jobid/checkpoints/config (CheckpointConfigInfo).

#include <algorithm>

#include "fmt/format.h"
#include "jobmanager/job_master.h"
#include "nlohmann/json.hpp"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::jobmanager {
namespace {

// Flink's RestartStrategy#getDescription wording.
std::string Describe(const checkpoint::RestartStrategyConfig& r) {
  using checkpoint::RestartStrategyType;
  switch (r.type) {
    case RestartStrategyType::kNone:
      return "Restart deactivated.";
    case RestartStrategyType::kFixedDelay:
      return fmt::format("Restart with fixed delay ({} ms). #{} restart attempts.",
                         r.fixed_delay_ms, r.fixed_delay_attempts);
    case RestartStrategyType::kFailureRate:
      return fmt::format(
          "Failure rate restart with maximum of {} failures within interval {} ms and fixed "
          "delay {} ms.",
          r.failure_rate_max_failures, r.failure_rate_interval_ms, r.failure_rate_delay_ms);
    case RestartStrategyType::kExponentialDelay:
      return fmt::format(
          "Restart with exponential delay: starting at {} ms, increasing by {}, with maximum "
          "{} ms. Delay resets after {} ms, jitter factor {}.",
          r.exp_initial_backoff_ms, r.exp_multiplier, r.exp_max_backoff_ms,
          r.exp_reset_threshold_ms, r.exp_jitter_factor);
  }
  return "";
}

}  // namespace

std::string JobMaster::ConfigJson() {
  return executor_.Call([this] {
    nlohmann::json j = {{"jid", id_.ToString()},
                        {"name", graph_.name},
                        {"execution-config",
                         {{"execution-mode", "PIPELINED"},
                          {"restart-strategy", Describe(graph_.config.restart_strategy)},
                          {"job-parallelism", graph_.parallelism},
                          {"object-reuse-mode", false},
                          {"user-config", nlohmann::json::object()}}}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
}

absl::StatusOr<std::string> JobMaster::CheckpointConfigJson() {
  return executor_.Call([this]() -> absl::StatusOr<std::string> {
    const graph::JobConfig& config = graph_.config;
    if (!config.checkpointing_enabled()) {
      return NotFoundF("Checkpointing is not enabled for job {}", id_.ToString());
    }
    const checkpoint::CheckpointConfig& c = *config.checkpointing;
    const bool rocksdb = config.state_backend.kind == graph::StateBackendKind::kRocksDb;
    nlohmann::json j = {
        {"mode", "exactly_once"},
        {"interval", c.interval_ms},
        {"timeout", c.timeout_ms},
        {"min_pause", c.min_pause_ms},
        {"max_concurrent", c.max_concurrent},
        {"externalization",
         {{"enabled", c.retention != checkpoint::CheckpointRetention::kNoExternalized},
          {"delete_on_cancellation",
           c.retention != checkpoint::CheckpointRetention::kRetainOnCancellation}}},
        {"state_backend", rocksdb ? "EmbeddedRocksDBStateBackend" : "HashMapStateBackend"},
        {"checkpoint_storage", "FileSystemCheckpointStorage"},
        {"unaligned_checkpoints", false},
        {"tolerable_failed_checkpoints", c.tolerable_failed_checkpoints},
        {"aligned_checkpoint_timeout", 0},
        {"checkpoints_after_tasks_finish", true},
        {"state_changelog_enabled", false},
        {"changelog_periodic_materialization_interval", 0},
        {"changelog_storage", "memory"}};
    return j.dump();
  });
}

absl::StatusOr<std::string> JobMaster::CheckpointDetailsJson(int64_t checkpoint_id) {
  return executor_.Call([this, checkpoint_id]() -> absl::StatusOr<std::string> {
    if (checkpoints_) {
      nlohmann::json stats = checkpoints_->StatsJson(NowMillis());
      for (const auto& entry : stats["history"]) {
        if (entry["id"] == checkpoint_id) return entry.dump();
      }
    }
    return NotFoundF(
        "Could not find checkpointing statistics for checkpoint {} of job {} (the "
        "last 10 are kept)",
        checkpoint_id, id_.ToString());
  });
}

}  // namespace sluice::jobmanager
