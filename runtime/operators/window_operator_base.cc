#include "runtime/operators/window_operator_base.h"

#include <cstring>
#include <utility>

#include "runtime/base/status.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/operators/source_output.h"
#include "runtime/operators/window_operator.h"

namespace sluice::operators::internal {

namespace {
// Rows per emitted batch; the output batch is flushed when it reaches this size.
constexpr size_t kOutputBatchRows = 1024;
}  // namespace

WindowOperatorBase::WindowOperatorBase(core::SchemaPtr output_schema, core::KeySelector keys,
                                       int64_t allowed_lateness_ms, WindowAggregates aggs,
                                       core::SchemaPtr input, bool late_to_side_output)
    : output_schema_(std::move(output_schema)),
      keys_(std::move(keys)),
      lateness_ms_(allowed_lateness_ms),
      aggs_(std::move(aggs)),
      num_keys_(keys_.columns().size()),
      fresh_(aggs_.Fresh()),
      out_(output_schema_),
      late_to_side_output_(late_to_side_output),
      late_rows_(std::move(input)) {}

absl::Status WindowOperatorBase::Open(const api::OperatorContext& ctx) {
  RETURN_IF_ERROR(api::Operator::Open(ctx));
  ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "window operator"));
  key_group_tag_ = keys_.KeyGroupTag(backend_->max_parallelism());
  const core::KeyGroupRange range = backend_->key_group_range();
  state::AggregateFunction<RowRef, WindowContents, int> fn;
  fn.create_accumulator = [this]() {
    window_created_ = true;
    return fresh_;
  };
  fn.add = [this](WindowContents& w, const RowRef& in) { aggs_.Accumulate(w, *in.batch, in.row); };
  fn.get_result = [](const WindowContents&) { return 0; };  // unused: EmitWindow reads it
  // Flink SQL's table.exec.state.ttl: window contents not written for that long expire
  // (OnCreateAndWrite, NeverReturnExpired, as Flink's planner configures it).
  if (ctx.state_ttl_ms > 0) ttl_ = state::StateTtlConfig{.ttl_ms = ctx.state_ttl_ms};
  ASSIGN_OR_RETURN(contents_,
                   backend_->GetAggregatingState(kWindowContentsStateName, std::move(fn), ttl_));
  // Restored windows must have one accumulator per aggregate slot of this operator. All windows
  // of a snapshot were written by one operator definition, so the first window of each key
  // group is checked (one seek per group on RocksDB), not all of them: reading every restored
  // window here made a 1 GB rescale take seconds.
  absl::Status bad = absl::OkStatus();
  for (int32_t kg = range.start; kg <= range.end && bad.ok(); ++kg) {
    contents_->ForEachInKeyGroupUntil(
        kg, [&](std::string_view, int64_t ns, const WindowContents& w) {
          if (w.accs.size() != aggs_.num_slots() || w.values.size() != aggs_.num_value_lists()) {
            bad = InvalidArgumentF(
                "window operator '{}': restored window (key group {}, namespace {}) has {} "
                "accumulators, but the operator's aggregates need {}; the window's aggregates "
                "cannot change across a restore",
                ctx.operator_name, kg, ns, w.accs.size(), aggs_.num_slots());
          }
          return false;
        });
  }
  RETURN_IF_ERROR(bad);

  current_watermark_ = api::kMinWatermark;
  if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
    const std::string& s = *ctx.restored_state;
    if (s.size() != sizeof(int64_t)) {
      return DataLossF(
          "window operator '{}': restored operator state has {} bytes, expected 8 (the current "
          "watermark)",
          ctx.operator_name, s.size());
    }
    std::memcpy(&current_watermark_, s.data(), sizeof(int64_t));
  }
  return absl::OkStatus();
}

absl::Status WindowOperatorBase::ProcessWatermark(int64_t watermark, api::Output& out) {
  if (watermark > current_watermark_) current_watermark_ = watermark;
  // Fire every window whose maxTimestamp (end - 1) the watermark has reached, by window end.
  if (backend_ != nullptr) RETURN_IF_ERROR(FireUpTo(current_watermark_, out));
  RETURN_IF_ERROR(Flush(out));
  return out.EmitWatermark(watermark);
}

absl::Status WindowOperatorBase::Finish(api::Output& out) {
  // Normally kMaxWatermark already fired everything; fire leftovers defensively.
  if (backend_ != nullptr) RETURN_IF_ERROR(FireUpTo(api::kMaxWatermark, out));
  return Flush(out);
}

absl::StatusOr<std::string> WindowOperatorBase::SnapshotState(int64_t /*checkpoint_id*/) {
  std::string s(sizeof(int64_t), '\0');
  std::memcpy(s.data(), &current_watermark_, sizeof(int64_t));
  return s;
}

void WindowOperatorBase::Close() {
  contents_ = nullptr;
  backend_ = nullptr;
  owned_backend_.reset();
}

absl::Status WindowOperatorBase::BeginBatch(const core::RecordBatch& batch) {
  if (contents_ == nullptr) [[unlikely]] {
    return FailedPreconditionF("window operator: ProcessBatch before Open");
  }
  if (ctx_.metrics != nullptr) {
    ctx_.metrics->records_in.fetch_add(batch.num_rows(), std::memory_order_relaxed);
  }
  late_rows_.Clear();
  late_dropped_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<int32_t> WindowOperatorBase::RowKeyGroup(const core::RecordBatch& batch,
                                                        size_t row, bool need_time) {
  if (need_time && batch.timestamp(row) == core::kNoTimestamp) [[unlikely]] {
    return InvalidArgumentF(
        "window needs event time: record has no timestamp (declare event-time on the source)");
  }
  return KeyGroupOfRow(keys_, key_group_tag_, *backend_, batch, row, "window operator", ctx_);
}

void WindowOperatorBase::SetRowKey(const core::RecordBatch& batch, size_t row, int32_t kg) {
  key_scratch_.clear();
  keys_.AppendKeyBytes(batch, row, &key_scratch_);
  backend_->SetCurrentKey(key_scratch_, kg);
}

void WindowOperatorBase::Late(const core::RecordBatch& batch, size_t row) {
  if (late_to_side_output_) {
    late_rows_.AppendRowFrom(batch, row);
  } else {
    ++late_dropped_;
  }
}

absl::Status WindowOperatorBase::EndBatch(api::Output& out) {
  if (late_dropped_ > 0 && ctx_.metrics != nullptr) {
    ctx_.metrics->late_records_dropped.fetch_add(late_dropped_, std::memory_order_relaxed);
  }
  RETURN_IF_ERROR(Flush(out));  // late firings
  if (!late_rows_.empty()) return out.EmitSideOutput(1, late_rows_);
  return absl::OkStatus();
}

absl::Status WindowOperatorBase::EmitWindow(std::string_view key, int64_t start, int64_t end,
                                            const WindowContents& w, api::Output& out) {
  const size_t r = out_.AppendRow(end - 1);
  keys_.DecodeKeyInto(key, &out_, r, 0);
  out_.SetInt64(r, num_keys_, start);
  out_.SetInt64(r, num_keys_ + 1, end);
  aggs_.WriteResults(w, &out_, r, num_keys_ + 2);
  if (out_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
  return absl::OkStatus();
}

absl::Status WindowOperatorBase::Flush(api::Output& out) {
  return EmitAndClear(&out_, out, ctx_.metrics);
}

}  // namespace sluice::operators::internal
