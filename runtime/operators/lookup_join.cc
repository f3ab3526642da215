#include "runtime/operators/lookup_join.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "spdlog/spdlog.h"
#include "runtime/base/status.h"
#include "runtime/operators/source_output.h"
#include "runtime/core/key_selector.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;

// Rows per emitted batch.
constexpr size_t kOutputBatchRows = 1024;

// The table as the join reads it: its rows and an index from key bytes to row numbers.
struct IndexedTable {
  RecordBatch rows;
  absl::flat_hash_map<std::string, absl::InlinedVector<uint32_t, 1>> index;
};

bool AnyNull(const RecordBatch& b, size_t row, const core::KeySelector& keys) {
  for (int c : keys.columns()) {
    if (b.IsNull(row, static_cast<size_t>(c))) return true;
  }
  return false;
}

class LookupJoinOperator final : public api::Operator {
 public:
  LookupJoinOperator(core::SchemaPtr output_schema, core::KeySelector stream_keys,
                     core::KeySelector table_keys, std::vector<size_t> table_cols,
                     LookupJoinSpec spec, LookupTableSourceFactory factory, const Clock* clock)
      : output_schema_(std::move(output_schema)),
        stream_keys_(std::move(stream_keys)),
        table_keys_(std::move(table_keys)),
        table_cols_(std::move(table_cols)),
        spec_(std::move(spec)),
        factory_(std::move(factory)),
        clock_(clock),
        out_(output_schema_) {}

  core::SchemaPtr output_schema() const override { return output_schema_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    source_ = factory_();
    ASSIGN_OR_RETURN(std::optional<RecordBatch> rows, source_->LoadIfChanged());
    if (!rows.has_value()) {
      return InternalF("lookup join '{}': {} returned no rows on its first load",
                       ctx.operator_name, source_->Describe());
    }
    Index(*std::move(rows));
    next_reload_ms_ = NextReload();
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const RecordBatch& batch, api::Output& out) override {
    if (source_ == nullptr) [[unlikely]] {
      return FailedPreconditionF("lookup join: ProcessBatch before Open");
    }
    if (spec_.reload_interval_ms > 0 && clock_->NowMillis() >= next_reload_ms_) Reload();
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    const size_t num_in = batch.num_fields();
    for (size_t row = 0; row < n; ++row) {
      const absl::InlinedVector<uint32_t, 1>* matches = nullptr;
      if (!AnyNull(batch, row, stream_keys_)) {
        key_.clear();
        stream_keys_.AppendKeyBytes(batch, row, &key_);
        auto it = table_.index.find(key_);
        if (it != table_.index.end()) matches = &it->second;
      }
      if (matches == nullptr) {
        if (!spec_.left_join) continue;
        const size_t r = AppendInput(batch, row, num_in);
        for (size_t k = 0; k < table_cols_.size(); ++k) out_.SetNull(r, num_in + k);
      } else {
        for (uint32_t t : *matches) {
          const size_t r = AppendInput(batch, row, num_in);
          for (size_t k = 0; k < table_cols_.size(); ++k) {
            out_.CopyField(r, num_in + k, table_.rows, t, table_cols_[k]);
          }
        }
      }
      if (out_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
    }
    return Flush(out);
  }

  void Close() override {
    source_.reset();
    table_ = IndexedTable{};
  }

 private:
  size_t AppendInput(const RecordBatch& batch, size_t row, size_t num_in) {
    const size_t r = out_.AppendRow(batch.timestamp(row));
    for (size_t c = 0; c < num_in; ++c) out_.CopyField(r, c, batch, row, c);
    return r;
  }

  void Index(RecordBatch rows) {
    IndexedTable t;
    t.rows = std::move(rows);
    std::string key;
    for (size_t r = 0; r < t.rows.num_rows(); ++r) {
      if (AnyNull(t.rows, r, table_keys_)) continue;  // a null key matches nothing
      key.clear();
      table_keys_.AppendKeyBytes(t.rows, r, &key);
      t.index[key].push_back(static_cast<uint32_t>(r));
    }
    table_ = std::move(t);
  }

  void Reload() {
    next_reload_ms_ = NextReload();
    absl::StatusOr<std::optional<RecordBatch>> rows = source_->LoadIfChanged();
    if (!rows.ok()) {
      spdlog::warn("lookup join '{}' (subtask {}): reload failed, keeping the table loaded "
                      "before: {}",
                      ctx_.operator_name, ctx_.subtask_index, rows.status().message());
      return;
    }
    if (rows->has_value()) Index(**std::move(rows));
  }

  int64_t NextReload() const {
    return spec_.reload_interval_ms > 0 ? clock_->NowMillis() + spec_.reload_interval_ms : 0;
  }

  absl::Status Flush(api::Output& out) { return EmitAndClear(&out_, out, ctx_.metrics); }

  const core::SchemaPtr output_schema_;
  const core::KeySelector stream_keys_;
  const core::KeySelector table_keys_;
  const std::vector<size_t> table_cols_;  // table columns of the selected fields, in order
  const LookupJoinSpec spec_;
  const LookupTableSourceFactory factory_;
  const Clock* clock_;
  std::unique_ptr<LookupTableSource> source_;
  IndexedTable table_;
  int64_t next_reload_ms_ = 0;
  std::string key_;  // scratch: the current row's key bytes
  RecordBatch out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeLookupJoin(core::SchemaPtr input,
                                                              LookupJoinSpec spec,
                                                              LookupTableSourceFactory factory,
                                                              const Clock* clock) {
  if (spec.stream_keys.empty() || spec.stream_keys.size() != spec.table_keys.size()) {
    return InvalidArgumentF(
        "lookup join: needs as many stream key fields as table key fields, at least one (got "
        "{} and {})",
        spec.stream_keys.size(), spec.table_keys.size());
  }
  if (spec.reload_interval_ms < 0) {
    return InvalidArgumentF("lookup join: reload interval must be >= 0 ms, got {} ms",
                            spec.reload_interval_ms);
  }
  const core::SchemaPtr table = factory()->schema();
  ASSIGN_OR_RETURN(core::KeySelector stream_keys,
                   core::KeySelector::Create(*input, spec.stream_keys));
  auto table_keys = core::KeySelector::Create(*table, spec.table_keys);
  if (!table_keys.ok()) {
    return InvalidArgumentF("lookup join: table {}", table_keys.status().message());
  }
  const std::vector<core::Field> sk = stream_keys.key_fields(), tk = table_keys->key_fields();
  for (size_t i = 0; i < sk.size(); ++i) {
    if (sk[i].type != tk[i].type) {
      return InvalidArgumentF(
          "lookup join: stream field '{}' is {} but table field '{}' is {}; key fields must have "
          "the same type",
          sk[i].name, core::TypeName(sk[i].type), tk[i].name, core::TypeName(tk[i].type));
    }
  }
  std::vector<core::Field> fields = input->fields();
  absl::flat_hash_set<std::string> names;
  for (const core::Field& f : fields) names.insert(f.name);
  std::vector<size_t> table_cols;
  for (const auto& [out_name, table_field] : spec.select) {
    const int col = table->FindField(table_field);
    if (col < 0) {
      return InvalidArgumentF("lookup join: unknown table field '{}' (table fields: {})",
                              table_field, table->FieldNames());
    }
    if (!names.insert(out_name).second) {
      return InvalidArgumentF(
          "lookup join: output field '{}' already exists (input fields: {}); rename it", out_name,
          input->FieldNames());
    }
    table_cols.push_back(static_cast<size_t>(col));
    fields.push_back({out_name, table->field(static_cast<size_t>(col)).type});
  }
  auto output = std::make_shared<const core::Schema>(std::move(fields));
  return std::unique_ptr<api::Operator>(new LookupJoinOperator(
      std::move(output), std::move(stream_keys), *std::move(table_keys), std::move(table_cols),
      std::move(spec), std::move(factory), clock));
}

}  // namespace sluice::operators
