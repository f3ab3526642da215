// The Kafka dead-letter queue (dead_letter.h) against librdkafka's in-process mock cluster:
// dead letters arrive with the original key, value and timestamp and the error headers; a
// delivery failure reaches Flush; bad options are refused up front.

#include "runtime/connectors/kafka/dead_letter.h"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/connectors/kafka/tests/mock_cluster.h"

namespace sluice::connectors::kafka {
namespace {

constexpr int kDeadlineMs = 20'000;

struct Consumed {
  std::string key, value;
  int64_t timestamp_ms = -1;
  std::map<std::string, std::string> headers;
};

// Reads `count` messages of partition 0..partitions-1 of `topic` from the start (or until the
// deadline).
std::vector<Consumed> ConsumeAll(const std::string& bootstrap, const std::string& topic,
                                 int partitions, size_t count) {
  char err[512];
  rd_kafka_conf_t* conf = testing::QuietConf(bootstrap);
  rd_kafka_conf_set(conf, "group.id", "dlq-reader", err, sizeof(err));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  std::vector<Consumed> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDeadlineMs);
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Consumed r;
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      r.value.assign(static_cast<const char*>(m->payload), m->len);
      r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      got.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return got;
}

TEST(KafkaDeadLetterTest, BadRecordsArriveWithOriginalBytesAndErrorHeaders) {
  testing::MockCluster cluster;
  cluster.CreateTopic("flights-dlq", 1);
  auto sink = MakeKafkaDeadLetterSink({cluster.bootstrap(), "flights-dlq", {{"linger.ms", "5"}}});
  ASSERT_TRUE(sink.ok()) << sink.status();
  const std::string binary("\x00\xff" "delay", 7);
  ASSERT_TRUE((*sink)->Write({"flights", 2, 17, 1700000000123, "ATL", "2001-01-01,x,1,ATL,SAV",
                              "csv: field 'delay': 'x' is not an int64"})
                  .ok());
  ASSERT_TRUE((*sink)->Write({"flights", 0, 5, -1, "", binary, "json: not an object"}).ok());
  ASSERT_TRUE((*sink)->Flush().ok());

  auto got = ConsumeAll(cluster.bootstrap(), "flights-dlq", 1, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "ATL");
  EXPECT_EQ(got[0].value, "2001-01-01,x,1,ATL,SAV");
  EXPECT_EQ(got[0].timestamp_ms, 1700000000123);
  EXPECT_EQ(got[0].headers, (std::map<std::string, std::string>{
                                {"sluice.error.message", "csv: field 'delay': 'x' is not an int64"},
                                {"sluice.error.topic", "flights"},
                                {"sluice.error.partition", "2"},
                                {"sluice.error.offset", "17"}}));
  EXPECT_EQ(got[1].key, "");  // no key: none written
  EXPECT_EQ(got[1].value, binary);
  EXPECT_EQ(got[1].headers.at("sluice.error.offset"), "5");
  EXPECT_EQ(got[1].headers.at("sluice.error.message"), "json: not an object");
}

TEST(KafkaDeadLetterTest, ConcurrentWritersFromSeveralSubtasksAllArrive) {
  testing::MockCluster cluster;
  cluster.CreateTopic("dlq", 2);
  auto sink = MakeKafkaDeadLetterSink({cluster.bootstrap(), "dlq", {}});
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string value = std::to_string(t * 1000 + i);
        EXPECT_TRUE((*sink)->Write({"in", t, i, -1, "", value, "bad"}).ok());
      }
      EXPECT_TRUE((*sink)->Flush().ok());
    });
  }
  for (auto& w : writers) w.join();
  auto got = ConsumeAll(cluster.bootstrap(), "dlq", 2, 200);
  std::set<std::string> values;
  for (const auto& g : got) values.insert(g.value);
  EXPECT_EQ(values.size(), 200u);
}

TEST(KafkaDeadLetterTest, DeliveryFailureFailsFlushWithTheBrokersMessage) {
  testing::MockCluster cluster;
  cluster.CreateTopic("dlq", 1);
  // Every produce to the topic is refused by the broker.
  testing::RefuseProduceRequests(cluster.cluster(), 10,
                                 RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto sink = MakeKafkaDeadLetterSink({cluster.bootstrap(), "dlq", {}});
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write({"in", 0, 1, -1, "", "v", "bad"}).ok());
  absl::Status st = (*sink)->Flush();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_NE(st.message().find("kafka dead-letter topic 'dlq': delivery failed"), std::string::npos)
      << st;
  EXPECT_NE(st.message().find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos) << st;
}

TEST(KafkaDeadLetterTest, BadOptionsAreRefusedNamingWhat) {
  auto no_topic = MakeKafkaDeadLetterSink({"127.0.0.1:9", "", {}});
  EXPECT_EQ(no_topic.status().message(), "kafka dead-letter queue: topic is required");
  auto txn = MakeKafkaDeadLetterSink({"127.0.0.1:9", "dlq", {{"transactional.id", "x"}}});
  EXPECT_EQ(txn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(txn.status().message().find("transactional.id"), std::string::npos);
  // A property librdkafka does not know fails at the first write (the producer is lazy).
  auto unknown = MakeKafkaDeadLetterSink({"127.0.0.1:9", "dlq", {{"no.such.property", "1"}}});
  ASSERT_TRUE(unknown.ok());
  absl::Status st = (*unknown)->Write({"in", 0, 1, -1, "", "v", "bad"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("no.such.property"), std::string::npos) << st;
  EXPECT_TRUE((*unknown)->Flush().ok());  // nothing was produced
}

}  // namespace
}  // namespace sluice::connectors::kafka
