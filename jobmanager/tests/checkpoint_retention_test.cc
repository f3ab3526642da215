// Which terminal job states discard a job's retained checkpoints (DiscardsCheckpointsOnEnd),
// per Flink's externalized-checkpoint-retention.
#include "gtest/gtest.h"
#include "jobmanager/checkpoint_dispatcher.h"

namespace sluice::jobmanager {
namespace {

using checkpoint::CheckpointRetention;
using graph::JobStatus;

TEST(CheckpointRetention, FinishedJobsAlwaysDiscardTheirCheckpoints) {
  for (auto retention : {CheckpointRetention::kRetainOnCancellation,
                         CheckpointRetention::kDeleteOnCancellation,
                         CheckpointRetention::kNoExternalized}) {
    EXPECT_TRUE(DiscardsCheckpointsOnEnd(retention, JobStatus::kFinished));
  }
}

TEST(CheckpointRetention, CancelledJobsKeepThemOnlyWithRetainOnCancellation) {
  EXPECT_FALSE(DiscardsCheckpointsOnEnd(CheckpointRetention::kRetainOnCancellation,
                                        JobStatus::kCanceled));
  EXPECT_TRUE(DiscardsCheckpointsOnEnd(CheckpointRetention::kDeleteOnCancellation,
                                       JobStatus::kCanceled));
  EXPECT_TRUE(DiscardsCheckpointsOnEnd(CheckpointRetention::kNoExternalized, JobStatus::kCanceled));
}

TEST(CheckpointRetention, FailedJobsKeepThemUnlessNotExternalized) {
  EXPECT_FALSE(DiscardsCheckpointsOnEnd(CheckpointRetention::kRetainOnCancellation,
                                        JobStatus::kFailed));
  EXPECT_FALSE(DiscardsCheckpointsOnEnd(CheckpointRetention::kDeleteOnCancellation,
                                        JobStatus::kFailed));
  EXPECT_TRUE(DiscardsCheckpointsOnEnd(CheckpointRetention::kNoExternalized, JobStatus::kFailed));
}

TEST(CheckpointRetention, SuspendedJobsKeepThem) {
  EXPECT_FALSE(DiscardsCheckpointsOnEnd(CheckpointRetention::kNoExternalized,
                                        JobStatus::kSuspended));
}

}  // namespace
}  // namespace sluice::jobmanager
