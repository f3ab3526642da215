#pragma once
// The consumer side of the multiplexed data exchange (see exchange_client.h): serves one
// producer TaskManager's DataExchangeService.Exchange stream, which carries all of its channels
// to the subtasks of this TaskManager.
//
// The gRPC handler thread reads DataFrames and pushes each channel's events into its consumer's
// InputGate (never blocking: credits bound the gates). One writer thread per stream answers:
// it binds opened channels to their gates (waiting up to `deploy_wait_ms` for a consumer task
// that is not deployed yet, without holding up the other channels), and sends acceptances,
// close acknowledgements and the credits that consumer tasks return, batched: every credit
// returned since the last write goes in one CreditFrame, so a consumer task thread never writes
// to the socket.
//
// Failure: a channel whose producer aborts, or whose stream ends before its end of partition,
// fails its consumer's gate (Unavailable, naming the producer TaskManager).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "runtime/network/channels.h"
#include "sluice/v1/taskmanager.grpc.pb.h"

namespace sluice::taskmanager {

// The input gate of a consumer attempt, without waiting; null if it is not deployed (yet).
using GateLookup =
    std::function<std::shared_ptr<network::InputGate>(const std::string& attempt_id)>;

struct ExchangeServerOptions {
  int initial_credits = 4;          // taskmanager.network.buffers-per-channel
  int64_t deploy_wait_ms = 30'000;  // how long an open waits for its consumer task
};

// Runs for the stream's life on the calling (gRPC handler) thread.
grpc::Status ServeExchange(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream,
                           const GateLookup& lookup, const ExchangeServerOptions& options);

}  // namespace sluice::taskmanager
