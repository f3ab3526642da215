// The multiplexed data exchange over real gRPC on loopback: many channels share one stream per
// TaskManager pair, credits flow per channel (one backpressured channel does not stall the
// others), a consumer deployed after its producer connects still gets its data, an unknown
// consumer is refused, a cancelled producer fails only its own consumer, and a lost connection
// fails every channel on both sides, naming the other TaskManager.

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/testing/wait_until.h"
#include "sluice/grpc_defaults.h"
#include "taskmanager/service/exchange_client.h"
#include "taskmanager/service/exchange_server.h"

namespace sluice::taskmanager {
namespace {

using ::testing::HasSubstr;
using sluice::testing::WaitUntil;
using network::NetworkEvent;

constexpr int kCredits = 2;
constexpr const char* kProducer = "producer-tm:6121";

// A consumer TaskManager: the exchange service over gates the test registers.
class ConsumerTaskManager final : public v1::DataExchangeService::Service {
 public:
  explicit ConsumerTaskManager(int64_t deploy_wait_ms = 30'000) {
    options_.initial_credits = kCredits;
    options_.deploy_wait_ms = deploy_wait_ms;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    rpc::ConfigureServer(builder);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~ConsumerTaskManager() override { Stop(); }
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

  grpc::Status Exchange(grpc::ServerContext* ctx,
                        grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream) override {
    ++streams;
    GateLookup lookup = [this](const std::string& attempt) -> std::shared_ptr<network::InputGate> {
      std::lock_guard lock(mu_);
      ++lookups;
      auto it = gates_.find(attempt);
      return it == gates_.end() ? nullptr : it->second;
    };
    return ServeExchange(ctx, stream, lookup, options_);
  }

  std::shared_ptr<network::InputGate> Deploy(const ExecutionAttemptId& attempt, int channels) {
    auto gate = std::make_shared<network::InputGate>(std::vector<int>{channels});
    std::lock_guard lock(mu_);
    gates_[attempt.ToString()] = gate;
    return gate;
  }

  const std::string& address() const { return address_; }
  std::atomic<int> streams{0};
  std::atomic<int> lookups{0};

 private:
  ExchangeServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<network::InputGate>> gates_;
};

NetworkEvent Buffer(std::string payload) {
  NetworkEvent ev;
  ev.kind = NetworkEvent::Kind::kBuffer;
  ev.buffer = std::move(payload);
  return ev;
}
NetworkEvent Watermark(int64_t wm) {
  NetworkEvent ev;
  ev.kind = NetworkEvent::Kind::kWatermark;
  ev.watermark = wm;
  return ev;
}
NetworkEvent EndOfPartition() {
  NetworkEvent ev;
  ev.kind = NetworkEvent::Kind::kEndOfPartition;
  return ev;
}

// Reads (and drops) a gate's events until it reports its failure, which it returns; OK if none
// came within the deadline.
absl::Status AwaitFailure(network::InputGate& gate) {
  absl::Status failed;
  WaitUntil([&] {
    auto ev = gate.Next(0);
    if (!ev.ok()) failed = ev.status();
    return !ev.ok();
  });
  return failed;
}

// Reads a gate until every channel ended, returning each buffer's credit; per channel the
// events as text ("b:<payload>", "w:<watermark>", "end").
absl::StatusOr<std::map<int, std::vector<std::string>>> Drain(network::InputGate& gate) {
  std::map<int, std::vector<std::string>> out;
  int ended = 0;
  while (ended < gate.num_channels()) {
    auto ev = gate.Next(10'000);
    if (!ev.ok()) return ev.status();
    if (!ev->has_value()) return absl::DeadlineExceededError("no event within 10 s");
    NetworkEvent& e = **ev;
    switch (e.kind) {
      case NetworkEvent::Kind::kBuffer:
        out[e.channel].push_back("b:" + e.buffer);
        gate.ReturnCredit(e.channel);
        break;
      case NetworkEvent::Kind::kWatermark:
        out[e.channel].push_back("w:" + std::to_string(e.watermark));
        break;
      case NetworkEvent::Kind::kEndOfPartition:
        out[e.channel].push_back("end");
        ++ended;
        break;
      default: break;
    }
  }
  return out;
}

TEST(ExchangeTest, ChannelsToOneTaskManagerShareOneStreamAndKeepTheirOrder) {
  ConsumerTaskManager consumer;
  ExchangeConnectionManager connections(kProducer);
  const JobId job = JobId::Random();
  constexpr int kConsumers = 3, kProducers = 4, kBuffers = 10;  // 5x the credits per channel
  std::vector<ExecutionAttemptId> attempts;
  std::vector<std::shared_ptr<network::InputGate>> gates;
  for (int c = 0; c < kConsumers; ++c) {
    attempts.push_back(ExecutionAttemptId::Random());
    gates.push_back(consumer.Deploy(attempts.back(), kProducers));
  }
  std::vector<std::thread> producers;
  std::atomic<int> failures{0};
  for (int c = 0; c < kConsumers; ++c) {
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, c, p] {
        RemoteOutputChannel ch(&connections, consumer.address(), job, attempts[c], 0, p);
        absl::Status s;
        for (int i = 0; i < kBuffers && s.ok(); ++i) s = ch.Send(Buffer(std::to_string(i)));
        if (s.ok()) s = ch.Send(Watermark(100 + p));
        if (s.ok()) s = ch.Send(EndOfPartition());
        if (s.ok()) s = ch.Close();
        if (!s.ok()) ++failures;
      });
    }
  }
  std::vector<absl::StatusOr<std::map<int, std::vector<std::string>>>> results(kConsumers);
  std::vector<std::thread> readers;
  for (int c = 0; c < kConsumers; ++c) readers.emplace_back([&, c] { results[c] = Drain(*gates[c]); });
  for (auto& t : producers) t.join();
  for (auto& t : readers) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(consumer.streams.load(), 1) << "12 channels to one TaskManager must share a stream";
  EXPECT_EQ(connections.num_connections(), 1u);
  for (int c = 0; c < kConsumers; ++c) {
    ASSERT_TRUE(results[c].ok()) << results[c].status();
    for (int p = 0; p < kProducers; ++p) {
      std::vector<std::string> want;
      for (int i = 0; i < kBuffers; ++i) want.push_back("b:" + std::to_string(i));
      want.push_back("w:" + std::to_string(100 + p));
      want.push_back("end");
      EXPECT_EQ((*results[c])[p], want) << "consumer " << c << " channel " << p;
    }
  }
}

TEST(ExchangeTest, ABackpressuredChannelDoesNotStallTheOthers) {
  ConsumerTaskManager consumer;
  ExchangeConnectionManager connections(kProducer);
  const JobId job = JobId::Random();
  const auto slow_attempt = ExecutionAttemptId::Random(), fast_attempt = ExecutionAttemptId::Random();
  auto slow_gate = consumer.Deploy(slow_attempt, 1);
  auto fast_gate = consumer.Deploy(fast_attempt, 1);

  RemoteOutputChannel slow(&connections, consumer.address(), job, slow_attempt, 0, 0);
  std::atomic<int> slow_sent{0};
  absl::Status slow_status;
  std::thread slow_producer([&] {
    for (int i = 0; i < 5; ++i) {
      slow_status = slow.Send(Buffer("s"));
      if (!slow_status.ok()) return;
      ++slow_sent;
    }
  });
  // The slow consumer never reads: its producer spends its credits and then waits.
  ASSERT_TRUE(WaitUntil([&] { return slow_sent.load() == kCredits; }));

  RemoteOutputChannel fast(&connections, consumer.address(), job, fast_attempt, 0, 0);
  absl::StatusOr<std::map<int, std::vector<std::string>>> got;
  std::thread reader([&] { got = Drain(*fast_gate); });
  absl::Status s;
  for (int i = 0; i < 20 && s.ok(); ++i) s = fast.Send(Buffer("f"));
  if (s.ok()) s = fast.Send(EndOfPartition());
  if (s.ok()) s = fast.Close();
  reader.join();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].size(), 21u);
  EXPECT_EQ(slow_sent.load(), kCredits) << "the slow channel must still be waiting for credit";

  slow.Cancel();
  slow_producer.join();
  EXPECT_TRUE(absl::IsCancelled(slow_status)) << slow_status;
}

TEST(ExchangeTest, ConsumerDeployedAfterItsProducerConnectedGetsTheData) {
  ConsumerTaskManager consumer;
  ExchangeConnectionManager connections(kProducer);
  const auto attempt = ExecutionAttemptId::Random();
  absl::Status s;
  std::thread producer([&] {
    RemoteOutputChannel ch(&connections, consumer.address(), JobId::Random(), attempt, 0, 0);
    s = ch.Send(Buffer("x"));
    if (s.ok()) s = ch.Send(EndOfPartition());
    if (s.ok()) s = ch.Close();
  });
  // The open arrived and found no consumer task yet.
  ASSERT_TRUE(WaitUntil([&] { return consumer.lookups.load() > 0; }));
  auto gate = consumer.Deploy(attempt, 1);
  auto got = Drain(*gate);
  producer.join();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0], (std::vector<std::string>{"b:x", "end"}));
}

TEST(ExchangeTest, UnknownConsumerIsRefusedNamingIt) {
  ConsumerTaskManager consumer(/*deploy_wait_ms=*/200);
  ExchangeConnectionManager connections(kProducer);
  const auto attempt = ExecutionAttemptId::Random();
  RemoteOutputChannel ch(&connections, consumer.address(), JobId::Random(), attempt, 0, 0);
  absl::Status s = ch.Send(Buffer("x"));
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("refused"));
  EXPECT_THAT(s.message(), HasSubstr(attempt.ToString()));

  // A channel index outside the gate is refused too, and the connection stays usable.
  auto gate = consumer.Deploy(attempt, 2);
  RemoteOutputChannel bad(&connections, consumer.address(), JobId::Random(), attempt, 0, 7);
  s = bad.Send(Buffer("x"));
  EXPECT_THAT(s.message(), HasSubstr("no channel 7 in input gate 0"));
  EXPECT_EQ(connections.num_connections(), 1u);
}

TEST(ExchangeTest, CancellingAProducerFailsOnlyItsConsumer) {
  ConsumerTaskManager consumer;
  ExchangeConnectionManager connections(kProducer);
  const JobId job = JobId::Random();
  const auto a = ExecutionAttemptId::Random(), b = ExecutionAttemptId::Random();
  auto gate_a = consumer.Deploy(a, 1);
  auto gate_b = consumer.Deploy(b, 1);
  RemoteOutputChannel to_a(&connections, consumer.address(), job, a, 0, 0);
  RemoteOutputChannel to_b(&connections, consumer.address(), job, b, 0, 0);
  ASSERT_TRUE(to_a.Send(Watermark(1)).ok());
  ASSERT_TRUE(to_b.Send(Watermark(1)).ok());
  to_a.Cancel();

  const absl::Status failed = AwaitFailure(*gate_a);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_THAT(failed.message(), HasSubstr("aborted"));
  EXPECT_THAT(failed.message(), HasSubstr(kProducer));

  ASSERT_TRUE(to_b.Send(Buffer("still")).ok());
  ASSERT_TRUE(to_b.Send(EndOfPartition()).ok());
  ASSERT_TRUE(to_b.Close().ok());
  auto got = Drain(*gate_b);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0], (std::vector<std::string>{"w:1", "b:still", "end"}));
}

TEST(ExchangeTest, LostConnectionFailsEveryChannelOnBothSides) {
  auto consumer = std::make_unique<ConsumerTaskManager>();
  ExchangeConnectionManager connections(kProducer);
  const JobId job = JobId::Random();
  const auto a = ExecutionAttemptId::Random(), b = ExecutionAttemptId::Random();
  auto gate_a = consumer->Deploy(a, 1);
  auto gate_b = consumer->Deploy(b, 1);
  const std::string address = consumer->address();
  RemoteOutputChannel to_a(&connections, address, job, a, 0, 0);
  RemoteOutputChannel to_b(&connections, address, job, b, 0, 0);
  // Both producers spend their credits and wait for more.
  for (int i = 0; i < kCredits; ++i) {
    ASSERT_TRUE(to_a.Send(Buffer("a")).ok());
    ASSERT_TRUE(to_b.Send(Buffer("b")).ok());
  }
  absl::Status sa, sb;
  std::thread pa([&] { sa = to_a.Send(Buffer("a")); });
  std::thread pb([&] { sb = to_b.Send(Buffer("b")); });

  consumer->Stop();  // the consumer TaskManager goes away
  pa.join();
  pb.join();
  for (const absl::Status& s : {sa, sb}) {
    EXPECT_TRUE(absl::IsUnavailable(s)) << s;
    EXPECT_THAT(s.message(), HasSubstr(address));
  }
  // The consumer side: both gates failed, naming the producer TaskManager.
  for (auto* gate : {gate_a.get(), gate_b.get()}) {
    const absl::Status failed = AwaitFailure(*gate);
    ASSERT_FALSE(failed.ok());
    EXPECT_THAT(failed.message(), HasSubstr(kProducer));
  }
  EXPECT_EQ(connections.num_connections(), 0u) << "a broken connection is not reused";
}

}  // namespace
}  // namespace sluice::taskmanager
