#include "taskmanager/service/remote_channel.h"

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::taskmanager {

RemoteOutputChannel::RemoteOutputChannel(std::shared_ptr<grpc::Channel> channel,
                                         std::string address, std::string producer_address,
                                         JobId job, ExecutionAttemptId consumer,
                                         int gate_index, int channel_index)
    : stub_(v1::DataExchangeService::NewStub(std::move(channel))),
      address_(std::move(address)),
      producer_address_(std::move(producer_address)),
      job_(job),
      consumer_(consumer),
      gate_index_(gate_index),
      channel_index_(channel_index),
      credits_(std::make_shared<network::CreditCounter>(0)) {}

RemoteOutputChannel::~RemoteOutputChannel() {
  Cancel();
  if (reader_.joinable()) reader_.join();
}

absl::Status RemoteOutputChannel::Connect() {
  stream_ = stub_->Exchange(&context_);
  v1::DataMessage hello;
  hello.set_job_id(job_.ToString());
  hello.set_consumer_attempt_id(consumer_.ToString());
  hello.set_gate_index(gate_index_);
  hello.set_channel_index(channel_index_);
  hello.set_producer_address(producer_address_);
  if (!stream_->Write(hello)) {
    grpc::Status st = stream_->Finish();
    return UnavailableF("cannot open data channel to {}: {}", address_, st.error_message());
  }
  auto credits = credits_;
  reader_ = std::thread([this, credits] {
    v1::CreditMessage c;
    while (stream_->Read(&c)) {
      if (!c.error().empty()) {
        std::lock_guard lock(error_mu_);
        error_ = c.error();
        break;
      }
      credits->Grant(c.credits());
    }
    // Stream ended: wake a producer waiting for credit; it will see the broken stream.
    credits->Cancel();
  });
  return absl::OkStatus();
}

absl::Status RemoteOutputChannel::Send(network::NetworkEvent event) {
  if (!stream_) RETURN_IF_ERROR(Connect());
  msg_.Clear();
  switch (event.kind) {
    case network::NetworkEvent::Kind::kBuffer: {
      if (!credits_->Acquire().ok()) {
        std::lock_guard lock(error_mu_);
        return UnavailableF(
            "connection to consumer TaskManager {} closed unexpectedly{}; this might indicate "
            "that the remote TaskManager was lost",
            address_, error_.empty() ? "" : " (" + error_ + ")");
      }
      msg_.set_buffer(std::move(event.buffer));
      break;
    }
    case network::NetworkEvent::Kind::kWatermark: msg_.set_watermark(event.watermark); break;
    case network::NetworkEvent::Kind::kEndOfPartition:
      msg_.set_end_of_partition(true);
      msg_.set_no_drain(!event.drain);
      break;
    case network::NetworkEvent::Kind::kBarrier:
      msg_.set_barrier(event.checkpoint_id);
      msg_.set_savepoint(event.savepoint);
      msg_.set_native(event.native);
      break;
    case network::NetworkEvent::Kind::kWatermarkStatus:
      msg_.set_watermark_idle(event.idle);
      break;
  }
  if (!stream_->Write(msg_)) {
    return UnavailableF(
        "connection to consumer TaskManager {} broke while sending; this might indicate that "
        "the remote TaskManager was lost",
        address_);
  }
  return absl::OkStatus();
}

void RemoteOutputChannel::Cancel() {
  credits_->Cancel();
  context_.TryCancel();
}

absl::Status RemoteOutputChannel::Close() {
  if (!stream_ || closed_) return absl::OkStatus();
  closed_ = true;
  stream_->WritesDone();
  if (reader_.joinable()) reader_.join();
  grpc::Status st = stream_->Finish();
  if (!st.ok()) {
    return UnavailableF("data channel to {} ended with error: {}", address_, st.error_message());
  }
  return absl::OkStatus();
}

namespace {
// Shared between the handler and the gate's credit-return callback, which may outlive it.
struct CreditWriter {
  std::mutex mu;
  grpc::ServerReaderWriter<v1::CreditMessage, v1::DataMessage>* stream;
  bool open = true;
  void Write(int n) {
    std::lock_guard lock(mu);
    if (!open) return;
    v1::CreditMessage c;
    c.set_credits(n);
    stream->Write(c);
  }
};
}  // namespace

grpc::Status ServeExchange(grpc::ServerContext* context,
                           grpc::ServerReaderWriter<v1::CreditMessage, v1::DataMessage>* stream,
                           const GateLookup& lookup, int initial_credits) {
  v1::DataMessage msg;
  if (!stream->Read(&msg)) return grpc::Status::OK;
  auto gate = lookup(msg.consumer_attempt_id());
  if (!gate) {
    v1::CreditMessage err;
    err.set_error(fmt::format("no task attempt {} on this TaskManager",
                              msg.consumer_attempt_id()));
    stream->Write(err);
    return grpc::Status(grpc::StatusCode::NOT_FOUND, err.error());
  }
  const int ch = gate->ChannelIndex(msg.gate_index(), msg.channel_index());
  const std::string producer = msg.producer_address();
  if (ch < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("no channel {} in input gate {} of attempt {} (it has {} "
                                    "gates)",
                                    msg.channel_index(), msg.gate_index(),
                                    msg.consumer_attempt_id(), gate->num_gates()));
  }
  auto writer = std::make_shared<CreditWriter>();
  writer->stream = stream;
  gate->SetCreditReturn(ch, [writer](int n) { writer->Write(n); });
  writer->Write(initial_credits);
  bool ended = false;
  while (stream->Read(&msg)) {
    network::NetworkEvent ev;
    switch (msg.payload_case()) {
      case v1::DataMessage::kBuffer:
        ev.kind = network::NetworkEvent::Kind::kBuffer;
        ev.buffer = std::move(*msg.mutable_buffer());
        break;
      case v1::DataMessage::kWatermark:
        ev.kind = network::NetworkEvent::Kind::kWatermark;
        ev.watermark = msg.watermark();
        break;
      case v1::DataMessage::kBarrier:
        ev.kind = network::NetworkEvent::Kind::kBarrier;
        ev.checkpoint_id = msg.barrier();
        ev.savepoint = msg.savepoint();
        ev.native = msg.native();
        break;
      case v1::DataMessage::kWatermarkIdle:
        ev.kind = network::NetworkEvent::Kind::kWatermarkStatus;
        ev.idle = msg.watermark_idle();
        break;
      case v1::DataMessage::kEndOfPartition:
        ev.kind = network::NetworkEvent::Kind::kEndOfPartition;
        ev.drain = !msg.no_drain();
        ended = true;
        break;
      default:
        continue;
    }
    gate->Push(ch, std::move(ev));
  }
  {
    std::lock_guard lock(writer->mu);
    writer->open = false;
  }
  if (!ended) {
    // Flink: "Connection unexpectedly closed by remote task manager ... This might indicate
    // that the remote task manager was lost."
    gate->Fail(absl::UnavailableError(fmt::format(
        "connection to the producer of input channel {} closed unexpectedly by remote "
        "TaskManager {} before end of partition; this might indicate that the remote "
        "TaskManager was lost",
        ch, producer.empty() ? context->peer() : producer)));
  }
  return grpc::Status::OK;
}

}  // namespace sluice::taskmanager
