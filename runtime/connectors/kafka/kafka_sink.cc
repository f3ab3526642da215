#include "runtime/connectors/kafka/kafka_sink.h"

#include <algorithm>
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

std::unique_ptr<api::Operator> MakeKafkaSink(KafkaSinkOptions opts) {
  return std::make_unique<KafkaSink>(std::move(opts));
}

}  // namespace sluice::connectors::kafka
