// KafkaSplitEnumerator against librdkafka's in-process mock cluster: assignment by
// KafkaSplitOwner, starting positions of first and later discoveries, pattern discovery,
// snapshot/restore and re-sending on reader registration, bounded mode, failures; and the
// enumerator driving real KafkaSource readers through encoded operator events.

#include "runtime/connectors/kafka/kafka_enumerator.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/connectors/kafka/kafka_common.h"
#include "runtime/connectors/kafka/kafka_source.h"
#include "runtime/connectors/kafka/tests/mock_cluster.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors::kafka {
namespace {

using ::testing::HasSubstr;
using testing::MockCluster;
using testing::QuietConf;

constexpr int64_t kDeadlineMs = 20'000;

// Records what the enumerator sends; optionally forwards events to a callback.
class FakeContext : public api::SplitEnumeratorContext {
 public:
  explicit FakeContext(int32_t parallelism) : parallelism_(parallelism) {}
  int32_t parallelism() const override { return parallelism_; }
  void SendEventToReader(int32_t subtask, std::string event) override {
    std::function<void(int32_t, const std::string&)> forward;
    {
      std::lock_guard lock(mu_);
      auto decoded = DecodeReaderEvent(event);
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      if (decoded.ok()) events_[subtask].push_back(*decoded);
      forward = forward_;
    }
    cv_.notify_all();
    if (forward) forward(subtask, event);
  }
  void FailJob(absl::Status cause) override {
    {
      std::lock_guard lock(mu_);
      failures_.push_back(std::move(cause));
    }
    cv_.notify_all();
  }

  void Forward(std::function<void(int32_t, const std::string&)> f) {
    std::lock_guard lock(mu_);
    forward_ = std::move(f);
  }
  // Waits until `pred` holds (under the lock); false at the deadline.
  bool WaitUntil(const std::function<bool()>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(kDeadlineMs), pred);
  }
  size_t NumSplitsSent() const {
    size_t n = 0;
    for (const auto& [s, evs] : events_) {
      for (const auto& e : evs) n += e.splits.size();
    }
    return n;
  }
  // Lock-free views for use inside WaitUntil predicates and after the enumerator stopped.
  const std::map<int32_t, std::vector<KafkaReaderEvent>>& events() const { return events_; }
  const std::vector<absl::Status>& failures() const { return failures_; }
  std::map<int32_t, std::vector<KafkaReaderEvent>> TakeEvents() {
    std::lock_guard lock(mu_);
    auto out = std::move(events_);
    events_.clear();
    return out;
  }
  std::vector<absl::Status> Failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  const int32_t parallelism_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int32_t, std::vector<KafkaReaderEvent>> events_;
  std::vector<absl::Status> failures_;
  std::function<void(int32_t, const std::string&)> forward_;
};

KafkaSourceOptions Options(const std::string& bootstrap) {
  KafkaSourceOptions o;
  o.bootstrap_servers = bootstrap;
  o.schema = std::make_shared<core::Schema>(std::vector<core::Field>{{"id", core::Type::kInt64}});
  o.format.format = RecordFormat::kCsv;
  o.partition_discovery_interval_ms = 100;
  o.request_timeout_ms = 5'000;
  return o;
}

std::unique_ptr<KafkaSplitEnumerator> MakeEnumerator(const KafkaSourceOptions& o,
                                                     FakeContext* ctx) {
  auto e = KafkaSplitEnumerator::Create(o, "kafka-in", ctx);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

// ---------------------------------------------------------------------------------------------

TEST(KafkaSplitEnumeratorTest, AssignsEveryPartitionOnceToItsKafkaSplitOwner) {
  MockCluster kafka;
  kafka.CreateTopic("orders", 4);
  kafka.CreateTopic("clicks", 3);
  kafka.CreateTopic("other", 2);  // not listed: never assigned
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"orders", "clicks"};
  FakeContext ctx(3);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 7; }));
  std::set<std::pair<std::string, int32_t>> seen;
  for (const auto& [subtask, events] : ctx.TakeEvents()) {
    for (const KafkaReaderEvent& ev : events) {
      EXPECT_FALSE(ev.no_more_splits);  // unbounded
      for (const KafkaPartitionSplit& s : ev.splits) {
        EXPECT_EQ(KafkaSplitOwner(s.topic, s.partition, 3), subtask) << s.SplitId();
        EXPECT_EQ(s.starting_offset, kEarliestOffset);
        EXPECT_EQ(s.stopping_offset, kNoStoppingOffset);
        EXPECT_TRUE(seen.emplace(s.topic, s.partition).second) << "sent twice: " << s.SplitId();
      }
    }
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen.count({"other", 0}), 0u);
  EXPECT_TRUE(e->FirstDiscoveryDone());
  EXPECT_TRUE(ctx.Failures().empty());
}

TEST(KafkaSplitEnumeratorTest, FirstDiscoveryGetsStartingOffsetsLaterTopicsStartAtEarliest) {
  MockCluster kafka;
  kafka.CreateTopic("ev-a", 2);
  kafka.CreateTopic("unrelated", 1);
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topic_pattern = "ev-.*";
  o.starting_offsets = StartingOffsets::kTimestamp;
  o.starting_timestamp_ms = 1'700'000'000'000;
  FakeContext ctx(2);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 2; }));
  for (const auto& s : e->AssignedSplits()) {
    EXPECT_EQ(s.topic, "ev-a");
    EXPECT_EQ(s.starting_offset, kTimestampOffset);
    EXPECT_EQ(s.starting_timestamp_ms, 1'700'000'000'000);
  }
  // A topic created later that matches the pattern: found by periodic discovery, from its start.
  kafka.CreateTopic("ev-b", 3);
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 5; }));
  std::vector<KafkaPartitionSplit> all = e->AssignedSplits();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& s : all) {
    if (s.topic == "ev-b") {
      EXPECT_EQ(s.starting_offset, kEarliestOffset) << s.SplitId();
      EXPECT_EQ(s.starting_timestamp_ms, -1);
    }
  }
  // The new splits went to their owners.
  for (const auto& [subtask, events] : ctx.TakeEvents()) {
    for (const auto& ev : events) {
      for (const auto& s : ev.splits) EXPECT_EQ(KafkaSplitOwner(s.topic, s.partition, 2), subtask);
    }
  }
}

TEST(KafkaSplitEnumeratorTest, ReaderRegistrationResendsItsSplitsWithOriginalPositions) {
  MockCluster kafka;
  kafka.CreateTopic("p-1", 4);
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topic_pattern = "p-.*";
  o.starting_offsets = StartingOffsets::kLatest;
  FakeContext ctx(2);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 4; }));
  auto checkpoint = e->SnapshotState(1);
  ASSERT_TRUE(checkpoint.ok());
  // Assigned after the checkpoint: a reader restored from checkpoint 1 does not have it.
  kafka.CreateTopic("p-2", 2);
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 6; }));
  ctx.TakeEvents();

  // Failover: both readers are redeployed and register again.
  e->AddReader(0);
  e->AddReader(1);
  std::map<std::pair<std::string, int32_t>, int64_t> resent;
  for (const auto& [subtask, events] : ctx.TakeEvents()) {
    ASSERT_EQ(events.size(), 1u);  // one event per registration
    for (const auto& s : events[0].splits) {
      EXPECT_EQ(KafkaSplitOwner(s.topic, s.partition, 2), subtask);
      resent[{s.topic, s.partition}] = s.starting_offset;
    }
  }
  ASSERT_EQ(resent.size(), 6u);
  for (int p = 0; p < 4; ++p) EXPECT_EQ((resent[{"p-1", p}]), kLatestOffset);
  for (int p = 0; p < 2; ++p) EXPECT_EQ((resent[{"p-2", p}]), kEarliestOffset);

  // Restore checkpoint 1 into a new enumerator at another parallelism (rescaling): it knows
  // the first discovery's splits with their positions and sends each to its new owner.
  e.reset();
  FakeContext ctx3(3);
  KafkaSourceOptions once = o;
  once.partition_discovery_interval_ms = 0;
  auto restored = MakeEnumerator(once, &ctx3);
  ASSERT_NE(restored, nullptr);
  ASSERT_TRUE(restored->RestoreState(*checkpoint).ok());
  EXPECT_TRUE(restored->FirstDiscoveryDone());
  for (int i = 0; i < 3; ++i) restored->AddReader(i);
  std::set<std::pair<std::string, int32_t>> got;
  for (const auto& [subtask, events] : ctx3.TakeEvents()) {
    for (const auto& ev : events) {
      for (const auto& s : ev.splits) {
        EXPECT_EQ(KafkaSplitOwner(s.topic, s.partition, 3), subtask);
        EXPECT_EQ(s.starting_offset, kLatestOffset);
        got.emplace(s.topic, s.partition);
      }
    }
  }
  EXPECT_EQ(got.size(), 4u);
  // Its first discovery after the restore finds p-2 as new: earliest, not latest.
  ASSERT_TRUE(restored->Start().ok());
  ASSERT_TRUE(ctx3.WaitUntil([&] { return ctx3.NumSplitsSent() == 2; }));
  for (const auto& s : restored->AssignedSplits()) {
    EXPECT_EQ(s.starting_offset, s.topic == "p-2" ? kEarliestOffset : kLatestOffset)
        << s.SplitId();
  }
}

TEST(KafkaSplitEnumeratorTest, RestoreRefusesForeignState) {
  MockCluster kafka;
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"t"};
  FakeContext ctx(1);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  absl::Status st = e->RestoreState("KFKS\x01\x00\x00\x00");
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(st.message(), HasSubstr("KFKN"));
}

TEST(KafkaSplitEnumeratorTest, RestoredWithoutStateTreatsEveryPartitionAsNew) {
  MockCluster kafka;
  kafka.CreateTopic("legacy", 2);
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"legacy"};
  o.starting_offsets = StartingOffsets::kLatest;
  FakeContext ctx(1);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  e->RestoredWithoutState();
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return ctx.NumSplitsSent() == 2; }));
  for (const auto& s : e->AssignedSplits()) EXPECT_EQ(s.starting_offset, kEarliestOffset);
}

TEST(KafkaSplitEnumeratorTest, BoundedSendsNoMoreSplitsToEveryReader) {
  MockCluster kafka;
  kafka.CreateTopic("finite", 2);
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"finite"};
  o.stop_at_latest = true;
  FakeContext ctx(4);  // two readers get no split at all
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] {
    int ended = 0;
    for (const auto& [s, evs] : ctx.events()) {
      for (const auto& ev : evs) ended += ev.no_more_splits ? 1 : 0;
    }
    return ended == 4;
  }));
  size_t splits = 0;
  for (const auto& [subtask, events] : ctx.TakeEvents()) {
    ASSERT_EQ(events.size(), 1u) << "subtask " << subtask;
    EXPECT_TRUE(events[0].no_more_splits);
    for (const auto& s : events[0].splits) {
      EXPECT_EQ(s.stopping_offset, kLatestOffset);
      EXPECT_EQ(KafkaSplitOwner(s.topic, s.partition, 4), subtask);
      ++splits;
    }
  }
  EXPECT_EQ(splits, 2u);
  // A redeployed reader gets its splits and the end again.
  e->AddReader(3);
  auto again = ctx.TakeEvents();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[3].at(0).no_more_splits);
}

TEST(KafkaSplitEnumeratorTest, BoundedReadOfAMissingTopicFailsTheJob) {
  MockCluster kafka;
  kafka.CreateTopic("present", 1);
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"present", "absent"};
  o.stop_at_latest = true;
  FakeContext ctx(1);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return !ctx.failures().empty(); }));
  absl::Status st = ctx.Failures().front();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("topic 'absent' does not exist"));
  EXPECT_EQ(ctx.NumSplitsSent(), 0u);  // nothing assigned from a failed first discovery
}

TEST(KafkaSplitEnumeratorTest, UnreachableClusterFailsTheJobAfterTheRequestTimeout) {
  // A port nothing listens on (the mock cluster is created and destroyed to find one).
  std::string bootstrap;
  {
    MockCluster gone;
    bootstrap = gone.bootstrap();
  }
  KafkaSourceOptions o = Options(bootstrap);
  o.topics = {"t"};
  o.request_timeout_ms = 1'000;
  o.properties["reconnect.backoff.max.ms"] = "100";
  FakeContext ctx(2);
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  const int64_t start = MonotonicMillis();
  ASSERT_TRUE(e->Start().ok());
  ASSERT_TRUE(ctx.WaitUntil([&] { return !ctx.failures().empty(); }));
  EXPECT_GE(MonotonicMillis() - start, 1'000);  // not before the request timeout
  absl::Status st = ctx.Failures().front();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("cannot list the topics of the cluster at '" + bootstrap));
  EXPECT_FALSE(e->FirstDiscoveryDone());
  e.reset();  // stops the retrying thread
}

TEST(KafkaSplitEnumeratorTest, OptionsAreValidated) {
  FakeContext ctx(1);
  KafkaSourceOptions o = Options("127.0.0.1:9");
  auto none = KafkaSplitEnumerator::Create(o, "x", &ctx);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  o.topics = {"a"};
  o.topic_pattern = "b.*";
  EXPECT_THAT(KafkaSplitEnumerator::Create(o, "x", &ctx).status().message(),
              HasSubstr("not both"));
  o.topic_pattern.clear();
  o.properties["no.such.property"] = "1";
  EXPECT_THAT(KafkaSplitEnumerator::Create(o, "x", &ctx).status().message(),
              HasSubstr("no.such.property"));
}

// The whole path without the JobMaster: the enumerator's encoded events drive two real readers
// (kEnumerator) of a bounded source, which together read every record exactly once and end.
TEST(KafkaSplitEnumeratorTest, DrivesReadersThroughOperatorEvents) {
  MockCluster kafka;
  kafka.CreateTopic("flights", 4);
  {
    char err[512];
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, QuietConf(kafka.bootstrap()), err,
                                        sizeof(err));
    ASSERT_NE(producer, nullptr) << err;
    for (int i = 0; i < 200; ++i) {
      std::string v = std::to_string(i);
      void* payload = v.data();
      const size_t len = v.size();
      const int32_t partition = i % 4;
      ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("flights"),
                                  RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_VALUE(payload, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
  }
  KafkaSourceOptions o = Options(kafka.bootstrap());
  o.topics = {"flights"};
  o.stop_at_latest = true;
  KafkaSourceOptions reader_opts = o;
  reader_opts.split_assignment = SplitAssignment::kEnumerator;
  reader_opts.topics.clear();  // a reader under an enumerator needs no topics
  std::vector<std::unique_ptr<KafkaSource>> readers;
  for (int i = 0; i < 2; ++i) {
    readers.push_back(MakeKafkaSource(reader_opts));
    api::OperatorContext c;
    c.operator_name = "kafka-in";
    c.subtask_index = i;
    c.parallelism = 2;
    ASSERT_TRUE(readers.back()->Open(c).ok());
  }
  FakeContext ctx(2);
  ctx.Forward([&](int32_t subtask, const std::string& event) {
    absl::Status st = readers[static_cast<size_t>(subtask)]->HandleOperatorEvent(event);
    EXPECT_TRUE(st.ok()) << st;
  });
  auto e = MakeEnumerator(o, &ctx);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->Start().ok());

  class Ids : public api::Output {
   public:
    absl::Status Emit(const core::RecordBatch& b) override {
      for (size_t r = 0; r < b.num_rows(); ++r) ids.push_back(b.GetInt64(r, 0));
      return absl::OkStatus();
    }
    absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
    std::vector<int64_t> ids;
  } out;
  std::vector<bool> ended(2, false);
  const int64_t deadline = MonotonicMillis() + kDeadlineMs;
  while (!(ended[0] && ended[1])) {
    ASSERT_LT(MonotonicMillis(), deadline) << "readers did not end; read " << out.ids.size();
    for (size_t i = 0; i < 2; ++i) {
      if (ended[i]) continue;
      auto more = readers[i]->PollNext(out);
      ASSERT_TRUE(more.ok()) << more.status();
      ended[i] = !*more;
    }
  }
  std::sort(out.ids.begin(), out.ids.end());
  std::vector<int64_t> expected(200);
  for (int i = 0; i < 200; ++i) expected[static_cast<size_t>(i)] = i;
  EXPECT_EQ(out.ids, expected);
  // A malformed event is refused by the reader, not applied.
  EXPECT_EQ(readers[0]->HandleOperatorEvent("garbage").code(), absl::StatusCode::kDataLoss);
  e.reset();
  for (auto& r : readers) r->Close();
}

}  // namespace
}  // namespace sluice::connectors::kafka
