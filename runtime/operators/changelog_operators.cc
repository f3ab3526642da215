#include "runtime/operators/changelog_operators.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/operators/source_output.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::RowKind;

constexpr size_t kOutputBatchRows = 1024;

// What both operators share: the keyed backend, the per-row key context, the all-fields row
// encoding of their state, and the changelog output batch.
class KeyedChangelogOperator : public api::Operator {
 public:
  // `output`: the output schema when it is not the input's (the input's fields first).
  KeyedChangelogOperator(core::SchemaPtr input, core::KeySelector keys, core::KeySelector row,
                         int64_t ttl_ms, std::string_view what, core::SchemaPtr output = nullptr)
      : schema_(std::move(input)), output_(output != nullptr ? std::move(output) : schema_),
        keys_(std::move(keys)), row_(std::move(row)), ttl_ms_(ttl_ms), what_(what),
        out_(output_) {}

  core::SchemaPtr output_schema() const override { return output_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, what_));
    key_group_tag_ = keys_.KeyGroupTag(backend_->max_parallelism());
    backend_->SetCurrentNamespace(0);
    return OpenState(Ttl());
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    for (size_t row = 0; row < n; ++row) {
      ASSIGN_OR_RETURN(const int32_t kg, KeyGroupOfRow(keys_, key_group_tag_, *backend_, batch,
                                                       row, what_, ctx_));
      key_.clear();
      keys_.AppendKeyBytes(batch, row, &key_);
      backend_->SetCurrentKey(key_, kg);
      RETURN_IF_ERROR(ProcessRow(batch, row));
      if (out_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(EmitAndClear(&out_, out, ctx_.metrics));
    }
    return EmitAndClear(&out_, out, ctx_.metrics);
  }

  void Close() override {
    backend_ = nullptr;
    owned_backend_.reset();
  }

 protected:
  virtual absl::Status OpenState(std::optional<state::StateTtlConfig> ttl) = 0;
  virtual absl::Status ProcessRow(const core::RecordBatch& batch, size_t row) = 0;

  std::optional<state::StateTtlConfig> Ttl() const {
    if (ttl_ms_ <= 0) return std::nullopt;
    return state::StateTtlConfig{.ttl_ms = ttl_ms_};
  }
  // Row `row` of `batch` in the all-fields encoding.
  void Encode(const core::RecordBatch& batch, size_t row, std::string* out) const {
    row_.AppendKeyBytes(batch, row, out);
  }
  // Appends `row` of `batch` as `kind`.
  void EmitRow(const core::RecordBatch& batch, size_t row, RowKind kind) {
    out_.AppendRowFrom(batch, row);
    out_.SetRowKind(out_.num_physical_rows() - 1, kind);
  }
  // Appends a stored (encoded) row as `kind`, with the event time `timestamp`; returns its
  // output row (for extra fields).
  size_t EmitStored(std::string_view encoded, int64_t timestamp, RowKind kind) {
    const size_t r = out_.AppendRow(timestamp, kind);
    row_.DecodeKeyInto(encoded, &out_, r, 0);
    return r;
  }
  core::RecordBatch& out() { return out_; }

  const core::SchemaPtr schema_;
  const core::SchemaPtr output_;
  state::KeyedStateBackend* backend_ = nullptr;

 private:
  const core::KeySelector keys_;
  const core::KeySelector row_;  // every field, for storing whole rows
  const int64_t ttl_ms_;
  const std::string_view what_;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;
  uint64_t key_group_tag_ = 0;
  std::string key_;
  core::RecordBatch out_;
};

class KeepLastOperator final : public KeyedChangelogOperator {
 public:
  using KeyedChangelogOperator::KeyedChangelogOperator;

 private:
  absl::Status OpenState(std::optional<state::StateTtlConfig> ttl) override {
    ASSIGN_OR_RETURN(last_, backend_->GetValueState<std::string>(kKeepLastStateName, ttl));
    return absl::OkStatus();
  }

  absl::Status ProcessRow(const core::RecordBatch& batch, size_t row) override {
    const int64_t ts = batch.timestamp(row);
    const std::string* previous = last_->value();
    if (previous != nullptr) {
      EmitStored(*previous, ts, RowKind::kUpdateBefore);
      EmitRow(batch, row, RowKind::kUpdateAfter);
    } else {
      EmitRow(batch, row, RowKind::kInsert);
    }
    encoded_.clear();
    Encode(batch, row, &encoded_);
    last_->update(encoded_);
    return absl::OkStatus();
  }

  state::ValueState<std::string>* last_ = nullptr;
  std::string encoded_;
};

// A byte string that compares (memcmp) as the field's values compare.
void AppendOrderKey(const core::RecordBatch& b, size_t row, size_t col, std::string* out) {
  auto big_endian = [out](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  switch (b.schema().field(col).type) {
    case core::Type::kInt64:
    case core::Type::kTimestamp:
      big_endian(static_cast<uint64_t>(b.GetInt64(row, col)) ^ (uint64_t{1} << 63), 8);
      return;
    case core::Type::kInt32:
    case core::Type::kDate:
      big_endian(static_cast<uint32_t>(b.GetInt32(row, col)) ^ (uint32_t{1} << 31), 4);
      return;
    case core::Type::kDouble: {
      uint64_t bits = std::bit_cast<uint64_t>(b.GetDouble(row, col));
      bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
      big_endian(bits, 8);
      return;
    }
    case core::Type::kString: out->append(b.GetString(row, col)); return;
    case core::Type::kBool:
    case core::Type::kBytes: return;  // refused by MakeTopN
  }
}

// Several order fields: each field's AppendOrderKey bytes made prefix-free (a string's 0x00 bytes
// as 00 FF, then 00 00), behind a null flag (01 value, 02 null: nulls last), all bytes inverted
// for a descending field, so that memcmp order of the whole key is "better first".
void AppendMultiOrderKey(const core::RecordBatch& b, size_t row,
                         const std::vector<std::pair<size_t, bool>>& fields, std::string* out) {
  std::string one;
  for (const auto& [col, descending] : fields) {
    const size_t start = out->size();
    if (b.IsNull(row, col)) {
      out->push_back(static_cast<char>(descending ? 0x01 : 0x02));
      continue;
    }
    out->push_back(0x01);
    one.clear();
    AppendOrderKey(b, row, col, &one);
    if (b.schema().field(col).type == core::Type::kString) {
      for (char c : one) {
        out->push_back(c);
        if (c == 0) out->push_back(static_cast<char>(0xff));
      }
      out->append(2, '\0');
    } else {
      out->append(one);
    }
    if (descending) {
      for (size_t i = start; i < out->size(); ++i) (*out)[i] = static_cast<char>(~(*out)[i]);
    }
  }
}

// One entry of the top-N state: u32 order-key length, the order key, the encoded row.
std::string_view OrderKeyOf(std::string_view entry) {
  uint32_t n = 0;
  std::memcpy(&n, entry.data(), 4);
  return entry.substr(4, n);
}
std::string_view RowOf(std::string_view entry) {
  uint32_t n = 0;
  std::memcpy(&n, entry.data(), 4);
  return entry.substr(4 + n);
}

class TopNOperator final : public KeyedChangelogOperator {
 public:
  TopNOperator(core::SchemaPtr input, core::KeySelector keys, core::KeySelector row,
               TopNSpec spec, size_t order_col, std::vector<std::pair<size_t, bool>> order,
               core::SchemaPtr output)
      : KeyedChangelogOperator(std::move(input), std::move(keys), std::move(row), spec.ttl_ms,
                               "top-n", std::move(output)),
        n_(static_cast<size_t>(spec.n)), descending_(spec.descending), order_col_(order_col),
        order_fields_(std::move(order)), ranked_(!spec.rank_field.empty()),
        final_(spec.emit_final) {}

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(KeyedChangelogOperator::Open(ctx));
    if (final_) {
      ASSIGN_OR_RETURN(watermark_, RestoreWatermarkState(ctx, "window top-n"));
    }
    return absl::OkStatus();
  }

  // Window Top-N: each key's top rows, ranked, once the watermark passes their timestamp.
  absl::Status ProcessWatermark(int64_t watermark, api::Output& output) override {
    if (!final_) return output.EmitWatermark(watermark);
    watermark_ = std::max(watermark_, watermark);
    RETURN_IF_ERROR(backend_->AdvanceWatermark(
        watermark_, [&](std::string_view, int32_t, int64_t, int64_t ts) {
          backend_->SetCurrentNamespace(0);
          if (const std::vector<std::string>* top = top_->value(); top != nullptr) {
            for (size_t j = 0; j < top->size(); ++j) {
              if (ranked_) {
                Ranked(RowOf((*top)[j]), ts, RowKind::kInsert, j + 1);
              } else {
                EmitStored(RowOf((*top)[j]), ts, RowKind::kInsert);
              }
            }
            top_->clear();
          }
          return absl::OkStatus();
        }));
    backend_->SetCurrentNamespace(0);
    RETURN_IF_ERROR(EmitAndClear(&out(), output, ctx_.metrics));
    return output.EmitWatermark(watermark);
  }

  absl::StatusOr<std::string> SnapshotState(int64_t) override {
    if (!final_) return std::string();
    return EncodeWatermarkState(watermark_);
  }

 private:
  absl::Status OpenState(std::optional<state::StateTtlConfig> ttl) override {
    ASSIGN_OR_RETURN(top_, backend_->GetValueState<std::vector<std::string>>(kTopNStateName, ttl));
    return absl::OkStatus();
  }

  // Whether order key `a` ranks before `b` (strictly). Several fields: their normalized keys
  // compare ascending.
  bool Better(std::string_view a, std::string_view b) const {
    if (order_fields_.size() > 1) return a < b;
    return descending_ ? a > b : a < b;
  }

  absl::Status ProcessRow(const core::RecordBatch& batch, size_t row) override {
    if (final_) {
      const int64_t ts = batch.timestamp(row);
      if (ts == core::kNoTimestamp) {
        return InvalidArgumentF("window top-n '{}': a row has no event timestamp",
                                ctx_.operator_name);
      }
      if (ts <= watermark_) {
        if (ctx_.metrics != nullptr) {
          ctx_.metrics->late_records_dropped.fetch_add(1, std::memory_order_relaxed);
        }
        return absl::OkStatus();
      }
      backend_->RegisterEventTimeTimer(0, ts);
    }
    if (batch.IsNull(row, order_col_)) return absl::OkStatus();
    order_.clear();
    if (order_fields_.size() > 1) {
      AppendMultiOrderKey(batch, row, order_fields_, &order_);
    } else {
      AppendOrderKey(batch, row, order_col_, &order_);
    }
    const std::vector<std::string>* current = top_->value();
    const std::vector<std::string> none;
    const std::vector<std::string>& stored = current != nullptr ? *current : none;
    for (const std::string& e : stored) {
      if (e.size() < 4 || 4 + OrderKeyOf(e).size() > e.size()) {
        return DataLossF("top-n '{}': a stored entry is corrupt", ctx_.operator_name);
      }
    }
    // The position after every entry at least as good (ties keep the earlier row). A row that
    // does not enter costs no copy of the stored entries.
    const size_t index = static_cast<size_t>(
        std::find_if(stored.begin(), stored.end(),
                     [&](const std::string& e) { return Better(order_, OrderKeyOf(e)); }) -
        stored.begin());
    if (index == stored.size() && stored.size() >= n_) return absl::OkStatus();  // not in the top N
    std::vector<std::string> top = stored;
    auto pos = top.begin() + static_cast<std::ptrdiff_t>(index);
    std::string entry(4, '\0');
    const uint32_t len = static_cast<uint32_t>(order_.size());
    std::memcpy(entry.data(), &len, 4);
    entry += order_;
    Encode(batch, row, &entry);
    top.insert(pos, std::move(entry));
    const int64_t ts = batch.timestamp(row);
    if (final_) {  // emitted when the watermark passes
      if (top.size() > n_) top.pop_back();
      top_->update(std::move(top));
      return absl::OkStatus();
    }
    if (ranked_) {
      // The rows after the new one move one rank down; the last one may leave.
      for (size_t j = index + 1; j < top.size(); ++j) {
        if (j >= n_) {
          Ranked(RowOf(top[j]), ts, RowKind::kDelete, j);
        } else {
          Ranked(RowOf(top[j]), ts, RowKind::kUpdateBefore, j);
          Ranked(RowOf(top[j]), ts, RowKind::kUpdateAfter, j + 1);
        }
      }
      if (top.size() > n_) top.pop_back();
      Ranked(RowOf(top[index]), ts, RowKind::kInsert, index + 1);
    } else {
      if (top.size() > n_) {
        EmitStored(RowOf(top.back()), ts, RowKind::kDelete);
        top.pop_back();
      }
      EmitRow(batch, row, RowKind::kInsert);
    }
    top_->update(std::move(top));
    return absl::OkStatus();
  }

  // A stored row with its rank (1-based) in the last field.
  void Ranked(std::string_view encoded, int64_t ts, RowKind kind, size_t rank) {
    const size_t r = EmitStored(encoded, ts, kind);
    out().SetInt64(r, schema_->num_fields(), static_cast<int64_t>(rank));
  }

  const size_t n_;
  const bool descending_;
  const size_t order_col_;
  const std::vector<std::pair<size_t, bool>> order_fields_;  // column, descending
  const bool ranked_;
  const bool final_;
  int64_t watermark_ = api::kMinWatermark;  // window Top-N: rows at or behind it are late
  state::ValueState<std::vector<std::string>>* top_ = nullptr;
  std::string order_;
};

absl::StatusOr<core::KeySelector> AllFields(const core::Schema& schema) {
  std::vector<std::string> names;
  for (const core::Field& f : schema.fields()) names.push_back(f.name);
  return core::KeySelector::Create(schema, names);
}

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeKeepLast(core::SchemaPtr input,
                                                            KeepLastSpec spec) {
  if (spec.ttl_ms < 0) return InvalidArgumentF("deduplicate: ttl must be >= 0 ms");
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));
  ASSIGN_OR_RETURN(core::KeySelector row, AllFields(*input));
  return std::unique_ptr<api::Operator>(new KeepLastOperator(
      std::move(input), std::move(keys), std::move(row), spec.ttl_ms, "deduplicate"));
}

absl::StatusOr<std::unique_ptr<api::Operator>> MakeTopN(core::SchemaPtr input, TopNSpec spec) {
  if (spec.ttl_ms < 0) return InvalidArgumentF("top-n: ttl must be >= 0 ms");
  if (spec.n < 1) return InvalidArgumentF("top-n: n must be at least 1, got {}", spec.n);
  const int col = input->FindField(spec.order_field);
  if (col < 0) {
    return InvalidArgumentF("top-n: unknown order-by field '{}' (fields: {})", spec.order_field,
                            input->FieldNames());
  }
  const core::Type type = input->field(static_cast<size_t>(col)).type;
  if (type == core::Type::kBool || type == core::Type::kBytes) {
    return InvalidArgumentF("top-n: order-by field '{}' is {}, which has no order (use a number, "
                            "timestamp, date or string)", spec.order_field, core::TypeName(type));
  }
  std::vector<std::pair<size_t, bool>> order = {{static_cast<size_t>(col), spec.descending}};
  for (const auto& [field, descending] : spec.then_by) {
    const int c = input->FindField(field);
    if (c < 0) {
      return InvalidArgumentF("top-n: unknown order-by field '{}' (fields: {})", field,
                              input->FieldNames());
    }
    const core::Type t = input->field(static_cast<size_t>(c)).type;
    if (t == core::Type::kBool || t == core::Type::kBytes) {
      return InvalidArgumentF("top-n: order-by field '{}' is {}, which has no order", field,
                              core::TypeName(t));
    }
    order.emplace_back(static_cast<size_t>(c), descending);
  }
  core::SchemaPtr output = nullptr;
  if (!spec.rank_field.empty()) {
    if (input->FindField(spec.rank_field) >= 0) {
      return InvalidArgumentF("top-n: rank field '{}' is already a field", spec.rank_field);
    }
    std::vector<core::Field> fields = input->fields();
    fields.push_back({spec.rank_field, core::Type::kInt64});
    output = std::make_shared<core::Schema>(std::move(fields));
  }
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));
  ASSIGN_OR_RETURN(core::KeySelector row, AllFields(*input));
  return std::unique_ptr<api::Operator>(new TopNOperator(
      std::move(input), std::move(keys), std::move(row), std::move(spec),
      static_cast<size_t>(col), std::move(order), std::move(output)));
}

}  // namespace sluice::operators
