#include "taskmanager/service/exchange_client.h"

#include <chrono>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "sluice/grpc_defaults.h"
#include "runtime/base/thread_name.h"

namespace sluice::taskmanager {

namespace {
// A frame closes once it holds this many payload bytes (more messages go in the next write);
// one large buffer still goes alone. Well below rpc::kMaxMessageBytes.
constexpr size_t kMaxFrameBytes = 4 << 20;
// How long a producer waits for its consumer to accept a channel. The consumer TaskManager
// waits up to 30 s for the consumer task to be deployed, then refuses.
constexpr int64_t kAcceptTimeoutMs = 60'000;
}  // namespace

// --- RemoteChannelState ---

absl::Status RemoteChannelState::AwaitAccepted(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return accepted_ || !failure_.ok(); })) {
    return absl::DeadlineExceededError(
        fmt::format("the consumer did not accept the data channel within {} ms", timeout_ms));
  }
  return failure_;
}

absl::Status RemoteChannelState::AcquireCredit() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return credits_ > 0 || !failure_.ok(); });
  if (!failure_.ok()) return failure_;
  --credits_;
  return absl::OkStatus();
}

absl::Status RemoteChannelState::AwaitClosed() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return closed_ || !failure_.ok(); });
  return closed_ ? absl::OkStatus() : failure_;
}

void RemoteChannelState::Accept(int credits) {
  {
    std::lock_guard lock(mu_);
    accepted_ = true;
    credits_ += credits;
  }
  cv_.notify_all();
}

void RemoteChannelState::Grant(int credits) {
  {
    std::lock_guard lock(mu_);
    credits_ += credits;
  }
  cv_.notify_all();
}

void RemoteChannelState::AcknowledgeClose() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void RemoteChannelState::Fail(absl::Status status) {
  {
    std::lock_guard lock(mu_);
    if (failure_.ok()) failure_ = std::move(status);
  }
  cv_.notify_all();
}

// --- ExchangeConnection ---

ExchangeConnection::ExchangeConnection(std::shared_ptr<grpc::Channel> channel,
                                       std::string address, std::string producer_address)
    : address_(std::move(address)),
      producer_address_(std::move(producer_address)),
      stub_(v1::DataExchangeService::NewStub(std::move(channel))) {
  stream_ = stub_->Exchange(&context_);
  writer_ = std::thread([this] {
    SetCurrentThreadName("exch-out-write");
    WriteLoop();
  });
  reader_ = std::thread([this] {
    SetCurrentThreadName("exch-out-credit");
    ReadLoop();
  });
}

ExchangeConnection::~ExchangeConnection() {
  Break(absl::CancelledError(fmt::format("data connection to {} closed", address_)));
  writer_.join();
  reader_.join();
  (void)stream_->Finish();
}

void ExchangeConnection::Break(absl::Status status) {
  std::map<uint32_t, std::shared_ptr<RemoteChannelState>> channels;
  {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) return;
    broken_ = status;
    channels.swap(channels_);
    queue_.clear();
  }
  cv_.notify_all();
  context_.TryCancel();  // ends a blocked Read or Write on the stream
  for (auto& [id, state] : channels) state->Fail(status);
}

bool ExchangeConnection::broken() const {
  std::lock_guard lock(mu_);
  return !broken_.ok();
}

size_t ExchangeConnection::num_channels() const {
  std::lock_guard lock(mu_);
  return channels_.size();
}

absl::StatusOr<uint32_t> ExchangeConnection::Open(std::shared_ptr<RemoteChannelState> state,
                                                  JobId job, ExecutionAttemptId consumer,
                                                  int gate_index, int producer_subtask) {
  v1::DataMessage m;
  auto* open = m.mutable_open();
  open->set_job_id(job.ToString());
  open->set_consumer_attempt_id(consumer.ToString());
  open->set_gate_index(gate_index);
  open->set_producer_subtask(producer_subtask);
  uint32_t id;
  {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) {
      state->Fail(broken_);
      return broken_;
    }
    id = next_id_++;
    m.set_channel_id(id);
    channels_.emplace(id, std::move(state));
    queue_.push_back(std::move(m));
  }
  cv_.notify_one();
  return id;
}

absl::Status ExchangeConnection::Enqueue(v1::DataMessage message) {
  {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) return broken_;
    queue_.push_back(std::move(message));
  }
  cv_.notify_one();
  return absl::OkStatus();
}

void ExchangeConnection::Release(uint32_t channel_id) {
  std::lock_guard lock(mu_);
  channels_.erase(channel_id);
}

void ExchangeConnection::WriteLoop() {
  v1::DataFrame frame;
  frame.set_producer_address(producer_address_);
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || !broken_.ok(); });
      if (!broken_.ok()) return;
      size_t bytes = 0;
      while (!queue_.empty() && (frame.messages_size() == 0 || bytes < kMaxFrameBytes)) {
        bytes += queue_.front().buffer().size();
        *frame.add_messages() = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (!stream_->Write(frame)) {
      Break(UnavailableF(
          "connection to consumer TaskManager {} broke while sending; this might indicate that "
          "the remote TaskManager was lost",
          address_));
      return;
    }
    frame.Clear();
  }
}

void ExchangeConnection::ReadLoop() {
  v1::CreditFrame frame;
  while (stream_->Read(&frame)) {
    for (const v1::ChannelCredit& c : frame.credits()) {
      std::shared_ptr<RemoteChannelState> state;
      {
        std::lock_guard lock(mu_);
        auto it = channels_.find(c.channel_id());
        if (it != channels_.end()) state = it->second;
      }
      if (!state) continue;  // released meanwhile (cancelled)
      if (!c.error().empty()) {
        state->Fail(UnavailableF("consumer TaskManager {} refused the data channel: {}",
                                 address_, c.error()));
        continue;
      }
      if (c.accepted()) {
        state->Accept(c.credits());
      } else if (c.credits() > 0) {
        state->Grant(c.credits());
      }
      if (c.closed()) state->AcknowledgeClose();
    }
  }
  Break(UnavailableF(
      "connection to consumer TaskManager {} closed unexpectedly; this might indicate that the "
      "remote TaskManager was lost",
      address_));
}

// --- ExchangeConnectionManager ---

std::shared_ptr<ExchangeConnection> ExchangeConnectionManager::Get(const std::string& address) {
  std::shared_ptr<ExchangeConnection> stale;  // destroyed outside the lock (joins its threads)
  std::lock_guard lock(mu_);
  auto& conn = connections_[address];
  if (conn && conn->broken()) stale = std::move(conn);
  if (!conn) {
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                             rpc::ChannelArguments());
    conn = std::make_shared<ExchangeConnection>(std::move(channel), address, producer_address_);
  }
  return conn;
}

size_t ExchangeConnectionManager::num_connections() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [address, conn] : connections_) n += conn && !conn->broken() ? 1 : 0;
  return n;
}

void ExchangeConnectionManager::Shutdown() {
  std::map<std::string, std::shared_ptr<ExchangeConnection>> connections;
  {
    std::lock_guard lock(mu_);
    connections.swap(connections_);
  }
  connections.clear();
}

// --- RemoteOutputChannel ---

RemoteOutputChannel::RemoteOutputChannel(ExchangeConnectionManager* connections,
                                         std::string address, JobId job,
                                         ExecutionAttemptId consumer, int gate_index,
                                         int producer_subtask)
    : connections_(connections),
      address_(std::move(address)),
      job_(job),
      consumer_(consumer),
      gate_index_(gate_index),
      producer_subtask_(producer_subtask) {}

RemoteOutputChannel::~RemoteOutputChannel() { Cancel(); }

absl::Status RemoteOutputChannel::Open() {
  auto connection = connections_->Get(address_);
  auto id = connection->Open(state_, job_, consumer_, gate_index_, producer_subtask_);
  RETURN_IF_ERROR(id.status());
  {
    std::lock_guard lock(mu_);
    connection_ = std::move(connection);
    id_ = *id;
    if (done_) AbortLocked();  // cancelled while opening: Cancel() saw no connection yet
  }
  return state_->AwaitAccepted(kAcceptTimeoutMs);
}

absl::Status RemoteOutputChannel::Send(network::NetworkEvent event) {
  // Only this (the task) thread sets connection_, so reading it here needs no lock.
  if (!connection_) RETURN_IF_ERROR(Open());
  v1::DataMessage m;
  m.set_channel_id(id_);
  switch (event.kind) {
    case network::NetworkEvent::Kind::kBuffer:
      RETURN_IF_ERROR(state_->AcquireCredit());
      m.set_buffer(std::move(event.buffer));
      break;
    case network::NetworkEvent::Kind::kWatermark: m.set_watermark(event.watermark); break;
    case network::NetworkEvent::Kind::kEndOfPartition:
      m.set_end_of_partition(true);
      m.set_no_drain(!event.drain);
      break;
    case network::NetworkEvent::Kind::kBarrier:
      m.set_barrier(event.checkpoint_id);
      m.set_savepoint(event.savepoint);
      m.set_native(event.native);
      break;
    case network::NetworkEvent::Kind::kWatermarkStatus:
      m.set_watermark_idle(event.idle);
      break;
  }
  return connection_->Enqueue(std::move(m));
}

void RemoteOutputChannel::Release() {
  std::lock_guard lock(mu_);
  if (done_) return;
  done_ = true;
  if (connection_) connection_->Release(id_);
}

absl::Status RemoteOutputChannel::Close() {
  if (!connection_) return absl::OkStatus();
  absl::Status s = state_->AwaitClosed();
  Release();
  return s;
}

void RemoteOutputChannel::Cancel() {
  state_->Fail(absl::CancelledError("data channel cancelled"));
  std::lock_guard lock(mu_);
  if (done_) return;
  done_ = true;
  if (connection_) AbortLocked();
}

void RemoteOutputChannel::AbortLocked() {
  v1::DataMessage m;
  m.set_channel_id(id_);
  m.set_abort("the producer task was cancelled");
  (void)connection_->Enqueue(std::move(m));
  connection_->Release(id_);
}

}  // namespace sluice::taskmanager
