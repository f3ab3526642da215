#pragma once
// gRPC settings every Sluice daemon and client shares, in one place so they cannot drift apart.
// Header-only; link sluice::proto (which brings gRPC).

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace sluice::rpc {

// Largest gRPC message in either direction (bytes): a TaskDeploymentDescriptor carries the job
// spec and restored state, a data message one serialised record batch.
inline constexpr int kMaxMessageBytes = 64 << 20;

// Server options of the JobManager and TaskManager services.
inline void ConfigureServer(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon "bind" a taken port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

// Channel arguments of clients of those services.
inline grpc::ChannelArguments ChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return args;
}

// absl::Status <-> grpc::Status: the same canonical codes, the message kept as it is.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}
inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace sluice::rpc
