// The librdkafka implementation of KafkaClientFactory / KafkaProducerClient (kafka_sink.h):
// producer configuration defaults, the partitioner callback, delivery reports and the
// read_committed lookup of the exactly-once commit marker.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/connectors/kafka/kafka_common.h"
#include "runtime/connectors/kafka/kafka_sink.h"

namespace sluice::connectors::kafka {
namespace {

constexpr int kCommittedTimeoutMs = 30'000;
// Kafka brokers' default transaction.max.timeout.ms; librdkafka's own default (60 s) would
// abort the transaction of a checkpoint interval longer than a minute.
constexpr const char* kDefaultTransactionTimeoutMs = "900000";

// Takes ownership of a librdkafka error object; OK for null.
absl::Status FromRdError(rd_kafka_error_t* error, std::string_view what) {
  if (error == nullptr) return absl::OkStatus();
  std::string msg = fmt::format("{} failed: {} ({}){}", what, rd_kafka_error_string(error),
                                rd_kafka_error_name(error),
                                rd_kafka_error_is_fatal(error) ? " [fatal]" : "");
  const bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_error_destroy(error);
  return retriable ? absl::UnavailableError(msg) : absl::InternalError(msg);
}

// Partitioning for kRoundRobin and kFixed, called by librdkafka (maybe on its threads).
struct PartitionerState {
  SinkPartitioner kind;
  int32_t subtask;
  std::atomic<uint32_t> next{0};
};

int32_t PartitionerCallback(const rd_kafka_topic_t*, const void*, size_t, int32_t partition_cnt,
                            void* rkt_opaque, void*) {
  auto* p = static_cast<PartitionerState*>(rkt_opaque);
  if (partition_cnt <= 0) return RD_KAFKA_PARTITION_UA;
  if (p->kind == SinkPartitioner::kFixed) return p->subtask % partition_cnt;
  return static_cast<int32_t>(p->next.fetch_add(1, std::memory_order_relaxed) %
                              static_cast<uint32_t>(partition_cnt));
}

class RdKafkaProducer : public KafkaProducerClient {
 public:
  RdKafkaProducer(std::unique_ptr<PartitionerState> partitioner)
      : partitioner_(std::move(partitioner)) {}
  ~RdKafkaProducer() override {
    for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  absl::Status Create(rd_kafka_conf_t* conf) {
    char err[512];
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf, LogFromRdkafka);
    rd_kafka_conf_set_dr_msg_cb(conf, &RdKafkaProducer::OnDelivery);
    if (partitioner_ != nullptr) {
      rd_kafka_topic_conf_t* tconf = rd_kafka_topic_conf_new();
      rd_kafka_topic_conf_set_partitioner_cb(tconf, PartitionerCallback);
      rd_kafka_topic_conf_set_opaque(tconf, partitioner_.get());
      rd_kafka_conf_set_default_topic_conf(conf, tconf);
    }
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgumentF("cannot create the producer: {}", err);
    }
    return absl::OkStatus();
  }

  absl::Status InitTransactions() override {
    return FromRdError(rd_kafka_init_transactions(rk_, -1), "init_transactions");
  }
  absl::Status BeginTransaction() override {
    return FromRdError(rd_kafka_begin_transaction(rk_), "begin_transaction");
  }
  absl::Status Produce(const ProducerRecord& r) override {
    // The librdkafka macros cast their arguments without parentheses: pass plain variables.
    void* value = r.null_value ? nullptr : const_cast<char*>(r.value.data());
    const size_t value_len = r.null_value ? 0 : r.value.size();
    void* key = r.has_key ? const_cast<char*>(r.key.data()) : nullptr;
    const size_t key_len = r.has_key ? r.key.size() : 0;
    const int64_t ts = r.timestamp_ms;
    // A topic handle per topic, kept: naming the topic per message (RD_KAFKA_V_TOPIC) would
    // take librdkafka's client-wide write lock and search its topic list for every record.
    rd_kafka_topic_t* rkt = TopicHandle(r.topic);
    if (rkt == nullptr) {
      return InvalidArgumentF("produce failed: topic '{}': {}", r.topic,
                              rd_kafka_err2str(rd_kafka_last_error()));
    }
    for (;;) {
      rd_kafka_resp_err_t err;
      if (r.headers.empty()) {
        err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt),
                                RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_KEY(key, key_len),
                                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END);
      } else {
        // librdkafka takes ownership of the headers only when the produce succeeds.
        rd_kafka_headers_t* headers = rd_kafka_headers_new(r.headers.size());
        for (const auto& [name, hvalue] : r.headers) {
          rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()),
                              hvalue.data(), static_cast<ssize_t>(hvalue.size()));
        }
        err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt),
                                RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_KEY(key, key_len),
                                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
      }
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return ProduceError(err);
      // Backpressure: librdkafka's queue is full until deliveries free it.
      rd_kafka_poll(rk_, 100);
      RETURN_IF_ERROR(first_error_);
    }
  }
  absl::Status Poll() override {
    rd_kafka_poll(rk_, 0);
    return first_error_;
  }
  absl::Status Flush() override {
    // Every message gets its report within message.timeout.ms, so this wait is bounded.
    while (rd_kafka_outq_len(rk_) > 0) {
      rd_kafka_flush(rk_, 1000);
      RETURN_IF_ERROR(FatalError());
    }
    rd_kafka_poll(rk_, 0);
    return first_error_;
  }
  absl::Status SendMarker(std::string_view group, std::string_view topic,
                          int64_t offset) override {
    rd_kafka_consumer_group_metadata_t* cgmd =
        rd_kafka_consumer_group_metadata_new(std::string(group).c_str());
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, std::string(topic).c_str(), 0)->offset = offset;
    rd_kafka_error_t* error = rd_kafka_send_offsets_to_transaction(rk_, list, cgmd, -1);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return FromRdError(error, "send_offsets_to_transaction (commit marker)");
  }
  absl::Status CommitTransaction() override {
    return FromRdError(rd_kafka_commit_transaction(rk_, -1), "commit_transaction");
  }
  absl::Status AbortTransaction() override {
    return FromRdError(rd_kafka_abort_transaction(rk_, -1), "abort_transaction");
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    auto* self = static_cast<RdKafkaProducer*>(opaque);
    ++self->failed_deliveries_;
    if (self->first_error_.ok()) {
      self->first_error_ = absl::UnavailableError(fmt::format(
          "delivery failed: {} ({}){}", rd_kafka_err2str(m->err), rd_kafka_err2name(m->err),
          m->partition >= 0 ? fmt::format(" on partition {}", m->partition) : std::string()));
    }
  }
  // The handle of `topic`, created on first use (a sink writes to one topic; a few at most);
  // null if librdkafka refuses the name (rd_kafka_last_error says why).
  rd_kafka_topic_t* TopicHandle(std::string_view topic) {
    for (const auto& [name, rkt] : topics_) {
      if (name == topic) return rkt;
    }
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, std::string(topic).c_str(), nullptr);
    if (rkt == nullptr) return nullptr;
    topics_.emplace_back(std::string(topic), rkt);
    return rkt;
  }
  absl::Status ProduceError(rd_kafka_resp_err_t err) {
    RETURN_IF_ERROR(FatalError());
    return absl::UnavailableError(
        fmt::format("produce failed: {} ({})", rd_kafka_err2str(err), rd_kafka_err2name(err)));
  }
  absl::Status FatalError() {
    char buf[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, buf, sizeof(buf));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
    return InternalF("fatal producer error: {} ({})", buf, rd_kafka_err2name(err));
  }

  std::unique_ptr<PartitionerState> partitioner_;
  rd_kafka_t* rk_ = nullptr;
  // Topic handles by name.
  std::vector<std::pair<std::string, rd_kafka_topic_t*>> topics_;
  // Written by the delivery callback, which runs inside rd_kafka_poll/flush on the Task thread.
  absl::Status first_error_;
  int64_t failed_deliveries_ = 0;
};

class RdKafkaFactory : public KafkaClientFactory {
 public:
  RdKafkaFactory(std::vector<std::pair<std::string, std::string>> settings,
                 SinkPartitioner partitioner, int32_t subtask)
      : settings_(std::move(settings)), partitioner_(partitioner), subtask_(subtask) {}

  absl::StatusOr<std::unique_ptr<KafkaProducerClient>> NewProducer(
      const std::string& transactional_id) override {
    auto settings = settings_;
    if (!transactional_id.empty()) settings.emplace_back("transactional.id", transactional_id);
    ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, MakeConf(settings));
    std::unique_ptr<PartitionerState> ps;
    if (partitioner_ == SinkPartitioner::kRoundRobin || partitioner_ == SinkPartitioner::kFixed) {
      ps = std::make_unique<PartitionerState>();
      ps->kind = partitioner_;
      ps->subtask = subtask_;
    }
    auto producer = std::make_unique<RdKafkaProducer>(std::move(ps));
    RETURN_IF_ERROR(producer->Create(conf));
    return std::unique_ptr<KafkaProducerClient>(std::move(producer));
  }

  absl::StatusOr<int64_t> CommittedMarker(const std::string& group,
                                          const std::string& topic) override {
    std::vector<std::pair<std::string, std::string>> settings;
    // Only the connection settings of the producer's configuration matter for this consumer.
    for (const auto& [k, v] : settings_) {
      if (k == "bootstrap.servers" || k.rfind("security.", 0) == 0 || k.rfind("sasl.", 0) == 0 ||
          k.rfind("ssl.", 0) == 0 || k == "client.id" || k == "debug") {
        settings.emplace_back(k, v);
      }
    }
    settings.emplace_back("group.id", group);
    // KIP-447: a read_committed consumer asks for stable offsets, so a pending transactional
    // commit marker is waited for, not skipped.
    settings.emplace_back("isolation.level", "read_committed");
    settings.emplace_back("enable.auto.commit", "false");
    ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, MakeConf(settings));
    rd_kafka_conf_set_log_cb(conf, LogFromRdkafka);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgumentF("cannot create the consumer reading the commit marker: {}", err);
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, kCommittedTimeoutMs);
    int64_t offset = list->elems[0].offset;
    rd_kafka_resp_err_t pe = list->elems[0].err;
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) e = pe;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return UnavailableF("reading the commit marker of group '{}' failed: {} ({})", group,
                          rd_kafka_err2str(e), rd_kafka_err2name(e));
    }
    return offset < 0 ? int64_t{-1} : offset;
  }

 private:
  static absl::StatusOr<rd_kafka_conf_t*> MakeConf(
      const std::vector<std::pair<std::string, std::string>>& settings) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [key, value] : settings) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return InvalidArgumentF("kafka sink: property {}='{}': {}", key, value, err);
      }
    }
    return conf;
  }

  std::vector<std::pair<std::string, std::string>> settings_;
  SinkPartitioner partitioner_;
  int32_t subtask_;
};

// Kafka's Java producer has been idempotent by default since 3.0 (KIP-679), so a Flink
// KafkaSink writes at-least-once output without the duplicates a retried Produce request
// leaves; librdkafka is not. As Kafka 3.2+ does, the default yields to settings idempotence
// cannot have: acks other than all, more than 5 requests in flight, no retries.
bool IdempotenceByDefault(const std::map<std::string, std::string>& properties) {
  auto set_to = [&](std::initializer_list<const char*> keys) -> const std::string* {
    for (const char* key : keys) {
      if (auto it = properties.find(key); it != properties.end()) return &it->second;
    }
    return nullptr;
  };
  if (set_to({"enable.idempotence"}) != nullptr) return false;  // the user's word stands
  if (const std::string* acks = set_to({"acks", "request.required.acks"})) {
    if (*acks != "all" && *acks != "-1") return false;
  }
  if (const std::string* in_flight =
          set_to({"max.in.flight", "max.in.flight.requests.per.connection"})) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(*in_flight, &n) || n > 5) return false;
  }
  if (const std::string* retries = set_to({"retries", "message.send.max.retries"})) {
    if (*retries == "0") return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RdKafkaSinkSettings(
    const KafkaSinkOptions& opts, std::string client_id) {
  if (opts.properties.count("transactional.id") != 0) {
    return InvalidArgumentF(
        "kafka sink: property transactional.id is set by the sink; use "
        "transactional-id-prefix with delivery exactly-once");
  }
  auto it = opts.properties.find("bootstrap.servers");
  if (it != opts.properties.end() && !opts.bootstrap_servers.empty() &&
      it->second != opts.bootstrap_servers) {
    return InvalidArgumentF(
        "kafka sink: bootstrap.servers '{}' and properties.bootstrap.servers '{}' differ",
        opts.bootstrap_servers, it->second);
  }
  if (it == opts.properties.end() && opts.bootstrap_servers.empty()) {
    return InvalidArgumentF("kafka sink: topic '{}': bootstrap.servers is required", opts.topic);
  }
  std::vector<std::pair<std::string, std::string>> settings;
  auto add_default = [&](const char* key, std::string value) {
    if (opts.properties.count(key) == 0) settings.emplace_back(key, std::move(value));
  };
  if (!opts.bootstrap_servers.empty()) add_default("bootstrap.servers", opts.bootstrap_servers);
  add_default("client.id", std::move(client_id));
  // Small Produce requests must not wait for Nagle's algorithm (issue 15).
  add_default("socket.nagle.disable", "true");
  // Not delivery.report.only.error: rd_kafka_flush (at-least-once checkpoints) polls in 10-ms
  // slices that only a delivery report ends early, so without reports of successful
  // deliveries every checkpoint would stall the task for at least 10 ms (issue 15).
  if (opts.partitioner == SinkPartitioner::kKey) add_default("partitioner", "murmur2_random");
  if (opts.partitioner == SinkPartitioner::kRoundRobin ||
      opts.partitioner == SinkPartitioner::kFixed) {
    // librdkafka's sticky partitioning of key-less messages would bypass our partitioner.
    settings.emplace_back("sticky.partitioning.linger.ms", "0");
  }
  if (opts.delivery == DeliveryGuarantee::kExactlyOnce) {
    add_default("transaction.timeout.ms", kDefaultTransactionTimeoutMs);
  } else {
    // librdkafka's 5 ms linger is most of the job's latency at moderate rates; 1 ms keeps
    // batching under load (benchmarks/RESULTS.md, issue 15). Exactly-once output is visible
    // only at the commit, so it keeps librdkafka's default.
    add_default("linger.ms", "1");
    if (IdempotenceByDefault(opts.properties)) add_default("enable.idempotence", "true");
  }
  for (const auto& [k, v] : opts.properties) settings.emplace_back(k, v);
  return settings;
}

absl::StatusOr<std::shared_ptr<KafkaClientFactory>> MakeRdKafkaClientFactory(
    const KafkaSinkOptions& opts, int32_t subtask, std::string client_id) {
  ASSIGN_OR_RETURN(auto settings, RdKafkaSinkSettings(opts, std::move(client_id)));
  return std::shared_ptr<KafkaClientFactory>(
      std::make_shared<RdKafkaFactory>(std::move(settings), opts.partitioner, subtask));
}

}  // namespace sluice::connectors::kafka
