#include "runtime/operators/deduplicate_operator.h"

#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/core/record_batch.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

class DeduplicateOperator final : public api::Operator {
 public:
  DeduplicateOperator(core::SchemaPtr input, core::KeySelector keys, int64_t ttl_ms)
      : schema_(std::move(input)), keys_(std::move(keys)), ttl_ms_(ttl_ms) {}

  core::SchemaPtr output_schema() const override { return schema_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "deduplicate"));
    key_group_tag_ = keys_.KeyGroupTag(backend_->max_parallelism());
    std::optional<state::StateTtlConfig> ttl;
    if (ttl_ms_ > 0) ttl = state::StateTtlConfig{.ttl_ms = ttl_ms_};
    ASSIGN_OR_RETURN(seen_, backend_->GetValueState<int64_t>(kDeduplicateStateName, ttl));
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    firsts_.ResetAsView(batch);
    for (size_t row = 0; row < n; ++row) {
      ASSIGN_OR_RETURN(const int32_t kg, KeyGroupOfRow(keys_, key_group_tag_, *backend_, batch,
                                                       row, "deduplicate", ctx_));
      key_scratch_.clear();
      keys_.AppendKeyBytes(batch, row, &key_scratch_);
      backend_->SetCurrentKey(key_scratch_, kg);
      backend_->SetCurrentNamespace(0);
      if (seen_->value() != nullptr) continue;
      seen_->update(int64_t{1});
      firsts_.SelectRowOf(batch, row);
    }
    if (firsts_.empty()) return absl::OkStatus();
    return out.Emit(firsts_);
  }

  void Close() override {
    seen_ = nullptr;
    backend_ = nullptr;
    owned_backend_.reset();
  }

 private:
  const core::SchemaPtr schema_;
  const core::KeySelector keys_;
  const int64_t ttl_ms_;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;  // when the context has none
  state::KeyedStateBackend* backend_ = nullptr;
  state::ValueState<int64_t>* seen_ = nullptr;
  uint64_t key_group_tag_ = 0;
  std::string key_scratch_;
  core::RecordBatch firsts_;  // view of the rows that pass
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeDeduplicate(core::SchemaPtr input,
                                                              DeduplicateSpec spec) {
  if (spec.ttl_ms < 0) return InvalidArgumentF("deduplicate: ttl must be >= 0 ms");
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));
  return std::unique_ptr<api::Operator>(
      new DeduplicateOperator(std::move(input), std::move(keys), spec.ttl_ms));
}

}  // namespace sluice::operators
