#include "runtime/connectors/kafka/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"
#include "runtime/formats/record_encoder.h"
#include "runtime/core/record_batch.h"
#include "spdlog/spdlog.h"

namespace sluice::connectors::kafka {
namespace {

constexpr std::string_view kStateMagic = "KSNK";
constexpr uint32_t kStateVersion = 1;
constexpr int kCommittedTimeoutMs = 30'000;
// Kafka brokers' default transaction.max.timeout.ms; librdkafka's own default (60 s) would
// abort the transaction of a checkpoint interval longer than a minute.
constexpr const char* kDefaultTransactionTimeoutMs = "900000";

void LogFromRdkafka(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const char* name = rd_kafka_name(rk);
  if (level <= 3) {
    spdlog::error("kafka sink [{}] {}: {}", name, fac, buf);
  } else if (level == 4) {
    spdlog::warn("kafka sink [{}] {}: {}", name, fac, buf);
  } else if (level <= 6) {
    spdlog::info("kafka sink [{}] {}: {}", name, fac, buf);
  } else {
    spdlog::debug("kafka sink [{}] {}: {}", name, fac, buf);
  }
}

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
    const std::string topic(r.topic);
    for (;;) {
      rd_kafka_resp_err_t err;
      if (r.headers.empty()) {
        err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
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
        err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
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

// A message kept for a possible replay of its transaction (exactly-once only).
struct SavedMessage {
  std::string key;
  bool has_key = false;
  std::string value;
  int64_t timestamp_ms = 0;
  bool null_value = false;  // a tombstone (upsert)
};

// A prepared transaction as recorded in the state.
struct PreparedTxn {
  int64_t checkpoint_id = -1;
  std::string transactional_id;
  std::vector<SavedMessage> messages;
};

struct SinkState {
  int32_t subtask = 0;
  int32_t pool_size = 0;
  std::vector<PreparedTxn> txns;
};

std::string EncodeState(const SinkState& s) {
  formats::StateWriter w(kStateMagic, kStateVersion);
  w.U32(static_cast<uint32_t>(s.subtask));
  w.U32(static_cast<uint32_t>(s.pool_size));
  w.U32(static_cast<uint32_t>(s.txns.size()));
  for (const PreparedTxn& t : s.txns) {
    w.I64(t.checkpoint_id);
    w.Str(t.transactional_id);
    w.U32(static_cast<uint32_t>(t.messages.size()));
    for (const SavedMessage& m : t.messages) {
      // Bit 0: has a key; bit 1: a tombstone (states written before upsert have 0 or 1).
      w.U8(static_cast<uint8_t>((m.has_key ? 1 : 0) | (m.null_value ? 2 : 0)));
      w.Str(m.key);
      w.Str(m.value);
      w.I64(m.timestamp_ms);
    }
  }
  return std::move(w).Finish();
}

absl::StatusOr<SinkState> DecodeState(std::string_view data) {
  formats::StateReader r(data, "kafka sink state");
  ASSIGN_OR_RETURN(uint32_t version, r.Header(kStateMagic));
  if (version != kStateVersion) {
    return DataLossF("kafka sink state: version {} is not readable (expected {})", version,
                     kStateVersion);
  }
  SinkState s;
  ASSIGN_OR_RETURN(uint32_t subtask, r.U32());
  ASSIGN_OR_RETURN(uint32_t pool, r.U32());
  ASSIGN_OR_RETURN(uint32_t n, r.U32());
  s.subtask = static_cast<int32_t>(subtask);
  s.pool_size = static_cast<int32_t>(pool);
  for (uint32_t i = 0; i < n; ++i) {
    PreparedTxn t;
    ASSIGN_OR_RETURN(t.checkpoint_id, r.I64());
    ASSIGN_OR_RETURN(t.transactional_id, r.Str());
    ASSIGN_OR_RETURN(uint32_t count, r.U32());
    for (uint32_t k = 0; k < count; ++k) {
      SavedMessage m;
      ASSIGN_OR_RETURN(uint8_t has_key, r.U8());
      m.has_key = (has_key & 1) != 0;
      m.null_value = (has_key & 2) != 0;
      ASSIGN_OR_RETURN(m.key, r.Str());
      ASSIGN_OR_RETURN(m.value, r.Str());
      ASSIGN_OR_RETURN(m.timestamp_ms, r.I64());
      t.messages.push_back(std::move(m));
    }
    s.txns.push_back(std::move(t));
  }
  RETURN_IF_ERROR(r.End());
  return s;
}

class KafkaSink : public api::Operator {
 public:
  explicit KafkaSink(KafkaSinkOptions opts) : opts_(std::move(opts)) {}

  core::SchemaPtr output_schema() const override { return opts_.schema; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    RETURN_IF_ERROR(Validate());
    ASSIGN_OR_RETURN(encoder_, RecordEncoder::Create(opts_.schema, opts_.format, opts_.key_fields));
    factory_ = opts_.client_factory;
    if (factory_ == nullptr) {
      const std::string who = !ctx_.operator_uid.empty()    ? ctx_.operator_uid
                              : !ctx_.operator_name.empty() ? ctx_.operator_name
                                                            : std::string("kafka-sink");
      ASSIGN_OR_RETURN(factory_,
                       MakeRdKafkaClientFactory(opts_, ctx_.subtask_index,
                                                fmt::format("sluice-{}-{}", who,
                                                            ctx_.subtask_index)));
    }
    if (opts_.delivery != DeliveryGuarantee::kExactlyOnce) {
      ASSIGN_OR_RETURN(producer_, factory_->NewProducer(""));
      return absl::OkStatus();
    }
    // Exactly-once: fence every id of the pool (aborting what the previous attempt left
    // open), then settle the restored transactions.
    slots_.resize(static_cast<size_t>(opts_.transactional_id_pool_size));
    for (size_t k = 0; k < slots_.size(); ++k) {
      slots_[k].id = TransactionalId(ctx_.subtask_index, static_cast<int32_t>(k));
      ASSIGN_OR_RETURN(slots_[k].producer, factory_->NewProducer(slots_[k].id));
      RETURN_IF_ERROR(Wrap(slots_[k].producer->InitTransactions()));
    }
    return Restore();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output&) override {
    RETURN_IF_ERROR(CheckDeliveries());
    KafkaProducerClient* producer = producer_.get();
    Slot* slot = nullptr;
    if (opts_.delivery == DeliveryGuarantee::kExactlyOnce) {
      if (batch.empty()) return absl::OkStatus();
      if (current_ < 0) RETURN_IF_ERROR(BeginTransaction());
      slot = &slots_[static_cast<size_t>(current_)];
      producer = slot->producer.get();
    }
    int64_t bytes = 0;
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      const core::RowKind kind = batch.row_kind(row);
      if (kind == core::RowKind::kUpdateBefore) continue;  // upsert: the +U replaces it
      const bool tombstone = kind == core::RowKind::kDelete;
      absl::Status st = encoder_->EncodeValue(batch, row, &value_);
      if (!st.ok()) {
        return InvalidArgumentF("kafka sink: topic '{}' subtask {}: {}", opts_.topic,
                                ctx_.subtask_index, st.message());
      }
      ProducerRecord rec;
      rec.topic = opts_.topic;
      rec.has_key = encoder_->EncodeKey(batch, row, &key_);
      rec.key = key_;
      rec.value = value_;
      rec.null_value = tombstone;
      const int64_t ts = batch.timestamp(row);
      rec.timestamp_ms = ts == core::kNoTimestamp || ts < 0 ? 0 : ts;
      RETURN_IF_ERROR(Wrap(producer->Produce(rec)));
      if (slot != nullptr) {
        slot->messages.push_back(SavedMessage{rec.has_key ? key_ : std::string(), rec.has_key,
                                              value_, rec.timestamp_ms, tombstone});
      }
      bytes += static_cast<int64_t>(key_.size() + value_.size());
    }
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->records_in += static_cast<int64_t>(batch.num_rows());
      ctx_.metrics->bytes_out += bytes;
    }
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t, api::Output&) override { return absl::OkStatus(); }

  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) override {
    switch (opts_.delivery) {
      case DeliveryGuarantee::kNone:
        RETURN_IF_ERROR(CheckDeliveries());
        return std::string();
      case DeliveryGuarantee::kAtLeastOnce:
        RETURN_IF_ERROR(Wrap(producer_->Flush()));
        return std::string();
      case DeliveryGuarantee::kExactlyOnce: break;
    }
    if (current_ >= 0) RETURN_IF_ERROR(Prepare(current_, checkpoint_id));
    SinkState state;
    state.subtask = ctx_.subtask_index;
    state.pool_size = opts_.transactional_id_pool_size;
    for (Slot& s : slots_) {
      if (!s.prepared) continue;
      if (s.checkpoint_id < 0) {  // prepared by Finish: belongs to this checkpoint
        RETURN_IF_ERROR(Wrap(s.producer->SendMarker(Group(ctx_.subtask_index), opts_.topic,
                                                    checkpoint_id)));
        s.checkpoint_id = checkpoint_id;
      }
      state.txns.push_back(PreparedTxn{s.checkpoint_id, s.id, s.messages});
    }
    std::sort(state.txns.begin(), state.txns.end(),
              [](const PreparedTxn& a, const PreparedTxn& b) {
                return a.checkpoint_id < b.checkpoint_id;
              });
    return EncodeState(state);
  }

  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) override {
    if (opts_.delivery != DeliveryGuarantee::kExactlyOnce) return absl::OkStatus();
    for (;;) {  // in checkpoint order
      Slot* next = nullptr;
      for (Slot& s : slots_) {
        if (s.prepared && s.checkpoint_id >= 0 && s.checkpoint_id <= checkpoint_id &&
            (next == nullptr || s.checkpoint_id < next->checkpoint_id)) {
          next = &s;
        }
      }
      if (next == nullptr) return absl::OkStatus();
      RETURN_IF_ERROR(Wrap(next->producer->CommitTransaction()));
      spdlog::debug("kafka sink {}: committed transaction {} of checkpoint {} ({} messages)",
                    Where(), next->id, next->checkpoint_id, next->messages.size());
      next->prepared = false;
      next->checkpoint_id = -1;
      next->messages.clear();
    }
  }

  absl::Status Finish(api::Output&) override {
    if (opts_.delivery != DeliveryGuarantee::kExactlyOnce) {
      return Wrap(producer_->Flush());
    }
    if (current_ < 0) return absl::OkStatus();
    if (!ctx_.checkpointing_enabled) {
      Slot& s = slots_[static_cast<size_t>(current_)];
      RETURN_IF_ERROR(Wrap(s.producer->Flush()));
      RETURN_IF_ERROR(Wrap(s.producer->CommitTransaction()));
      s.messages.clear();
      current_ = -1;
      return absl::OkStatus();
    }
    // The task's final checkpoint (SnapshotState + NotifyCheckpointComplete) commits it.
    return Prepare(current_, -1);
  }

  void Close() override {
    if (current_ >= 0) {
      // An open, unprepared transaction belongs to no checkpoint: nothing will commit it.
      absl::Status st = slots_[static_cast<size_t>(current_)].producer->AbortTransaction();
      if (!st.ok()) spdlog::warn("kafka sink {}: abort on close: {}", Where(), st.message());
      current_ = -1;
    }
    // Prepared transactions are left open: a restore settles them (see the header).
    slots_.clear();
    producer_.reset();
  }

 private:
  struct Slot {
    std::string id;
    std::unique_ptr<KafkaProducerClient> producer;
    bool prepared = false;
    int64_t checkpoint_id = -1;  // prepared: its checkpoint; -1 = prepared by Finish
    std::vector<SavedMessage> messages;
  };

  absl::Status Validate() const {
    if (opts_.schema == nullptr) return InvalidArgumentF("kafka sink: schema is required");
    if (opts_.topic.empty()) return InvalidArgumentF("kafka sink: topic is required");
    if (opts_.delivery == DeliveryGuarantee::kExactlyOnce) {
      if (opts_.transactional_id_prefix.empty()) {
        return InvalidArgumentF(
            "kafka sink: topic '{}': delivery exactly-once needs transactional-id-prefix",
            opts_.topic);
      }
      if (opts_.transactional_id_pool_size < 2) {
        return InvalidArgumentF(
            "kafka sink: transactional-id-pool-size must be at least 2, got {}",
            opts_.transactional_id_pool_size);
      }
    }
    return absl::OkStatus();
  }

  std::string Where() const {
    return fmt::format("topic '{}' subtask {}", opts_.topic, ctx_.subtask_index);
  }
  absl::Status Wrap(const absl::Status& st) const {
    if (st.ok()) return st;
    return absl::Status(st.code(), fmt::format("kafka sink: {}: {}", Where(), st.message()));
  }
  std::string TransactionalId(int32_t subtask, int32_t k) const {
    return fmt::format("{}-{}-{}", opts_.transactional_id_prefix, subtask, k);
  }
  std::string Group(int32_t subtask) const {
    return fmt::format("{}-{}", opts_.transactional_id_prefix, subtask);
  }

  absl::Status CheckDeliveries() {
    if (producer_ != nullptr) return Wrap(producer_->Poll());
    for (Slot& s : slots_) RETURN_IF_ERROR(Wrap(s.producer->Poll()));
    return absl::OkStatus();
  }

  absl::Status BeginTransaction() {
    Slot& s = slots_[static_cast<size_t>(next_slot_)];
    if (s.prepared) {
      return FailedPreconditionF(
          "kafka sink: {}: all {} transactional producers hold transactions waiting for their "
          "checkpoint to complete (oldest: checkpoint {}); raise transactional-id-pool-size or "
          "let fewer checkpoints fail",
          Where(), slots_.size(), s.checkpoint_id);
    }
    RETURN_IF_ERROR(Wrap(s.producer->BeginTransaction()));
    current_ = next_slot_;
    return absl::OkStatus();
  }

  // Flink's KafkaWriter#prepareCommit: the transaction keeps its records, flushed, open.
  absl::Status Prepare(int32_t slot_index, int64_t checkpoint_id) {
    Slot& s = slots_[static_cast<size_t>(slot_index)];
    if (checkpoint_id >= 0) {
      RETURN_IF_ERROR(
          Wrap(s.producer->SendMarker(Group(ctx_.subtask_index), opts_.topic, checkpoint_id)));
    }
    RETURN_IF_ERROR(Wrap(s.producer->Flush()));
    s.prepared = true;
    s.checkpoint_id = checkpoint_id;
    current_ = -1;
    next_slot_ = (slot_index + 1) % static_cast<int32_t>(slots_.size());
    return absl::OkStatus();
  }

  absl::Status Restore() {
    std::vector<SinkState> states;
    if (!ctx_.restored_union_states.empty()) {
      const int32_t p = ctx_.parallelism;
      for (int32_t j = 0; j < static_cast<int32_t>(ctx_.restored_union_states.size()); ++j) {
        if (j % p != ctx_.subtask_index) continue;
        const std::string& blob = ctx_.restored_union_states[static_cast<size_t>(j)];
        if (blob.empty()) continue;
        ASSIGN_OR_RETURN(SinkState s, DecodeState(blob));
        if (s.subtask != j) {
          return DataLossF("kafka sink: {}: union state {} belongs to subtask {}", Where(), j,
                           s.subtask);
        }
        states.push_back(std::move(s));
      }
    } else if (ctx_.restored_state.has_value() && !ctx_.restored_state->empty()) {
      ASSIGN_OR_RETURN(SinkState s, DecodeState(*ctx_.restored_state));
      states.push_back(std::move(s));
    }
    for (const SinkState& s : states) RETURN_IF_ERROR(Settle(s));
    return absl::OkStatus();
  }

  // Fences the old subtask's producers and commits, once, the restored transactions that the
  // failed attempt had not committed (see the header: "Recovery").
  absl::Status Settle(const SinkState& s) {
    const bool own = s.subtask == ctx_.subtask_index;
    std::vector<std::unique_ptr<KafkaProducerClient>> fenced;
    for (int32_t k = own ? static_cast<int32_t>(slots_.size()) : 0; k < s.pool_size; ++k) {
      ASSIGN_OR_RETURN(auto producer, factory_->NewProducer(TransactionalId(s.subtask, k)));
      RETURN_IF_ERROR(Wrap(producer->InitTransactions()));
      fenced.push_back(std::move(producer));
    }
    if (s.txns.empty()) return absl::OkStatus();
    absl::StatusOr<int64_t> marker_or = factory_->CommittedMarker(Group(s.subtask), opts_.topic);
    if (!marker_or.ok()) return Wrap(marker_or.status());
    const int64_t marker = *marker_or;
    int64_t last = -1;
    size_t replayed = 0, txns = 0;
    KafkaProducerClient* producer =
        own || fenced.empty() ? slots_[0].producer.get() : fenced[0].get();
    bool begun = false;
    for (const PreparedTxn& t : s.txns) {
      if (t.checkpoint_id <= marker) continue;  // committed before the failure
      if (!begun) {
        RETURN_IF_ERROR(Wrap(producer->BeginTransaction()));
        begun = true;
      }
      for (const SavedMessage& m : t.messages) {
        ProducerRecord rec{opts_.topic, m.value, m.key, m.has_key, m.timestamp_ms, {},
                           m.null_value};
        RETURN_IF_ERROR(Wrap(producer->Produce(rec)));
      }
      last = std::max(last, t.checkpoint_id);
      replayed += t.messages.size();
      ++txns;
    }
    if (!begun) {
      spdlog::info("kafka sink {}: restored transactions of old subtask {} were committed "
                   "(commit marker {})",
                   Where(), s.subtask, marker);
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Wrap(producer->SendMarker(Group(s.subtask), opts_.topic, last)));
    RETURN_IF_ERROR(Wrap(producer->Flush()));
    RETURN_IF_ERROR(Wrap(producer->CommitTransaction()));
    spdlog::info("kafka sink {}: recommitted {} messages of {} restored transaction(s) of old "
                 "subtask {} (commit marker was {}, now {})",
                 Where(), replayed, txns, s.subtask, marker, last);
    return absl::OkStatus();
  }

  KafkaSinkOptions opts_;
  std::unique_ptr<RecordEncoder> encoder_;
  std::shared_ptr<KafkaClientFactory> factory_;
  std::unique_ptr<KafkaProducerClient> producer_;  // none / at-least-once
  std::vector<Slot> slots_;                        // exactly-once: the pool
  int32_t current_ = -1;    // slot of the open transaction, -1 if none
  int32_t next_slot_ = 0;   // slot of the next transaction
  std::string key_, value_;  // reused encode buffers
};

}  // namespace

absl::StatusOr<DeliveryGuarantee> ParseDeliveryGuarantee(std::string_view name) {
  if (name == "none") return DeliveryGuarantee::kNone;
  if (name == "at-least-once") return DeliveryGuarantee::kAtLeastOnce;
  if (name == "exactly-once") return DeliveryGuarantee::kExactlyOnce;
  return InvalidArgumentF(
      "kafka sink: delivery '{}' is not one of none, at-least-once, exactly-once", name);
}

absl::StatusOr<SinkPartitioner> ParseSinkPartitioner(std::string_view name) {
  if (name == "default") return SinkPartitioner::kDefault;
  if (name == "key") return SinkPartitioner::kKey;
  if (name == "round-robin") return SinkPartitioner::kRoundRobin;
  if (name == "fixed") return SinkPartitioner::kFixed;
  return InvalidArgumentF(
      "kafka sink: partitioner '{}' is not one of default, key, round-robin, fixed", name);
}

absl::StatusOr<std::shared_ptr<KafkaClientFactory>> MakeRdKafkaClientFactory(
    const KafkaSinkOptions& opts, int32_t subtask, std::string client_id) {
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
  }
  for (const auto& [k, v] : opts.properties) settings.emplace_back(k, v);
  return std::shared_ptr<KafkaClientFactory>(
      std::make_shared<RdKafkaFactory>(std::move(settings), opts.partitioner, subtask));
}

std::unique_ptr<api::Operator> MakeKafkaSink(KafkaSinkOptions opts) {
  return std::make_unique<KafkaSink>(std::move(opts));
}

}  // namespace sluice::connectors::kafka
