#include "runtime/operators/window_operator.h"

#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/core/record_batch.h"
#include "runtime/state/keyed_state.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/operators/window_contents.h"
#include "runtime/state/serialization.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::Type;

// Rows per emitted batch; the output batch is flushed when it reaches this size.
constexpr size_t kOutputBatchRows = 1024;

// A record to add to a window: row `row` of `batch`.
struct RowRef {
  const core::RecordBatch* batch;
  size_t row;
};

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// The operator. Window state lives in a KeyedStateBackend (see the header): an
// AggregatingState of WindowContents per (key bytes, window end) and an event-time timer per
// window at end - 1. Adding a record is one state lookup (AggregatingState::add); the
// accumulator factory flags a newly created window so that its timer is registered once.
// Lookups go through the backend's reused key context and this operator's reused key scratch,
// so a record of an existing window allocates nothing.
class WindowAggregateOperator final : public api::Operator {
 public:
  WindowAggregateOperator(core::SchemaPtr output_schema, core::KeySelector keys,
                          WindowAssigner assigner, int64_t allowed_lateness_ms,
                          WindowAggregates aggs, core::SchemaPtr input, bool late_to_side_output)
      : output_schema_(std::move(output_schema)),
        keys_(std::move(keys)),
        assigner_(assigner),
        lateness_ms_(allowed_lateness_ms),
        aggs_(std::move(aggs)),
        num_keys_(keys_.columns().size()),
        fresh_(aggs_.Fresh()),
        out_(output_schema_),
        late_to_side_output_(late_to_side_output),
        late_rows_(std::move(input)) {}

  core::SchemaPtr output_schema() const override { return output_schema_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "window operator"));
    max_parallelism_ = backend_->max_parallelism();
    key_group_tag_ = keys_.KeyGroupTag(max_parallelism_);
    range_ = backend_->key_group_range();
    state::AggregateFunction<RowRef, WindowContents, int> fn;
    fn.create_accumulator = [this]() {
      window_created_ = true;
      return fresh_;
    };
    fn.add = [this](WindowContents& w, const RowRef& in) {
      aggs_.Accumulate(w, *in.batch, in.row);
    };
    fn.get_result = [](const WindowContents&) { return 0; };  // unused: EmitWindow reads it
    // Flink SQL's table.exec.state.ttl: window contents not written for that long expire
    // (OnCreateAndWrite, NeverReturnExpired, as Flink's planner configures it).
    std::optional<state::StateTtlConfig> ttl;
    if (ctx.state_ttl_ms > 0) ttl = state::StateTtlConfig{.ttl_ms = ctx.state_ttl_ms};
    ASSIGN_OR_RETURN(contents_, backend_->GetAggregatingState(kWindowContentsStateName,
                                                              std::move(fn), ttl));
    state_ttl_ = ttl.has_value();
    // Restored windows must have one accumulator per aggregate of this operator. All windows of
    // a snapshot were written by one operator definition, so the first window of each key group
    // is checked (one seek per group on RocksDB), not all of them: reading every restored
    // window here made a 1 GB rescale take seconds.
    absl::Status bad = absl::OkStatus();
    for (int32_t kg = range_.start; kg <= range_.end && bad.ok(); ++kg) {
      contents_->ForEachInKeyGroupUntil(
          kg, [&](std::string_view, int64_t ns, const WindowContents& w) {
            if (w.accs.size() != aggs_.num_slots()) {
              bad = InvalidArgumentF(
                  "window operator '{}': restored window (key group {}, window end {}) has {} "
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
            "window operator '{}': restored operator state has {} bytes, expected 8 (the "
            "current watermark)",
            ctx.operator_name, s.size());
      }
      std::memcpy(&current_watermark_, s.data(), sizeof(int64_t));
    }
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const RecordBatch& batch, api::Output& out) override {
    // Windows emit only when a watermark fires them; late rows may go to the side output.
    if (contents_ == nullptr) [[unlikely]] {
      return FailedPreconditionF("window operator: ProcessBatch before Open");
    }
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    int64_t late = 0;
    late_rows_.Clear();
    // Key groups the partitioner of our input edge computed for this key come with the batch.
    const bool carried = batch.key_group_tag() == key_group_tag_;
    for (size_t row = 0; row < n; ++row) {
      const int64_t ts = batch.timestamp(row);
      if (ts == core::kNoTimestamp) [[unlikely]] {
        return InvalidArgumentF(
            "window needs event time: record has no timestamp (declare event-time on the "
            "source)");
      }
      const int32_t kg =
          carried ? batch.key_group(row) : keys_.KeyGroup(batch, row, max_parallelism_);
      if (!range_.Contains(kg)) [[unlikely]] {
        return InternalF(
            "window operator '{}' (subtask {}): record with key group {} outside this subtask's "
            "key group range [{}, {}]: the input is not partitioned by the window's key",
            ctx_.operator_name, ctx_.subtask_index, kg, range_.start, range_.end);
      }
      bool key_set = false;
      bool added = false;
      absl::Status fired = absl::OkStatus();
      assigner_.ForEachWindowEnd(ts, [&](int64_t end) {
        // Flink's isWindowLate: past its cleanup time, the window is gone.
        if (end - 1 + lateness_ms_ <= current_watermark_ || !fired.ok()) return;
        if (!key_set) {
          key_scratch_.clear();
          keys_.AppendKeyBytes(batch, row, &key_scratch_);
          backend_->SetCurrentKey(key_scratch_, kg);
          key_set = true;
        }
        backend_->SetCurrentNamespace(end);
        contents_->add(RowRef{&batch, row});
        added = true;
        const bool fired_already = end - 1 <= current_watermark_;
        if (window_created_) {
          window_created_ = false;
          if (!fired_already) backend_->RegisterEventTimeTimer(end, end - 1);
          if (lateness_ms_ > 0) backend_->RegisterEventTimeTimer(end, end - 1 + lateness_ms_);
        }
        // A late row within the allowed lateness fires its window again with the updated
        // result (Flink's EventTimeTrigger.onElement).
        if (fired_already) fired = EmitWindow(key_scratch_, kg, end, out);
      });
      RETURN_IF_ERROR(fired);
      if (!added) {  // every window of the row has fired: the row is late
        if (late_to_side_output_) late_rows_.AppendRowFrom(batch, row);
        else ++late;
      }
    }
    if (late > 0 && ctx_.metrics != nullptr) {
      ctx_.metrics->late_records_dropped.fetch_add(late, std::memory_order_relaxed);
    }
    if (!out_.empty()) RETURN_IF_ERROR(Flush(out));  // late firings
    if (!late_rows_.empty()) return out.EmitSideOutput(1, late_rows_);
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override {
    if (watermark > current_watermark_) current_watermark_ = watermark;
    // Fire every window whose maxTimestamp (end - 1) the watermark has reached, by window end.
    RETURN_IF_ERROR(FireUpTo(current_watermark_, out));
    RETURN_IF_ERROR(Flush(out));
    return out.EmitWatermark(watermark);
  }

  absl::Status Finish(api::Output& out) override {
    // Normally kMaxWatermark already fired everything; fire leftovers defensively.
    RETURN_IF_ERROR(FireUpTo(api::kMaxWatermark, out));
    return Flush(out);
  }

  absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) override {
    std::string s(sizeof(int64_t), '\0');
    std::memcpy(s.data(), &current_watermark_, sizeof(int64_t));
    return s;
  }

  void Close() override {
    contents_ = nullptr;
    backend_ = nullptr;
    owned_backend_.reset();
  }

 private:
  absl::Status FireUpTo(int64_t watermark, api::Output& out) {
    if (backend_ == nullptr) return absl::OkStatus();
    return backend_->AdvanceWatermark(
        watermark, [&](std::string_view key, int32_t kg, int64_t end, int64_t ts) {
          if (ts == end - 1) {  // the window's maxTimestamp: fire
            RETURN_IF_ERROR(EmitWindow(key, kg, end, out));
            if (lateness_ms_ > 0) return absl::OkStatus();  // kept for late rows until cleanup
          }
          contents_->clear();  // purge: on firing without lateness, or the cleanup timer
          return absl::OkStatus();
        });
  }

  // Emits the window (current key, namespace `end`) with its current contents. The key context
  // must be set to the window's key and namespace.
  absl::Status EmitWindow(std::string_view key, int32_t kg, int64_t end, api::Output& out) {
    const WindowContents* w = contents_->accumulator();
    if (w == nullptr && state_ttl_) {
      return absl::OkStatus();  // the window's contents expired (state TTL): nothing to emit
    }
    if (w == nullptr) [[unlikely]] {
      return InternalF(
          "window operator '{}': timer of window end {} (key group {}) fired without window "
          "contents",
          ctx_.operator_name, end, kg);
    }
    const size_t window_start_col = num_keys_;
    const size_t first_agg_col = num_keys_ + 2;
    const size_t r = out_.AppendRow(end - 1);
    keys_.DecodeKeyInto(key, &out_, r, 0);
    out_.SetInt64(r, window_start_col, assigner_.StartOf(end));
    out_.SetInt64(r, window_start_col + 1, end);
    aggs_.WriteResults(*w, &out_, r, first_agg_col);
    if (out_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
    return absl::OkStatus();
  }

  absl::Status Flush(api::Output& out) {
    if (out_.empty()) return absl::OkStatus();
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->records_out.fetch_add(static_cast<int64_t>(out_.num_rows()),
                                          std::memory_order_relaxed);
    }
    absl::Status st = out.Emit(out_);
    out_.Clear();
    return st;
  }

  const core::SchemaPtr output_schema_;
  const core::KeySelector keys_;
  const WindowAssigner assigner_;
  const int64_t lateness_ms_;  // allowed lateness (Flink's WindowedStream.allowedLateness)
  const WindowAggregates aggs_;
  const size_t num_keys_;

  int64_t current_watermark_ = api::kMinWatermark;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;  // when the context has none
  state::KeyedStateBackend* backend_ = nullptr;              // owned_backend_ or the Task's
  state::AggregatingState<RowRef, WindowContents, int>* contents_ = nullptr;  // in backend_
  bool window_created_ = false;  // set by the accumulator factory, reset after the timer
  bool state_ttl_ = false;       // window contents have a TTL (api::OperatorContext::state_ttl_ms)
  int32_t max_parallelism_ = 0;
  uint64_t key_group_tag_ = 0;  // keys_.KeyGroupTag(max_parallelism_)
  core::KeyGroupRange range_{0, -1};
  WindowContents fresh_;     // a new window's contents: count 0, zeroed accumulators
  std::string key_scratch_;  // key bytes of the current record
  RecordBatch out_;
  bool late_to_side_output_;
  RecordBatch late_rows_;  // late rows of the current batch (side output 1)
};

absl::StatusOr<WindowAssigner> MakeAssigner(const WindowAggregateSpec& spec) {
  switch (spec.kind) {
    case WindowAssigner::Kind::kTumbling:
      return WindowAssigner::Tumbling(spec.size_ms, spec.offset_ms);
    case WindowAssigner::Kind::kSliding:
      return WindowAssigner::Sliding(spec.size_ms, spec.slide_ms, spec.offset_ms);
    case WindowAssigner::Kind::kCumulate:
      return WindowAssigner::Cumulate(spec.size_ms, spec.slide_ms, spec.offset_ms);
  }
  return InvalidArgumentF("unknown window kind");
}

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeWindowAggregate(core::SchemaPtr input,
                                                                   WindowAggregateSpec spec) {
  ASSIGN_OR_RETURN(WindowAssigner assigner, MakeAssigner(spec));
  if (spec.allowed_lateness_ms < 0) {
    return InvalidArgumentF("allowed lateness must be >= 0 ms, got {} ms",
                            spec.allowed_lateness_ms);
  }
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));

  std::vector<core::Field> out_fields = keys.key_fields();
  out_fields.push_back({"window_start", Type::kTimestamp});
  out_fields.push_back({"window_end", Type::kTimestamp});

  ASSIGN_OR_RETURN(WindowAggregates aggs,
                   WindowAggregates::Resolve(*input, spec.aggregates, &out_fields));

  absl::flat_hash_set<std::string> names;
  for (const core::Field& f : out_fields) {
    if (!names.insert(f.name).second) {
      return InvalidArgumentF(
          "duplicate output field '{}' in window aggregate (output fields are the key fields, "
          "window_start, window_end and the aggregates' output names)",
          f.name);
    }
  }

  auto output_schema = std::make_shared<const core::Schema>(std::move(out_fields));
  return std::unique_ptr<api::Operator>(new WindowAggregateOperator(
      std::move(output_schema), std::move(keys), assigner, spec.allowed_lateness_ms,
      std::move(aggs), input, spec.late_rows_to_side_output));
}

}  // namespace sluice::operators
