#include "runtime/checkpoint/restart_strategy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <deque>
#include <random>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/durations.h"
#include "runtime/base/status.h"

namespace sluice::checkpoint {
namespace {

RestartDecision NotRetryable() {
  return {false, 0, "the failure is not retryable: recovery is suppressed"};
}

RestartDecision Suppressed(const RestartStrategy& s) {
  return {false, 0, fmt::format("Recovery is suppressed by {}", s.Describe())};
}

// Flink's NoRestartBackoffTimeStrategy.
class NoRestart final : public RestartStrategy {
 public:
  RestartDecision OnFailure(int64_t /*now_ms*/, bool retryable) override {
    if (!retryable) return NotRetryable();
    return Suppressed(*this);
  }
  std::string Describe() const override { return "NoRestartBackoffTimeStrategy"; }
};

// Flink's FixedDelayRestartBackoffTimeStrategy: `attempts` restarts, each after `delay_ms`.
class FixedDelay final : public RestartStrategy {
 public:
  FixedDelay(int attempts, int64_t delay_ms) : attempts_(attempts), delay_ms_(delay_ms) {}
  RestartDecision OnFailure(int64_t /*now_ms*/, bool retryable) override {
    if (!retryable) return NotRetryable();
    if (++current_attempt_ > attempts_) return Suppressed(*this);
    return {true, delay_ms_,
            fmt::format("fixed-delay: restart attempt {} of {} in {} ms", current_attempt_,
                        attempts_, delay_ms_)};
  }
  std::string Describe() const override {
    return fmt::format(
        "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts={}, backoffTimeMS={})",
        attempts_, delay_ms_);
  }

 private:
  const int attempts_;
  const int64_t delay_ms_;
  int64_t current_attempt_ = 0;
};

// Flink's FailureRateRestartBackoffTimeStrategy: restart unless more than
// `max_failures` failures happened within the last `interval_ms` (this one included).
class FailureRate final : public RestartStrategy {
 public:
  FailureRate(int max_failures, int64_t interval_ms, int64_t delay_ms)
      : max_failures_(max_failures), interval_ms_(interval_ms), delay_ms_(delay_ms) {}
  RestartDecision OnFailure(int64_t now_ms, bool retryable) override {
    if (!retryable) return NotRetryable();
    while (!failures_.empty() && now_ms - failures_.front() >= interval_ms_) failures_.pop_front();
    failures_.push_back(now_ms);
    if (static_cast<int64_t>(failures_.size()) > max_failures_) return Suppressed(*this);
    return {true, delay_ms_,
            fmt::format("failure-rate: failure {} of at most {} within {} ms, restart in {} ms",
                        failures_.size(), max_failures_, interval_ms_, delay_ms_)};
  }
  std::string Describe() const override {
    return fmt::format(
        "FailureRateRestartBackoffTimeStrategy(failuresIntervalMS={}, backoffTimeMS={}, "
        "maxFailuresPerInterval={})",
        interval_ms_, delay_ms_, max_failures_);
  }

 private:
  const int max_failures_;
  const int64_t interval_ms_;
  const int64_t delay_ms_;
  std::deque<int64_t> failures_;  // failure times within the interval, oldest first
};

// Flink's ExponentialDelayRestartBackoffTimeStrategy (1.19): the backoff starts at
// `initial`, is multiplied on every failure up to `max`, and resets to `initial` (with the attempt
// count) once the job ran `reset_threshold` without failing after its last restart. More than
// `attempts_before_reset` failures without a reset end the job. The delay is the backoff
// ± jitter_factor × backoff.
class ExponentialDelay final : public RestartStrategy {
 public:
  ExponentialDelay(int64_t initial, int64_t max, double multiplier, int64_t reset_threshold,
                   double jitter_factor, int attempts_before_reset, RandomSource random)
      : initial_(initial),
        max_(max),
        multiplier_(multiplier),
        reset_threshold_(reset_threshold),
        jitter_factor_(jitter_factor),
        attempts_before_reset_(attempts_before_reset),
        random_(std::move(random)) {}

  RestartDecision OnFailure(int64_t now_ms, bool retryable) override {
    if (!retryable) return NotRetryable();
    if (attempts_ == 0 || now_ms - last_failure_ms_ >= reset_threshold_ + backoff_) {
      attempts_ = 0;
      backoff_ = initial_;
    } else {
      const double next = static_cast<double>(backoff_) * multiplier_;
      backoff_ = next >= static_cast<double>(max_) ? max_ : static_cast<int64_t>(next);
    }
    last_failure_ms_ = now_ms;
    if (++attempts_ > attempts_before_reset_) return Suppressed(*this);
    int64_t delay = backoff_;
    const auto offset = static_cast<int64_t>(static_cast<double>(backoff_) * jitter_factor_);
    if (offset > 0) {
      const double r = std::clamp(random_(), 0.0, 1.0);
      delay += std::llround((2.0 * r - 1.0) * static_cast<double>(offset));
    }
    // Jitter never takes the delay beyond max-backoff (as Flink caps it).
    delay = std::clamp<int64_t>(delay, 0, max_);
    return {true, delay,
            fmt::format("exponential-delay: restart attempt {} in {} ms (backoff {} ms)", attempts_,
                        delay, backoff_)};
  }

  std::string Describe() const override {
    return fmt::format(
        "ExponentialDelayRestartBackoffTimeStrategy(initialBackoffMS={}, maxBackoffMS={}, "
        "backoffMultiplier={}, resetBackoffThresholdMS={}, jitterFactor={}, "
        "attemptsBeforeResetBackoff={}, currentBackoffMS={}, lastFailureTimestamp={})",
        initial_, max_, multiplier_, reset_threshold_, jitter_factor_, attempts_before_reset_,
        backoff_, last_failure_ms_);
  }

 private:
  const int64_t initial_, max_;
  const double multiplier_;
  const int64_t reset_threshold_;
  const double jitter_factor_;
  const int attempts_before_reset_;
  RandomSource random_;
  int64_t backoff_ = 0;
  int64_t last_failure_ms_ = 0;
  int attempts_ = 0;  // failures since the last reset
};

RandomSource DefaultRandom() {
  auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
}

constexpr std::string_view kPrefix = "restart-strategy.";

absl::Status BadValue(const std::string& key, const std::string& value, std::string_view what) {
  return InvalidArgumentF("configuration key '{}' has invalid value '{}': expected {}", key, value,
                          what);
}

absl::Status ParseInt(const std::string& key, const std::string& value, int& out) {
  std::string_view t = value;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
    return BadValue(key, value, "an integer");
  }
  return absl::OkStatus();
}

absl::Status ParseDouble(const std::string& key, const std::string& value, double& out) {
  std::string_view t = value;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(out)) {
    return BadValue(key, value, "a number");
  }
  return absl::OkStatus();
}

absl::Status ParseDuration(const std::string& key, const std::string& value, int64_t& out) {
  absl::StatusOr<int64_t> ms = ParseDurationMs(value);
  if (!ms.ok()) {
    return BadValue(key, value, fmt::format("a duration ({})", ms.status().message()));
  }
  out = *ms;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RestartStrategyConfig> RestartStrategyConfig::Parse(
    const std::map<std::string, std::string>& keys) {
  RestartStrategyConfig c;
  for (const auto& [key, value] : keys) {
    if (!key.starts_with(kPrefix)) continue;
    const std::string_view k = std::string_view(key).substr(kPrefix.size());
    if (k == "type") {
      std::string t;
      for (char ch : value) {
        if (!std::isspace(static_cast<unsigned char>(ch))) {
          t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
        }
      }
      if (t == "none" || t == "off" || t == "disable") {
        c.type = RestartStrategyType::kNone;
      } else if (t == "fixed-delay" || t == "fixeddelay") {
        c.type = RestartStrategyType::kFixedDelay;
      } else if (t == "failure-rate" || t == "failurerate") {
        c.type = RestartStrategyType::kFailureRate;
      } else if (t == "exponential-delay" || t == "exponentialdelay") {
        c.type = RestartStrategyType::kExponentialDelay;
      } else {
        return BadValue(key, value,
                        "one of none, off, disable, fixed-delay, failure-rate, exponential-delay");
      }
    } else if (k == "fixed-delay.attempts") {
      RETURN_IF_ERROR(ParseInt(key, value, c.fixed_delay_attempts));
    } else if (k == "fixed-delay.delay") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.fixed_delay_ms));
    } else if (k == "failure-rate.max-failures-per-interval") {
      RETURN_IF_ERROR(ParseInt(key, value, c.failure_rate_max_failures));
    } else if (k == "failure-rate.failure-rate-interval") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.failure_rate_interval_ms));
    } else if (k == "failure-rate.delay") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.failure_rate_delay_ms));
    } else if (k == "exponential-delay.initial-backoff") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.exp_initial_backoff_ms));
    } else if (k == "exponential-delay.max-backoff") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.exp_max_backoff_ms));
    } else if (k == "exponential-delay.backoff-multiplier") {
      RETURN_IF_ERROR(ParseDouble(key, value, c.exp_multiplier));
    } else if (k == "exponential-delay.reset-backoff-threshold") {
      RETURN_IF_ERROR(ParseDuration(key, value, c.exp_reset_threshold_ms));
    } else if (k == "exponential-delay.jitter-factor") {
      RETURN_IF_ERROR(ParseDouble(key, value, c.exp_jitter_factor));
    } else if (k == "exponential-delay.attempts-before-reset-backoff") {
      RETURN_IF_ERROR(ParseInt(key, value, c.exp_attempts_before_reset));
    } else {
      return InvalidArgumentF(
          "unknown configuration key '{}' (value '{}'): expected restart-strategy.type or a "
          "restart-strategy.fixed-delay.*, .failure-rate.* or .exponential-delay.* option",
          key, value);
    }
  }
  RETURN_IF_ERROR(c.Validate());
  return c;
}

absl::Status RestartStrategyConfig::Validate() const {
  // Only the selected strategy's options matter (Flink ignores the others too).
  switch (type) {
    case RestartStrategyType::kNone:
      break;
    case RestartStrategyType::kFixedDelay:
      if (fixed_delay_attempts < 0) {
        return InvalidArgumentF("restart-strategy.fixed-delay.attempts must be >= 0, got {}",
                                fixed_delay_attempts);
      }
      break;
    case RestartStrategyType::kFailureRate:
      if (failure_rate_max_failures < 1) {
        return InvalidArgumentF(
            "restart-strategy.failure-rate.max-failures-per-interval must be >= 1, got {}",
            failure_rate_max_failures);
      }
      if (failure_rate_interval_ms < 1) {
        return InvalidArgumentF(
            "restart-strategy.failure-rate.failure-rate-interval must be at least 1 ms, got {} ms",
            failure_rate_interval_ms);
      }
      break;
    case RestartStrategyType::kExponentialDelay:
      if (exp_initial_backoff_ms < 1) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.initial-backoff must be at least 1 ms, got {} ms",
            exp_initial_backoff_ms);
      }
      if (exp_max_backoff_ms < exp_initial_backoff_ms) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.max-backoff ({} ms) must be >= initial-backoff "
            "({} ms)",
            exp_max_backoff_ms, exp_initial_backoff_ms);
      }
      if (!(exp_multiplier >= 1.0)) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.backoff-multiplier must be >= 1.0, got {}",
            exp_multiplier);
      }
      if (exp_reset_threshold_ms < 1) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.reset-backoff-threshold must be at least 1 ms, "
            "got {} ms",
            exp_reset_threshold_ms);
      }
      if (!(exp_jitter_factor >= 0.0 && exp_jitter_factor <= 1.0)) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.jitter-factor must be in [0, 1], got {}",
            exp_jitter_factor);
      }
      if (exp_attempts_before_reset < 1) {
        return InvalidArgumentF(
            "restart-strategy.exponential-delay.attempts-before-reset-backoff must be >= 1, got {}",
            exp_attempts_before_reset);
      }
      break;
  }
  return absl::OkStatus();
}

std::unique_ptr<RestartStrategy> MakeNoRestartStrategy() { return std::make_unique<NoRestart>(); }

std::unique_ptr<RestartStrategy> MakeFixedDelayRestartStrategy(int attempts, int64_t delay_ms) {
  return std::make_unique<FixedDelay>(attempts, delay_ms);
}

std::unique_ptr<RestartStrategy> MakeFailureRateRestartStrategy(int max_failures_per_interval,
                                                                int64_t interval_ms,
                                                                int64_t delay_ms) {
  return std::make_unique<FailureRate>(max_failures_per_interval, interval_ms, delay_ms);
}

std::unique_ptr<RestartStrategy> MakeExponentialDelayRestartStrategy(
    int64_t initial_backoff_ms, int64_t max_backoff_ms, double multiplier,
    int64_t reset_threshold_ms, double jitter_factor, int attempts_before_reset,
    RandomSource random) {
  if (!random) random = DefaultRandom();
  return std::make_unique<ExponentialDelay>(initial_backoff_ms, max_backoff_ms, multiplier,
                                            reset_threshold_ms, jitter_factor,
                                            attempts_before_reset, std::move(random));
}

absl::StatusOr<std::unique_ptr<RestartStrategy>> MakeRestartStrategy(const RestartStrategyConfig& c,
                                                                     RandomSource random) {
  RETURN_IF_ERROR(c.Validate());
  switch (c.type) {
    case RestartStrategyType::kNone:
      return MakeNoRestartStrategy();
    case RestartStrategyType::kFixedDelay:
      return MakeFixedDelayRestartStrategy(c.fixed_delay_attempts, c.fixed_delay_ms);
    case RestartStrategyType::kFailureRate:
      return MakeFailureRateRestartStrategy(c.failure_rate_max_failures, c.failure_rate_interval_ms,
                                            c.failure_rate_delay_ms);
    case RestartStrategyType::kExponentialDelay:
      return MakeExponentialDelayRestartStrategy(c.exp_initial_backoff_ms, c.exp_max_backoff_ms,
                                                 c.exp_multiplier, c.exp_reset_threshold_ms,
                                                 c.exp_jitter_factor, c.exp_attempts_before_reset,
                                                 std::move(random));
  }
  return InternalF("unhandled restart strategy type {}", static_cast<int>(c.type));
}

absl::StatusOr<std::unique_ptr<RestartStrategy>> MakeRestartStrategy(
    const std::map<std::string, std::string>& keys, RandomSource random) {
  ASSIGN_OR_RETURN(RestartStrategyConfig c, RestartStrategyConfig::Parse(keys));
  return MakeRestartStrategy(c, std::move(random));
}

}  // namespace sluice::checkpoint
