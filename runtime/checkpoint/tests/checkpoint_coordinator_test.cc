#include "runtime/checkpoint/checkpoint_coordinator.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::checkpoint {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Test builder (Flink's CheckpointCoordinatorTestingUtils): a job of a source vertex 0 with two
// subtasks feeding vertex 1 with one subtask.
const std::vector<TaskKey> kAll = {{0, 0}, {0, 1}, {1, 0}};
const std::vector<TaskKey> kSources = {{0, 0}, {0, 1}};

CheckpointConfig Config(int64_t interval = 1000) {
  CheckpointConfig c;
  c.interval_ms = interval;
  c.timeout_ms = 5000;
  return c;
}

Ack AckOf(TaskKey t, int64_t size = 100, int64_t align = 1, int64_t sync = 2, int64_t async = 3) {
  Ack a;
  a.task = t;
  a.state_size_bytes = size;
  a.alignment_ms = align;
  a.sync_ms = sync;
  a.async_ms = async;
  a.handle = "handle-" + std::to_string(t.vertex) + "-" + std::to_string(t.subtask);
  return a;
}

// Acks checkpoint `id` from every task at `now`; returns the actions of the last ack.
std::vector<Action> AckAll(CheckpointCoordinator& c, int64_t id, int64_t now) {
  std::vector<Action> last;
  for (const TaskKey& t : kAll) last = c.OnAck(id, AckOf(t), now);
  return last;
}

template <typename T>
std::vector<T> Only(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const Action& a : actions) {
    if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
  }
  return out;
}

// Triggers via OnTick at `now` and returns the new checkpoint's id.
int64_t TickTrigger(CheckpointCoordinator& c, int64_t now) {
  auto actions = c.OnTick(now);
  auto triggers = Only<TriggerCheckpoint>(actions);
  EXPECT_THAT(triggers, SizeIs(1)) << "expected a trigger at " << now;
  return triggers.empty() ? -1 : triggers[0].id;
}

TEST(CheckpointConfigTest, ValidateNamesTheBadField) {
  EXPECT_TRUE(CheckpointConfig{}.Validate().ok());
  auto bad = [](auto mutate) {
    CheckpointConfig c;
    mutate(c);
    return std::string(c.Validate().message());
  };
  EXPECT_THAT(bad([](auto& c) { c.interval_ms = -1; }), HasSubstr("interval_ms"));
  EXPECT_THAT(bad([](auto& c) { c.interval_ms = 5; }), HasSubstr("interval_ms"));
  EXPECT_THAT(bad([](auto& c) { c.timeout_ms = 0; }), HasSubstr("timeout_ms"));
  EXPECT_THAT(bad([](auto& c) { c.min_pause_ms = -1; }), HasSubstr("min_pause_ms"));
  EXPECT_THAT(bad([](auto& c) { c.max_concurrent = 0; }), HasSubstr("max_concurrent"));
  EXPECT_THAT(bad([](auto& c) { c.tolerable_failed_checkpoints = -1; }),
              HasSubstr("tolerable_failed_checkpoints"));
  EXPECT_THAT(bad([](auto& c) { c.retained = 0; }), HasSubstr("retained"));
  CheckpointConfig ten;
  ten.interval_ms = 10;
  EXPECT_TRUE(ten.Validate().ok());
}

TEST(CheckpointCoordinatorTest, CreateRejectsBadTasks) {
  EXPECT_FALSE(CheckpointCoordinator::Create(Config(), {}, {}).ok());
  EXPECT_FALSE(CheckpointCoordinator::Create(Config(), kAll, {{2, 0}}).ok());
  EXPECT_FALSE(CheckpointCoordinator::Create(Config(), {{0, 0}, {0, 0}}, {{0, 0}}).ok());
  EXPECT_FALSE(CheckpointCoordinator::Create(Config(), kAll, kSources, 0).ok());
  CheckpointConfig bad = Config();
  bad.retained = 0;
  EXPECT_FALSE(CheckpointCoordinator::Create(bad, kAll, kSources).ok());
  EXPECT_TRUE(CheckpointCoordinator::Create(Config(), kAll, kSources).ok());
}

TEST(CheckpointCoordinatorTest, TriggersEveryIntervalOnlyWhileRunning) {
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  EXPECT_THAT(c.OnTick(5000), IsEmpty()) << "not started";
  EXPECT_THAT(c.Start(10'000), IsEmpty());
  EXPECT_THAT(c.OnTick(10'500), IsEmpty()) << "interval not elapsed since Start";
  auto a = c.OnTick(11'000);
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_EQ(std::get<TriggerCheckpoint>(a[0]), (TriggerCheckpoint{1, 11'000}));
  AckAll(c, 1, 11'100);
  EXPECT_THAT(c.OnCheckpointPersisted(1, 11'200), SizeIs(1));
  EXPECT_THAT(c.OnTick(11'999), IsEmpty());
  EXPECT_EQ(TickTrigger(c, 12'000), 2);
}

TEST(CheckpointCoordinatorTest, DisabledIntervalNeverTriggersPeriodically) {
  CheckpointCoordinator c(Config(0), kAll, kSources);
  c.Start(0);
  EXPECT_THAT(c.OnTick(1'000'000'000), IsEmpty());
  auto t = c.TriggerNow(5);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->id, 1);
}

TEST(CheckpointCoordinatorTest, MaxConcurrentOneWaitsForThePendingCheckpoint) {
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  EXPECT_THAT(c.OnTick(2000), IsEmpty()) << "checkpoint 1 still pending";
  EXPECT_THAT(c.OnTick(3000), IsEmpty());
  AckAll(c, 1, 3100);
  EXPECT_THAT(c.OnTick(3200), IsEmpty()) << "checkpoint 1 still persisting";
  c.OnCheckpointPersisted(1, 3300);
  EXPECT_EQ(TickTrigger(c, 3300), 2);
  EXPECT_EQ(c.num_pending(), 1);
}

TEST(CheckpointCoordinatorTest, MaxConcurrentTwoAllowsTwoPending) {
  CheckpointConfig cfg = Config(1000);
  cfg.max_concurrent = 2;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  EXPECT_EQ(TickTrigger(c, 2000), 2);
  EXPECT_THAT(c.OnTick(3000), IsEmpty());
  EXPECT_EQ(c.num_pending(), 2);
}

TEST(CheckpointCoordinatorTest, MinPauseCountsFromLastCompletion) {
  CheckpointConfig cfg = Config(1000);
  cfg.min_pause_ms = 800;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  AckAll(c, 1, 1700);
  c.OnCheckpointPersisted(1, 1900);
  EXPECT_THAT(c.OnTick(2000), IsEmpty()) << "interval elapsed but only 100 ms since completion";
  EXPECT_THAT(c.OnTick(2699), IsEmpty());
  EXPECT_EQ(TickTrigger(c, 2700), 2);
}

TEST(CheckpointCoordinatorTest, AckCompletePersistNotify) {
  CheckpointCoordinator c(Config(), kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  // Acks arrive out of task order; the completion lists them ordered by task.
  EXPECT_THAT(c.OnAck(1, AckOf({1, 0}, 10, 7, 1, 30), 1100), IsEmpty());
  EXPECT_THAT(c.OnAck(1, AckOf({0, 1}, 20, 2, 9, 10), 1150), IsEmpty());
  auto a = c.OnAck(1, AckOf({0, 0}, 30, 3, 4, 5), 1250);
  ASSERT_THAT(a, SizeIs(1));
  const auto& done = std::get<CompleteCheckpoint>(a[0]);
  EXPECT_EQ(done.id, 1);
  EXPECT_EQ(done.timestamp_ms, 1000);
  ASSERT_THAT(done.acks, SizeIs(3));
  EXPECT_EQ(done.acks[0].task, (TaskKey{0, 0}));
  EXPECT_EQ(done.acks[1].task, (TaskKey{0, 1}));
  EXPECT_EQ(done.acks[2].task, (TaskKey{1, 0}));
  EXPECT_EQ(done.acks[2].handle, "handle-1-0");
  EXPECT_EQ(c.num_completed(), 0) << "not completed before _metadata is persisted";

  auto p = c.OnCheckpointPersisted(1, 1300, "/ckpt/job/chk-1");
  EXPECT_THAT(p, ElementsAre(Action(NotifyComplete{1})));
  EXPECT_EQ(c.last_completed_id(), 1);
  EXPECT_EQ(c.num_completed(), 1);
  EXPECT_EQ(c.num_pending(), 0);
  EXPECT_EQ(c.last_duration_ms(), 250);
  EXPECT_EQ(c.last_size_bytes(), 60);
  const CheckpointStats& s = c.history().front();
  EXPECT_EQ(s.status, CheckpointStatus::kCompleted);
  EXPECT_EQ(s.alignment_duration, 7);
  EXPECT_EQ(s.sync_duration, 9);
  EXPECT_EQ(s.async_duration, 30);
  EXPECT_EQ(s.num_acknowledged_subtasks, 3);
  EXPECT_EQ(s.latest_ack_timestamp, 1250);
}

TEST(CheckpointCoordinatorTest, LateDuplicateAndUnknownAcksAreIgnored) {
  CheckpointCoordinator c(Config(), kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  EXPECT_THAT(c.OnAck(1, AckOf({0, 0}), 1100), IsEmpty());
  EXPECT_THAT(c.OnAck(1, AckOf({0, 0}), 1101), IsEmpty()) << "duplicate";
  EXPECT_THAT(c.OnAck(7, AckOf({0, 1}), 1102), IsEmpty()) << "unknown id";
  EXPECT_THAT(c.OnAck(1, AckOf({5, 5}), 1103), IsEmpty()) << "unknown task";
  EXPECT_EQ(c.num_late_messages(), 3);
  EXPECT_EQ(c.history().front().num_acknowledged_subtasks, 1);
  EXPECT_EQ(c.history().front().state_size, 100) << "duplicate must not add its size";
  c.OnAck(1, AckOf({0, 1}), 1200);
  EXPECT_THAT(Only<CompleteCheckpoint>(c.OnAck(1, AckOf({1, 0}), 1300)), SizeIs(1));
  EXPECT_THAT(c.OnAck(1, AckOf({1, 0}), 1301), IsEmpty()) << "ack while persisting";
  c.OnCheckpointPersisted(1, 1400);
  EXPECT_THAT(c.OnAck(1, AckOf({1, 0}), 1500), IsEmpty()) << "ack after completion";
  EXPECT_THAT(c.OnCheckpointPersisted(1, 1500), IsEmpty()) << "second persisted";
  EXPECT_THAT(c.OnDecline(1, {0, 0}, "late", 1500), IsEmpty()) << "decline after completion";
  EXPECT_EQ(c.num_late_messages(), 7);
  EXPECT_EQ(c.num_completed(), 1);
  EXPECT_EQ(c.num_failed(), 0);
}

TEST(CheckpointCoordinatorTest, DeclineAbortsAndFailsJobBeyondTolerable) {
  CheckpointConfig cfg = Config(1000);
  cfg.tolerable_failed_checkpoints = 1;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  auto a = c.OnDecline(1, {1, 0}, "disk full", 1100);
  ASSERT_THAT(a, SizeIs(2));
  const auto& aborted = std::get<NotifyAborted>(a[0]);
  EXPECT_EQ(aborted.id, 1);
  EXPECT_THAT(aborted.reason, HasSubstr("disk full"));
  EXPECT_EQ(std::get<DiscardCheckpoint>(a[1]), (DiscardCheckpoint{1}));
  EXPECT_EQ(c.num_failed(), 1);
  EXPECT_EQ(c.consecutive_failures(), 1);
  EXPECT_EQ(c.num_pending(), 0);

  EXPECT_EQ(TickTrigger(c, 2000), 2);
  a = c.OnDecline(2, {0, 0}, "disk still full", 2100);
  ASSERT_THAT(a, SizeIs(3));
  const auto& fail = std::get<FailJob>(a[2]);
  EXPECT_THAT(fail.reason, HasSubstr("tolerable"));
  EXPECT_THAT(fail.reason, HasSubstr("disk still full"));
  EXPECT_EQ(c.num_failed(), 2);
}

TEST(CheckpointCoordinatorTest, SuccessResetsConsecutiveFailures) {
  CheckpointConfig cfg = Config(1000);
  cfg.tolerable_failed_checkpoints = 1;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  c.OnDecline(1, {0, 0}, "x", 1100);
  TickTrigger(c, 2000);
  AckAll(c, 2, 2100);
  c.OnCheckpointPersisted(2, 2200);
  EXPECT_EQ(c.consecutive_failures(), 0);
  TickTrigger(c, 3000);
  EXPECT_THAT(Only<FailJob>(c.OnDecline(3, {0, 0}, "y", 3100)), IsEmpty());
  TickTrigger(c, 4000);
  EXPECT_THAT(Only<FailJob>(c.OnDecline(4, {0, 0}, "z", 4100)), SizeIs(1));
}

TEST(CheckpointCoordinatorTest, ZeroTolerableFailsJobOnFirstFailure) {
  CheckpointConfig cfg = Config(1000);
  cfg.tolerable_failed_checkpoints = 0;  // Flink's default
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  EXPECT_THAT(Only<FailJob>(c.OnDecline(1, {0, 0}, "x", 1100)), SizeIs(1));
}

TEST(CheckpointCoordinatorTest, ByDefaultFailedCheckpointsNeverFailTheJob) {
  // A storage outage: every checkpoint's metadata write fails, for a long time.
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  c.Start(0);
  for (int64_t id = 1; id <= 50; ++id) {
    TickTrigger(c, id * 1000);
    AckAll(c, id, id * 1000 + 100);
    EXPECT_THAT(Only<FailJob>(c.OnCheckpointPersistFailed(id, "disk full", id * 1000 + 200)),
                IsEmpty());
  }
  EXPECT_EQ(c.num_failed(), 50);
  EXPECT_EQ(c.consecutive_failures(), 50);
  // Storage is back: the next checkpoint completes and the count resets.
  TickTrigger(c, 51'000);
  AckAll(c, 51, 51'100);
  c.OnCheckpointPersisted(51, 51'200);
  EXPECT_EQ(c.consecutive_failures(), 0);
  EXPECT_EQ(c.last_completed_id(), 51);
}

TEST(CheckpointCoordinatorTest, TimeoutAbortsCountsAndTriggersNext) {
  CheckpointConfig cfg = Config(1000);
  cfg.timeout_ms = 2500;
  cfg.tolerable_failed_checkpoints = 5;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  c.OnAck(1, AckOf({0, 0}), 1100);
  EXPECT_THAT(c.OnTick(3499), IsEmpty());
  auto a = c.OnTick(3500);
  ASSERT_THAT(a, SizeIs(3));
  EXPECT_EQ(std::get<NotifyAborted>(a[0]).id, 1);
  EXPECT_THAT(std::get<NotifyAborted>(a[0]).reason, HasSubstr("expired"));
  EXPECT_EQ(std::get<DiscardCheckpoint>(a[1]), (DiscardCheckpoint{1}));
  EXPECT_EQ(std::get<TriggerCheckpoint>(a[2]), (TriggerCheckpoint{2, 3500}))
      << "the freed slot is used in the same tick";
  EXPECT_EQ(c.num_failed(), 1);
  EXPECT_EQ(c.consecutive_failures(), 1);
  EXPECT_THAT(c.OnAck(1, AckOf({0, 1}), 3600), IsEmpty());
  EXPECT_EQ(c.num_late_messages(), 1);
}

TEST(CheckpointCoordinatorTest, PersistingCheckpointIsNotTimedOut) {
  CheckpointConfig cfg = Config(1000);
  cfg.timeout_ms = 2000;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  AckAll(c, 1, 1500);
  EXPECT_THAT(c.OnTick(10'000), IsEmpty());
  EXPECT_THAT(c.OnCheckpointPersisted(1, 10'001), ElementsAre(Action(NotifyComplete{1})));
}

TEST(CheckpointCoordinatorTest, PersistFailureFailsTheCheckpoint) {
  CheckpointConfig cfg = Config(1000);
  cfg.tolerable_failed_checkpoints = 3;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  EXPECT_THAT(c.OnCheckpointPersistFailed(1, "too early", 1001), IsEmpty())
      << "not all acked yet: not persisting";
  AckAll(c, 1, 1100);
  auto a = c.OnCheckpointPersistFailed(1, "ENOSPC", 1200);
  ASSERT_THAT(a, SizeIs(2));
  EXPECT_THAT(std::get<NotifyAborted>(a[0]).reason, HasSubstr("ENOSPC"));
  EXPECT_EQ(std::get<DiscardCheckpoint>(a[1]), (DiscardCheckpoint{1}));
  EXPECT_EQ(c.consecutive_failures(), 1);
  EXPECT_EQ(c.last_completed_id(), 0);
}

TEST(CheckpointCoordinatorTest, NewerCompletionSubsumesOlderPending) {
  CheckpointConfig cfg = Config(1000);
  cfg.max_concurrent = 3;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 1);
  EXPECT_EQ(TickTrigger(c, 2000), 2);
  EXPECT_EQ(TickTrigger(c, 3000), 3);
  c.OnAck(1, AckOf({0, 0}), 3100);  // 1 is stuck behind a slow task
  AckAll(c, 2, 3200);
  auto a = c.OnCheckpointPersisted(2, 3300);
  ASSERT_THAT(a, SizeIs(3));
  EXPECT_EQ(std::get<NotifyComplete>(a[0]), (NotifyComplete{2}));
  EXPECT_EQ(std::get<NotifyAborted>(a[1]).id, 1);
  EXPECT_THAT(std::get<NotifyAborted>(a[1]).reason, HasSubstr("subsumed"));
  EXPECT_EQ(std::get<DiscardCheckpoint>(a[2]), (DiscardCheckpoint{1}));
  EXPECT_EQ(c.num_pending(), 1) << "checkpoint 3 (newer) stays pending";
  EXPECT_EQ(c.consecutive_failures(), 0) << "subsumption is not a failure";
  EXPECT_EQ(c.num_failed(), 1) << "but the stats show it as failed, as Flink's do";
}

TEST(CheckpointCoordinatorTest, OlderCheckpointPersistedAfterNewerIsSubsumed) {
  CheckpointConfig cfg = Config(1000);
  cfg.max_concurrent = 2;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  TickTrigger(c, 2000);
  AckAll(c, 1, 2100);  // 1 persisting
  AckAll(c, 2, 2200);  // 2 persisting
  EXPECT_THAT(c.OnCheckpointPersisted(2, 2300), ElementsAre(Action(NotifyComplete{2})));
  auto a = c.OnCheckpointPersisted(1, 2400);
  ASSERT_THAT(a, SizeIs(2));
  EXPECT_EQ(std::get<NotifyAborted>(a[0]).id, 1);
  EXPECT_EQ(std::get<DiscardCheckpoint>(a[1]), (DiscardCheckpoint{1}));
  EXPECT_EQ(c.last_completed_id(), 2);
  EXPECT_THAT(c.retained_ids(), ElementsAre(2));
}

TEST(CheckpointCoordinatorTest, RetentionDiscardsOldestCompleted) {
  CheckpointConfig cfg = Config(1000);
  cfg.retained = 2;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  for (int64_t id = 1; id <= 2; ++id) {
    TickTrigger(c, id * 1000);
    AckAll(c, id, id * 1000 + 100);
    EXPECT_THAT(c.OnCheckpointPersisted(id, id * 1000 + 200),
                ElementsAre(Action(NotifyComplete{id})));
  }
  TickTrigger(c, 3000);
  AckAll(c, 3, 3100);
  auto a = c.OnCheckpointPersisted(3, 3200);
  EXPECT_THAT(a, ElementsAre(Action(NotifyComplete{3}), Action(DiscardCheckpoint{1})));
  EXPECT_THAT(c.retained_ids(), ElementsAre(2, 3));
  auto json = c.StatsJson(3300);
  // history is newest first: 3, 2, 1
  EXPECT_EQ(json["history"][2]["id"], 1);
  EXPECT_EQ(json["history"][2]["discarded"], true);
  EXPECT_EQ(json["history"][1]["discarded"], false);
}

TEST(CheckpointCoordinatorTest, StopAbortsPendingWithoutCountingFailures) {
  CheckpointConfig cfg = Config(1000);
  cfg.max_concurrent = 2;
  CheckpointCoordinator c(cfg, kAll, kSources);
  c.Start(0);
  TickTrigger(c, 1000);
  TickTrigger(c, 2000);
  AckAll(c, 2, 2100);  // persisting: aborted too, the restart uses the last completed one
  auto a = c.Stop();
  EXPECT_THAT(a, ElementsAre(Action(NotifyAborted{1, std::get<NotifyAborted>(a[0]).reason}),
                             Action(DiscardCheckpoint{1}),
                             Action(NotifyAborted{2, std::get<NotifyAborted>(a[2]).reason}),
                             Action(DiscardCheckpoint{2})));
  EXPECT_THAT(Only<FailJob>(a), IsEmpty());
  EXPECT_EQ(c.consecutive_failures(), 0);
  EXPECT_FALSE(c.running());
  EXPECT_THAT(c.OnTick(100'000), IsEmpty());
  EXPECT_THAT(c.OnCheckpointPersisted(2, 100'001), IsEmpty()) << "late persist ignored";
  EXPECT_FALSE(c.TriggerNow(100'002).ok());
  // Restart: ids keep increasing.
  c.Start(200'000);
  EXPECT_EQ(TickTrigger(c, 201'000), 3);
}

TEST(CheckpointCoordinatorTest, TriggerNowRequiresRunningAndNothingPending) {
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  auto stopped = c.TriggerNow(0);
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kFailedPrecondition);
  c.Start(0);
  auto t = c.TriggerNow(10);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (TriggerCheckpoint{1, 10}));
  auto busy = c.TriggerNow(20);
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(busy.status().message()), HasSubstr("1"));
  // The interval counts from the explicit trigger too.
  AckAll(c, 1, 30);
  c.OnCheckpointPersisted(1, 40);
  EXPECT_THAT(c.OnTick(1009), IsEmpty());
  EXPECT_EQ(TickTrigger(c, 1010), 2);
}

TEST(CheckpointCoordinatorTest, RestoredContinuesIdsAndIsReported) {
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  c.Restored(41, 500, "/ckpt/job/chk-41");
  c.Start(1000);
  EXPECT_EQ(TickTrigger(c, 2000), 42);
  EXPECT_EQ(c.last_restored_id(), 41);
  EXPECT_EQ(c.num_restored(), 1);
  // Ids never go backwards: restoring an older checkpoint later keeps counting up.
  c.Stop();
  c.Restored(10, 3000);
  c.Start(3000);
  EXPECT_EQ(TickTrigger(c, 4000), 43);
  auto json = c.StatsJson(4000);
  EXPECT_EQ(json["counts"]["restored"], 2);
  EXPECT_EQ(json["latest"]["restored"]["id"], 10);
  EXPECT_EQ(json["latest"]["restored"]["restore_timestamp"], 3000);
  EXPECT_EQ(json["latest"]["restored"]["is_savepoint"], false);
}

TEST(CheckpointCoordinatorTest, FirstCheckpointIdFromConstructor) {
  CheckpointCoordinator c(Config(1000), kAll, kSources, 100);
  c.Start(0);
  EXPECT_EQ(TickTrigger(c, 1000), 100);
}

// Flink's TaskCheckpointStatistics per vertex, and savepoints marked as such.
TEST(CheckpointCoordinatorTest, StatsHaveAPartPerVertexAndMarkSavepoints) {
  CheckpointCoordinator c(Config(0), kAll, kSources);
  c.set_vertex_ids({"src", "sink"});
  c.Start(0);
  ASSERT_TRUE(c.TriggerNow(1000, /*savepoint=*/true).ok());
  c.OnAck(1, AckOf({0, 0}, 10), 1100);
  c.OnAck(1, AckOf({0, 1}, 20), 1300);
  const auto h = c.StatsJson(1500)["history"][0];
  EXPECT_EQ(h["is_savepoint"], true);
  EXPECT_EQ(h["checkpoint_type"], "SAVEPOINT");
  const auto& src = h["tasks"]["src"];
  EXPECT_EQ(src["status"], "COMPLETED") << "both source subtasks acknowledged";
  EXPECT_EQ(src["num_subtasks"], 2);
  EXPECT_EQ(src["num_acknowledged_subtasks"], 2);
  EXPECT_EQ(src["state_size"], 30);
  EXPECT_EQ(src["latest_ack_timestamp"], 1300);
  EXPECT_EQ(src["end_to_end_duration"], 300);
  const auto& sink = h["tasks"]["sink"];
  EXPECT_EQ(sink["status"], "IN_PROGRESS");
  EXPECT_EQ(sink["num_acknowledged_subtasks"], 0);
  EXPECT_EQ(sink["end_to_end_duration"], -1);
}

TEST(CheckpointCoordinatorTest, StatsJsonHasFlinkShape) {
  CheckpointConfig cfg = Config(1000);
  cfg.tolerable_failed_checkpoints = 10;
  CheckpointCoordinator c(cfg, kAll, kSources);
  auto empty = c.StatsJson(0);
  EXPECT_TRUE(empty["latest"]["completed"].is_null());
  EXPECT_TRUE(empty["latest"]["failed"].is_null());
  EXPECT_TRUE(empty["latest"]["restored"].is_null());
  EXPECT_TRUE(empty["latest"]["savepoint"].is_null());
  auto summary = [](int64_t min, int64_t max, int64_t avg, double p50, double p90) {
    return nlohmann::json{{"min", min}, {"max", max}, {"avg", avg}, {"p50", p50},
                          {"p90", p90}, {"p95", p90},  {"p99", p90}, {"p999", p90}};
  };
  EXPECT_EQ(empty["summary"]["state_size"], summary(0, 0, 0, 0, 0));
  EXPECT_TRUE(empty["history"].is_array());

  c.Start(0);
  // 1: completed, 300 bytes over 200 ms.
  TickTrigger(c, 1000);
  AckAll(c, 1, 1200);
  c.OnCheckpointPersisted(1, 1250, "/ckpt/j/chk-1");
  // 2: completed, sizes 600 over 400 ms.
  TickTrigger(c, 2000);
  for (const TaskKey& t : kAll) c.OnAck(2, AckOf(t, 200, 5, 6, 7), 2400);
  c.OnCheckpointPersisted(2, 2450, "/ckpt/j/chk-2");
  // 3: declined.
  TickTrigger(c, 3000);
  c.OnAck(3, AckOf({0, 0}), 3050);
  c.OnDecline(3, {1, 0}, "boom", 3100);
  // 4: in progress, one ack.
  TickTrigger(c, 4000);
  c.OnAck(4, AckOf({0, 1}, 55), 4100);

  auto j = c.StatsJson(4500);
  EXPECT_EQ(
      j["counts"],
      (nlohmann::json{
          {"restored", 0}, {"total", 4}, {"in_progress", 1}, {"completed", 2}, {"failed", 1}}));
  EXPECT_EQ(j["summary"]["state_size"], summary(300, 600, 450, 300, 600));
  EXPECT_EQ(j["summary"]["end_to_end_duration"], summary(200, 400, 300, 200, 400));

  const auto& completed = j["latest"]["completed"];
  EXPECT_EQ(completed["id"], 2);
  EXPECT_EQ(completed["status"], "COMPLETED");
  EXPECT_EQ(completed["external_path"], "/ckpt/j/chk-2");
  EXPECT_EQ(completed["end_to_end_duration"], 400);
  EXPECT_EQ(completed["state_size"], 600);
  const auto& failed = j["latest"]["failed"];
  EXPECT_EQ(failed["id"], 3);
  EXPECT_EQ(failed["status"], "FAILED");
  EXPECT_EQ(failed["failure_timestamp"], 3100);
  EXPECT_THAT(failed["failure_message"].get<std::string>(), HasSubstr("boom"));
  EXPECT_EQ(failed["num_acknowledged_subtasks"], 1);

  ASSERT_EQ(j["history"].size(), 4u);
  const auto& h = j["history"][0];  // newest first
  EXPECT_EQ(h["id"], 4);
  EXPECT_EQ(h["status"], "IN_PROGRESS");
  EXPECT_EQ(h["is_savepoint"], false);
  EXPECT_EQ(h["trigger_timestamp"], 4000);
  EXPECT_EQ(h["latest_ack_timestamp"], 4100);
  EXPECT_EQ(h["state_size"], 55);
  EXPECT_EQ(h["end_to_end_duration"], 500) << "in progress: measured to now";
  EXPECT_TRUE(h["tasks"].empty()) << "without vertex ids there is no per-vertex part";
  EXPECT_EQ(h["alignment_buffered"], 0);
  EXPECT_EQ(h["num_subtasks"], 3);
  EXPECT_EQ(h["num_acknowledged_subtasks"], 1);
  EXPECT_EQ(h["checkpoint_type"], "CHECKPOINT");
  const auto& h2 = j["history"][2];
  EXPECT_EQ(h2["id"], 2);
  EXPECT_EQ(h2["alignment_duration"], 5);
  EXPECT_EQ(h2["sync_duration"], 6);
  EXPECT_EQ(h2["async_duration"], 7);
  for (const char* key :
       {"id", "status", "is_savepoint", "trigger_timestamp", "latest_ack_timestamp", "state_size",
        "end_to_end_duration", "alignment_buffered", "num_subtasks", "num_acknowledged_subtasks",
        "checkpoint_type"}) {
    for (const auto& entry : j["history"]) EXPECT_TRUE(entry.contains(key)) << key;
  }
}

TEST(CheckpointCoordinatorTest, HistoryKeepsLastTen) {
  CheckpointCoordinator c(Config(1000), kAll, kSources);
  c.Start(0);
  for (int64_t id = 1; id <= 12; ++id) {
    TickTrigger(c, id * 1000);
    AckAll(c, id, id * 1000 + 10);
    c.OnCheckpointPersisted(id, id * 1000 + 20);
  }
  auto j = c.StatsJson(13'000);
  ASSERT_EQ(j["history"].size(), 10u);
  EXPECT_EQ(j["history"][0]["id"], 12);
  EXPECT_EQ(j["history"][9]["id"], 3);
  EXPECT_EQ(j["counts"]["completed"], 12);
}

}  // namespace
}  // namespace sluice::checkpoint
