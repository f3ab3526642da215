#pragma once
// Restart strategies: whether and when a failed job restarts (Flink's RestartBackoffTimeStrategy
// and its implementations in flink-runtime .../executiongraph/failover/: NoRestart, FixedDelay,
// FailureRate, ExponentialDelay), as pure logic: the caller reports each failure with the time
// it happened and whether a retry can help, and gets back the decision and the delay to wait.
//
// Configuration uses Flink's keys (RestartStrategyOptions):
//   restart-strategy.type: none (aliases off, disable) | fixed-delay (fixeddelay) |
//       failure-rate (failurerate) | exponential-delay (exponentialdelay). Default
//       exponential-delay (Flink's default for checkpointed jobs). Case-insensitive.
//   restart-strategy.fixed-delay.attempts (1), .delay (1 s)
//   restart-strategy.failure-rate.max-failures-per-interval (1), .failure-rate-interval (1 min),
//       .delay (1 s)
//   restart-strategy.exponential-delay.initial-backoff (100 ms), .max-backoff (10 s),
//       .backoff-multiplier (2.0), .reset-backoff-threshold (1 h), .jitter-factor (0.1),
//       .attempts-before-reset-backoff (unlimited)
// Departure from Flink: Flink 1.19's exponential-delay defaults are initial-backoff 1 s and
// max-backoff 1 min. Sluice targets recovery within 2 s of a TaskManager loss, so its first
// restart waits 100 ms and the backoff is capped at 10 s; a job that keeps failing still backs
// off exponentially.
//
// Lifecycle: one strategy per job, owned by the JobMaster, living across the job's restarts.
// Thread safety: none; call from the JobMaster's executor thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::checkpoint {

struct RestartDecision {
  bool restart = false;
  int64_t delay_ms = 0;  // wait this long before redeploying (restart == true only)
  std::string reason;    // why: for logs and the job's exception history
};

class RestartStrategy {
 public:
  virtual ~RestartStrategy() = default;
  // A job-level failure happened at `now_ms` (any consistent millisecond base). `retryable`
  // false (e.g. a user-code error that a retry cannot fix) never restarts.
  virtual RestartDecision OnFailure(int64_t now_ms, bool retryable) = 0;
  // Flink-style description with the parameters, e.g.
  // "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=1, backoffTimeMS=1000)".
  virtual std::string Describe() const = 0;
};

enum class RestartStrategyType { kNone, kFixedDelay, kFailureRate, kExponentialDelay };

// Parsed configuration; defaults as documented above. Durations in milliseconds.
struct RestartStrategyConfig {
  RestartStrategyType type = RestartStrategyType::kExponentialDelay;
  // fixed-delay
  int fixed_delay_attempts = 1;
  int64_t fixed_delay_ms = 1000;
  // failure-rate
  int failure_rate_max_failures = 1;
  int64_t failure_rate_interval_ms = 60'000;
  int64_t failure_rate_delay_ms = 1000;
  // exponential-delay
  int64_t exp_initial_backoff_ms = 100;
  int64_t exp_max_backoff_ms = 10'000;
  double exp_multiplier = 2.0;
  int64_t exp_reset_threshold_ms = 3'600'000;
  double exp_jitter_factor = 0.1;
  int exp_attempts_before_reset = 2147483647;  // INT_MAX: unlimited

  // Reads the `restart-strategy.*` keys of a flat configuration map; other keys are ignored.
  // InvalidArgument naming key and value for a bad value or an unknown restart-strategy.* key.
  static absl::StatusOr<RestartStrategyConfig> Parse(
      const std::map<std::string, std::string>& keys);
  // InvalidArgument naming the key of the first out-of-range value.
  absl::Status Validate() const;
};

// Uniform random numbers in [0, 1) for jitter; inject a fixed sequence in tests.
using RandomSource = std::function<double()>;

std::unique_ptr<RestartStrategy> MakeNoRestartStrategy();
std::unique_ptr<RestartStrategy> MakeFixedDelayRestartStrategy(int attempts, int64_t delay_ms);
std::unique_ptr<RestartStrategy> MakeFailureRateRestartStrategy(int max_failures_per_interval,
                                                                int64_t interval_ms,
                                                                int64_t delay_ms);
// `random` defaults to a std::mt19937_64 seeded from std::random_device.
std::unique_ptr<RestartStrategy> MakeExponentialDelayRestartStrategy(
    int64_t initial_backoff_ms, int64_t max_backoff_ms, double multiplier,
    int64_t reset_threshold_ms, double jitter_factor, int attempts_before_reset,
    RandomSource random = nullptr);

// From a validated config (InvalidArgument otherwise).
absl::StatusOr<std::unique_ptr<RestartStrategy>> MakeRestartStrategy(
    const RestartStrategyConfig& config, RandomSource random = nullptr);
// Parse + make.
absl::StatusOr<std::unique_ptr<RestartStrategy>> MakeRestartStrategy(
    const std::map<std::string, std::string>& keys, RandomSource random = nullptr);

}  // namespace sluice::checkpoint
