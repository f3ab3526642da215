// The job spec's `state: {ttl: ...}` (Flink SQL's table.exec.state.ttl): compiled into the
// job setting the Task hands to keyed operators as OperatorContext::state_ttl_ms.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/job/job_compiler.h"

namespace sluice::job {
namespace {

using ::testing::HasSubstr;

constexpr const char* kSpec = R"(name: ttl
source:
  name: flights
  type: file
  path: flights.csv
  schema:
    date: timestamp
    origin: string
  event-time:
    field: date
    max-out-of-orderness: 1 min
pipeline:
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates:
        flights: count()
sink:
  type: file
  path: out
)";

absl::StatusOr<graph::JobGraph> Compile(const std::string& state_section) {
  return CompileJob(JobSubmission{std::string(kSpec) + state_section, "job.yaml", "/base", 0});
}

TEST(StateTtlSpec, TtlBecomesTheTableExecStateTtlSettingInMilliseconds) {
  auto g = Compile("state:\n  ttl: 1 h\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->config.state_ttl_ms, 3600000);
  auto rocks = Compile("state: {backend: rocksdb, ttl: 90 s}\n");
  ASSERT_TRUE(rocks.ok()) << rocks.status();
  EXPECT_EQ(rocks->config.state_ttl_ms, 90000);
  EXPECT_EQ(rocks->config.state_backend.kind, graph::StateBackendKind::kRocksDb);
  auto millis = Compile("state:\n  ttl: 250\n");
  ASSERT_TRUE(millis.ok()) << millis.status();
  EXPECT_EQ(millis->config.state_ttl_ms, 250) << "a bare integer is ms";
}

TEST(StateTtlSpec, NoTtlOrZeroMeansStateNeverExpires) {
  auto none = Compile("");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->config.state_ttl_ms, 0);
  auto backend_only = Compile("state:\n  backend: heap\n");
  ASSERT_TRUE(backend_only.ok()) << backend_only.status();
  EXPECT_EQ(backend_only->config.state_ttl_ms, 0);
  auto zero = Compile("state:\n  ttl: 0\n");
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->config.state_ttl_ms, 0);
}

TEST(StateTtlSpec, BadTtlIsAnErrorAtItsLocation) {
  auto word = Compile("state:\n  ttl: soon\n");
  ASSERT_FALSE(word.ok());
  EXPECT_EQ(word.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(word.status().message(), HasSubstr("job.yaml:22:8: state: "));
  EXPECT_THAT(word.status().message(), HasSubstr("soon"));
  auto negative = Compile("state:\n  ttl: -5 s\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), HasSubstr("job.yaml:22:8: state: "));
  auto list = Compile("state:\n  ttl: [1 h]\n");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), HasSubstr("job.yaml:22:8: state: 'ttl' must be a duration"));
  auto typo = Compile("state:\n  tll: 1 h\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("unknown key 'tll'"));
  EXPECT_THAT(typo.status().message(), HasSubstr("ttl"));
}

// The job spec's checkpointing section, beside state: Flink's externalized-checkpoint-retention
// and Sluice's tolerable-failed-checkpoints default.
TEST(CheckpointingSpec, RetentionTakesFlinksNamesAndToleranceDefaultsToUnlimited) {
  auto g = Compile("checkpointing: {interval: 1 s}\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->config.checkpointing->retention, checkpoint::CheckpointRetention::kRetainOnCancellation);
  EXPECT_EQ(g->config.checkpointing->tolerable_failed_checkpoints,
            checkpoint::CheckpointConfig::kUnlimitedFailures);
  auto del = Compile(
      "checkpointing: {interval: 1 s, externalized-checkpoint-retention: DELETE_ON_CANCELLATION,"
      " tolerable-failed-checkpoints: 3}\n");
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->config.checkpointing->retention,
            checkpoint::CheckpointRetention::kDeleteOnCancellation);
  EXPECT_EQ(del->config.checkpointing->tolerable_failed_checkpoints, 3);
  auto none = Compile(
      "checkpointing: {interval: 1 s, externalized-checkpoint-retention: no-externalized-checkpoints}\n");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->config.checkpointing->retention, checkpoint::CheckpointRetention::kNoExternalized);
}

TEST(CheckpointingSpec, UnknownRetentionNamesTheValueAndTheChoices) {
  auto g = Compile("checkpointing: {interval: 1 s, externalized-checkpoint-retention: KEEP}\n");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("'KEEP'"));
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("RETAIN_ON_CANCELLATION"));
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("job.yaml:"));
}

}  // namespace
}  // namespace sluice::job
