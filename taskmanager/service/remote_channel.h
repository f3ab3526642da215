#pragma once
// Remote data channels over gRPC (DataExchangeService.Exchange): the producer side
// (RemoteOutputChannel) and the consumer side handler (ServeExchange). One bidirectional stream
// per channel: DataMessages (buffers, watermarks, end of partition) from producer to consumer,
// CreditMessages back. The first DataMessage is a handshake naming the consumer attempt and the
// channel; the consumer then grants its initial credits.
//
// Threading: RemoteOutputChannel::Send is called by the producer task thread; a reader thread
// per channel receives credits. ServeExchange runs on a gRPC server thread for the stream's life;
// credits are written from the consumer task thread under a mutex.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "runtime/base/ids.h"
#include "runtime/network/channels.h"
#include "sluice/v1/taskmanager.grpc.pb.h"

namespace sluice::taskmanager {

class RemoteOutputChannel : public network::OutputChannel {
 public:
  // `address`: the consumer's TaskManager; `producer_address`: this TaskManager.
  // The channel from producer subtask `channel_index` to input gate `gate_index` of the
  // consumer attempt.
  RemoteOutputChannel(std::shared_ptr<grpc::Channel> channel, std::string address,
                      std::string producer_address, JobId job, ExecutionAttemptId consumer,
                      int gate_index, int channel_index);
  ~RemoteOutputChannel() override;
  absl::Status Send(network::NetworkEvent event) override;
  void Cancel() override;
  absl::Status Close() override;

 private:
  absl::Status Connect();

  std::unique_ptr<v1::DataExchangeService::Stub> stub_;
  std::string address_;
  std::string producer_address_;
  JobId job_;
  ExecutionAttemptId consumer_;
  int gate_index_;
  int channel_index_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::DataMessage, v1::CreditMessage>> stream_;
  std::shared_ptr<network::CreditCounter> credits_;
  std::thread reader_;
  std::mutex error_mu_;
  std::string error_;
  bool closed_ = false;
  v1::DataMessage msg_;  // reused: no allocation per buffer beyond the payload itself
};

// Looks up (waiting up to a deadline for the task to be deployed) the gate of a consumer attempt;
// null if there is none.
using GateLookup =
    std::function<std::shared_ptr<network::InputGate>(const std::string& attempt_id)>;

grpc::Status ServeExchange(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<v1::CreditMessage, v1::DataMessage>* stream,
                           const GateLookup& lookup, int initial_credits);

}  // namespace sluice::taskmanager
