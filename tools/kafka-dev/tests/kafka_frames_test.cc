#include "tools/kafka-dev/kafka_frames.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::tools::kafka {
namespace {

// Builds frames the way the Kafka protocol lays them out (big-endian, int16-length strings).
class Frame {
 public:
  Frame& I16(int16_t v) { return Int(static_cast<uint16_t>(v), 2); }
  Frame& I32(int32_t v) { return Int(static_cast<uint32_t>(v), 4); }
  Frame& I64(int64_t v) { return Int(static_cast<uint64_t>(v), 8); }
  Frame& Str(const std::string& s) {
    I16(static_cast<int16_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Frame& NullStr() { return I16(-1); }
  Frame& Bytes(int n) {
    I32(n);
    bytes.insert(bytes.end(), static_cast<size_t>(n), uint8_t{0x42});
    return *this;
  }
  int32_t I32At(size_t offset) const {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | bytes[offset + i];
    return static_cast<int32_t>(v);
  }

  std::vector<uint8_t> bytes;

 private:
  Frame& Int(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
};

Frame RequestHead(ApiKey key, int16_t version, const char* client_id = "rdkafka") {
  Frame f;
  f.I16(static_cast<int16_t>(key)).I16(version).I32(77);
  if (client_id == nullptr) {
    f.NullStr();
  } else {
    f.Str(client_id);
  }
  return f;
}

// A Fetch v11 response with one topic and one partition holding `records` bytes.
Frame FetchResponseV11(int16_t top_error, int16_t partition_error, int records,
                       int aborted = 0) {
  Frame f;
  f.I32(77).I32(0).I16(top_error).I32(0);  // correlation, throttle, error, session
  f.I32(1).Str("flights").I32(1);          // one topic, one partition
  f.I32(3).I16(partition_error).I64(100).I64(100).I64(0);
  f.I32(aborted);
  for (int i = 0; i < aborted; ++i) f.I64(9).I64(10);
  f.I32(-1);  // preferred_read_replica
  f.Bytes(records);
  return f;
}

TEST(KafkaFramesTest, ParsesARequestHeaderWithAndWithoutClientId) {
  Frame f = RequestHead(ApiKey::kFetch, 11);
  auto header = ParseRequestHeader(f.bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->api_key, 1);
  EXPECT_EQ(header->api_version, 11);
  EXPECT_EQ(header->correlation_id, 77);
  EXPECT_EQ(header->body_offset, 8u + 2u + 7u);

  Frame null_id = RequestHead(ApiKey::kMetadata, 2, nullptr);
  header = ParseRequestHeader(null_id.bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->body_offset, 10u);
}

TEST(KafkaFramesTest, TruncatedHeaderIsAnErrorNamingTheField) {
  Frame f = RequestHead(ApiKey::kFetch, 11);
  f.bytes.resize(12);  // client_id cut short
  auto header = ParseRequestHeader(f.bytes);
  ASSERT_FALSE(header.ok());
  EXPECT_NE(std::string(header.status().message()).find("client_id"), std::string::npos)
      << header.status();
}

TEST(KafkaFramesTest, ReplacesFetchMaxWaitInPlace) {
  Frame f = RequestHead(ApiKey::kFetch, 11);
  f.I32(-1).I32(500).I32(1);  // replica_id, max_wait_ms, min_bytes
  auto header = ParseRequestHeader(f.bytes);
  ASSERT_TRUE(header.ok());
  size_t size = f.bytes.size();
  auto old_wait = ReplaceFetchMaxWait(f.bytes, *header, 0);
  ASSERT_TRUE(old_wait.ok()) << old_wait.status();
  EXPECT_EQ(*old_wait, 500);
  EXPECT_EQ(f.I32At(header->body_offset + 4), 0);
  EXPECT_EQ(f.I32At(header->body_offset + 8), 1);  // min_bytes untouched
  EXPECT_EQ(f.bytes.size(), size);
}

TEST(KafkaFramesTest, RefusesToRewriteAnythingButAKnownFetch) {
  Frame f = RequestHead(ApiKey::kFetch, 12);
  f.I32(-1).I32(500);
  auto header = ParseRequestHeader(f.bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(ReplaceFetchMaxWait(f.bytes, *header, 0).ok());
  Frame produce = RequestHead(ApiKey::kProduce, 7);
  produce.I32(-1).I32(500);
  header = ParseRequestHeader(produce.bytes);
  EXPECT_FALSE(ReplaceFetchMaxWait(produce.bytes, *header, 0).ok());
}

TEST(KafkaFramesTest, FetchResponseHasNewsOnlyWithRecordsOrErrors) {
  auto empty = FetchResponseHasNews(FetchResponseV11(0, 0, 0).bytes, 11);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(*empty);
  EXPECT_TRUE(*FetchResponseHasNews(FetchResponseV11(0, 0, 61).bytes, 11));
  EXPECT_TRUE(*FetchResponseHasNews(FetchResponseV11(0, 6, 0).bytes, 11));   // NOT_LEADER
  EXPECT_TRUE(*FetchResponseHasNews(FetchResponseV11(15, 0, 0).bytes, 11));  // top-level error
  // Aborted transactions are skipped over to reach the records.
  EXPECT_FALSE(*FetchResponseHasNews(FetchResponseV11(0, 0, 0, 2).bytes, 11));
  EXPECT_TRUE(*FetchResponseHasNews(FetchResponseV11(0, 0, 5, 2).bytes, 11));
}

TEST(KafkaFramesTest, FetchResponseOfOldVersionsAndTruncation) {
  // v0: no throttle time, no offsets beyond the high watermark; a null (-1) records field.
  Frame v0;
  v0.I32(77).I32(1).Str("t").I32(2);
  v0.I32(0).I16(0).I64(5).I32(-1);
  v0.I32(1).I16(0).I64(5).I32(0);
  auto news = FetchResponseHasNews(v0.bytes, 0);
  ASSERT_TRUE(news.ok()) << news.status();
  EXPECT_FALSE(*news);

  Frame cut = FetchResponseV11(0, 0, 10);
  cut.bytes.resize(cut.bytes.size() - 13);  // into the records length
  news = FetchResponseHasNews(cut.bytes, 11);
  ASSERT_FALSE(news.ok());
  EXPECT_NE(std::string(news.status().message()).find("records"), std::string::npos)
      << news.status();
  EXPECT_FALSE(FetchResponseHasNews(FetchResponseV11(0, 0, 0).bytes, 12).ok());
}

TEST(KafkaFramesTest, ProduceWithAcksZeroExpectsNoResponse) {
  Frame v3 = RequestHead(ApiKey::kProduce, 3);
  v3.NullStr().I16(0).I32(30000);  // transactional_id, acks, timeout
  auto header = ParseRequestHeader(v3.bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(*ProduceExpectsResponse(v3.bytes, *header));

  Frame txn = RequestHead(ApiKey::kProduce, 7);
  txn.Str("sluice-sink-0").I16(-1).I32(30000);
  header = ParseRequestHeader(txn.bytes);
  EXPECT_TRUE(*ProduceExpectsResponse(txn.bytes, *header));

  Frame v2 = RequestHead(ApiKey::kProduce, 2);
  v2.I16(1).I32(30000);  // no transactional_id before v3
  header = ParseRequestHeader(v2.bytes);
  EXPECT_TRUE(*ProduceExpectsResponse(v2.bytes, *header));
}

TEST(KafkaFramesTest, RewritesMetadataBrokerPorts) {
  Frame f;
  f.I32(77).I32(2);
  f.I32(1).Str("127.0.0.1").I32(40001).NullStr();
  f.I32(2).Str("127.0.0.1").I32(40002).Str("rack-b");
  f.I32(1).I32(0);  // controller_id, topics (left as they are)
  PortMap ports{{40001, 50001}};
  ASSERT_TRUE(RewriteBrokerPorts(f.bytes, ApiKey::kMetadata, 1, ports).ok());
  EXPECT_EQ(f.I32At(4 + 4 + 4 + 2 + 9), 50001);
  size_t second = 4 + 4 + (4 + 2 + 9 + 4 + 2) + 4 + 2 + 9;
  EXPECT_EQ(f.I32At(second), 40002);  // not in the map: unchanged
}

TEST(KafkaFramesTest, RewritesFindCoordinatorPort) {
  Frame v1;
  v1.I32(77).I32(0).I16(0).NullStr().I32(3).Str("127.0.0.1").I32(40003);
  ASSERT_TRUE(RewriteBrokerPorts(v1.bytes, ApiKey::kFindCoordinator, 1, {{40003, 50003}}).ok());
  EXPECT_EQ(v1.I32At(v1.bytes.size() - 4), 50003);

  Frame v0;
  v0.I32(77).I16(0).I32(3).Str("127.0.0.1").I32(40003);
  ASSERT_TRUE(RewriteBrokerPorts(v0.bytes, ApiKey::kFindCoordinator, 0, {{40003, 50003}}).ok());
  EXPECT_EQ(v0.I32At(v0.bytes.size() - 4), 50003);

  Frame v3;
  EXPECT_FALSE(RewriteBrokerPorts(v3.bytes, ApiKey::kFindCoordinator, 3, {}).ok());
  EXPECT_FALSE(RewriteBrokerPorts(v0.bytes, ApiKey::kProduce, 0, {}).ok());
}

}  // namespace
}  // namespace sluice::tools::kafka
