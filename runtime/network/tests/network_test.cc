#include <atomic>
#include <algorithm>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"
#include "runtime/network/channels.h"
#include "runtime/network/record_writer.h"

namespace sluice::network {
namespace {

using core::RecordBatch;

core::SchemaPtr KeySchema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"origin", core::Type::kString}, {"n", core::Type::kInt64}});
}

// Drains all events currently in the gate (without waiting).
std::vector<NetworkEvent> Drain(InputGate& gate) {
  std::vector<NetworkEvent> out;
  for (;;) {
    auto ev = gate.Next(0);
    EXPECT_TRUE(ev.ok());
    if (!ev.ok() || !ev->has_value()) return out;
    out.push_back(std::move(**ev));
  }
}

TEST(Credits, ProducerBlocksWithoutCreditAndResumesWhenConsumerReturnsOne) {
  auto gate = std::make_shared<InputGate>(std::vector<int>{1});
  LocalOutputChannel ch(gate, 0, /*credits=*/2);
  auto buffer = [] {
    NetworkEvent e;
    e.buffer = "x";
    return e;
  };
  ASSERT_TRUE(ch.Send(buffer()).ok());
  ASSERT_TRUE(ch.Send(buffer()).ok());
  std::atomic<bool> third_sent{false};
  std::thread producer([&] {
    ASSERT_TRUE(ch.Send(buffer()).ok());
    third_sent = true;
  });
  // The consumer holds both buffers: the producer must still be blocked once both are queued.
  auto first = gate->Next(-1);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_FALSE(third_sent.load());
  gate->ReturnCredit(0);  // consumer processed one buffer
  producer.join();
  EXPECT_TRUE(third_sent.load());
  EXPECT_EQ(Drain(*gate).size(), 2u);
}

TEST(Credits, EventsNeedNoCreditAndCancelUnblocksProducer) {
  auto gate = std::make_shared<InputGate>(std::vector<int>{1});
  LocalOutputChannel ch(gate, 0, 0);
  NetworkEvent wm;
  wm.kind = NetworkEvent::Kind::kWatermark;
  EXPECT_TRUE(ch.Send(wm).ok());
  std::thread producer([&] { EXPECT_EQ(ch.Send(NetworkEvent{}).code(), absl::StatusCode::kCancelled); });
  ch.Cancel();
  producer.join();
  gate->Cancel();
  EXPECT_EQ(gate->Next(-1).status().code(), absl::StatusCode::kCancelled);
}

struct Consumers {
  std::vector<std::shared_ptr<InputGate>> gates;
  std::vector<std::unique_ptr<OutputChannel>> channels;
  explicit Consumers(int n) {
    for (int i = 0; i < n; ++i) {
      gates.push_back(std::make_shared<InputGate>(std::vector<int>{1}));
      channels.push_back(std::make_unique<LocalOutputChannel>(gates.back(), 0, 1000));
    }
  }
};

std::vector<std::string> Keys(const std::vector<NetworkEvent>& events, core::SchemaPtr schema) {
  std::vector<std::string> keys;
  for (const auto& e : events) {
    if (e.kind != NetworkEvent::Kind::kBuffer) continue;
    // Local channels hand the batch over as it is: nothing serialised.
    EXPECT_TRUE(e.buffer.empty());
    EXPECT_NE(e.batch, nullptr);
    if (e.batch == nullptr) continue;
    EXPECT_EQ(e.batch->schema(), *schema);
    for (size_t r = 0; r < e.batch->num_rows(); ++r) keys.emplace_back(e.batch->GetString(r, 0));
  }
  return keys;
}

TEST(RecordWriter, HashPartitionsByKeyGroupLikeFlink) {
  auto schema = KeySchema();
  Consumers c(4);
  RecordWriterOptions opts;
  opts.partitioner = graph::PartitionerKind::kHash;
  opts.key_selector = *core::KeySelector::Create(*schema, {"origin"});
  opts.max_parallelism = 128;
  RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
  RecordBatch b(schema);
  const std::vector<std::string> keys = {"ATL", "ORD", "DFW", "LAX", "SFO", "JFK", "ANC"};
  for (const auto& k : keys) {
    size_t r = b.AppendRow(0);
    b.SetString(r, 0, k);
  }
  ASSERT_TRUE(w.Emit(b).ok());
  ASSERT_TRUE(w.Finish().ok());
  // Expected routing from the Flink-computed table in key_groups_test.
  const std::vector<std::vector<std::string>> expect = {
      {"LAX"}, {"ATL", "SFO"}, {}, {"ORD", "DFW", "JFK", "ANC"}};
  const auto selector = *core::KeySelector::Create(*schema, {"origin"});
  for (size_t i = 0; i < 4; ++i) {
    auto events = Drain(*c.gates[i]);
    EXPECT_EQ(Keys(events, schema), expect[i]) << i;
    // Each row's key group comes along for the keyed operator behind the edge.
    for (const auto& e : events) {
      if (e.batch == nullptr) continue;
      ASSERT_EQ(e.batch->key_group_tag(), selector.KeyGroupTag(128));
      for (size_t r = 0; r < e.batch->num_rows(); ++r) {
        EXPECT_EQ(e.batch->key_group(r), selector.KeyGroup(*e.batch, r, 128));
      }
    }
  }
}

RecordBatch SixRows(core::SchemaPtr schema) {
  RecordBatch b(schema);
  for (int i = 0; i < 6; ++i) {
    size_t r = b.AppendRow(i);
    b.SetString(r, 0, std::to_string(i));
  }
  return b;
}

TEST(RecordWriter, BroadcastSendsEveryRowToEveryConsumer) {
  auto schema = KeySchema();
  Consumers c(3);
  RecordWriterOptions opts;
  opts.partitioner = graph::PartitionerKind::kBroadcast;
  RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
  ASSERT_TRUE(w.Emit(SixRows(schema)).ok());
  ASSERT_TRUE(w.Finish().ok());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Keys(Drain(*c.gates[i]), schema),
              (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}))
        << i;
  }
}

// Flink's RescalePartitioner: producer i of p round-robins over its own group of consumers.
TEST(RecordWriter, RescaleRoundRobinsWithinTheProducersGroup) {
  auto schema = KeySchema();
  for (int subtask : {0, 1}) {
    Consumers c(4);
    RecordWriterOptions opts;
    opts.partitioner = graph::PartitionerKind::kRescale;
    opts.subtask_index = subtask;
    opts.num_producers = 2;  // 2 producers, 4 consumers: producer 0 -> {0, 1}, 1 -> {2, 3}
    RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
    ASSERT_TRUE(w.Emit(SixRows(schema)).ok());
    ASSERT_TRUE(w.Finish().ok());
    std::vector<std::vector<std::string>> got;
    for (size_t i = 0; i < 4; ++i) got.push_back(Keys(Drain(*c.gates[i]), schema));
    const std::vector<std::string> even = {"0", "2", "4"}, odd = {"1", "3", "5"}, none = {};
    if (subtask == 0) {
      EXPECT_EQ(got, (std::vector<std::vector<std::string>>{even, odd, none, none}));
    } else {
      EXPECT_EQ(got, (std::vector<std::vector<std::string>>{none, none, even, odd}));
    }
  }
  // 4 producers, 2 consumers: producers 0 and 1 feed consumer 0 only, 2 and 3 consumer 1.
  Consumers c(2);
  RecordWriterOptions opts;
  opts.partitioner = graph::PartitionerKind::kRescale;
  opts.subtask_index = 3;
  opts.num_producers = 4;
  RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
  ASSERT_TRUE(w.Emit(SixRows(schema)).ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_TRUE(Keys(Drain(*c.gates[0]), schema).empty());
  EXPECT_EQ(Keys(Drain(*c.gates[1]), schema).size(), 6u);
}

TEST(RecordWriter, WatermarkStatusFollowsPendingData) {
  auto schema = KeySchema();
  Consumers c(1);
  RecordWriterOptions opts;
  opts.buffer_timeout_ms = 1000000;
  RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
  ASSERT_TRUE(w.Emit(SixRows(schema)).ok());
  ASSERT_TRUE(w.EmitWatermarkStatus(api::WatermarkStatus::kIdle).ok());
  auto events = Drain(*c.gates[0]);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, NetworkEvent::Kind::kBuffer);  // data first, never overtaken
  EXPECT_EQ(events[1].kind, NetworkEvent::Kind::kWatermarkStatus);
  EXPECT_TRUE(events[1].idle);
}

TEST(RecordWriter, RebalanceRoundRobinsAndWatermarkFollowsDataThenEndOfPartition) {
  auto schema = KeySchema();
  Consumers c(3);
  RecordWriterOptions opts;
  opts.partitioner = graph::PartitionerKind::kRebalance;
  opts.subtask_index = 1;
  opts.buffer_timeout_ms = 1000000;  // only explicit flushes
  RecordWriter w(schema, std::move(opts), std::move(c.channels), nullptr);
  RecordBatch b(schema);
  for (int i = 0; i < 6; ++i) {
    size_t r = b.AppendRow(i);
    b.SetString(r, 0, std::to_string(i));
  }
  ASSERT_TRUE(w.Emit(b).ok());
  ASSERT_TRUE(w.EmitWatermark(42).ok());
  // Nothing is sent before a flush: batching.
  EXPECT_TRUE(Drain(*c.gates[0]).empty());
  ASSERT_TRUE(w.Finish().ok());
  const std::vector<std::vector<std::string>> expect = {{"2", "5"}, {"0", "3"}, {"1", "4"}};
  for (size_t i = 0; i < 3; ++i) {
    auto events = Drain(*c.gates[i]);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, NetworkEvent::Kind::kBuffer);
    EXPECT_EQ(events[1].kind, NetworkEvent::Kind::kWatermark);
    EXPECT_EQ(events[1].watermark, 42);
    EXPECT_EQ(events[2].kind, NetworkEvent::Kind::kEndOfPartition);
    EXPECT_EQ(Keys(events, schema), expect[i]);
  }
}

}  // namespace
}  // namespace sluice::network

#include "runtime/network/watermark_valve.h"

namespace sluice::network {
namespace {

std::optional<int64_t> Wm(const ValveUpdate& u) { return u.watermark; }

TEST(WatermarkValve, CombinedWatermarkIsTheMinimumOverChannels) {
  WatermarkValve v(3);
  EXPECT_EQ(Wm(v.OnWatermark(0, 100)), std::nullopt);  // channels 1 and 2 have none yet
  EXPECT_EQ(Wm(v.OnWatermark(1, 50)), std::nullopt);
  EXPECT_EQ(Wm(v.OnWatermark(2, 70)), std::optional<int64_t>(50));
  EXPECT_EQ(Wm(v.OnWatermark(1, 80)), std::optional<int64_t>(70));
  EXPECT_EQ(Wm(v.OnWatermark(1, 60)), std::nullopt);  // a channel's watermark never goes back
  EXPECT_EQ(v.current(), 70);
}

TEST(WatermarkValve, EndedChannelsNoLongerHoldEventTimeBack) {
  WatermarkValve v(2);
  EXPECT_EQ(Wm(v.OnWatermark(0, 10)), std::nullopt);
  EXPECT_EQ(Wm(v.OnEndOfPartition(1)), std::optional<int64_t>(10));
  EXPECT_FALSE(v.AllEnded());
  EXPECT_EQ(Wm(v.OnEndOfPartition(1)), std::nullopt);  // repeated end is ignored
  EXPECT_EQ(Wm(v.OnEndOfPartition(0)), std::optional<int64_t>(INT64_MAX));
  EXPECT_TRUE(v.AllEnded());
}

// Flink's StatusWatermarkValve: an idle channel does not hold event time back; when it turns
// active again it counts only once it caught up.
TEST(WatermarkValve, IdleChannelsAreExcludedFromTheMinimum) {
  WatermarkValve v(2);
  EXPECT_EQ(Wm(v.OnWatermark(0, 100)), std::nullopt);
  ValveUpdate idle = v.OnWatermarkStatus(1, api::WatermarkStatus::kIdle);
  EXPECT_EQ(idle.watermark, std::optional<int64_t>(100));  // channel 0 alone decides now
  EXPECT_EQ(idle.status, std::nullopt);                    // the task is still active
  EXPECT_EQ(Wm(v.OnWatermark(0, 150)), std::optional<int64_t>(150));
  // Channel 1 comes back behind: it does not pull event time back, nor hold it until it caught up.
  EXPECT_EQ(v.OnWatermarkStatus(1, api::WatermarkStatus::kActive).status, std::nullopt);
  EXPECT_EQ(Wm(v.OnWatermark(1, 120)), std::nullopt);
  EXPECT_EQ(Wm(v.OnWatermark(0, 200)), std::optional<int64_t>(200));
  EXPECT_EQ(Wm(v.OnWatermark(1, 190)), std::nullopt);  // still behind 200: not aligned
  EXPECT_EQ(Wm(v.OnWatermark(1, 210)), std::nullopt);  // caught up: aligned, min stays 200
  EXPECT_EQ(Wm(v.OnWatermark(0, 300)), std::optional<int64_t>(210));  // now it holds back
  EXPECT_EQ(Wm(v.OnWatermark(1, 250)), std::optional<int64_t>(250));
}

TEST(WatermarkValve, AllChannelsIdleMakeTheTaskIdleWithoutAdvancingEventTime) {
  WatermarkValve v(2);
  v.OnWatermark(0, 10);
  v.OnWatermark(1, 20);
  EXPECT_EQ(v.OnWatermarkStatus(0, api::WatermarkStatus::kIdle).watermark, std::optional<int64_t>(20));
  ValveUpdate all_idle = v.OnWatermarkStatus(1, api::WatermarkStatus::kIdle);
  EXPECT_EQ(all_idle.status, std::optional(api::WatermarkStatus::kIdle));
  EXPECT_EQ(all_idle.watermark, std::nullopt);
  EXPECT_TRUE(v.idle());
  EXPECT_EQ(Wm(v.OnWatermark(0, 500)), std::nullopt);  // an idle channel's watermark is ignored
  ValveUpdate back = v.OnWatermarkStatus(0, api::WatermarkStatus::kActive);
  EXPECT_EQ(back.status, std::optional(api::WatermarkStatus::kActive));
  EXPECT_EQ(Wm(v.OnWatermark(0, 30)), std::optional<int64_t>(30));
}

}  // namespace
}  // namespace sluice::network

#include "runtime/network/barrier_aligner.h"

namespace sluice::network {
namespace {

NetworkEvent Buf(int ch, std::string tag) {
  NetworkEvent e;
  e.channel = ch;
  e.buffer = std::move(tag);
  return e;
}
NetworkEvent Barrier(int ch, int64_t id) {
  NetworkEvent e;
  e.kind = NetworkEvent::Kind::kBarrier;
  e.channel = ch;
  e.checkpoint_id = id;
  return e;
}
NetworkEvent Eop(int ch) {
  NetworkEvent e;
  e.kind = NetworkEvent::Kind::kEndOfPartition;
  e.channel = ch;
  return e;
}

// Renders the aligner's output: buffers by tag, checkpoints as "cp<n>", ends as "end<ch>".
std::vector<std::string> Drain(BarrierAligner& a) {
  std::vector<std::string> out;
  while (auto s = a.Next()) {
    if (s->kind == AlignerStep::Kind::kCheckpoint) {
      out.push_back("cp" + std::to_string(s->checkpoint_id));
    } else if (s->event.kind == NetworkEvent::Kind::kEndOfPartition) {
      out.push_back("end" + std::to_string(s->event.channel));
    } else {
      out.push_back(s->event.buffer);
    }
  }
  return out;
}

using V = std::vector<std::string>;

TEST(BarrierAligner, HoldsChannelsThatDeliveredTheBarrierUntilAllHave) {
  BarrierAligner a(3);
  a.Offer(Buf(0, "a1"), 0);
  a.Offer(Barrier(0, 1), 10);
  a.Offer(Buf(0, "a2"), 11);  // after the barrier on channel 0: held
  a.Offer(Buf(1, "b1"), 12);  // before the barrier on channel 1: processed
  EXPECT_EQ(Drain(a), (V{"a1", "b1"}));
  EXPECT_EQ(a.aligning(), 1);
  a.Offer(Barrier(1, 1), 20);
  a.Offer(Buf(1, "b2"), 21);
  a.Offer(Buf(2, "c1"), 22);
  EXPECT_EQ(Drain(a), (V{"c1"}));
  a.Offer(Barrier(2, 1), 30);
  // Snapshot exactly after everything before the barriers, then the held events in order.
  EXPECT_EQ(Drain(a), (V{"cp1", "a2", "b2"}));
  EXPECT_EQ(a.aligning(), 0);
}

TEST(BarrierAligner, ReportsAlignmentDuration) {
  BarrierAligner a(2);
  a.Offer(Barrier(0, 4), 100);
  a.Offer(Barrier(1, 4), 130);
  auto s = a.Next();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->kind, AlignerStep::Kind::kCheckpoint);
  EXPECT_EQ(s->alignment_ms, 30);
}

TEST(BarrierAligner, EndedChannelsCountAsAligned) {
  BarrierAligner a(2);
  a.Offer(Eop(1), 0);
  a.Offer(Barrier(0, 1), 1);
  EXPECT_EQ(Drain(a), (V{"end1", "cp1"}));
  BarrierAligner b(2);
  b.Offer(Barrier(0, 2), 0);
  b.Offer(Buf(1, "x"), 1);
  b.Offer(Eop(1), 2);  // the other channel ends instead of sending the barrier
  EXPECT_EQ(Drain(b), (V{"x", "end1", "cp2"}));
}

TEST(BarrierAligner, NextBarrierHeldBehindTheCurrentOneIsAlignedAfterIt) {
  BarrierAligner a(2);
  a.Offer(Barrier(0, 1), 0);
  a.Offer(Buf(0, "a"), 0);
  a.Offer(Barrier(0, 2), 0);  // held behind barrier 1
  a.Offer(Barrier(1, 1), 0);
  EXPECT_EQ(Drain(a), (V{"cp1", "a"}));
  EXPECT_EQ(a.aligning(), 2);  // channel 0 already delivered barrier 2
  a.Offer(Barrier(1, 2), 0);
  EXPECT_EQ(Drain(a), (V{"cp2"}));
}

TEST(BarrierAligner, NewerBarrierAbandonsTheOlderCheckpoint) {
  BarrierAligner a(2);
  a.Offer(Barrier(0, 1), 0);
  a.Offer(Buf(0, "held"), 0);
  a.Offer(Barrier(1, 2), 0);  // checkpoint 1 was abandoned upstream
  auto out = Drain(a);
  EXPECT_EQ(std::count(out.begin(), out.end(), "cp1"), 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), "held"), 1);
  a.Offer(Barrier(0, 2), 0);
  EXPECT_EQ(Drain(a), (V{"cp2"}));
}

TEST(InputGate, ChannelsOfSeveralGatesAreNumberedFlat) {
  InputGate gate({2, 3});
  EXPECT_EQ(gate.num_channels(), 5);
  EXPECT_EQ(gate.num_gates(), 2);
  EXPECT_EQ(gate.ChannelIndex(0, 1), 1);
  EXPECT_EQ(gate.ChannelIndex(1, 0), 2);
  EXPECT_EQ(gate.ChannelIndex(1, 2), 4);
  EXPECT_EQ(gate.ChannelIndex(1, 3), -1);  // producer subtask out of range
  EXPECT_EQ(gate.ChannelIndex(2, 0), -1);  // no such gate
  EXPECT_EQ(gate.ChannelIndex(-1, 0), -1);
  EXPECT_EQ(gate.GateOf(1), 0);
  EXPECT_EQ(gate.GateOf(2), 1);
}

TEST(InputGate, WakeEndsAWaitWithoutAnEvent) {
  InputGate gate({1});
  std::thread waker([&] { gate.Wake(); });
  auto next = gate.Next(-1);  // would block forever without the wake-up
  waker.join();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  gate.Wake();  // a wake-up before the wait is not lost either
  auto again = gate.Next(-1);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

}  // namespace
}  // namespace sluice::network
