#include "tools/kafka-dev/fetch_coalescer.h"

#include <deque>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::tools {
namespace {

void Put(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A magic-2 record batch of `count` records from `base` (only the header fields read matter).
std::vector<uint8_t> Batch(int64_t base, int count) {
  std::vector<uint8_t> b;
  Put(b, static_cast<uint64_t>(base), 8);
  Put(b, 49, 4);  // batchLength: the rest of a record batch header
  Put(b, 0, 4);   // partitionLeaderEpoch
  b.push_back(2);  // magic
  Put(b, 0, 4);   // crc
  Put(b, 0, 2);   // attributes
  Put(b, static_cast<uint64_t>(count - 1), 4);  // lastOffsetDelta
  b.resize(12 + 49, 0);
  return b;
}

// Fetch v11 request for flights-0 at `offset`.
std::vector<uint8_t> Request(int64_t offset) {
  std::vector<uint8_t> r;
  Put(r, 1, 2), Put(r, 11, 2), Put(r, 5, 4), Put(r, 0xFFFF, 2);  // header, null client id
  Put(r, 0xFFFFFFFF, 4), Put(r, 0, 4), Put(r, 1, 4), Put(r, 1 << 20, 4);  // replica..max_bytes
  r.push_back(0);                                                     // isolation_level
  Put(r, 0, 4), Put(r, 0xFFFFFFFF, 4);                                // session id, epoch
  Put(r, 1, 4), Put(r, 7, 2);
  for (char c : std::string("flights")) r.push_back(static_cast<uint8_t>(c));
  Put(r, 1, 4), Put(r, 0, 4), Put(r, 0xFFFFFFFF, 4);  // one partition 0, leader epoch -1
  Put(r, static_cast<uint64_t>(offset), 8), Put(r, 0, 8), Put(r, 1 << 20, 4);
  Put(r, 0, 4), Put(r, 0, 2);  // no forgotten topics, empty rack id
  return r;
}

std::vector<uint8_t> Response(int64_t high_watermark, const std::vector<uint8_t>& records,
                              int16_t error = 0) {
  kafka::FetchResponse r;
  r.version = 11;
  r.correlation_id = 5;
  kafka::FetchResponseTopic& t = r.topics.emplace_back();
  t.topic = "flights";
  kafka::FetchResponsePartition& p = t.partitions.emplace_back();
  p.error_code = error;
  p.high_watermark = high_watermark;
  p.aborted_transactions = {0, 0, 0, 0};
  p.records = records;
  return kafka::SerializeFetchResponse(r);
}

int64_t FetchOffsetOf(const std::vector<uint8_t>& request) {
  auto header = kafka::ParseRequestHeader(request);
  auto parts = kafka::ParseFetchRequestPartitions(request, *header);
  int64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | request[(*parts)[0].fetch_offset_at + i];
  return v;
}

TEST(FetchCoalescerTest, AppendsTheBatchesThatFollowUntilNoneCome) {
  std::vector<uint8_t> request = Request(0);
  auto header = kafka::ParseRequestHeader(request);
  ASSERT_TRUE(header.ok());
  // The broker holds batches [0], [1,2] and [3]; each fetch returns one.
  std::deque<std::vector<uint8_t>> answers = {Response(4, Batch(1, 2)), Response(4, Batch(3, 1)),
                                              Response(4, {})};
  std::vector<int64_t> asked;
  RoundTrip broker = [&](std::span<const uint8_t> frame) -> absl::StatusOr<std::vector<uint8_t>> {
    asked.push_back(FetchOffsetOf({frame.begin(), frame.end()}));
    auto next = answers.front();
    answers.pop_front();
    return next;
  };
  auto merged = CoalesceFetch(request, *header, Response(1, Batch(0, 1)), broker);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(asked, (std::vector<int64_t>{1, 3, 4}));
  auto parsed = kafka::ParseFetchResponse(*merged, 11);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const kafka::FetchResponsePartition& p = parsed->topics[0].partitions[0];
  EXPECT_EQ(p.high_watermark, 4);
  EXPECT_EQ(p.records.size(), 3 * 61u);
  auto next = kafka::NextOffsetAfter(p.records);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(**next, 4);
}

TEST(FetchCoalescerTest, StopsAtAnErrorAndKeepsWhatItHas) {
  std::vector<uint8_t> request = Request(0);
  auto header = kafka::ParseRequestHeader(request);
  std::deque<std::vector<uint8_t>> answers = {Response(4, {}, 6)};  // NOT_LEADER
  RoundTrip broker = [&](std::span<const uint8_t>) -> absl::StatusOr<std::vector<uint8_t>> {
    auto next = answers.front();
    answers.pop_front();
    return next;
  };
  std::vector<uint8_t> first = Response(1, Batch(0, 1));
  auto merged = CoalesceFetch(request, *header, first, broker);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, first);
}

TEST(FetchCoalescerTest, AnErrorResponseIsPassedOnWithoutFetchingAgain) {
  std::vector<uint8_t> request = Request(0);
  auto header = kafka::ParseRequestHeader(request);
  int calls = 0;
  RoundTrip broker = [&](std::span<const uint8_t>) -> absl::StatusOr<std::vector<uint8_t>> {
    ++calls;
    return Response(0, {});
  };
  std::vector<uint8_t> failed = Response(0, {}, 1);  // OFFSET_OUT_OF_RANGE
  auto merged = CoalesceFetch(request, *header, failed, broker);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, failed);
  EXPECT_EQ(calls, 0);
}

TEST(FetchCoalescerTest, ABrokenConnectionIsAnError) {
  std::vector<uint8_t> request = Request(0);
  auto header = kafka::ParseRequestHeader(request);
  RoundTrip broker = [](std::span<const uint8_t>) -> absl::StatusOr<std::vector<uint8_t>> {
    return absl::UnavailableError("closed");
  };
  EXPECT_FALSE(CoalesceFetch(request, *header, Response(1, Batch(0, 1)), broker).ok());
}

}  // namespace
}  // namespace sluice::tools
