#include "runtime/operators/over_aggregate.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/keyed_backend.h"
#include "runtime/operators/source_output.h"
#include "runtime/state/keyed_state.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::Type;

constexpr size_t kOutputBatchRows = 1024;
constexpr size_t kArgBytes = 9;       // per call: a null byte, then 8 value bytes
constexpr int64_t kRowsNamespace = 0;  // state and the per-timestamp timers
constexpr int64_t kCleanupNamespace = 1;

using Rows = std::vector<std::string>;
using Buffer = state::MapState<int64_t, Rows>;

// One aggregate's running value: count, sum, min and max of its non-null arguments, as int64
// or double by the argument's type.
struct Acc {
  int64_t count = 0;
  int64_t sum_i = 0;
  double sum_d = 0;
  int64_t min_i = std::numeric_limits<int64_t>::max(), max_i = std::numeric_limits<int64_t>::min();
  double min_d = 0, max_d = 0;
};

class OverAggregateOperator final : public api::Operator {
 public:
  OverAggregateOperator(core::SchemaPtr input, core::SchemaPtr output, core::KeySelector keys,
                        core::KeySelector all, std::vector<int> arg_cols, OverAggregateSpec spec)
      : input_(std::move(input)), output_(std::move(output)), keys_(std::move(keys)),
        all_(std::move(all)), arg_cols_(std::move(arg_cols)), spec_(std::move(spec)),
        args_size_(spec_.calls.size() * kArgBytes), accs_(spec_.calls.size()), out_(output_) {}

  core::SchemaPtr output_schema() const override { return output_; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(api::Operator::Open(ctx));
    ASSIGN_OR_RETURN(backend_, KeyedBackendFor(ctx, &owned_backend_, "over aggregate"));
    ASSIGN_OR_RETURN(pending_, (backend_->GetMapState<int64_t, Rows>(kOverPendingState)));
    ASSIGN_OR_RETURN(frame_, (backend_->GetMapState<int64_t, Rows>(kOverFrameState)));
    ASSIGN_OR_RETURN(acc_state_, backend_->GetValueState<std::string>(kOverAccState));
    tag_ = keys_.KeyGroupTag(backend_->max_parallelism());
    backend_->SetCurrentNamespace(kRowsNamespace);
    ASSIGN_OR_RETURN(watermark_, RestoreWatermarkState(ctx, "over aggregate"));
    return absl::OkStatus();
  }

  // Buffers the rows; they are emitted when the watermark passes them (ProcessWatermark).
  absl::Status ProcessBatch(const RecordBatch& batch, api::Output&) override {
    if (backend_ == nullptr) [[unlikely]] return FailedPreconditionF("over aggregate: not open");
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    int64_t late = 0;
    for (size_t row = 0; row < n; ++row) {
      const int64_t ts = batch.timestamp(row);
      if (ts == core::kNoTimestamp) [[unlikely]] {
        return InvalidArgumentF("over aggregate needs event time: a row has no timestamp "
                                "(declare event-time on the source)");
      }
      if (ts <= watermark_) {
        ++late;
        continue;
      }
      ASSIGN_OR_RETURN(const int32_t kg, KeyGroupOfRow(keys_, tag_, *backend_, batch, row,
                                                       "over aggregate", ctx_));
      key_.clear();
      keys_.AppendKeyBytes(batch, row, &key_);
      backend_->SetCurrentKey(key_, kg);
      // The row: its aggregate arguments (fixed size), then all its fields.
      entry_.clear();
      AppendArgs(batch, row, &entry_);
      all_.AppendKeyBytes(batch, row, &entry_);
      Rows* at = pending_->get(ts);
      scratch_.clear();
      if (at != nullptr) scratch_ = std::move(*at);
      scratch_.push_back(entry_);
      pending_->put(ts, std::move(scratch_));
      backend_->RegisterEventTimeTimer(kRowsNamespace, ts);
    }
    if (late > 0 && ctx_.metrics != nullptr) {
      ctx_.metrics->late_records_dropped.fetch_add(late, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t watermark, api::Output& out) override {
    watermark_ = std::max(watermark_, watermark);
    if (backend_ != nullptr) {
      RETURN_IF_ERROR(backend_->AdvanceWatermark(
          watermark_, [&](std::string_view, int32_t, int64_t ns, int64_t ts) {
            backend_->SetCurrentNamespace(kRowsNamespace);
            if (ns == kCleanupNamespace) {
              EvictBefore(ts - *spec_.preceding);
              return absl::OkStatus();
            }
            return Fire(ts, out);
          }));
      backend_->SetCurrentNamespace(kRowsNamespace);
    }
    RETURN_IF_ERROR(Flush(out));
    return out.EmitWatermark(watermark);
  }

  absl::StatusOr<std::string> SnapshotState(int64_t) override {
    return EncodeWatermarkState(watermark_);
  }

  void Close() override {
    pending_ = frame_ = nullptr;
    acc_state_ = nullptr;
    backend_ = nullptr;
    owned_backend_.reset();
  }

 private:
  // The current key's rows at `ts`: into their frames, out with their aggregates.
  absl::Status Fire(int64_t ts, api::Output& out) {
    Rows* at = pending_->get(ts);
    if (at == nullptr) return absl::OkStatus();
    Rows rows = std::move(*at);
    pending_->remove(ts);
    const bool bounded = spec_.preceding.has_value();
    if (!bounded) LoadAcc();
    if (spec_.frame == OverFrame::kRange) {
      if (bounded) {
        Rows* f = frame_->get(ts);
        Rows args = f != nullptr ? std::move(*f) : Rows{};
        for (const std::string& r : rows) args.push_back(r.substr(0, args_size_));
        frame_->put(ts, std::move(args));
        EvictBefore(ts - *spec_.preceding);
        ComputeFrame();
        // When no later row of the key comes, the frame's rows leave it by this timer.
        backend_->RegisterEventTimeTimer(kCleanupNamespace, ts + *spec_.preceding + 1);
      } else {
        for (const std::string& r : rows) Add(r);
      }
      for (const std::string& r : rows) RETURN_IF_ERROR(Emit(r, ts, out));
    } else {
      for (const std::string& r : rows) {
        if (bounded) {
          Rows* f = frame_->get(ts);
          Rows args = f != nullptr ? std::move(*f) : Rows{};
          args.push_back(r.substr(0, args_size_));
          frame_->put(ts, std::move(args));
          KeepLastRows(*spec_.preceding + 1);
          ComputeFrame();
        } else {
          Add(r);
        }
        RETURN_IF_ERROR(Emit(r, ts, out));
      }
    }
    if (!bounded) StoreAcc();
    return absl::OkStatus();
  }

  // The frame's timestamps, oldest first.
  std::vector<int64_t> FrameTimes() {
    std::vector<int64_t> times;
    if (const auto* e = frame_->entries(); e != nullptr) {
      for (const auto& [t, rows] : *e) times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    return times;
  }

  void EvictBefore(int64_t first_kept) {
    for (int64_t t : FrameTimes()) {
      if (t >= first_kept) break;
      frame_->remove(t);
    }
  }

  void KeepLastRows(int64_t n) {
    const std::vector<int64_t> times = FrameTimes();
    int64_t total = 0;
    for (int64_t t : times) total += static_cast<int64_t>(frame_->get(t)->size());
    for (int64_t t : times) {
      if (total <= n) break;
      Rows rows = std::move(*frame_->get(t));
      const int64_t drop = std::min<int64_t>(total - n, static_cast<int64_t>(rows.size()));
      rows.erase(rows.begin(), rows.begin() + drop);
      total -= drop;
      if (rows.empty()) {
        frame_->remove(t);
      } else {
        frame_->put(t, std::move(rows));
      }
    }
  }

  void ComputeFrame() {
    std::fill(accs_.begin(), accs_.end(), Acc{});
    if (const auto* e = frame_->entries(); e != nullptr) {
      for (const auto& [t, rows] : *e) {
        for (const std::string& r : rows) Add(r);
      }
    }
  }

  // Adds one row's arguments (the first args_size_ bytes of `entry`) to the accumulators.
  void Add(std::string_view entry) {
    for (size_t i = 0; i < accs_.size(); ++i) {
      const char* p = entry.data() + i * kArgBytes;
      if (p[0] != 0) continue;  // null
      Acc& a = accs_[i];
      ++a.count;
      if (spec_.calls[i].kind == OverAggKind::kCountStar ||
          spec_.calls[i].kind == OverAggKind::kCount) {
        continue;
      }
      if (IsDouble(i)) {
        double v;
        std::memcpy(&v, p + 1, 8);
        a.sum_d += v;
        a.min_d = a.count == 1 ? v : std::min(a.min_d, v);
        a.max_d = a.count == 1 ? v : std::max(a.max_d, v);
      } else {
        int64_t v;
        std::memcpy(&v, p + 1, 8);
        a.sum_i = static_cast<int64_t>(static_cast<uint64_t>(a.sum_i) + static_cast<uint64_t>(v));
        a.min_i = std::min(a.min_i, v);
        a.max_i = std::max(a.max_i, v);
      }
    }
  }

  bool IsDouble(size_t call) const {
    return arg_cols_[call] >= 0 && input_->field(arg_cols_[call]).type == Type::kDouble;
  }

  void AppendArgs(const RecordBatch& batch, size_t row, std::string* out) const {
    for (size_t i = 0; i < arg_cols_.size(); ++i) {
      const int c = arg_cols_[i];
      char buf[kArgBytes] = {};
      if (c >= 0 && batch.IsNull(row, static_cast<size_t>(c))) {
        buf[0] = 1;
      } else if (c >= 0) {
        const Type t = input_->field(c).type;
        if (t == Type::kDouble) {
          const double v = batch.GetDouble(row, c);
          std::memcpy(buf + 1, &v, 8);
        } else {
          const int64_t v = t == Type::kInt32 ? batch.GetInt32(row, c) : batch.GetInt64(row, c);
          std::memcpy(buf + 1, &v, 8);
        }
      }
      out->append(buf, kArgBytes);
    }
  }

  void LoadAcc() {
    std::fill(accs_.begin(), accs_.end(), Acc{});
    const std::string* s = acc_state_->value();
    if (s != nullptr && s->size() == accs_.size() * sizeof(Acc)) {
      std::memcpy(accs_.data(), s->data(), s->size());
    }
  }
  void StoreAcc() {
    acc_bytes_.assign(reinterpret_cast<const char*>(accs_.data()), accs_.size() * sizeof(Acc));
    acc_state_->update(acc_bytes_);
  }

  absl::Status Emit(std::string_view entry, int64_t ts, api::Output& out) {
    const size_t r = out_.AppendRow(ts);
    all_.DecodeKeyInto(entry.substr(args_size_), &out_, r, 0);
    const size_t first = input_->num_fields();
    for (size_t i = 0; i < accs_.size(); ++i) {
      const Acc& a = accs_[i];
      const size_t col = first + i;
      const OverAggKind kind = spec_.calls[i].kind;
      if (kind == OverAggKind::kCountStar || kind == OverAggKind::kCount) {
        out_.SetInt64(r, col, a.count);
        continue;
      }
      if (a.count == 0) {
        out_.SetNull(r, col);
        continue;
      }
      const bool d = IsDouble(i);
      double dv = 0;
      int64_t iv = 0;
      switch (kind) {
        case OverAggKind::kSum: dv = a.sum_d; iv = a.sum_i; break;
        case OverAggKind::kMin: dv = a.min_d; iv = a.min_i; break;
        case OverAggKind::kMax: dv = a.max_d; iv = a.max_i; break;
        default: dv = a.sum_d / static_cast<double>(a.count); iv = a.sum_i / a.count; break;
      }
      const Type t = output_->field(col).type;
      if (d) {
        out_.SetDouble(r, col, dv);
      } else if (t == Type::kInt32) {
        out_.SetInt32(r, col, static_cast<int32_t>(iv));
      } else {
        out_.SetInt64(r, col, iv);
      }
    }
    if (out_.num_rows() >= kOutputBatchRows) return Flush(out);
    return absl::OkStatus();
  }

  absl::Status Flush(api::Output& out) { return EmitAndClear(&out_, out, ctx_.metrics); }

  const core::SchemaPtr input_;
  const core::SchemaPtr output_;
  const core::KeySelector keys_;
  const core::KeySelector all_;  // all input fields: the buffered rows' encoding
  const std::vector<int> arg_cols_;  // per call: the argument column, -1 for count(*)
  const OverAggregateSpec spec_;
  const size_t args_size_;
  uint64_t tag_ = 0;
  std::unique_ptr<state::KeyedStateBackend> owned_backend_;
  state::KeyedStateBackend* backend_ = nullptr;
  Buffer* pending_ = nullptr;
  Buffer* frame_ = nullptr;
  state::ValueState<std::string>* acc_state_ = nullptr;
  int64_t watermark_ = api::kMinWatermark;
  std::vector<Acc> accs_;
  std::string key_, entry_, acc_bytes_;
  Rows scratch_;
  RecordBatch out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<api::Operator>> MakeOverAggregate(core::SchemaPtr input,
                                                                 OverAggregateSpec spec) {
  if (spec.keys.empty()) return InvalidArgumentF("over aggregate: needs partition keys");
  if (spec.calls.empty()) return InvalidArgumentF("over aggregate: needs at least one aggregate");
  if (spec.preceding.has_value() && *spec.preceding < 0) {
    return InvalidArgumentF("over aggregate: preceding must be >= 0, got {}", *spec.preceding);
  }
  auto keys = core::KeySelector::Create(*input, spec.keys);
  if (!keys.ok()) return InvalidArgumentF("over aggregate: {}", keys.status().message());
  std::vector<std::string> names;
  for (const core::Field& f : input->fields()) names.push_back(f.name);
  auto all = core::KeySelector::Create(*input, names);
  if (!all.ok()) return InvalidArgumentF("over aggregate: {}", all.status().message());
  std::vector<core::Field> fields = input->fields();
  std::set<std::string> taken(names.begin(), names.end());
  std::vector<int> arg_cols;
  for (const OverAggregateCall& c : spec.calls) {
    Type out_type = Type::kInt64;
    int col = -1;
    if (c.kind != OverAggKind::kCountStar) {
      col = input->FindField(c.field);
      if (col < 0) {
        return InvalidArgumentF("over aggregate: unknown field '{}' (fields: {})", c.field,
                                input->FieldNames());
      }
      const Type t = input->field(col).type;
      const bool numeric = t == Type::kInt32 || t == Type::kInt64 || t == Type::kDouble;
      const bool ordered = numeric || t == Type::kTimestamp;
      if (c.kind != OverAggKind::kCount &&
          !((c.kind == OverAggKind::kMin || c.kind == OverAggKind::kMax) ? ordered : numeric)) {
        return InvalidArgumentF("over aggregate: cannot aggregate field '{}' of type {} (sum and "
                                "avg take int32, int64 or double; min and max also timestamp)",
                                c.field, core::TypeName(t));
      }
      if (c.kind != OverAggKind::kCount) out_type = t;
    }
    if (!taken.insert(c.output).second) {
      return InvalidArgumentF("over aggregate: output field '{}' is taken", c.output);
    }
    fields.push_back(core::Field{c.output, out_type});
    arg_cols.push_back(col);
  }
  auto output = std::make_shared<const core::Schema>(std::move(fields));
  return std::unique_ptr<api::Operator>(new OverAggregateOperator(
      std::move(input), std::move(output), *std::move(keys), *std::move(all), std::move(arg_cols),
      std::move(spec)));
}

}  // namespace sluice::operators
