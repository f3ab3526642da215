#pragma once
// The producer side of the multiplexed data exchange (DataExchangeService.Exchange): one
// ExchangeConnection per consumer TaskManager, carrying every RemoteOutputChannel from this
// TaskManager to it (Flink's NettyConnectionManager / PartitionRequestClientFactory, which share
// one TCP connection per TaskManager pair the same way).
//
// A connection has one gRPC stream and two threads: a writer that sends everything queued in one
// DataFrame per write (so a task thread never blocks on the socket: it only appends to a queue),
// and a reader that dispatches the consumer's batched CreditFrames to the channels. The queue is
// bounded by the channels' credits (a buffer is queued only after a credit was spent) plus the
// rare events that need none (watermarks, barriers, end of partition).
//
// Failure: when the stream breaks (the remote TaskManager was lost), every channel on it fails
// with Unavailable at once and the connection is dropped; the next channel to that address opens
// a new one. Cancelling a channel sends `abort` for it alone; the others continue.
//
// Threading: all public methods are thread-safe. A RemoteOutputChannel is used by one task thread
// (Send, Close) plus Cancel from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "runtime/base/ids.h"
#include "runtime/network/channels.h"
#include "sluice/v1/taskmanager.grpc.pb.h"

namespace sluice::taskmanager {

// What one channel's producer waits on: acceptance, credits, the close acknowledgement. Fed by
// the connection's reader thread.
class RemoteChannelState {
 public:
  // Waits until accepted; the failure otherwise (refused, connection lost, cancelled, or no
  // answer within `timeout_ms`).
  absl::Status AwaitAccepted(int64_t timeout_ms);
  // Spends one credit, waiting for one.
  absl::Status AcquireCredit();
  // Waits until the consumer acknowledged end of partition.
  absl::Status AwaitClosed();

  void Accept(int credits);
  void Grant(int credits);
  void AcknowledgeClose();
  // The first failure sticks; waiters wake and return it.
  void Fail(absl::Status status);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool accepted_ = false;
  bool closed_ = false;
  int credits_ = 0;
  absl::Status failure_;
};

class ExchangeConnection {
 public:
  // Opens the stream to the consumer TaskManager at `address`. `producer_address`: this
  // TaskManager, for the consumer's error messages.
  ExchangeConnection(std::shared_ptr<grpc::Channel> channel, std::string address,
                     std::string producer_address);
  // Fails the remaining channels (Cancelled), ends the stream and joins both threads.
  ~ExchangeConnection();
  ExchangeConnection(const ExchangeConnection&) = delete;
  ExchangeConnection& operator=(const ExchangeConnection&) = delete;

  // Registers a channel and queues its `open`; returns its id. Unavailable if the connection is
  // broken (the state is failed too).
  absl::StatusOr<uint32_t> Open(std::shared_ptr<RemoteChannelState> state, JobId job,
                                ExecutionAttemptId consumer, int gate_index,
                                int producer_subtask);
  // Queues a message; never blocks. Unavailable if the connection is broken.
  absl::Status Enqueue(v1::DataMessage message);
  // Forgets a channel (after its close acknowledgement or abort).
  void Release(uint32_t channel_id);
  bool broken() const;
  const std::string& address() const { return address_; }
  // Channels currently registered (tests: how many share the connection).
  size_t num_channels() const;

 private:
  void WriteLoop();
  void ReadLoop();
  void Break(absl::Status status);

  const std::string address_;
  const std::string producer_address_;
  std::unique_ptr<v1::DataExchangeService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::DataFrame, v1::CreditFrame>> stream_;

  mutable std::mutex mu_;  // everything below
  std::condition_variable cv_;
  std::deque<v1::DataMessage> queue_;
  std::map<uint32_t, std::shared_ptr<RemoteChannelState>> channels_;
  uint32_t next_id_ = 1;
  absl::Status broken_;

  std::thread writer_;
  std::thread reader_;
};

// The connections of one TaskManager, one per consumer address; a broken one is replaced on the
// next request. Thread-safe.
class ExchangeConnectionManager {
 public:
  explicit ExchangeConnectionManager(std::string producer_address)
      : producer_address_(std::move(producer_address)) {}
  std::shared_ptr<ExchangeConnection> Get(const std::string& address);
  // Connections open now (tests).
  size_t num_connections() const;
  // Closes every connection; later Get calls still work (a new connection).
  void Shutdown();

 private:
  const std::string producer_address_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ExchangeConnection>> connections_;
};

// One producer -> consumer channel over a shared connection. Opens lazily on the first Send and
// waits (up to 60 s) for the consumer to accept: the consumer TaskManager waits for the consumer
// task to be deployed.
class RemoteOutputChannel : public network::OutputChannel {
 public:
  RemoteOutputChannel(ExchangeConnectionManager* connections, std::string address, JobId job,
                      ExecutionAttemptId consumer, int gate_index, int producer_subtask);
  ~RemoteOutputChannel() override;
  absl::Status Send(network::NetworkEvent event) override;
  void Cancel() override;
  // Waits until the consumer acknowledged end of partition (sent before by Send).
  absl::Status Close() override;

 private:
  absl::Status Open();
  void Release();
  // Tells the consumer this channel ends without end of partition, and forgets it.
  void AbortLocked();

  ExchangeConnectionManager* connections_;
  const std::string address_;
  const JobId job_;
  const ExecutionAttemptId consumer_;
  const int gate_index_;
  const int producer_subtask_;
  std::shared_ptr<RemoteChannelState> state_ = std::make_shared<RemoteChannelState>();

  std::mutex mu_;  // connection_, id_, done_: Cancel may run on another thread
  std::shared_ptr<ExchangeConnection> connection_;
  uint32_t id_ = 0;
  bool done_ = false;  // closed or cancelled
};

}  // namespace sluice::taskmanager
