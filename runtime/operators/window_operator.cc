#include "runtime/operators/window_operator.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/session_window_operator.h"
#include "runtime/operators/window_operator_base.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::Type;
using internal::RowRef;

// The operator for fixed windows (tumbling, sliding, cumulate). Window state lives in a
// KeyedStateBackend (see the header): an AggregatingState of WindowContents per (key bytes,
// window end) and an event-time timer per window at end - 1. Adding a record is one state
// lookup (AggregatingState::add); the accumulator factory flags a newly created window so that
// its timer is registered once. Lookups go through the backend's reused key context and the
// reused key scratch, so a record of an existing window allocates nothing.
class WindowAggregateOperator final : public internal::WindowOperatorBase {
 public:
  WindowAggregateOperator(core::SchemaPtr output_schema, core::KeySelector keys,
                          WindowAssigner assigner, int64_t allowed_lateness_ms,
                          WindowAggregates aggs, core::SchemaPtr input, bool late_to_side_output,
                          const Clock* processing_clock)
      : WindowOperatorBase(std::move(output_schema), std::move(keys), allowed_lateness_ms,
                           std::move(aggs), std::move(input), late_to_side_output),
        assigner_(assigner),
        clock_(processing_clock) {}

  absl::Status ProcessBatch(const RecordBatch& batch, api::Output& out) override {
    // Windows emit only when a watermark (or, in processing time, the clock) fires them; late
    // rows may go to the side output.
    RETURN_IF_ERROR(BeginBatch(batch));
    const size_t n = batch.num_rows();
    const int64_t now = clock_ != nullptr ? clock_->NowMillis() : 0;
    for (size_t row = 0; row < n; ++row) {
      ASSIGN_OR_RETURN(const int32_t kg, RowKeyGroup(batch, row, clock_ == nullptr));
      bool key_set = false;
      bool added = false;
      absl::Status fired = absl::OkStatus();
      assigner_.ForEachWindowEnd(clock_ != nullptr ? now : batch.timestamp(row), [&](int64_t end) {
        // Flink's isWindowLate: past its cleanup time, the window is gone.
        if (end - 1 + lateness_ms_ <= current_watermark_ || !fired.ok()) return;
        if (!key_set) {
          SetRowKey(batch, row, kg);
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
        if (fired_already) fired = EmitCurrent(key_scratch_, kg, end, out);
      });
      RETURN_IF_ERROR(fired);
      if (!added) Late(batch, row);  // every window of the row has fired: the row is late
    }
    return EndBatch(out);
  }

  // Processing time: watermarks pass through; the clock fires windows.
  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override {
    if (clock_ == nullptr) return WindowOperatorBase::ProcessWatermark(watermark, out);
    return out.EmitWatermark(watermark);
  }
  std::optional<int64_t> NextProcessingTime() const override {
    if (clock_ == nullptr || backend_ == nullptr) return std::nullopt;
    return backend_->EarliestEventTimeTimer();  // the timers are processing times here
  }
  absl::Status OnProcessingTime(int64_t now_ms, api::Output& out) override {
    if (clock_ == nullptr || backend_ == nullptr) return absl::OkStatus();
    RETURN_IF_ERROR(FireUpTo(now_ms, out));
    return Flush(out);
  }

 private:
  absl::Status FireUpTo(int64_t watermark, api::Output& out) override {
    return backend_->AdvanceWatermark(
        watermark, [&](std::string_view key, int32_t kg, int64_t end, int64_t ts) {
          if (ts == end - 1) {  // the window's maxTimestamp: fire
            RETURN_IF_ERROR(EmitCurrent(key, kg, end, out));
            if (lateness_ms_ > 0) return absl::OkStatus();  // kept for late rows until cleanup
          }
          contents_->clear();  // purge: on firing without lateness, or the cleanup timer
          return absl::OkStatus();
        });
  }

  // Emits the window (current key, namespace `end`) with its current contents. The key context
  // must be set to the window's key and namespace.
  absl::Status EmitCurrent(std::string_view key, int32_t kg, int64_t end, api::Output& out) {
    const WindowContents* w = contents_->accumulator();
    if (w == nullptr && ttl_.has_value()) {
      return absl::OkStatus();  // the window's contents expired (state TTL): nothing to emit
    }
    if (w == nullptr) [[unlikely]] {
      return InternalF(
          "window operator '{}': timer of window end {} (key group {}) fired without window "
          "contents",
          ctx_.operator_name, end, kg);
    }
    return EmitWindow(key, assigner_.StartOf(end), end, *w, out);
  }

  const WindowAssigner assigner_;
  // Processing-time windows: the clock whose time assigns and fires windows (the backend's
  // timers then hold processing times, and current_watermark_ stays at its minimum, so no row
  // is late); null for event time.
  const Clock* clock_;
};

absl::StatusOr<WindowAssigner> MakeAssigner(const WindowAggregateSpec& spec) {
  switch (spec.kind) {
    case WindowKind::kTumbling:
      return WindowAssigner::Tumbling(spec.size_ms, spec.offset_ms);
    case WindowKind::kSliding:
      return WindowAssigner::Sliding(spec.size_ms, spec.slide_ms, spec.offset_ms);
    case WindowKind::kCumulate:
      return WindowAssigner::Cumulate(spec.size_ms, spec.slide_ms, spec.offset_ms);
    case WindowKind::kSession:
      break;
  }
  return InvalidArgumentF("not a fixed window kind");
}

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeWindowAggregate(core::SchemaPtr input,
                                                                   WindowAggregateSpec spec) {
  std::optional<WindowAssigner> assigner;
  if (spec.processing_time && spec.kind == WindowKind::kSession) {
    return InvalidArgumentF("session windows need event time (processing-time sessions are not "
                            "supported)");
  }
  if (spec.processing_time && spec.allowed_lateness_ms != 0) {
    return InvalidArgumentF("allowed lateness applies to event-time windows only");
  }
  if (spec.kind == WindowKind::kSession) {
    if (spec.size_ms <= 0) {
      return InvalidArgumentF("session gap must be > 0 ms, got {} ms", spec.size_ms);
    }
  } else {
    ASSIGN_OR_RETURN(assigner, MakeAssigner(spec));
  }
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
  if (!assigner.has_value()) {
    return internal::MakeSessionWindowOperator(std::move(output_schema), std::move(keys),
                                               spec.size_ms, spec.allowed_lateness_ms,
                                               std::move(aggs), std::move(input),
                                               spec.late_rows_to_side_output);
  }
  return std::unique_ptr<api::Operator>(new WindowAggregateOperator(
      std::move(output_schema), std::move(keys), *assigner, spec.allowed_lateness_ms,
      std::move(aggs), std::move(input), spec.late_rows_to_side_output,
      spec.processing_time ? spec.clock : nullptr));
}

}  // namespace sluice::operators
