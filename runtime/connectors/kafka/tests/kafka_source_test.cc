// KafkaSource against librdkafka's in-process mock cluster (rdkafka_mock.h): real Kafka wire
// protocol on 127.0.0.1 ports, no external process. Input is produced with a plain librdkafka
// producer, independent of the source.

#include "runtime/connectors/kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/connectors/kafka/tests/mock_cluster.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kDeadlineMs = 30'000;

using testing::MockCluster;
using testing::QuietConf;

// An in-process Kafka cluster of 3 mock brokers plus a producer for test input.
class MockKafka {
 public:
  MockKafka() {
    char err[512];
    rd_kafka_conf_t* pconf = QuietConf(bootstrap());
    EXPECT_EQ(rd_kafka_conf_set(pconf, "linger.ms", "1", err, sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_opaque(pconf, this);
    rd_kafka_conf_set_dr_msg_cb(pconf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* o) {
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<MockKafka*>(o)->failed_++;
    });
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
    EXPECT_NE(producer_, nullptr) << err;
  }
  ~MockKafka() { rd_kafka_destroy(producer_); }

  const std::string& bootstrap() const { return cluster_.bootstrap(); }
  void CreateTopic(const std::string& name, int partitions) {
    cluster_.CreateTopic(name, partitions);
  }

  // value == nullopt produces a tombstone (null value).
  void Produce(const std::string& topic, int32_t partition, std::optional<std::string> value,
               const std::string& key = "", int64_t timestamp_ms = 0) {
    // The librdkafka macros cast their arguments without parentheses: pass plain variables.
    void* payload = value ? const_cast<char*>(value->data()) : nullptr;
    const size_t len = value ? value->size() : 0;
    void* key_data = key.empty() ? nullptr : const_cast<char*>(key.data());
    const size_t key_len = key.size();
    rd_kafka_resp_err_t err =
        rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_VALUE(payload, len),
                          RD_KAFKA_V_KEY(key_data, key_len), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  }

  void Flush() {
    ASSERT_EQ(rd_kafka_flush(producer_, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(failed_.load(), 0) << "deliveries failed";
  }

  // Committed offset of `group` for a partition (-1001 if none).
  int64_t Committed(const std::string& group, const std::string& topic, int32_t partition) {
    char err[512];
    rd_kafka_conf_t* conf = QuietConf(bootstrap());
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic.c_str(), partition);
    EXPECT_EQ(rd_kafka_committed(c, l, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t offset = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return offset;
  }

 private:
  MockCluster cluster_;  // first: destroyed after the producer
  rd_kafka_t* producer_ = nullptr;
  std::atomic<int> failed_{0};
};

// Rows are "id,ev": an int64 id and an int64 event time (ms).
core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"id", core::Type::kInt64}, {"ev", core::Type::kInt64}});
}

std::string Row(int64_t id, int64_t ev = 0) { return fmt::format("{},{}", id, ev); }

class Collector : public api::Output {
 public:
  Collector() : rows(Schema()) {}
  absl::Status Emit(const core::RecordBatch& batch) override {
    for (size_t r = 0; r < batch.num_rows(); ++r) rows.AppendRowFrom(batch, r);
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }
  absl::Status EmitWatermarkStatus(api::WatermarkStatus s) override {
    statuses.push_back(s);
    return absl::OkStatus();
  }
  std::vector<int64_t> Ids() const {
    std::vector<int64_t> ids;
    for (size_t r = 0; r < rows.num_rows(); ++r) ids.push_back(rows.GetInt64(r, 0));
    return ids;
  }
  core::RecordBatch rows;
  std::vector<int64_t> watermarks;
  std::vector<api::WatermarkStatus> statuses;
};

KafkaSourceOptions Options(const MockKafka& kafka, std::vector<std::string> topics) {
  KafkaSourceOptions o;
  o.bootstrap_servers = kafka.bootstrap();
  o.topics = std::move(topics);
  o.schema = Schema();
  o.format.format = RecordFormat::kCsv;
  o.batch_size = 64;
  return o;
}

api::OperatorContext Ctx(int subtask, int parallelism,
                               api::OperatorMetrics* metrics = nullptr) {
  api::OperatorContext ctx;
  ctx.operator_name = "kafka-test";
  ctx.subtask_index = subtask;
  ctx.parallelism = parallelism;
  ctx.metrics = metrics;
  return ctx;
}

// Polls until `done` holds (or fails on error, end of input before it, or the deadline).
absl::Status PollUntil(KafkaSource& source, Collector& out, const std::function<bool()>& done) {
  const int64_t deadline = MonotonicMillis() + kDeadlineMs;
  while (!done()) {
    if (MonotonicMillis() > deadline) return absl::DeadlineExceededError("condition not reached");
    absl::StatusOr<bool> more = source.PollNext(out);
    if (!more.ok()) return more.status();
    if (!*more && !done()) return absl::FailedPreconditionError("source ended first");
  }
  return absl::OkStatus();
}

// Polls a bounded source until PollNext returns false.
absl::Status RunToEnd(KafkaSource& source, Collector& out) {
  const int64_t deadline = MonotonicMillis() + kDeadlineMs;
  for (;;) {
    if (MonotonicMillis() > deadline) return absl::DeadlineExceededError("source never ended");
    absl::StatusOr<bool> more = source.PollNext(out);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

// Produces ids [from, to) into `topic`, id i to partition i % partitions, event time i.
void ProduceIds(MockKafka& kafka, const std::string& topic, int partitions, int from, int to) {
  for (int i = from; i < to; ++i) kafka.Produce(topic, i % partitions, Row(i, i));
  kafka.Flush();
}

void ExpectExactlyOnce(std::vector<int64_t> ids, int64_t from, int64_t to) {
  std::sort(ids.begin(), ids.end());
  std::vector<int64_t> expected;
  for (int64_t i = from; i < to; ++i) expected.push_back(i);
  EXPECT_EQ(ids, expected);
}

// ---------------------------------------------------------------------------------------------

TEST(KafkaSplitOwnerTest, IsFlinksAssignment) {
  // Values of Flink's KafkaSourceEnumerator.getSplitOwner (Java int arithmetic), e.g.
  // "flights".hashCode() = -771814909: (-771814909 * 31) & 0x7FFFFFFF = ... % 4 = 1.
  EXPECT_EQ(KafkaSplitOwner("topic", 0, 4), 1);
  EXPECT_EQ(KafkaSplitOwner("flights", 0, 4), 1);
  EXPECT_EQ(KafkaSplitOwner("flights", 0, 3), 2);
  EXPECT_EQ(KafkaSplitOwner("events-a", 0, 4), 3);
  EXPECT_EQ(KafkaSplitOwner("events-a", 0, 3), 0);
  // Consecutive partitions go round-robin from the topic's start index.
  EXPECT_EQ(KafkaSplitOwner("flights", 1, 4), 2);
  EXPECT_EQ(KafkaSplitOwner("flights", 2, 4), 3);
  EXPECT_EQ(KafkaSplitOwner("flights", 3, 4), 0);
  EXPECT_EQ(KafkaSplitOwner("flights", 5, 1), 0);
}

TEST(KafkaSourceTest, OpenRefusesBadOptions) {
  MockKafka kafka;
  struct Case {
    std::function<void(KafkaSourceOptions&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](KafkaSourceOptions& o) { o.topics.clear(); }, "no topics and no topic pattern"},
      {[](KafkaSourceOptions& o) { o.topic_pattern = "x.*"; }, "either topics or a topic pattern"},
      {[](KafkaSourceOptions& o) {
         o.topics.clear();
         o.topic_pattern = "(";
       },
       "is not a valid regular expression"},
      {[](KafkaSourceOptions& o) { o.bootstrap_servers.clear(); }, "bootstrap.servers is required"},
      {[](KafkaSourceOptions& o) { o.properties["enable.auto.commit"] = "true"; },
       "enable.auto.commit must stay false"},
      {[](KafkaSourceOptions& o) { o.starting_offsets = StartingOffsets::kGroupOffsets; },
       "group-offsets need group.id"},
      {[](KafkaSourceOptions& o) { o.commit_offsets_on_checkpoint = true; },
       "commit-offsets-on-checkpoint needs group.id"},
      {[](KafkaSourceOptions& o) { o.starting_offsets = StartingOffsets::kTimestamp; },
       "need starting-timestamp"},
      {[](KafkaSourceOptions& o) { o.bad_records = BadRecordPolicy::kDeadLetter; },
       "needs a dead-letter sink"},
      {[](KafkaSourceOptions& o) {
         o.event_time = EventTimeSource::kField;
         o.event_time_spec.field = "nope";
       },
       "event-time field 'nope' is not in the schema"},
      {[](KafkaSourceOptions& o) { o.properties["no.such.property"] = "1"; },
       "property no.such.property='1'"},
      {[](KafkaSourceOptions& o) { o.format.format = RecordFormat::kRaw; },
       "format raw: the schema must be exactly one string field"},
      {[](KafkaSourceOptions& o) { o.batch_size = 0; }, "batch-size must be >= 1"},
  };
  for (const Case& c : cases) {
    KafkaSourceOptions opts = Options(kafka, {"t"});
    c.change(opts);
    KafkaSource source(opts);
    absl::Status st = source.Open(Ctx(0, 1));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(st.message(), HasSubstr(c.message));
  }
  EXPECT_EQ(*ParseStartingOffsets("group-offsets"), StartingOffsets::kGroupOffsets);
  EXPECT_FALSE(ParseStartingOffsets("earliest-offset").ok());
  EXPECT_EQ(*ParseBadRecordPolicy("dead-letter"), BadRecordPolicy::kDeadLetter);
  EXPECT_THAT(ParseBadRecordPolicy("ignore").status().message(), HasSubstr("fail, skip"));
}

TEST(KafkaSourceTest, TwoSubtasksReadAFourPartitionTopicExactlyOnce) {
  MockKafka kafka;
  kafka.CreateTopic("flights", 4);
  ProduceIds(kafka, "flights", 4, 0, 1000);

  std::vector<int64_t> all;
  int64_t records_in = 0;
  for (int subtask = 0; subtask < 2; ++subtask) {
    KafkaSourceOptions opts = Options(kafka, {"flights"});
    opts.stop_at_latest = true;
    KafkaSource source(opts);
    api::OperatorMetrics metrics;
    ASSERT_TRUE(source.Open(Ctx(subtask, 2, &metrics)).ok());
    Collector out;
    ASSERT_TRUE(RunToEnd(source, out).ok());
    // This subtask read exactly the partitions Flink's enumerator gives it, to their end.
    std::set<int32_t> owned;
    for (const KafkaPartitionSplit& s : source.CurrentSplits()) {
      EXPECT_EQ(KafkaSplitOwner("flights", s.partition, 2), subtask);
      EXPECT_EQ(s.starting_offset, 250);  // finished at the end offset of 250 records
      owned.insert(s.partition);
    }
    EXPECT_EQ(owned.size(), 2u);
    for (int64_t id : out.Ids()) EXPECT_EQ(owned.count(static_cast<int32_t>(id % 4)), 1u) << id;
    ASSERT_FALSE(out.watermarks.empty());
    EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);
    EXPECT_EQ(metrics.records_out.load(), static_cast<int64_t>(out.rows.num_rows()));
    EXPECT_GT(metrics.bytes_in.load(), 0);
    records_in += source.metrics()->records_in.load();
    EXPECT_EQ(source.metrics()->assigned_partitions.load(), 0);
    std::vector<int64_t> ids = out.Ids();
    all.insert(all.end(), ids.begin(), ids.end());
    source.Close();
  }
  ExpectExactlyOnce(all, 0, 1000);
  EXPECT_EQ(records_in, 1000);
}

// Reads part of the topic with two subtasks, checkpoints, reads on (lost by the "failure"),
// then restores at `new_parallelism` and reads to the end: every record exactly once.
void SnapshotRestoreRoundTrip(int new_parallelism) {
  MockKafka kafka;
  kafka.CreateTopic("events", 4);
  ProduceIds(kafka, "events", 4, 0, 400);

  std::vector<int64_t> committed;  // output up to the checkpoint
  std::vector<std::string> states;
  for (int subtask = 0; subtask < 2; ++subtask) {
    KafkaSourceOptions opts = Options(kafka, {"events"});
    opts.batch_size = 16;
    KafkaSource source(opts);
    ASSERT_TRUE(source.Open(Ctx(subtask, 2)).ok());
    Collector out;
    ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() >= 50; }).ok());
    absl::StatusOr<std::string> state = source.SnapshotState(1);
    ASSERT_TRUE(state.ok()) << state.status();
    states.push_back(*state);
    std::vector<int64_t> ids = out.Ids();
    committed.insert(committed.end(), ids.begin(), ids.end());
    // Emitted after the checkpoint, then lost in the failure.
    Collector lost;
    ASSERT_TRUE(PollUntil(source, lost, [&] { return lost.rows.num_rows() >= 20; }).ok());
    source.Close();
  }
  ASSERT_LT(committed.size(), 400u);
  ProduceIds(kafka, "events", 4, 400, 600);

  std::vector<int64_t> after;
  for (int subtask = 0; subtask < new_parallelism; ++subtask) {
    KafkaSourceOptions opts = Options(kafka, {"events"});
    opts.stop_at_latest = true;
    KafkaSource source(opts);
    api::OperatorContext ctx = Ctx(subtask, new_parallelism);
    if (new_parallelism == 2) {
      ctx.restored_state = states[subtask];
    } else {
      ctx.restored_union_states = states;
      ctx.restored_parallelism = 2;
    }
    ASSERT_TRUE(source.Open(ctx).ok());
    Collector out;
    absl::Status st = RunToEnd(source, out);
    ASSERT_TRUE(st.ok()) << st;
    for (const KafkaPartitionSplit& s : source.CurrentSplits()) {
      EXPECT_EQ(KafkaSplitOwner("events", s.partition, new_parallelism), subtask);
    }
    std::vector<int64_t> ids = out.Ids();
    after.insert(after.end(), ids.begin(), ids.end());
  }
  std::vector<int64_t> all = committed;
  all.insert(all.end(), after.begin(), after.end());
  ExpectExactlyOnce(all, 0, 600);
}

TEST(KafkaSourceTest, RestoreContinuesWithoutGapsOrDuplicates) { SnapshotRestoreRoundTrip(2); }
TEST(KafkaSourceTest, RestoreAtHigherParallelism) { SnapshotRestoreRoundTrip(3); }
TEST(KafkaSourceTest, RestoreAtLowerParallelism) { SnapshotRestoreRoundTrip(1); }

TEST(KafkaSourceTest, RestoreRefusesAnotherSubtasksState) {
  MockKafka kafka;
  kafka.CreateTopic("events", 4);
  KafkaSource first(Options(kafka, {"events"}));
  ASSERT_TRUE(first.Open(Ctx(1, 2)).ok());
  absl::StatusOr<std::string> state = first.SnapshotState(1);
  ASSERT_TRUE(state.ok());
  KafkaSource second(Options(kafka, {"events"}));
  api::OperatorContext ctx = Ctx(0, 2);
  ctx.restored_state = *state;
  absl::Status st = second.Open(ctx);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("restored state of subtask 1 of parallelism 2 given to "
                                      "subtask 0"));
  KafkaSource third(Options(kafka, {"events"}));
  ctx.restored_state = "garbage";
  EXPECT_EQ(third.Open(ctx).code(), absl::StatusCode::kDataLoss);
}

TEST(KafkaSourceTest, NewTopicMatchingThePatternIsPickedUpFromItsStart) {
  MockKafka kafka;
  kafka.CreateTopic("events-a", 2);
  kafka.CreateTopic("other", 1);
  kafka.Produce("events-a", 0, Row(1));  // before the start: skipped (starting at latest)
  kafka.Flush();

  KafkaSourceOptions opts = Options(kafka, {});
  opts.topic_pattern = "events-.*";
  opts.starting_offsets = StartingOffsets::kLatest;
  opts.partition_discovery_interval_ms = 100;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  // Wait until both partitions of events-a are assigned at resolved (latest) offsets.
  ASSERT_TRUE(PollUntil(source, out, [&] {
                std::vector<KafkaPartitionSplit> splits = source.CurrentSplits();
                return splits.size() == 2 && splits[0].starting_offset >= 0 &&
                       splits[1].starting_offset >= 0;
              }).ok());
  kafka.Produce("events-a", 0, Row(2));
  kafka.Produce("events-a", 1, Row(3));
  kafka.Produce("other", 0, Row(99));  // does not match
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() >= 2; }).ok());

  // A topic created while running: found by discovery, read from its first record, although
  // the configured start is latest (Flink: partitions discovered later start at earliest).
  kafka.CreateTopic("events-b", 3);
  for (int p = 0; p < 3; ++p) kafka.Produce("events-b", p, Row(10 + p));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() >= 5; }).ok());
  std::vector<int64_t> ids = out.Ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre(2, 3, 10, 11, 12));
  EXPECT_EQ(source.CurrentSplits().size(), 5u);
  EXPECT_EQ(source.metrics()->assigned_partitions.load(), 5);
}

// Watermarks per partition, combined as the minimum over the partitions that are not idle.
void IdlenessRun(int64_t idle_timeout_ms) {
  MockKafka kafka;
  kafka.CreateTopic("wm", 2);
  auto clock = std::make_shared<std::atomic<int64_t>>(0);
  KafkaSourceOptions opts = Options(kafka, {"wm"});
  opts.event_time = EventTimeSource::kField;
  opts.event_time_spec.field = "ev";
  opts.idle_timeout_ms = idle_timeout_ms;
  opts.now_ms = [clock] { return clock->load(); };
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  for (int64_t ev = 1000; ev <= 1010; ++ev) kafka.Produce("wm", 0, Row(ev, ev));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 11; }).ok());
  // Partition 1 has no records and is not idle: it holds the watermark at its start.
  EXPECT_TRUE(out.watermarks.empty());
  EXPECT_EQ(out.rows.timestamp(0), 1000);

  clock->store(5000);  // partition 1 has had nothing for 5 s
  ASSERT_TRUE(source.PollNext(out).ok());  // nor has partition 0: the subtask is idle
  using WS = api::WatermarkStatus;
  if (idle_timeout_ms > 0) {
    EXPECT_THAT(out.statuses, ElementsAre(WS::kIdle));
  }
  kafka.Produce("wm", 0, Row(1011, 1011));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 12; }).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(source.PollNext(out).ok());
  if (idle_timeout_ms == 0) {
    EXPECT_TRUE(out.watermarks.empty()) << out.watermarks.front();
    EXPECT_FALSE(source.IsIdle());
    EXPECT_TRUE(out.statuses.empty());  // without an idle timeout a subtask is never idle
    return;
  }
  ASSERT_FALSE(out.watermarks.empty());
  EXPECT_EQ(out.watermarks.back(), 1010);  // 1011 - 0 out-of-orderness - 1
  // Both partitions paused 5 s: the subtask was idle until partition 0's record came.
  EXPECT_THAT(out.statuses, ElementsAre(WS::kIdle, WS::kActive));

  // Partition 1 wakes up behind: the watermark does not go back, and from now on the minimum
  // of both partitions counts.
  kafka.Produce("wm", 1, Row(500, 500));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 13; }).ok());
  kafka.Produce("wm", 0, Row(3000, 3000));
  kafka.Produce("wm", 1, Row(2000, 2000));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 15; }).ok());
  ASSERT_TRUE(source.PollNext(out).ok());
  EXPECT_TRUE(std::is_sorted(out.watermarks.begin(), out.watermarks.end()));
  EXPECT_EQ(out.watermarks.back(), 1999);
  EXPECT_EQ(source.CurrentWatermark(), 1999);

  clock->store(20'000);  // both idle now
  ASSERT_TRUE(source.PollNext(out).ok());
  EXPECT_TRUE(source.IsIdle());
  EXPECT_EQ(out.watermarks.back(), 1999);
  // The whole subtask is idle downstream now, and active again with the next record.
  EXPECT_THAT(out.statuses, ElementsAre(WS::kIdle, WS::kActive, WS::kIdle));
  kafka.Produce("wm", 0, Row(4000, 4000));
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 16; }).ok());
  ASSERT_TRUE(source.PollNext(out).ok());
  EXPECT_THAT(out.statuses, ElementsAre(WS::kIdle, WS::kActive, WS::kIdle, WS::kActive));
}

TEST(KafkaSourceTest, IdlePartitionDoesNotStallTheWatermark) { IdlenessRun(1000); }
TEST(KafkaSourceTest, WithoutIdleTimeoutAnEmptyPartitionHoldsTheWatermark) { IdlenessRun(0); }

TEST(KafkaSourceTest, EventTimeFromTheKafkaTimestamp) {
  MockKafka kafka;
  kafka.CreateTopic("ts", 1);
  kafka.Produce("ts", 0, Row(1), "", 5000);
  kafka.Produce("ts", 0, Row(2), "", 7000);
  kafka.Produce("ts", 0, Row(3), "", 6000);
  kafka.Flush();
  KafkaSourceOptions opts = Options(kafka, {"ts"});
  opts.event_time = EventTimeSource::kKafkaTimestamp;
  opts.max_out_of_orderness_ms = 500;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() == 3; }).ok());
  ASSERT_TRUE(source.PollNext(out).ok());
  EXPECT_EQ(out.rows.timestamp(0), 5000);
  EXPECT_EQ(out.rows.timestamp(1), 7000);
  EXPECT_EQ(out.rows.timestamp(2), 6000);
  ASSERT_FALSE(out.watermarks.empty());
  EXPECT_EQ(out.watermarks.back(), 7000 - 500 - 1);
}

// A topic with a bad record at offset 1 and a tombstone at offset 3.
void ProduceWithBadRecord(MockKafka& kafka) {
  kafka.CreateTopic("bad", 1);
  kafka.Produce("bad", 0, Row(1), "k0", 100);
  kafka.Produce("bad", 0, std::string("x,11"), "k1", 200);
  kafka.Produce("bad", 0, Row(3), "k2", 300);
  kafka.Produce("bad", 0, std::nullopt, "k3", 400);
  kafka.Produce("bad", 0, Row(5), "k4", 500);
  kafka.Flush();
}

TEST(KafkaSourceTest, BadRecordFailsTheTaskNamingWhere) {
  MockKafka kafka;
  ProduceWithBadRecord(kafka);
  KafkaSourceOptions opts = Options(kafka, {"bad"});
  opts.stop_at_latest = true;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  absl::Status st = RunToEnd(source, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "kafka source: topic 'bad' partition 0 offset 1: field 'id' (column 1): 'x' is not a "
            "valid int64");
}

TEST(KafkaSourceTest, BadRecordSkippedAndCounted) {
  MockKafka kafka;
  ProduceWithBadRecord(kafka);
  KafkaSourceOptions opts = Options(kafka, {"bad"});
  opts.stop_at_latest = true;
  opts.bad_records = BadRecordPolicy::kSkip;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  ASSERT_TRUE(RunToEnd(source, out).ok());
  EXPECT_THAT(out.Ids(), ElementsAre(1, 3, 5));
  EXPECT_EQ(source.metrics()->records_skipped.load(), 1);
  EXPECT_EQ(source.metrics()->records_null_skipped.load(), 1);
  EXPECT_EQ(source.metrics()->records_in.load(), 5);
}

class RecordingDeadLetters : public DeadLetterSink {
 public:
  struct Entry {
    std::string topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    std::string key;
    std::string value;
    std::string error;
  };
  absl::Status Write(const DeadLetterRecord& r) override {
    entries.push_back({std::string(r.topic), r.partition, r.offset, r.timestamp_ms,
                       std::string(r.key), std::string(r.value), std::string(r.error)});
    return refuse ? absl::UnavailableError("side sink down") : absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    return absl::OkStatus();
  }
  std::vector<Entry> entries;
  int flushes = 0;
  bool refuse = false;
};

TEST(KafkaSourceTest, BadRecordGoesToTheDeadLetterSink) {
  MockKafka kafka;
  ProduceWithBadRecord(kafka);
  auto sink = std::make_shared<RecordingDeadLetters>();
  KafkaSourceOptions opts = Options(kafka, {"bad"});
  opts.stop_at_latest = true;
  opts.bad_records = BadRecordPolicy::kDeadLetter;
  opts.dead_letter_sink = sink;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  ASSERT_TRUE(RunToEnd(source, out).ok());
  EXPECT_THAT(out.Ids(), ElementsAre(1, 3, 5));
  ASSERT_EQ(sink->entries.size(), 1u);
  const RecordingDeadLetters::Entry& e = sink->entries[0];
  EXPECT_EQ(e.topic, "bad");
  EXPECT_EQ(e.partition, 0);
  EXPECT_EQ(e.offset, 1);
  EXPECT_EQ(e.timestamp_ms, 200);
  EXPECT_EQ(e.key, "k1");
  EXPECT_EQ(e.value, "x,11");
  EXPECT_EQ(e.error, "field 'id' (column 1): 'x' is not a valid int64");
  EXPECT_EQ(source.metrics()->records_dead_lettered.load(), 1);
  // The end of the bounded input delivered the letters (a job without checkpoints finishes
  // with nothing left in the producer); a checkpoint flushes again.
  EXPECT_EQ(sink->flushes, 1);
  ASSERT_TRUE(source.SnapshotState(1).ok());
  EXPECT_EQ(sink->flushes, 2);

  // A sink that refuses fails the task.
  auto refusing = std::make_shared<RecordingDeadLetters>();
  refusing->refuse = true;
  opts.dead_letter_sink = refusing;
  KafkaSource again(opts);
  ASSERT_TRUE(again.Open(Ctx(0, 1)).ok());
  Collector out2;
  absl::Status st = RunToEnd(again, out2);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("dead-letter sink refused topic 'bad' partition 0 offset 1"));
}

TEST(KafkaSourceTest, CommitsOffsetsOnCheckpointAndStartsFromGroupOffsets) {
  MockKafka kafka;
  kafka.CreateTopic("grp", 2);
  ProduceIds(kafka, "grp", 2, 0, 40);
  // Subtask 0 of 2 reads one partition and commits its offsets on checkpoint completion.
  const int32_t committed_partition = KafkaSplitOwner("grp", 0, 2) == 0 ? 0 : 1;
  KafkaSourceOptions opts = Options(kafka, {"grp"});
  opts.properties["group.id"] = "g1";
  opts.commit_offsets_on_checkpoint = true;
  opts.batch_size = 5;
  KafkaSource first(opts);
  ASSERT_TRUE(first.Open(Ctx(0, 2)).ok());
  Collector out;
  ASSERT_TRUE(PollUntil(first, out, [&] { return out.rows.num_rows() >= 5; }).ok());
  ASSERT_TRUE(first.SnapshotState(7).ok());
  const int64_t position = static_cast<int64_t>(out.rows.num_rows());  // next offset
  ASSERT_LT(position, 20);
  Collector later;
  ASSERT_TRUE(PollUntil(first, later, [&] { return later.rows.num_rows() >= 5; }).ok());
  ASSERT_TRUE(first.NotifyCheckpointComplete(7).ok());
  ASSERT_TRUE(
      PollUntil(first, later, [&] { return first.metrics()->commits_succeeded.load() >= 1; }).ok());
  first.Close();
  EXPECT_EQ(kafka.Committed("g1", "grp", committed_partition), position);
  EXPECT_EQ(first.metrics()->commits_failed.load(), 0);

  // group-offsets: the committed partition resumes at the committed offset, the other one has
  // none and starts at its earliest offset.
  KafkaSourceOptions resume = Options(kafka, {"grp"});
  resume.properties["group.id"] = "g1";
  resume.starting_offsets = StartingOffsets::kGroupOffsets;
  resume.stop_at_latest = true;
  KafkaSource second(resume);
  ASSERT_TRUE(second.Open(Ctx(0, 1)).ok());
  Collector rest;
  ASSERT_TRUE(RunToEnd(second, rest).ok());
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < 40; ++i) {
    if (i % 2 != committed_partition || i / 2 >= position) expected.push_back(i);
  }
  std::vector<int64_t> ids = rest.Ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, expected);
}

TEST(KafkaSourceTest, StartingAtATimestampAfterEveryRecordReadsOnlyNewRecords) {
  // The mock answers no timestamp lookups (it returns offset -1, "no such record"), which a
  // real broker also answers for a timestamp after the last record: the start is the end.
  MockKafka kafka;
  kafka.CreateTopic("tt", 1);
  kafka.Produce("tt", 0, Row(1), "", 1000);
  kafka.Flush();
  KafkaSourceOptions opts = Options(kafka, {"tt"});
  opts.starting_offsets = StartingOffsets::kTimestamp;
  opts.starting_timestamp_ms = 2000;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  ASSERT_TRUE(PollUntil(source, out, [&] {
                std::vector<KafkaPartitionSplit> s = source.CurrentSplits();
                return s.size() == 1 && s[0].starting_offset >= 0;
              }).ok());
  EXPECT_EQ(source.CurrentSplits()[0].starting_offset, 1);
  kafka.Produce("tt", 0, Row(2), "", 3000);
  kafka.Flush();
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() >= 1; }).ok());
  EXPECT_THAT(out.Ids(), ElementsAre(2));
}

TEST(KafkaSourceTest, EnumeratorSplitsWithOffsetsFromAnotherThread) {
  MockKafka kafka;
  kafka.CreateTopic("enum", 2);
  ProduceIds(kafka, "enum", 2, 0, 20);  // partition 0: ids 0,2,..,18 at offsets 0..9
  KafkaSourceOptions opts = Options(kafka, {});
  opts.split_assignment = SplitAssignment::kEnumerator;
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  // Nothing assigned yet: polls return without records and the source does not end.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*source.PollNext(out));
  std::thread enumerator([&] {
    KafkaPartitionSplit a{"enum", 0, /*starting_offset=*/3, -1, /*stopping_offset=*/8};
    KafkaPartitionSplit b{"enum", 1, kEarliestOffset, -1, kLatestOffset};
    source.AddSplits({a, b});
    source.AddSplits({KafkaPartitionSplit{"enum", 0, 0, -1, kNoStoppingOffset}});  // ignored
    source.NotifyNoMoreSplits();
  });
  enumerator.join();
  ASSERT_TRUE(RunToEnd(source, out).ok());
  std::vector<int64_t> ids = out.Ids();
  std::sort(ids.begin(), ids.end());
  // Partition 0 offsets 3..7 are ids 6..14 (even), partition 1 all its odd ids.
  EXPECT_THAT(ids, ElementsAre(1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19));
}

TEST(KafkaSourceTest, ReportsRecordsLag) {
  MockKafka kafka;
  kafka.CreateTopic("lag", 1);
  ProduceIds(kafka, "lag", 1, 0, 100);
  auto clock = std::make_shared<std::atomic<int64_t>>(0);
  KafkaSourceOptions opts = Options(kafka, {"lag"});
  opts.batch_size = 10;
  opts.now_ms = [clock] { return clock->load(); };
  KafkaSource source(opts);
  ASSERT_TRUE(source.Open(Ctx(0, 1)).ok());
  Collector out;
  ASSERT_TRUE(PollUntil(source, out, [&] { return out.rows.num_rows() >= 10; }).ok());
  clock->fetch_add(1000);  // the next poll refreshes the lag
  ASSERT_TRUE(source.PollNext(out).ok());
  const int64_t next = static_cast<int64_t>(out.rows.num_rows());
  ASSERT_LT(next, 100);
  EXPECT_EQ(source.metrics()->records_lag_max.load(), 100 - next);
  std::vector<PartitionLag> lags = source.PartitionLags();
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].topic, "lag");
  EXPECT_EQ(lags[0].high_watermark, 100);
  EXPECT_EQ(lags[0].next_offset, next);
  EXPECT_EQ(lags[0].lag, 100 - next);
}

}  // namespace
}  // namespace sluice::connectors::kafka
