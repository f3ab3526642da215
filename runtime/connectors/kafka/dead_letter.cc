#include "runtime/connectors/kafka/dead_letter.h"

#include <array>
#include <mutex>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/connectors/kafka/kafka_sink.h"

namespace sluice::connectors::kafka {
namespace {

class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  KafkaDeadLetterSink(std::string topic, std::shared_ptr<KafkaClientFactory> factory)
      : topic_(std::move(topic)), factory_(std::move(factory)) {}

  absl::Status Write(const DeadLetterRecord& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (producer_ == nullptr) {
      auto producer = factory_->NewProducer("");
      if (!producer.ok()) return Annotate(producer.status());
      producer_ = std::move(*producer);
    }
    partition_ = std::to_string(r.partition);
    offset_ = std::to_string(r.offset);
    const std::array<std::pair<std::string_view, std::string_view>, 4> headers = {{
        {"sluice.error.message", r.error},
        {"sluice.error.topic", r.topic},
        {"sluice.error.partition", partition_},
        {"sluice.error.offset", offset_},
    }};
    ProducerRecord rec{topic_, r.value, r.key, !r.key.empty(),
                       r.timestamp_ms >= 0 ? r.timestamp_ms : 0, headers};
    RETURN_IF_ERROR(Annotate(producer_->Produce(rec)));
    return Annotate(producer_->Poll());
  }

  absl::Status Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (producer_ == nullptr) return absl::OkStatus();
    return Annotate(producer_->Flush());
  }

 private:
  absl::Status Annotate(const absl::Status& st) const {
    if (st.ok()) return st;
    return absl::Status(st.code(),
                        fmt::format("kafka dead-letter topic '{}': {}", topic_, st.message()));
  }

  const std::string topic_;
  const std::shared_ptr<KafkaClientFactory> factory_;
  std::mutex mu_;
  std::unique_ptr<KafkaProducerClient> producer_;  // guarded by mu_
  std::string partition_, offset_;                 // header buffers, guarded by mu_
};

}  // namespace

absl::StatusOr<std::shared_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(
    KafkaDeadLetterOptions opts) {
  if (opts.topic.empty()) return InvalidArgumentF("kafka dead-letter queue: topic is required");
  KafkaSinkOptions sink;
  sink.bootstrap_servers = opts.bootstrap_servers;
  sink.topic = opts.topic;
  sink.properties = opts.properties;
  sink.delivery = DeliveryGuarantee::kAtLeastOnce;
  auto factory = MakeRdKafkaClientFactory(sink, 0, "sluice-dead-letter");
  if (!factory.ok()) {
    return InvalidArgumentF("kafka dead-letter queue: {}", factory.status().message());
  }
  return std::shared_ptr<DeadLetterSink>(
      std::make_shared<KafkaDeadLetterSink>(opts.topic, std::move(*factory)));
}

}  // namespace sluice::connectors::kafka
