#include "runtime/checkpoint/restart_strategy.h"

#include <algorithm>
#include <climits>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::checkpoint {
namespace {

using ::testing::HasSubstr;
using Keys = std::map<std::string, std::string>;

// A fixed sequence of "random" numbers, repeating the last one.
RandomSource Sequence(std::vector<double> values) {
  auto i = std::make_shared<size_t>(0);
  return [values, i] {
    double v = values[std::min(*i, values.size() - 1)];
    ++*i;
    return v;
  };
}
const RandomSource kMid = [] { return 0.5; };  // no jitter offset

std::unique_ptr<RestartStrategy> Make(const Keys& keys, RandomSource random = kMid) {
  auto s = MakeRestartStrategy(keys, random);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string ErrorOf(const Keys& keys) {
  auto s = MakeRestartStrategy(keys, kMid);
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : std::string(s.status().message());
}

TEST(RestartStrategyTest, NoneNeverRestarts) {
  for (const char* alias : {"none", "off", "disable", "NONE"}) {
    auto s = Make({{"restart-strategy.type", alias}});
    RestartDecision d = s->OnFailure(0, true);
    EXPECT_FALSE(d.restart) << alias;
    EXPECT_THAT(d.reason, HasSubstr("NoRestartBackoffTimeStrategy"));
  }
}

TEST(RestartStrategyTest, FixedDelayDefaultsAreFlinks) {
  auto s = Make({{"restart-strategy.type", "fixed-delay"}});
  EXPECT_EQ(s->Describe(),
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=1, backoffTimeMS=1000)");
  RestartDecision first = s->OnFailure(0, true);
  EXPECT_TRUE(first.restart);
  EXPECT_EQ(first.delay_ms, 1000);
  RestartDecision second = s->OnFailure(100'000'000, true);
  EXPECT_FALSE(second.restart) << "one attempt only, however long ago";
  EXPECT_THAT(second.reason, HasSubstr("Recovery is suppressed"));
}

TEST(RestartStrategyTest, FixedDelayCountsAttempts) {
  auto s = Make({{"restart-strategy.type", "fixeddelay"},
                 {"restart-strategy.fixed-delay.attempts", "3"},
                 {"restart-strategy.fixed-delay.delay", "250 ms"}});
  for (int i = 0; i < 3; ++i) {
    RestartDecision d = s->OnFailure(i * 10, true);
    EXPECT_TRUE(d.restart) << i;
    EXPECT_EQ(d.delay_ms, 250);
  }
  EXPECT_FALSE(s->OnFailure(40, true).restart);
  EXPECT_FALSE(s->OnFailure(50, true).restart);
}

TEST(RestartStrategyTest, FixedDelayZeroAttemptsNeverRestarts) {
  auto s = Make(
      {{"restart-strategy.type", "fixed-delay"}, {"restart-strategy.fixed-delay.attempts", "0"}});
  EXPECT_FALSE(s->OnFailure(0, true).restart);
}

TEST(RestartStrategyTest, NonRetryableFailuresNeverRestart) {
  std::vector<std::unique_ptr<RestartStrategy>> all;
  all.push_back(Make({{"restart-strategy.type", "fixed-delay"},
                      {"restart-strategy.fixed-delay.attempts", "100"}}));
  all.push_back(Make({{"restart-strategy.type", "failure-rate"},
                      {"restart-strategy.failure-rate.max-failures-per-interval", "100"}}));
  all.push_back(Make({{"restart-strategy.type", "exponential-delay"}}));
  all.push_back(Make({{"restart-strategy.type", "none"}}));
  for (auto& s : all) {
    RestartDecision d = s->OnFailure(0, false);
    EXPECT_FALSE(d.restart) << s->Describe();
    EXPECT_THAT(d.reason, HasSubstr("not retryable"));
  }
  // A non-retryable failure does not use up an attempt.
  EXPECT_TRUE(all[0]->OnFailure(1, true).restart);
}

TEST(RestartStrategyTest, FailureRateDefaultsOnePerMinute) {
  auto s = Make({{"restart-strategy.type", "failure-rate"}});
  RestartDecision d = s->OnFailure(0, true);
  EXPECT_TRUE(d.restart);
  EXPECT_EQ(d.delay_ms, 1000);
  EXPECT_FALSE(s->OnFailure(59'999, true).restart) << "second failure within the minute";
  // 119'999 - 59'999 = 60'000 >= interval: both earlier failures have left the window.
  EXPECT_TRUE(s->OnFailure(119'999, true).restart);
}

TEST(RestartStrategyTest, FailureRateSlidingWindow) {
  auto s = Make({{"restart-strategy.type", "failurerate"},
                 {"restart-strategy.failure-rate.max-failures-per-interval", "2"},
                 {"restart-strategy.failure-rate.failure-rate-interval", "10 s"},
                 {"restart-strategy.failure-rate.delay", "0"}});
  EXPECT_TRUE(s->OnFailure(0, true).restart);
  EXPECT_TRUE(s->OnFailure(4000, true).restart);
  EXPECT_FALSE(s->OnFailure(9000, true).restart) << "3 failures within 10 s";
  EXPECT_EQ(s->OnFailure(30'000, true).delay_ms, 0);
  EXPECT_TRUE(s->OnFailure(30'000, true).restart) << "old failures left the window";
}

TEST(RestartStrategyTest, ExponentialDelayIsTheDefaultWithFastFirstRestart) {
  auto s = Make({});
  EXPECT_THAT(s->Describe(), HasSubstr("ExponentialDelayRestartBackoffTimeStrategy"));
  EXPECT_THAT(s->Describe(), HasSubstr("initialBackoffMS=100"));
  EXPECT_THAT(s->Describe(), HasSubstr("maxBackoffMS=10000"));
  EXPECT_THAT(s->Describe(), HasSubstr("resetBackoffThresholdMS=3600000"));
  EXPECT_THAT(s->Describe(), HasSubstr("jitterFactor=0.1"));
  EXPECT_THAT(s->Describe(), HasSubstr("attemptsBeforeResetBackoff=" + std::to_string(INT_MAX)));
  // Without jitter offset (random 0.5): 100, 200, 400, ... capped at 10 s.
  std::vector<int64_t> delays;
  int64_t t = 0;
  for (int i = 0; i < 9; ++i) {
    RestartDecision d = s->OnFailure(t, true);
    ASSERT_TRUE(d.restart);
    delays.push_back(d.delay_ms);
    t += d.delay_ms + 1000;  // fails again 1 s after each restart
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 6400, 10'000, 10'000}));
}

TEST(RestartStrategyTest, ExponentialDelayJitterIsDeterministicAndBounded) {
  auto s = Make({{"restart-strategy.exponential-delay.initial-backoff", "1 s"},
                 {"restart-strategy.exponential-delay.jitter-factor", "0.2"}},
                Sequence({0.0, 0.999999, 0.75}));
  EXPECT_EQ(s->OnFailure(0, true).delay_ms, 800) << "backoff 1000 - 20%";
  EXPECT_EQ(s->OnFailure(2000, true).delay_ms, 2400) << "backoff 2000 + 20%";
  EXPECT_EQ(s->OnFailure(5000, true).delay_ms, 4400) << "backoff 4000 + 10%";
}

TEST(RestartStrategyTest, ExponentialDelayJitterNeverExceedsMaxBackoff) {
  auto s = Make({{"restart-strategy.exponential-delay.initial-backoff", "1 s"},
                 {"restart-strategy.exponential-delay.max-backoff", "4 s"},
                 {"restart-strategy.exponential-delay.jitter-factor", "1.0"}},
                Sequence({0.999999}));  // always the largest positive jitter
  int64_t worst = 0;
  for (int i = 0; i < 10; ++i) worst = std::max(worst, s->OnFailure(i * 100, true).delay_ms);
  EXPECT_EQ(worst, 4000) << "backoff 4 s + 100% jitter is capped at max-backoff";
}

TEST(RestartStrategyTest, ExponentialDelayResetsAfterQuietPeriod) {
  auto s = Make({{"restart-strategy.exponential-delay.reset-backoff-threshold", "1 min"},
                 {"restart-strategy.exponential-delay.jitter-factor", "0"}});
  EXPECT_EQ(s->OnFailure(0, true).delay_ms, 100);
  EXPECT_EQ(s->OnFailure(1000, true).delay_ms, 200);
  EXPECT_EQ(s->OnFailure(2000, true).delay_ms, 400);
  // Quiet for threshold + current backoff (60'000 + 400) since the last failure: reset.
  EXPECT_EQ(s->OnFailure(2000 + 60'399, true).delay_ms, 800) << "not yet quiet long enough";
  EXPECT_EQ(s->OnFailure(62'399 + 60'800, true).delay_ms, 100);
}

TEST(RestartStrategyTest, ExponentialDelayAttemptsBeforeReset) {
  auto s = Make({{"restart-strategy.type", "exponentialdelay"},
                 {"restart-strategy.exponential-delay.attempts-before-reset-backoff", "2"},
                 {"restart-strategy.exponential-delay.reset-backoff-threshold", "10 s"},
                 {"restart-strategy.exponential-delay.jitter-factor", "0"}});
  EXPECT_TRUE(s->OnFailure(0, true).restart);
  EXPECT_TRUE(s->OnFailure(1000, true).restart);
  RestartDecision third = s->OnFailure(2000, true);
  EXPECT_FALSE(third.restart);
  EXPECT_THAT(third.reason, HasSubstr("Recovery is suppressed"));
  // After a quiet period the count starts again.
  RestartDecision later = s->OnFailure(100'000, true);
  EXPECT_TRUE(later.restart);
  EXPECT_EQ(later.delay_ms, 100);
}

TEST(RestartStrategyTest, ExponentialDelayCustomMultiplierAndMax) {
  auto s = Make({{"restart-strategy.exponential-delay.initial-backoff", "10"},
                 {"restart-strategy.exponential-delay.max-backoff", "100 ms"},
                 {"restart-strategy.exponential-delay.backoff-multiplier", "3"},
                 {"restart-strategy.exponential-delay.jitter-factor", "0.0"}});
  std::vector<int64_t> delays;
  for (int i = 0; i < 4; ++i) delays.push_back(s->OnFailure(i * 500, true).delay_ms);
  EXPECT_EQ(delays, (std::vector<int64_t>{10, 30, 90, 100}));
}

TEST(RestartStrategyConfigTest, DefaultsAndIgnoredKeys) {
  auto c = RestartStrategyConfig::Parse({{"checkpoint.interval", "1 s"}, {"parallelism", "4"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->type, RestartStrategyType::kExponentialDelay);
  EXPECT_EQ(c->fixed_delay_attempts, 1);
  EXPECT_EQ(c->fixed_delay_ms, 1000);
  EXPECT_EQ(c->failure_rate_max_failures, 1);
  EXPECT_EQ(c->failure_rate_interval_ms, 60'000);
  EXPECT_EQ(c->failure_rate_delay_ms, 1000);
  EXPECT_EQ(c->exp_initial_backoff_ms, 100);
  EXPECT_EQ(c->exp_max_backoff_ms, 10'000);
  EXPECT_EQ(c->exp_multiplier, 2.0);
  EXPECT_EQ(c->exp_reset_threshold_ms, 3'600'000);
  EXPECT_EQ(c->exp_jitter_factor, 0.1);
  EXPECT_EQ(c->exp_attempts_before_reset, INT_MAX);
}

TEST(RestartStrategyConfigTest, ParseErrorsNameKeyAndValue) {
  std::string e = ErrorOf({{"restart-strategy.type", "sometimes"}});
  EXPECT_THAT(e, HasSubstr("restart-strategy.type"));
  EXPECT_THAT(e, HasSubstr("sometimes"));

  e = ErrorOf({{"restart-strategy.fixed-delay.attempts", "three"}});
  EXPECT_THAT(e, HasSubstr("restart-strategy.fixed-delay.attempts"));
  EXPECT_THAT(e, HasSubstr("three"));

  e = ErrorOf({{"restart-strategy.fixed-delay.attempts", "3x"}});
  EXPECT_THAT(e, HasSubstr("3x"));

  e = ErrorOf({{"restart-strategy.fixed-delay.delay", "5 fortnights"}});
  EXPECT_THAT(e, HasSubstr("restart-strategy.fixed-delay.delay"));
  EXPECT_THAT(e, HasSubstr("5 fortnights"));

  e = ErrorOf({{"restart-strategy.exponential-delay.backoff-multiplier", "fast"}});
  EXPECT_THAT(e, HasSubstr("backoff-multiplier"));
  EXPECT_THAT(e, HasSubstr("fast"));

  e = ErrorOf({{"restart-strategy.fixed-delay.attemps", "3"}});
  EXPECT_THAT(e, HasSubstr("unknown"));
  EXPECT_THAT(e, HasSubstr("restart-strategy.fixed-delay.attemps"));
}

TEST(RestartStrategyConfigTest, OutOfRangeValuesNameTheKey) {
  EXPECT_THAT(ErrorOf({{"restart-strategy.type", "fixed-delay"},
                       {"restart-strategy.fixed-delay.attempts", "-1"}}),
              HasSubstr("restart-strategy.fixed-delay.attempts"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.type", "failure-rate"},
                       {"restart-strategy.failure-rate.max-failures-per-interval", "0"}}),
              HasSubstr("max-failures-per-interval"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.type", "failure-rate"},
                       {"restart-strategy.failure-rate.failure-rate-interval", "0"}}),
              HasSubstr("failure-rate-interval"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.initial-backoff", "0"}}),
              HasSubstr("initial-backoff"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.initial-backoff", "20 s"}}),
              HasSubstr("max-backoff"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.backoff-multiplier", "0.5"}}),
              HasSubstr("backoff-multiplier"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.jitter-factor", "1.5"}}),
              HasSubstr("jitter-factor"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.attempts-before-reset-backoff", "0"}}),
              HasSubstr("attempts-before-reset-backoff"));
  EXPECT_THAT(ErrorOf({{"restart-strategy.exponential-delay.reset-backoff-threshold", "0"}}),
              HasSubstr("reset-backoff-threshold"));
}

TEST(RestartStrategyConfigTest, OptionsOfAnotherStrategyAreNotValidated) {
  // As in Flink, only the selected strategy's options are used.
  auto s = MakeRestartStrategy(
      Keys{{"restart-strategy.type", "none"}, {"restart-strategy.fixed-delay.attempts", "-5"}},
      kMid);
  EXPECT_TRUE(s.ok()) << s.status();
}

}  // namespace
}  // namespace sluice::checkpoint
