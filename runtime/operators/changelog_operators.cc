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
  KeyedChangelogOperator(core::SchemaPtr input, core::KeySelector keys, core::KeySelector row,
                         int64_t ttl_ms, std::string_view what)
      : schema_(std::move(input)), keys_(std::move(keys)), row_(std::move(row)), ttl_ms_(ttl_ms),
        what_(what), out_(schema_) {}

  core::SchemaPtr output_schema() const override { return schema_; }

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
  // Appends a stored (encoded) row as `kind`, with the event time `timestamp`.
  void EmitStored(std::string_view encoded, int64_t timestamp, RowKind kind) {
    const size_t r = out_.AppendRow(timestamp, kind);
    row_.DecodeKeyInto(encoded, &out_, r, 0);
  }

  const core::SchemaPtr schema_;
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
               TopNSpec spec, size_t order_col)
      : KeyedChangelogOperator(std::move(input), std::move(keys), std::move(row), spec.ttl_ms,
                               "top-n"),
        n_(static_cast<size_t>(spec.n)), descending_(spec.descending), order_col_(order_col) {}

 private:
  absl::Status OpenState(std::optional<state::StateTtlConfig> ttl) override {
    ASSIGN_OR_RETURN(top_, backend_->GetValueState<std::vector<std::string>>(kTopNStateName, ttl));
    return absl::OkStatus();
  }

  // Whether order key `a` ranks before `b` (strictly).
  bool Better(std::string_view a, std::string_view b) const { return descending_ ? a > b : a < b; }

  absl::Status ProcessRow(const core::RecordBatch& batch, size_t row) override {
    if (batch.IsNull(row, order_col_)) return absl::OkStatus();
    order_.clear();
    AppendOrderKey(batch, row, order_col_, &order_);
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
    if (top.size() > n_) {
      EmitStored(RowOf(top.back()), batch.timestamp(row), RowKind::kDelete);
      top.pop_back();
    }
    EmitRow(batch, row, RowKind::kInsert);
    top_->update(std::move(top));
    return absl::OkStatus();
  }

  const size_t n_;
  const bool descending_;
  const size_t order_col_;
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
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));
  ASSIGN_OR_RETURN(core::KeySelector row, AllFields(*input));
  return std::unique_ptr<api::Operator>(new TopNOperator(std::move(input), std::move(keys),
                                                         std::move(row), std::move(spec),
                                                         static_cast<size_t>(col)));
}

}  // namespace sluice::operators
