#include "taskmanager/service/exchange_server.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "spdlog/spdlog.h"
#include "runtime/base/thread_name.h"

namespace sluice::taskmanager {

namespace {

// How often the writer retries binding channels whose consumer task is not deployed yet.
constexpr int64_t kOpenRetryMs = 10;

struct PendingOpen {
  uint32_t channel_id = 0;
  v1::ChannelOpen open;
  int64_t deadline_ms = 0;  // monotonic
};

// What the writer thread sends. Shared with the gates' credit-return callbacks, which may
// outlive the stream (they then do nothing).
class Outbox {
 public:
  void AddCredit(uint32_t channel_id, int n) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      credits_[channel_id] += n;
    }
    cv_.notify_one();
  }
  void AddAnswer(v1::ChannelCredit answer) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      answers_.push_back(std::move(answer));
    }
    cv_.notify_one();
  }
  void AddOpen(PendingOpen open) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      opens_.push_back(std::move(open));
    }
    cv_.notify_one();
  }
  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  // Waits for something to send (or up to `retry_ms` when > 0) and moves it out; false once
  // closed. Answers come before credits, so an acceptance precedes the channel's first grant.
  bool Take(int64_t retry_ms, std::vector<PendingOpen>* opens, v1::CreditFrame* frame) {
    std::unique_lock lock(mu_);
    auto ready = [&] {
      return closed_ || !opens_.empty() || !answers_.empty() || !credits_.empty();
    };
    if (retry_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(retry_ms), ready);
    } else {
      cv_.wait(lock, ready);
    }
    if (closed_) return false;
    for (auto& o : opens_) opens->push_back(std::move(o));
    opens_.clear();
    for (auto& a : answers_) *frame->add_credits() = std::move(a);
    answers_.clear();
    for (const auto& [id, n] : credits_) {
      auto* c = frame->add_credits();
      c->set_channel_id(id);
      c->set_credits(n);
    }
    credits_.clear();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::vector<PendingOpen> opens_;
  std::vector<v1::ChannelCredit> answers_;
  std::map<uint32_t, int> credits_;
};

struct Binding {
  std::shared_ptr<network::InputGate> gate;
  int channel = 0;  // flat channel in the gate
};

class ExchangeSession {
 public:
  ExchangeSession(grpc::ServerContext* context,
                  grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream,
                  const GateLookup& lookup, const ExchangeServerOptions& options)
      : context_(context), stream_(stream), lookup_(lookup), options_(options) {}

  grpc::Status Run() {
    // The gRPC thread that runs this session reads; a thread of its own writes credits.
    std::thread writer([this] {
      SetCurrentThreadName("exch-in-credit");
      WriteLoop();
    });
    v1::DataFrame frame;
    while (stream_->Read(&frame)) {
      if (!frame.producer_address().empty()) producer_ = frame.producer_address();
      for (v1::DataMessage& m : *frame.mutable_messages()) Handle(m);
    }
    outbox_->Close();
    context_->TryCancel();  // ends a Write blocked on a dead peer
    writer.join();
    std::lock_guard lock(mu_);
    for (auto& [id, b] : bindings_) {
      // Flink: "Connection unexpectedly closed by remote task manager ... This might indicate
      // that the remote task manager was lost."
      b.gate->Fail(absl::UnavailableError(fmt::format(
          "connection to the producer of input channel {} closed unexpectedly by remote "
          "TaskManager {} before end of partition; this might indicate that the remote "
          "TaskManager was lost",
          b.channel, producer())));
    }
    bindings_.clear();
    return grpc::Status::OK;
  }

 private:
  std::string producer() const { return producer_.empty() ? context_->peer() : producer_; }

  void Handle(v1::DataMessage& m) {
    if (m.has_open()) {
      outbox_->AddOpen({m.channel_id(), std::move(*m.mutable_open()),
                        MonotonicMillis() + options_.deploy_wait_ms});
      return;
    }
    Binding b;
    {
      std::lock_guard lock(mu_);
      auto it = bindings_.find(m.channel_id());
      if (it == bindings_.end()) {
        // Refused or already ended; a well-behaved producer sends nothing then.
        spdlog::debug("data for unknown channel {} from {} dropped", m.channel_id(), producer());
        return;
      }
      b = it->second;
      if (m.payload_case() == v1::DataMessage::kEndOfPartition ||
          m.payload_case() == v1::DataMessage::kAbort) {
        bindings_.erase(it);
      }
    }
    network::NetworkEvent ev;
    switch (m.payload_case()) {
      case v1::DataMessage::kBuffer:
        ev.kind = network::NetworkEvent::Kind::kBuffer;
        ev.buffer = std::move(*m.mutable_buffer());
        break;
      case v1::DataMessage::kWatermark:
        ev.kind = network::NetworkEvent::Kind::kWatermark;
        ev.watermark = m.watermark();
        break;
      case v1::DataMessage::kBarrier:
        ev.kind = network::NetworkEvent::Kind::kBarrier;
        ev.checkpoint_id = m.barrier();
        ev.savepoint = m.savepoint();
        ev.native = m.native();
        break;
      case v1::DataMessage::kWatermarkIdle:
        ev.kind = network::NetworkEvent::Kind::kWatermarkStatus;
        ev.idle = m.watermark_idle();
        break;
      case v1::DataMessage::kEndOfPartition: {
        ev.kind = network::NetworkEvent::Kind::kEndOfPartition;
        ev.drain = !m.no_drain();
        v1::ChannelCredit closed;
        closed.set_channel_id(m.channel_id());
        closed.set_closed(true);
        outbox_->AddAnswer(std::move(closed));
        break;
      }
      case v1::DataMessage::kAbort:
        b.gate->Fail(absl::UnavailableError(
            fmt::format("the producer of input channel {} on TaskManager {} aborted: {}",
                        b.channel, producer(), m.abort())));
        return;
      case v1::DataMessage::kOpen:
      case v1::DataMessage::PAYLOAD_NOT_SET:
        return;
    }
    b.gate->Push(b.channel, std::move(ev));
  }

  // Binds `open` to its gate: true when done (accepted or refused), false to retry later.
  bool TryBind(const PendingOpen& p, v1::CreditFrame* frame) {
    v1::ChannelCredit answer;
    answer.set_channel_id(p.channel_id);
    auto gate = lookup_(p.open.consumer_attempt_id());
    if (!gate) {
      if (MonotonicMillis() < p.deadline_ms) return false;
      answer.set_error(fmt::format("no task attempt {} on this TaskManager (waited {} ms)",
                                   p.open.consumer_attempt_id(), options_.deploy_wait_ms));
    } else if (const int ch = gate->ChannelIndex(p.open.gate_index(), p.open.producer_subtask());
               ch < 0) {
      answer.set_error(fmt::format("no channel {} in input gate {} of attempt {} (it has {} gates)",
                                   p.open.producer_subtask(), p.open.gate_index(),
                                   p.open.consumer_attempt_id(), gate->num_gates()));
    } else {
      {
        std::lock_guard lock(mu_);
        bindings_[p.channel_id] = Binding{gate, ch};
      }
      gate->SetCreditReturn(ch, [outbox = outbox_, id = p.channel_id](int n) {
        outbox->AddCredit(id, n);
      });
      answer.set_accepted(true);
      answer.set_credits(options_.initial_credits);
    }
    *frame->add_credits() = std::move(answer);
    return true;
  }

  void WriteLoop() {
    std::vector<PendingOpen> waiting;  // opens whose consumer is not deployed yet
    v1::CreditFrame frame;
    while (true) {
      // Bind first, so that acceptances precede the credits taken below.
      v1::CreditFrame taken;
      if (!outbox_->Take(waiting.empty() ? 0 : kOpenRetryMs, &waiting, &taken)) return;
      std::vector<PendingOpen> still;
      for (auto& p : waiting) {
        if (!TryBind(p, &frame)) still.push_back(std::move(p));
      }
      waiting.swap(still);
      for (auto& c : *taken.mutable_credits()) *frame.add_credits() = std::move(c);
      if (frame.credits_size() == 0) continue;
      if (!stream_->Write(frame)) return;
      frame.Clear();
    }
  }

  grpc::ServerContext* context_;
  grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream_;
  const GateLookup& lookup_;
  const ExchangeServerOptions options_;
  std::shared_ptr<Outbox> outbox_ = std::make_shared<Outbox>();
  std::string producer_;  // handler thread only

  std::mutex mu_;
  std::map<uint32_t, Binding> bindings_;  // bound by the writer, used by the handler
};

}  // namespace

grpc::Status ServeExchange(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream,
                           const GateLookup& lookup, const ExchangeServerOptions& options) {
  return ExchangeSession(context, stream, lookup, options).Run();
}

}  // namespace sluice::taskmanager
