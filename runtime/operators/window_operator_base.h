#pragma once
// What the window operators share (internal to runtime/operators): the keyed state backend and
// its window-contents AggregatingState, the current watermark (the operator state that
// checkpoints keep), the per-row key-group check, the output batch with one row per window
// firing, and late-row accounting. WindowAggregateOperator (fixed windows: tumbling, sliding,
// cumulate; window_operator.cc) and SessionWindowOperator (merging windows;
// session_window_operator.cc) derive from it. See window_operator.h for the semantics both
// implement. Thread: the owning Task's thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/api/operator.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/window_aggregates.h"
#include "runtime/operators/window_contents.h"
#include "runtime/state/keyed_state.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators::internal {

// A record to add to a window: row `row` of `batch`.
struct RowRef {
  const core::RecordBatch* batch;
  size_t row;
};

class WindowOperatorBase : public api::Operator {
 public:
  core::SchemaPtr output_schema() const override { return output_schema_; }

  // Opens the backend and the window contents, checks restored contents against the
  // aggregates, restores the watermark.
  absl::Status Open(const api::OperatorContext& ctx) override;
  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override;
  absl::Status Finish(api::Output& out) override;
  // The current watermark (8 bytes, little-endian).
  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) override;
  void Close() override;

 protected:
  using Contents = state::AggregatingState<RowRef, WindowContents, int>;

  WindowOperatorBase(core::SchemaPtr output_schema, core::KeySelector keys,
                     int64_t allowed_lateness_ms, WindowAggregates aggs, core::SchemaPtr input,
                     bool late_to_side_output);

  // Fires the timers due at `watermark` (window firings and cleanups).
  virtual absl::Status FireUpTo(int64_t watermark, api::Output& out) = 0;

  // Start of a batch: counts records in, clears the late rows. FailedPrecondition before Open.
  absl::Status BeginBatch(const core::RecordBatch& batch);
  // The row's key group (carried by the batch or computed). InvalidArgument for a row without
  // an event timestamp (unless `need_time` is false), Internal for a key group outside the
  // backend's range.
  absl::StatusOr<int32_t> RowKeyGroup(const core::RecordBatch& batch, size_t row,
                                      bool need_time = true);
  // Sets the backend's current key to the row's key (bytes in key_scratch_).
  void SetRowKey(const core::RecordBatch& batch, size_t row, int32_t kg);
  // A row none of whose windows is kept: to the side output, or counted as dropped.
  void Late(const core::RecordBatch& batch, size_t row);
  // End of a batch: flushes late firings, counts dropped rows, emits the late side output.
  absl::Status EndBatch(api::Output& out);

  // Appends the window's output row (key bytes, [start, end), the contents' results).
  absl::Status EmitWindow(std::string_view key, int64_t start, int64_t end,
                          const WindowContents& w, api::Output& out);
  absl::Status Flush(api::Output& out);

  const core::SchemaPtr output_schema_;
  const core::KeySelector keys_;
  const int64_t lateness_ms_;  // allowed lateness (Flink's WindowedStream.allowedLateness)
  const WindowAggregates aggs_;

  int64_t current_watermark_ = api::kMinWatermark;
  state::KeyedStateBackend* backend_ = nullptr;  // owned_backend_ or the Task's
  Contents* contents_ = nullptr;                 // in backend_
  bool window_created_ = false;  // set by the accumulator factory; reset by the caller
  // Flink SQL's table.exec.state.ttl (api::OperatorContext::state_ttl_ms) for window state.
  std::optional<state::StateTtlConfig> ttl_;
  std::string key_scratch_;      // key bytes of the current record

 private:
  const size_t num_keys_;
  const WindowContents fresh_;  // a new window's contents: count 0, zeroed accumulators
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;  // when the context has none
  uint64_t key_group_tag_ = 0;  // keys_.KeyGroupTag(the backend's max parallelism)
  core::RecordBatch out_;
  const bool late_to_side_output_;
  core::RecordBatch late_rows_;  // late rows of the current batch (side output 1)
  int64_t late_dropped_ = 0;     // in the current batch
};

}  // namespace sluice::operators::internal
