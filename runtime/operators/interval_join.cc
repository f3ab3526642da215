#include "runtime/operators/interval_join.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "runtime/base/status.h"
#include "runtime/operators/source_output.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/state/keyed_state.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;

constexpr size_t kOutputBatchRows = 1024;
constexpr int kLeft = 0;
constexpr int kRight = 1;

// Rows buffered per timestamp (row bytes: KeySelector over all fields).
using Buffer = state::MapState<int64_t, std::vector<std::string>>;

core::KeySelector AllFields(const core::Schema& s) {
  std::vector<std::string> names;
  for (const core::Field& f : s.fields()) names.push_back(f.name);
  return *core::KeySelector::Create(s, names);
}

class IntervalJoinOperator final : public api::Operator {
 public:
  IntervalJoinOperator(core::SchemaPtr output, std::array<core::SchemaPtr, 2> inputs,
                       std::array<core::KeySelector, 2> keys, const IntervalJoinSpec& spec)
      : output_(std::move(output)),
        inputs_(std::move(inputs)),
        keys_(std::move(keys)),
        rows_{AllFields(*inputs_[0]), AllFields(*inputs_[1])},
        lower_(spec.lower_ms),
        upper_(spec.upper_ms),
        bounded_(spec.bounded || spec.window.has_value()),
        window_(spec.window),
        ttl_ms_(spec.state_ttl_ms),
        outer_{spec.outer_left, spec.outer_right},
        out_(output_) {}

  core::SchemaPtr output_schema() const override { return output_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "interval join"));
    using Rows = std::vector<std::string>;
    std::optional<state::StateTtlConfig> ttl;
    if (ttl_ms_ > 0) ttl = state::StateTtlConfig{.ttl_ms = ttl_ms_};
    ASSIGN_OR_RETURN(buffers_[kLeft],
                     (backend_->GetMapState<int64_t, Rows>(kIntervalJoinLeftState, ttl)));
    ASSIGN_OR_RETURN(buffers_[kRight],
                     (backend_->GetMapState<int64_t, Rows>(kIntervalJoinRightState, ttl)));
    for (int s : {kLeft, kRight}) tags_[s] = keys_[s].KeyGroupTag(backend_->max_parallelism());
    backend_->SetCurrentNamespace(0);
    ASSIGN_OR_RETURN(watermark_, RestoreWatermarkState(ctx, "interval join"));
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const RecordBatch&, api::Output&) override {
    return InvalidArgumentF("interval join: needs two inputs (ProcessInput 0 and 1)");
  }

  absl::Status ProcessInput(int input, const RecordBatch& batch, api::Output& out) override {
    if (backend_ == nullptr) [[unlikely]] {
      return FailedPreconditionF("interval join: ProcessInput before Open");
    }
    if (input != kLeft && input != kRight) {
      return InvalidArgumentF("interval join: no input {} (inputs: 0 left, 1 right)", input);
    }
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    const int other = 1 - input;
    int64_t late = 0;
    for (size_t row = 0; row < n; ++row) {
      const int64_t ts = batch.timestamp(row);
      if (ts == core::kNoTimestamp && bounded_) [[unlikely]] {
        return InvalidArgumentF("interval join needs event time: a row of its {} input has no "
                                "timestamp (declare event-time on the source)",
                                input == kLeft ? "left" : "right");
      }
      if (bounded_ && IsLate(ts)) {  // rows it would need may be cleaned up already
        ++late;
        continue;
      }
      ASSIGN_OR_RETURN(const int32_t kg, KeyGroupOfRow(keys_[input], tags_[input], *backend_,
                                                       batch, row, "join", ctx_));
      key_.clear();
      keys_[input].AppendKeyBytes(batch, row, &key_);
      backend_->SetCurrentKey(key_, kg);
      // Join with the other side's buffered rows in range.
      const auto* entries = buffers_[other]->entries();
      const bool other_empty = entries == nullptr || entries->empty();
      const auto* mine = buffers_[input]->entries();
      if (outer_[other] && !other_empty && (mine == nullptr || mine->empty())) {
        // This key's first row of this side: the other side's rows had no match so far and
        // were emitted padded with nulls; retract those before their pairs.
        for (const auto& [t, rows] : *entries) {
          for (const std::string& bytes : rows) {
            RETURN_IF_ERROR(EmitPadded(input, bytes, t, core::RowKind::kDelete, out));
          }
        }
      }
      if (!other_empty) {
        for (const auto& [t, rows] : *entries) {
          for (const std::string& bytes : rows) {
            RETURN_IF_ERROR(EmitMatches(input, batch, row, ts, t, bytes, out));
          }
        }
      }
      // Buffer the row until no future row of the other side can match it.
      row_.clear();
      rows_[input].AppendKeyBytes(batch, row, &row_);
      // The rows already buffered at ts move out of the state and back in with the new one.
      std::vector<std::string>* at = buffers_[input]->get(ts);
      scratch_.clear();
      if (at != nullptr) scratch_ = std::move(*at);
      scratch_.push_back(row_);
      buffers_[input]->put(ts, std::move(scratch_));
      if (outer_[input] && other_empty) {  // no match yet: the row with the other side null
        RETURN_IF_ERROR(EmitPadded(other, row_, ts, core::RowKind::kInsert, out));
      }
      if (bounded_) backend_->RegisterEventTimeTimer(input, CleanupTime(input, ts));
    }
    if (late > 0 && ctx_.metrics != nullptr) {
      ctx_.metrics->late_records_dropped.fetch_add(late, std::memory_order_relaxed);
    }
    return Flush(out);
  }

  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override {
    watermark_ = std::max(watermark_, watermark);
    if (backend_ != nullptr) {
      RETURN_IF_ERROR(backend_->AdvanceWatermark(
          watermark_, [&](std::string_view, int32_t, int64_t side, int64_t fire) {
            // The timer's namespace is the side; the buffers live in namespace 0. Rows of
            // several timestamps may share a cleanup time (window joins).
            const int s = static_cast<int>(side);
            backend_->SetCurrentNamespace(0);
            expired_.clear();
            if (const auto* entries = buffers_[s]->entries(); entries != nullptr) {
              for (const auto& [t, rows] : *entries) {
                if (CleanupTime(s, t) <= fire) expired_.push_back(t);
              }
            }
            for (int64_t t : expired_) buffers_[s]->remove(t);
            return absl::OkStatus();
          }));
      backend_->SetCurrentNamespace(0);
    }
    return out.EmitWatermark(watermark);
  }

  // The current watermark (8 bytes), so late rows stay late after a restore.
  absl::StatusOr<std::string> SnapshotState(int64_t) override {
    return EncodeWatermarkState(watermark_);
  }

  void Close() override {
    buffers_ = {nullptr, nullptr};
    backend_ = nullptr;
    owned_backend_.reset();
  }

 private:
  // When a row of `side` at `ts` can match no future row any more (see the header): the end of
  // its last window (window join), or `ts` plus the interval's reach into the future.
  int64_t CleanupTime(int side, int64_t ts) const {
    if (window_.has_value()) return LastWindowEnd(ts) - 1;
    return ts + (side == kLeft ? std::max<int64_t>(upper_, 0) : std::max<int64_t>(-lower_, 0));
  }
  int64_t LastWindowEnd(int64_t ts) const {
    int64_t last = 0;
    window_->ForEachWindowEnd(ts, [&](int64_t end) { last = end; });
    return last;
  }
  // Flink's isLate: a row older than the watermark (interval join), or all of whose windows
  // have fired (window join).
  bool IsLate(int64_t ts) const {
    return window_.has_value() ? LastWindowEnd(ts) - 1 <= watermark_ : ts < watermark_;
  }

  // Emits the pairs of row `row` (at `ts`, from `input`) with the other side's `bytes` (at `t`):
  // one if `t` is in the interval (or always, regular join), or one per window both are in.
  absl::Status EmitMatches(int input, const RecordBatch& batch, size_t row, int64_t ts,
                           int64_t t, std::string_view bytes, api::Output& out) {
    if (window_.has_value()) {
      absl::Status st = absl::OkStatus();
      window_->ForEachWindowEnd(ts, [&](int64_t end) {
        if (st.ok() && window_->StartOf(end) <= t && t < end) {
          st = Emit(input, batch, row, bytes, end - 1, out);
        }
      });
      return st;
    }
    if (bounded_) {
      const int64_t lo = input == kLeft ? ts + lower_ : ts - upper_;
      const int64_t hi = input == kLeft ? ts + upper_ : ts - lower_;
      if (t < lo || t > hi) return absl::OkStatus();
    }
    return Emit(input, batch, row, bytes, std::max(ts, t), out);
  }

  // Appends the pair: row `row` of `batch` (from `input`) with the other side's `bytes`.
  absl::Status Emit(int input, const RecordBatch& batch, size_t row, std::string_view bytes,
                    int64_t ts, api::Output& out) {
    const size_t r = out_.AppendRow(ts);
    const size_t nl = inputs_[kLeft]->num_fields();
    const size_t own_first = input == kLeft ? 0 : nl;
    for (size_t c = 0; c < batch.num_fields(); ++c) out_.CopyField(r, own_first + c, batch, row, c);
    rows_[1 - input].DecodeKeyInto(bytes, &out_, r, input == kLeft ? nl : 0);
    if (out_.num_rows() >= kOutputBatchRows) return Flush(out);
    return absl::OkStatus();
  }

  // Appends a row of side 1 - `null_side` (encoded `bytes`) with side `null_side` null.
  absl::Status EmitPadded(int null_side, std::string_view bytes, int64_t ts, core::RowKind kind,
                          api::Output& out) {
    const size_t r = out_.AppendRow(ts, kind);
    const size_t nl = inputs_[kLeft]->num_fields();
    const int side = 1 - null_side;
    rows_[side].DecodeKeyInto(bytes, &out_, r, side == kLeft ? 0 : nl);
    const size_t first_null = null_side == kLeft ? 0 : nl;
    for (size_t c = 0; c < inputs_[null_side]->num_fields(); ++c) out_.SetNull(r, first_null + c);
    if (out_.num_rows() >= kOutputBatchRows) return Flush(out);
    return absl::OkStatus();
  }

  absl::Status Flush(api::Output& out) { return EmitAndClear(&out_, out, ctx_.metrics); }

  const core::SchemaPtr output_;
  const std::array<core::SchemaPtr, 2> inputs_;
  const std::array<core::KeySelector, 2> keys_;
  const std::array<core::KeySelector, 2> rows_;  // all fields: the buffered rows' encoding
  const int64_t lower_;
  const int64_t upper_;
  const bool bounded_;   // false: a regular join
  const std::optional<WindowAssigner> window_;  // a window join
  const int64_t ttl_ms_;  // regular join: state TTL of the buffers (0 = none)
  const std::array<bool, 2> outer_;  // keep unmatched rows of the left / right input
  std::array<uint64_t, 2> tags_{};
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;
  state::KeyedStateBackend* backend_ = nullptr;
  std::array<Buffer*, 2> buffers_{};
  int64_t watermark_ = api::kMinWatermark;
  std::string key_, row_;
  std::vector<std::string> scratch_;
  std::vector<int64_t> expired_;  // scratch: timestamps a cleanup timer removes
  RecordBatch out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeIntervalJoin(core::SchemaPtr left,
                                                                core::SchemaPtr right,
                                                                IntervalJoinSpec spec) {
  const std::string_view what =
      spec.window.has_value() ? "window join" : spec.bounded ? "interval join" : "join";
  const bool bounded = spec.bounded || spec.window.has_value();
  if ((spec.outer_left || spec.outer_right) && (bounded || spec.window.has_value())) {
    return InvalidArgumentF("join: outer joins are regular joins (no interval or window)");
  }
  if (spec.state_ttl_ms < 0 || (bounded && spec.state_ttl_ms != 0)) {
    return InvalidArgumentF("join: state TTL must be >= 0 and applies to regular joins only (an "
                            "interval join's timers clean its state), got {} ms",
                            spec.state_ttl_ms);
  }
  if (spec.bounded && !spec.window.has_value() && spec.lower_ms > spec.upper_ms) {
    return InvalidArgumentF("{}: lower bound {} ms is above upper bound {} ms", what,
                            spec.lower_ms, spec.upper_ms);
  }
  auto lk = core::KeySelector::Create(*left, spec.left_keys);
  if (!lk.ok()) return InvalidArgumentF("{}: left {}", what, lk.status().message());
  auto rk = core::KeySelector::Create(*right, spec.right_keys);
  if (!rk.ok()) return InvalidArgumentF("{}: right {}", what, rk.status().message());
  const std::vector<core::Field> lf = lk->key_fields(), rf = rk->key_fields();
  if (lf.size() != rf.size()) {
    return InvalidArgumentF("{}: the left key has {} fields, the right key {}", what,
                            lf.size(), rf.size());
  }
  for (size_t i = 0; i < lf.size(); ++i) {
    if (lf[i].type != rf[i].type) {
      return InvalidArgumentF(
          "{}: left key field '{}' is {} but right key field '{}' is {}; join keys must have "
          "the same types",
          what, lf[i].name, core::TypeName(lf[i].type), rf[i].name, core::TypeName(rf[i].type));
    }
  }
  std::vector<core::Field> fields = left->fields();
  absl::flat_hash_set<std::string> names;
  for (const core::Field& f : fields) names.insert(f.name);
  for (core::Field f : right->fields()) {
    if (names.contains(f.name)) f.name = spec.right_prefix + f.name;
    if (!names.insert(f.name).second) {
      return InvalidArgumentF(
          "{}: output field '{}' is taken twice (right fields whose names the left has get "
          "the prefix '{}')",
          what, f.name, spec.right_prefix);
    }
    fields.push_back(std::move(f));
  }
  auto output = std::make_shared<const core::Schema>(std::move(fields));
  return std::unique_ptr<api::Operator>(new IntervalJoinOperator(
      std::move(output), {std::move(left), std::move(right)}, {*std::move(lk), *std::move(rk)},
      spec));
}

}  // namespace sluice::operators
