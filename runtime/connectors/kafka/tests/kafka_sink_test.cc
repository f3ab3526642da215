// KafkaSink: the exactly-once protocol against a recording fake producer (which, unlike
// librdkafka 2.0.2's mock cluster, models fencing, aborts and read-committed visibility), and
// delivery, errors, partitioning and transactions on the wire against librdkafka's in-process
// mock cluster (rdkafka_mock.h, 127.0.0.1), read back with a plain librdkafka consumer.

#include "runtime/connectors/kafka/kafka_sink.h"
#include "runtime/connectors/kafka/tests/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr int kDeadlineMs = 30'000;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"id", core::Type::kInt64}, {"name", core::Type::kString}});
}

core::RecordBatch Rows(int64_t from, int64_t to) {
  core::RecordBatch b(Schema());
  for (int64_t i = from; i < to; ++i) {
    size_t r = b.AppendRow();
    b.SetInt64(r, 0, i);
    b.SetString(r, 1, fmt::format("n{}", i));
  }
  return b;
}

std::vector<std::string> Values(int64_t from, int64_t to) {
  std::vector<std::string> v;
  for (int64_t i = from; i < to; ++i) v.push_back(fmt::format("{},n{}", i, i));
  return v;
}

class NullOutput : public api::Output {
 public:
  absl::Status Emit(const core::RecordBatch&) override { return absl::OkStatus(); }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
};

api::OperatorContext Ctx(int32_t subtask = 0, int32_t parallelism = 1) {
  api::OperatorContext ctx;
  ctx.operator_name = "kafka-sink";
  ctx.subtask_index = subtask;
  ctx.parallelism = parallelism;
  ctx.checkpointing_enabled = true;
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// A transactional Kafka as a real broker behaves (what the mock cannot show): per
// transactional.id at most one live producer (InitTransactions fences the older one and aborts
// its open transaction), records and commit markers visible only on commit. Every call is
// logged as "<transactional.id> <call>".
class FakeKafka : public KafkaClientFactory {
 public:
  struct Txn {
    std::vector<std::string> values;
    std::map<std::string, int64_t> markers;
  };
  struct IdState {
    int64_t epoch = -1;
    bool open = false;
    Txn txn;
  };

  class Producer : public KafkaProducerClient {
   public:
    Producer(FakeKafka* k, std::string id) : k_(k), id_(std::move(id)) {}
    absl::Status InitTransactions() override {
      Log("init");
      IdState& s = k_->ids[id_];
      if (s.open) {
        k_->Log(id_ + " aborted-by-fencing " + std::to_string(s.txn.values.size()));
        s.open = false;
        s.txn = Txn();
      }
      epoch_ = ++s.epoch;
      return absl::OkStatus();
    }
    absl::Status BeginTransaction() override {
      Log("begin");
      RETURN_IF_ERROR(Fenced());
      k_->ids[id_].open = true;
      return absl::OkStatus();
    }
    absl::Status Produce(const ProducerRecord& r) override {
      Log("produce " + std::string(r.value));
      RETURN_IF_ERROR(Fenced());
      k_->ids[id_].txn.values.emplace_back(r.value);
      return absl::OkStatus();
    }
    absl::Status Poll() override { return absl::OkStatus(); }
    absl::Status Flush() override {
      Log("flush");
      return Fenced();
    }
    absl::Status SendMarker(std::string_view group, std::string_view,
                            int64_t offset) override {
      Log(fmt::format("marker {} {}", group, offset));
      RETURN_IF_ERROR(Fenced());
      k_->ids[id_].txn.markers[std::string(group)] = offset;
      return absl::OkStatus();
    }
    absl::Status CommitTransaction() override {
      Log("commit");
      RETURN_IF_ERROR(Fenced());
      IdState& s = k_->ids[id_];
      for (auto& v : s.txn.values) k_->committed.push_back(v);
      for (auto& [g, o] : s.txn.markers) k_->markers[g] = o;
      s.txn = Txn();
      s.open = false;
      return absl::OkStatus();
    }
    absl::Status AbortTransaction() override {
      Log("abort");
      RETURN_IF_ERROR(Fenced());
      k_->ids[id_].txn = Txn();
      k_->ids[id_].open = false;
      return absl::OkStatus();
    }

   private:
    void Log(const std::string& what) { k_->Log(id_ + " " + what); }
    absl::Status Fenced() const {
      if (epoch_ != k_->ids[id_].epoch) {
        return absl::InternalError("PRODUCER_FENCED: " + id_);
      }
      return absl::OkStatus();
    }
    FakeKafka* k_;
    std::string id_;
    int64_t epoch_ = -1;
  };

  absl::StatusOr<std::unique_ptr<KafkaProducerClient>> NewProducer(
      const std::string& id) override {
    return std::unique_ptr<KafkaProducerClient>(std::make_unique<Producer>(this, id));
  }
  absl::StatusOr<int64_t> CommittedMarker(const std::string& group,
                                          const std::string&) override {
    Log("read-marker " + group);
    auto it = markers.find(group);
    return it == markers.end() ? int64_t{-1} : it->second;
  }

  void Log(std::string s) { log.push_back(std::move(s)); }
  // Calls logged since the last TakeLog.
  std::vector<std::string> TakeLog() { return std::exchange(log, {}); }

  std::map<std::string, IdState> ids;
  std::vector<std::string> committed;        // what a read_committed consumer sees
  std::map<std::string, int64_t> markers;    // committed consumer-group offsets
  std::vector<std::string> log;
};

KafkaSinkOptions FakeOptions(std::shared_ptr<FakeKafka> fake, int32_t pool = 3) {
  KafkaSinkOptions o;
  o.topic = "out";
  o.schema = Schema();
  o.delivery = DeliveryGuarantee::kExactlyOnce;
  o.transactional_id_prefix = "p";
  o.transactional_id_pool_size = pool;
  o.client_factory = std::move(fake);
  return o;
}

TEST(KafkaSinkProtocolTest, OneTransactionPerCheckpointCommittedOnCompletion) {
  auto fake = std::make_shared<FakeKafka>();
  auto sink = MakeKafkaSink(FakeOptions(fake));
  NullOutput out;
  ASSERT_TRUE(sink->Open(Ctx()).ok());
  EXPECT_THAT(fake->TakeLog(), ElementsAre("p-0-0 init", "p-0-1 init", "p-0-2 init"));

  ASSERT_TRUE(sink->ProcessBatch(Rows(0, 2), out).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_TRUE(sink->ProcessBatch(Rows(2, 3), out).ok());  // next transaction, next id
  EXPECT_TRUE(fake->committed.empty());  // nothing visible before checkpoint 1 completes
  ASSERT_TRUE(sink->NotifyCheckpointComplete(1).ok());
  EXPECT_EQ(fake->committed, Values(0, 2));
  EXPECT_THAT(fake->TakeLog(),
              ElementsAre("p-0-0 begin", "p-0-0 produce 0,n0", "p-0-0 produce 1,n1",
                          "p-0-0 marker p-0 1", "p-0-0 flush", "p-0-1 begin",
                          "p-0-1 produce 2,n2", "p-0-0 commit"));
  // An aborted checkpoint's transaction is committed by the next completed one, in order.
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  sink->NotifyCheckpointAborted(2);
  ASSERT_TRUE(sink->ProcessBatch(Rows(3, 4), out).ok());
  ASSERT_TRUE(sink->SnapshotState(3).ok());
  ASSERT_TRUE(sink->NotifyCheckpointComplete(3).ok());
  EXPECT_EQ(fake->committed, Values(0, 4));
  EXPECT_EQ(fake->markers["p-0"], 3);
  sink->Close();
}

TEST(KafkaSinkProtocolTest, RestoreCommitsTheRestoredCheckpointAndFencesTheNewerOne) {
  auto fake = std::make_shared<FakeKafka>();
  NullOutput out;
  std::string state2;
  {
    auto a = MakeKafkaSink(FakeOptions(fake));
    ASSERT_TRUE(a->Open(Ctx()).ok());
    ASSERT_TRUE(a->ProcessBatch(Rows(0, 2), out).ok());
    ASSERT_TRUE(a->SnapshotState(1).ok());
    ASSERT_TRUE(a->NotifyCheckpointComplete(1).ok());
    ASSERT_TRUE(a->ProcessBatch(Rows(2, 4), out).ok());
    auto s = a->SnapshotState(2);
    ASSERT_TRUE(s.ok());
    state2 = *s;
    // Checkpoint 2 completes, but the task fails before its notification commits p-0-1;
    // rows 4..5 are in the open transaction of the next checkpoint (p-0-2).
    ASSERT_TRUE(a->ProcessBatch(Rows(4, 6), out).ok());
    // A crash: no Close (which would abort), the producers just disappear.
  }
  EXPECT_EQ(fake->committed, Values(0, 2));
  fake->TakeLog();

  auto b = MakeKafkaSink(FakeOptions(fake));
  api::OperatorContext ctx = Ctx();
  ctx.restored_state = state2;
  ctx.attempt_number = 1;
  ASSERT_TRUE(b->Open(ctx).ok());
  EXPECT_THAT(fake->TakeLog(),
              ElementsAre("p-0-0 init",                                    //
                          "p-0-1 init", "p-0-1 aborted-by-fencing 2",      // checkpoint 2's
                          "p-0-2 init", "p-0-2 aborted-by-fencing 2",      // the newer one
                          "read-marker p-0",                               // = 1
                          "p-0-0 begin", "p-0-0 produce 2,n2", "p-0-0 produce 3,n3",
                          "p-0-0 marker p-0 2", "p-0-0 flush", "p-0-0 commit"));
  // Rows of checkpoints 1 and 2 exactly once; rows 4, 5 (after the checkpoint) not at all:
  // the source replays them.
  EXPECT_EQ(fake->committed, Values(0, 4));
  ASSERT_TRUE(b->ProcessBatch(Rows(4, 6), out).ok());
  ASSERT_TRUE(b->SnapshotState(3).ok());
  ASSERT_TRUE(b->NotifyCheckpointComplete(3).ok());
  EXPECT_EQ(fake->committed, Values(0, 6));
  b->Close();

  // Restoring checkpoint 2 again (e.g. a second failure) now finds the marker >= 2 and
  // writes nothing twice.
  auto c = MakeKafkaSink(FakeOptions(fake));
  ASSERT_TRUE(c->Open(ctx).ok());
  EXPECT_EQ(fake->committed, Values(0, 6));
  c->Close();
}

TEST(KafkaSinkProtocolTest, RescaleSettlesTheOldSubtasksItTakesOver) {
  auto fake = std::make_shared<FakeKafka>();
  NullOutput out;
  std::vector<std::string> states;
  for (int32_t j = 0; j < 2; ++j) {
    auto a = MakeKafkaSink(FakeOptions(fake, 2));
    ASSERT_TRUE(a->Open(Ctx(j, 2)).ok());
    ASSERT_TRUE(a->ProcessBatch(Rows(10 * j, 10 * j + 2), out).ok());
    auto s = a->SnapshotState(7);
    ASSERT_TRUE(s.ok());
    states.push_back(*s);
  }
  fake->TakeLog();
  auto b = MakeKafkaSink(FakeOptions(fake, 2));
  api::OperatorContext ctx = Ctx(0, 1);
  ctx.restored_union_states = states;
  ctx.restored_parallelism = 2;
  ASSERT_TRUE(b->Open(ctx).ok());
  std::vector<std::string> want = Values(0, 2);
  for (auto& v : Values(10, 12)) want.push_back(v);
  EXPECT_EQ(fake->committed, want);
  EXPECT_EQ(fake->markers["p-0"], 7);
  EXPECT_EQ(fake->markers["p-1"], 7);
  const std::vector<std::string> log = fake->TakeLog();
  EXPECT_NE(std::find(log.begin(), log.end(), "p-1-0 init"), log.end());  // old subtask fenced
  EXPECT_NE(std::find(log.begin(), log.end(), "p-1-1 init"), log.end());
  b->Close();
}

TEST(KafkaSinkProtocolTest, FullPoolFailsWithAClearError) {
  auto fake = std::make_shared<FakeKafka>();
  auto sink = MakeKafkaSink(FakeOptions(fake, 2));
  NullOutput out;
  ASSERT_TRUE(sink->Open(Ctx()).ok());
  ASSERT_TRUE(sink->ProcessBatch(Rows(0, 1), out).ok());
  ASSERT_TRUE(sink->SnapshotState(1).ok());
  ASSERT_TRUE(sink->ProcessBatch(Rows(1, 2), out).ok());
  ASSERT_TRUE(sink->SnapshotState(2).ok());
  absl::Status st = sink->ProcessBatch(Rows(2, 3), out);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("transactional-id-pool-size"));
  sink->Close();
}

TEST(KafkaSinkProtocolTest, OptionErrors) {
  KafkaSinkOptions o = FakeOptions(std::make_shared<FakeKafka>());
  o.transactional_id_prefix.clear();
  EXPECT_THAT(MakeKafkaSink(o)->Open(Ctx()).message(), HasSubstr("transactional-id-prefix"));
  EXPECT_THAT(ParseDeliveryGuarantee("exactly_once").status().message(),
              HasSubstr("none, at-least-once, exactly-once"));
  EXPECT_THAT(ParseSinkPartitioner("hash").status().message(), HasSubstr("round-robin"));
  api::OperatorContext ctx = Ctx();
  ctx.restored_state = "garbage";
  EXPECT_EQ(MakeKafkaSink(FakeOptions(std::make_shared<FakeKafka>()))->Open(ctx).code(),
            absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------------------------
// The mock cluster with a 4-partition topic "out" and a read_committed reader.
class MockKafka {
 public:
  MockKafka() { cluster_.CreateTopic("out", 4); }
  const std::string& bootstrap() const { return cluster_.bootstrap(); }
  rd_kafka_mock_cluster_t* cluster() { return cluster_.cluster(); }

  struct Message {
    int32_t partition;
    std::string key, value;
    bool tombstone = false;  // a null value
  };
  // Reads every partition of `topic` from the start until `count` messages came (or the
  // deadline passed).
  std::vector<Message> Consume(const std::string& topic, size_t count) {
    char err[512];
    rd_kafka_conf_t* conf = testing::QuietConf(bootstrap());
    rd_kafka_conf_set(conf, "group.id", "test-reader", err, sizeof(err));
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; ++p) {
      rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    EXPECT_EQ(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    std::vector<Message> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDeadlineMs);
    while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        got.push_back(Message{m->partition,
                              std::string(static_cast<const char*>(m->key), m->key_len),
                              std::string(static_cast<const char*>(m->payload), m->len),
                              m->payload == nullptr});
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return got;
  }

 private:
  testing::MockCluster cluster_;
};

KafkaSinkOptions MockOptions(const MockKafka& k, DeliveryGuarantee d) {
  KafkaSinkOptions o;
  o.bootstrap_servers = k.bootstrap();
  o.topic = "out";
  o.schema = Schema();
  o.delivery = d;
  o.properties = {{"linger.ms", "5"}};
  return o;
}

std::vector<std::string> ValuesOf(const std::vector<MockKafka::Message>& ms) {
  std::vector<std::string> v;
  for (const auto& m : ms) v.push_back(m.value);
  return v;
}

TEST(KafkaSinkMockTest, AtLeastOnceWritesEveryRowAndFlushesAtCheckpoints) {
  MockKafka kafka;
  KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce);
  o.key_fields = {"name"};
  auto sink = MakeKafkaSink(o);
  api::OperatorMetrics metrics;
  api::OperatorContext ctx = Ctx();
  ctx.metrics = &metrics;
  NullOutput out;
  ASSERT_TRUE(sink->Open(ctx).ok());
  for (int b = 0; b < 5; ++b) {
    ASSERT_TRUE(sink->ProcessBatch(Rows(b * 200, b * 200 + 200), out).ok());
    if (b % 2 == 1) {
      auto st = sink->SnapshotState(b);
      ASSERT_TRUE(st.ok()) << st.status();
    }
  }
  ASSERT_TRUE(sink->Finish(out).ok());
  sink->Close();
  EXPECT_EQ(metrics.records_in.load(), 1000);
  auto got = kafka.Consume("out", 1000);
  EXPECT_THAT(ValuesOf(got), UnorderedElementsAreArray(Values(0, 1000)));
  for (const auto& m : got) {
    EXPECT_EQ(m.key, m.value.substr(m.value.find(',') + 1));  // key = the name field
  }
}

// Upsert (Flink's upsert-kafka): +I/+U are messages keyed by the key fields, -U rows are not
// written, -D rows are tombstones (the key with a null value).
TEST(KafkaSinkMockTest, UpsertWritesTombstonesForDeletes) {
  MockKafka kafka;
  KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce);
  o.key_fields = {"id"};
  o.upsert = true;
  auto sink = MakeKafkaSink(o);
  NullOutput out;
  ASSERT_TRUE(sink->Open(Ctx()).ok());
  core::RecordBatch b(Schema());
  const std::vector<std::tuple<int64_t, const char*, core::RowKind>> rows = {
      {1, "a", core::RowKind::kInsert}, {1, "a", core::RowKind::kUpdateBefore},
      {1, "b", core::RowKind::kUpdateAfter}, {2, "c", core::RowKind::kInsert},
      {2, "c", core::RowKind::kDelete}};
  for (const auto& [id, name, kind] : rows) {
    const size_t r = b.AppendRow(core::kNoTimestamp, kind);
    b.SetInt64(r, 0, id);
    b.SetString(r, 1, name);
  }
  ASSERT_TRUE(sink->ProcessBatch(b, out).ok());
  ASSERT_TRUE(sink->Finish(out).ok());
  sink->Close();
  std::vector<std::string> got;
  for (const auto& m : kafka.Consume("out", 4)) {
    got.push_back(m.key + "=" + (m.tombstone ? "<tombstone>" : m.value));
  }
  EXPECT_THAT(got, UnorderedElementsAreArray({"1=1,a", "1=1,b", "2=2,c", "2=<tombstone>"}));
}

TEST(KafkaSinkMockTest, ExactlyOnceCommitsOneTransactionPerCheckpoint) {
  MockKafka kafka;
  KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kExactlyOnce);
  o.transactional_id_prefix = "eos-test";
  o.transactional_id_pool_size = 2;
  NullOutput out;
  std::string state;
  {
    auto sink = MakeKafkaSink(o);
    ASSERT_TRUE(sink->Open(Ctx()).ok());
    for (int64_t n = 1; n <= 3; ++n) {
      ASSERT_TRUE(sink->ProcessBatch(Rows((n - 1) * 100, n * 100), out).ok());
      auto st = sink->SnapshotState(n);
      ASSERT_TRUE(st.ok()) << st.status();
      state = *st;
      absl::Status c = sink->NotifyCheckpointComplete(n);
      ASSERT_TRUE(c.ok()) << c;
    }
    sink->Close();
  }
  EXPECT_THAT(ValuesOf(kafka.Consume("out", 300)), UnorderedElementsAreArray(Values(0, 300)));
  // The commit marker goes through the transaction and group coordinators without error.
  // librdkafka 2.0.2's mock answers TxnOffsetCommit but does not store the offsets, so it reads
  // as "none" here (a real broker answers 3).
  auto factory = MakeRdKafkaClientFactory(o, 0, "marker-check");
  ASSERT_TRUE(factory.ok());
  auto marker = (*factory)->CommittedMarker("eos-test-0", "out");
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(*marker, -1);
  // Restoring checkpoint 3: the restore fences the pool, reads the marker and, since the mock
  // shows none, re-produces checkpoint 3's saved messages in a new transaction and commits
  // it. (On a real broker the marker 3 would make it write nothing.)
  auto again = MakeKafkaSink(o);
  api::OperatorContext ctx = Ctx();
  ctx.restored_state = state;
  absl::Status st = again->Open(ctx);
  ASSERT_TRUE(st.ok()) << st;
  again->Close();
  std::vector<std::string> want = Values(0, 300);
  for (auto& v : Values(200, 300)) want.push_back(v);
  EXPECT_THAT(ValuesOf(kafka.Consume("out", 400)), UnorderedElementsAreArray(want));
}

TEST(KafkaSinkMockTest, DeliveryErrorFailsTheTaskWithTheBrokersMessage) {
  MockKafka kafka;
  // Every Produce request is refused with a non-retriable error.
  testing::RefuseProduceRequests(kafka.cluster(), 20,
                                 RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto sink = MakeKafkaSink(MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce));
  NullOutput out;
  ASSERT_TRUE(sink->Open(Ctx()).ok());
  ASSERT_TRUE(sink->ProcessBatch(Rows(0, 10), out).ok());
  auto st = sink->SnapshotState(1);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.status().message(), HasSubstr("kafka sink: topic 'out' subtask 0"));
  EXPECT_THAT(st.status().message(), HasSubstr("Topic authorization failed"));
  // And the next batch fails too: the error is never forgotten.
  EXPECT_FALSE(sink->ProcessBatch(Rows(10, 11), out).ok());
  sink->Close();
}

TEST(KafkaSinkMockTest, BrokersDownTimesOutDeliveriesIntoATaskFailure) {
  MockKafka kafka;
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(kafka.cluster(), b);
  KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce);
  o.properties["message.timeout.ms"] = "500";
  auto sink = MakeKafkaSink(o);
  NullOutput out;
  ASSERT_TRUE(sink->Open(Ctx()).ok());
  ASSERT_TRUE(sink->ProcessBatch(Rows(0, 3), out).ok());
  absl::Status st = sink->Finish(out);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("delivery failed: Local: Message timed out"));
  sink->Close();
}

TEST(KafkaSinkMockTest, FixedAndRoundRobinPartitioners) {
  MockKafka kafka;
  {
    KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce);
    o.partitioner = SinkPartitioner::kFixed;
    auto sink = MakeKafkaSink(o);
    NullOutput out;
    ASSERT_TRUE(sink->Open(Ctx(/*subtask=*/6, /*parallelism=*/8)).ok());
    ASSERT_TRUE(sink->ProcessBatch(Rows(0, 40), out).ok());
    ASSERT_TRUE(sink->Finish(out).ok());
    sink->Close();
  }
  auto got = kafka.Consume("out", 40);
  ASSERT_EQ(got.size(), 40u);
  for (const auto& m : got) EXPECT_EQ(m.partition, 2);  // 6 mod 4
  {
    KafkaSinkOptions o = MockOptions(kafka, DeliveryGuarantee::kAtLeastOnce);
    o.partitioner = SinkPartitioner::kRoundRobin;
    o.key_fields = {"id"};  // ignored by round-robin
    auto sink = MakeKafkaSink(o);
    NullOutput out;
    ASSERT_TRUE(sink->Open(Ctx()).ok());
    ASSERT_TRUE(sink->ProcessBatch(Rows(100, 140), out).ok());
    ASSERT_TRUE(sink->Finish(out).ok());
    sink->Close();
  }
  got = kafka.Consume("out", 80);
  ASSERT_EQ(got.size(), 80u);
  std::map<int32_t, int> per_partition;
  for (const auto& m : got) {
    if (m.value.rfind("1", 0) == 0 && m.value.size() > 6) ++per_partition[m.partition];
  }
  EXPECT_THAT(per_partition, ElementsAre(std::pair(0, 10), std::pair(1, 10), std::pair(2, 10),
                                         std::pair(3, 10)));
}

}  // namespace
}  // namespace sluice::connectors::kafka
