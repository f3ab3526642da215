#include "runtime/operators/rolling_aggregate.h"

#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/operators/source_output.h"
#include "runtime/operators/window_operator_base.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using internal::RowRef;

constexpr size_t kOutputBatchRows = 1024;

class RollingAggregateOperator final : public api::Operator {
 public:
  RollingAggregateOperator(core::SchemaPtr output, core::KeySelector keys, WindowAggregates aggs,
                           int64_t ttl_ms, bool changelog, bool retract)
      : changelog_(changelog),
        retract_(retract),
        output_(std::move(output)),
        keys_(std::move(keys)),
        aggs_(std::move(aggs)),
        fresh_(aggs_.Fresh()),
        ttl_ms_(ttl_ms),
        out_(output_) {}

  core::SchemaPtr output_schema() const override { return output_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "aggregate"));
    tag_ = keys_.KeyGroupTag(backend_->max_parallelism());
    state::AggregateFunction<RowRef, WindowContents, int> fn;
    fn.create_accumulator = [this]() { return fresh_; };
    fn.add = [this](WindowContents& w, const RowRef& in) { aggs_.Accumulate(w, *in.batch, in.row); };
    fn.get_result = [](const WindowContents&) { return 0; };
    std::optional<state::StateTtlConfig> ttl;
    if (ttl_ms_ > 0) ttl = state::StateTtlConfig{.ttl_ms = ttl_ms_};
    ASSIGN_OR_RETURN(acc_, backend_->GetAggregatingState(kRollingAggregateStateName,
                                                         std::move(fn), ttl));
    backend_->SetCurrentNamespace(0);
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    if (acc_ == nullptr) [[unlikely]] {
      return FailedPreconditionF("aggregate: ProcessBatch before Open");
    }
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    const size_t num_keys = keys_.columns().size();
    for (size_t row = 0; row < n; ++row) {
      ASSIGN_OR_RETURN(const int32_t kg,
                       KeyGroupOfRow(keys_, tag_, *backend_, batch, row, "aggregate", ctx_));
      key_.clear();
      keys_.AppendKeyBytes(batch, row, &key_);
      backend_->SetCurrentKey(key_, kg);
      if (retract_ && !core::IsAccumulate(batch.row_kind(row))) {
        RETURN_IF_ERROR(Retract(batch, row, num_keys));
        if (out_.num_rows() >= kOutputBatchRows) {
          RETURN_IF_ERROR(EmitAndClear(&out_, out, ctx_.metrics));
        }
        continue;
      }
      core::RowKind kind = core::RowKind::kInsert;
      if (changelog_) {
        // Retract the key's previous result (read before the add changes it).
        if (const WindowContents* before = acc_->accumulator()) {
          const size_t r = out_.AppendRow(batch.timestamp(row), core::RowKind::kUpdateBefore);
          keys_.DecodeKeyInto(key_, &out_, r, 0);
          aggs_.WriteResults(*before, &out_, r, num_keys);
          kind = core::RowKind::kUpdateAfter;
        }
      }
      acc_->add(RowRef{&batch, row});
      const size_t r = out_.AppendRow(batch.timestamp(row), kind);
      keys_.DecodeKeyInto(key_, &out_, r, 0);
      aggs_.WriteResults(*acc_->accumulator(), &out_, r, num_keys);
      if (out_.num_rows() >= kOutputBatchRows) {
        RETURN_IF_ERROR(EmitAndClear(&out_, out, ctx_.metrics));
      }
    }
    return EmitAndClear(&out_, out, ctx_.metrics);
  }

  // A -U/-D input row: -U of the key's result and +U of the new one, or -D when no row is left.
  absl::Status Retract(const core::RecordBatch& batch, size_t row, size_t num_keys) {
    const WindowContents* before = acc_->accumulator();
    if (before == nullptr || before->count <= 0) {
      // Nothing to retract (forgotten by the TTL): Flink ignores it too.
      return absl::OkStatus();
    }
    const int64_t ts = batch.timestamp(row);
    WindowContents after = *before;
    aggs_.Retract(after, batch, row);
    size_t r = out_.AppendRow(ts, after.count > 0 ? core::RowKind::kUpdateBefore
                                                  : core::RowKind::kDelete);
    keys_.DecodeKeyInto(key_, &out_, r, 0);
    aggs_.WriteResults(*before, &out_, r, num_keys);
    if (after.count == 0) {
      acc_->clear();
      return absl::OkStatus();
    }
    r = out_.AppendRow(ts, core::RowKind::kUpdateAfter);
    keys_.DecodeKeyInto(key_, &out_, r, 0);
    aggs_.WriteResults(after, &out_, r, num_keys);
    acc_->update(std::move(after));
    return absl::OkStatus();
  }

  void Close() override {
    acc_ = nullptr;
    backend_ = nullptr;
    owned_backend_.reset();
  }

 private:
  const bool changelog_;
  const bool retract_;
  const core::SchemaPtr output_;
  const core::KeySelector keys_;
  const WindowAggregates aggs_;
  const WindowContents fresh_;
  const int64_t ttl_ms_;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;
  state::KeyedStateBackend* backend_ = nullptr;
  state::AggregatingState<RowRef, WindowContents, int>* acc_ = nullptr;
  uint64_t tag_ = 0;
  std::string key_;
  core::RecordBatch out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeRollingAggregate(core::SchemaPtr input,
                                                                    RollingAggregateSpec spec) {
  if (spec.ttl_ms < 0) return InvalidArgumentF("aggregate: ttl must be >= 0 ms");
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));
  std::vector<core::Field> fields = keys.key_fields();
  ASSIGN_OR_RETURN(WindowAggregates aggs,
                   WindowAggregates::Resolve(*input, spec.aggregates, &fields));
  if (spec.retract_input) {
    if (!spec.changelog) {
      return InvalidArgumentF("aggregate: an updating input needs changelog: true (its result "
                              "retracts rows too)");
    }
    if (auto bad = aggs.NotRetractable()) {
      return InvalidArgumentF("aggregate: {}() cannot take back the rows its updating input "
                              "retracts; count, sum and avg can", *bad);
    }
  }
  absl::flat_hash_set<std::string> names;
  for (const core::Field& f : fields) {
    if (!names.insert(f.name).second) {
      return InvalidArgumentF(
          "duplicate output field '{}' in aggregate (output fields are the key fields and the "
          "aggregates' output names)",
          f.name);
    }
  }
  auto output = std::make_shared<const core::Schema>(std::move(fields));
  return std::unique_ptr<api::Operator>(
      new RollingAggregateOperator(std::move(output), std::move(keys), std::move(aggs),
                                   spec.ttl_ms, spec.changelog, spec.retract_input));
}

}  // namespace sluice::operators
