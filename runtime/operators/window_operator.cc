#include "runtime/operators/window_operator.h"

#include <cstring>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::Type;

// Rows per emitted batch; the output batch is flushed when it reaches this size.
constexpr size_t kOutputBatchRows = 1024;

std::string FieldNames(const core::Schema& schema) {
  std::string s;
  for (size_t i = 0; i < schema.num_fields(); ++i) {
    if (i > 0) s += ", ";
    s += schema.field(i).name;
  }
  return s;
}

// One aggregate resolved against the input schema.
struct ResolvedAggregate {
  AggregateKind kind;
  int input_col;    // -1 for count
  Type input_type;  // meaningless for count
};

// Accumulator of one aggregate in one window: sum (int64 or double), min or max. Count and the
// avg divisor are the window's record count, shared by all aggregates (there are no nulls).
union Accumulator {
  int64_t i64;
  double f64;
};

// The operator. Window state: `windows_` maps key bytes + 8-byte window start to a slot; a
// slot holds the window's metadata (`slots_`) and its accumulators (`accs_`, one per
// aggregate, slot-major). Slots of fired windows go to a free list and are reused, and lookups
// go through a reused scratch string, so steady-state processing allocates nothing per record.
// Timers: `timers_` maps window end to the slots of windows ending there.
class TumblingWindowAggregateOperator final : public Operator {
 public:
  TumblingWindowAggregateOperator(core::SchemaPtr output_schema, core::KeySelector keys,
                                  int64_t size_ms, int64_t offset_ms,
                                  std::vector<ResolvedAggregate> aggs)
      : output_schema_(std::move(output_schema)),
        keys_(std::move(keys)),
        size_ms_(size_ms),
        offset_ms_(offset_ms),
        aggs_(std::move(aggs)),
        num_keys_(keys_.columns().size()),
        out_(output_schema_) {}

  core::SchemaPtr output_schema() const override { return output_schema_; }

  absl::Status ProcessBatch(const RecordBatch& batch, Output& out) override {
    (void)out;  // windows emit only when a watermark fires them
    const size_t n = batch.num_rows();
    if (ctx_.metrics != nullptr) ctx_.metrics->records_in.fetch_add(n, std::memory_order_relaxed);
    int64_t late = 0;
    for (size_t row = 0; row < n; ++row) {
      const int64_t ts = batch.timestamp(row);
      if (ts == core::kNoTimestamp) [[unlikely]] {
        return InvalidArgumentF(
            "window needs event time: record has no timestamp (declare event-time on the "
            "source)");
      }
      const int64_t start = WindowStartWithOffset(ts, offset_ms_, size_ms_);
      const int64_t end = start + size_ms_;
      if (end - 1 <= current_watermark_) {  // Flink's isWindowLate with allowed lateness 0
        ++late;
        continue;
      }
      scratch_.clear();
      keys_.AppendKeyBytes(batch, row, &scratch_);
      AppendStart(start, &scratch_);
      uint32_t slot;
      auto it = windows_.find(scratch_);
      if (it != windows_.end()) {
        slot = it->second;
      } else {
        slot = NewSlot(start);
        windows_.emplace(scratch_, slot);
        timers_[end].push_back(slot);
      }
      Accumulate(slot, batch, row);
    }
    if (late > 0 && ctx_.metrics != nullptr) {
      ctx_.metrics->late_records_dropped.fetch_add(late, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  absl::Status ProcessWatermark(int64_t watermark, Output& out) override {
    if (watermark > current_watermark_) current_watermark_ = watermark;
    // Fire every window whose maxTimestamp (end - 1) the watermark has reached, by window end.
    while (!timers_.empty() && timers_.begin()->first - 1 <= current_watermark_) {
      auto node = timers_.extract(timers_.begin());
      RETURN_IF_ERROR(FireSlots(node.key(), node.mapped(), out));
    }
    RETURN_IF_ERROR(Flush(out));
    return out.EmitWatermark(watermark);
  }

  absl::Status Finish(Output& out) override {
    // Normally kMaxWatermark already fired everything; fire leftovers defensively.
    while (!timers_.empty()) {
      auto node = timers_.extract(timers_.begin());
      RETURN_IF_ERROR(FireSlots(node.key(), node.mapped(), out));
    }
    return Flush(out);
  }

  void Close() override {
    windows_.clear();
    timers_.clear();
    slots_.clear();
    accs_.clear();
    free_slots_.clear();
  }

 private:
  struct Slot {
    std::string state_key;  // key bytes + 8-byte window start: the key in windows_
    int64_t start = 0;
    int64_t count = 0;
  };

  static void AppendStart(int64_t start, std::string* out) {
    char buf[8];
    std::memcpy(buf, &start, 8);
    out->append(buf, 8);
  }

  uint32_t NewSlot(int64_t start) {
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
      accs_.resize(accs_.size() + aggs_.size());
    }
    Slot& s = slots_[slot];
    s.state_key.assign(scratch_);  // reuses the recycled slot's capacity
    s.start = start;
    s.count = 0;
    Accumulator* acc = &accs_[size_t{slot} * aggs_.size()];
    for (size_t i = 0; i < aggs_.size(); ++i) acc[i].i64 = 0;
    return slot;
  }

  void Accumulate(uint32_t slot, const RecordBatch& batch, size_t row) {
    Slot& s = slots_[slot];
    const bool first = s.count == 0;
    ++s.count;
    Accumulator* acc = &accs_[size_t{slot} * aggs_.size()];
    for (size_t i = 0; i < aggs_.size(); ++i) {
      const ResolvedAggregate& a = aggs_[i];
      switch (a.kind) {
        case AggregateKind::kCount:
          break;
        case AggregateKind::kSum:
        case AggregateKind::kAvg:
          if (a.input_type == Type::kDouble) {
            acc[i].f64 += batch.GetDouble(row, a.input_col);
          } else {  // wrap like Java's long
            acc[i].i64 =
                static_cast<int64_t>(static_cast<uint64_t>(acc[i].i64) +
                                     static_cast<uint64_t>(batch.GetInt64(row, a.input_col)));
          }
          break;
        case AggregateKind::kMin:
          if (a.input_type == Type::kDouble) {
            const double v = batch.GetDouble(row, a.input_col);
            if (first || v < acc[i].f64) acc[i].f64 = v;
          } else {
            const int64_t v = batch.GetInt64(row, a.input_col);
            if (first || v < acc[i].i64) acc[i].i64 = v;
          }
          break;
        case AggregateKind::kMax:
          if (a.input_type == Type::kDouble) {
            const double v = batch.GetDouble(row, a.input_col);
            if (first || v > acc[i].f64) acc[i].f64 = v;
          } else {
            const int64_t v = batch.GetInt64(row, a.input_col);
            if (first || v > acc[i].i64) acc[i].i64 = v;
          }
          break;
      }
    }
  }

  absl::Status FireSlots(int64_t end, const std::vector<uint32_t>& slots, Output& out) {
    const size_t window_start_col = num_keys_;
    const size_t first_agg_col = num_keys_ + 2;
    for (uint32_t slot : slots) {
      Slot& s = slots_[slot];
      const size_t r = out_.AppendRow(end - 1);
      keys_.DecodeKeyInto(std::string_view(s.state_key).substr(0, s.state_key.size() - 8), &out_, r,
                          0);
      out_.SetInt64(r, window_start_col, s.start);
      out_.SetInt64(r, window_start_col + 1, end);
      const Accumulator* acc = &accs_[size_t{slot} * aggs_.size()];
      for (size_t i = 0; i < aggs_.size(); ++i) {
        const size_t col = first_agg_col + i;
        const ResolvedAggregate& a = aggs_[i];
        switch (a.kind) {
          case AggregateKind::kCount:
            out_.SetInt64(r, col, s.count);
            break;
          case AggregateKind::kAvg:
            out_.SetDouble(
                r, col,
                (a.input_type == Type::kDouble ? acc[i].f64 : static_cast<double>(acc[i].i64)) /
                    static_cast<double>(s.count));
            break;
          case AggregateKind::kSum:
          case AggregateKind::kMin:
          case AggregateKind::kMax:
            if (a.input_type == Type::kDouble) {
              out_.SetDouble(r, col, acc[i].f64);
            } else {
              out_.SetInt64(r, col, acc[i].i64);
            }
            break;
        }
      }
      windows_.erase(s.state_key);
      free_slots_.push_back(slot);
      if (out_.num_rows() >= kOutputBatchRows) RETURN_IF_ERROR(Flush(out));
    }
    return absl::OkStatus();
  }

  absl::Status Flush(Output& out) {
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
  const int64_t size_ms_;
  const int64_t offset_ms_;
  const std::vector<ResolvedAggregate> aggs_;
  const size_t num_keys_;

  int64_t current_watermark_ = kMinWatermark;
  absl::flat_hash_map<std::string, uint32_t> windows_;
  std::map<int64_t, std::vector<uint32_t>> timers_;  // window end -> slots
  std::vector<Slot> slots_;
  std::vector<Accumulator> accs_;
  std::vector<uint32_t> free_slots_;
  std::string scratch_;
  RecordBatch out_;
};

}  // namespace

std::string_view AggregateKindName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCount:
      return "count";
    case AggregateKind::kSum:
      return "sum";
    case AggregateKind::kMin:
      return "min";
    case AggregateKind::kMax:
      return "max";
    case AggregateKind::kAvg:
      return "avg";
  }
  return "unknown";
}

std::optional<AggregateKind> ParseAggregateKind(std::string_view name) {
  if (name == "count") return AggregateKind::kCount;
  if (name == "sum") return AggregateKind::kSum;
  if (name == "min") return AggregateKind::kMin;
  if (name == "max") return AggregateKind::kMax;
  if (name == "avg" || name == "average" || name == "mean") return AggregateKind::kAvg;
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Operator>> MakeTumblingWindowAggregate(core::SchemaPtr input,
                                                                      TumblingWindowSpec spec) {
  if (spec.size_ms <= 0) {
    return InvalidArgumentF("tumbling window size must be > 0 ms, got {} ms", spec.size_ms);
  }
  if (spec.offset_ms <= -spec.size_ms || spec.offset_ms >= spec.size_ms) {
    return InvalidArgumentF(
        "tumbling window offset must satisfy |offset| < size, got offset {} ms, size {} ms",
        spec.offset_ms, spec.size_ms);
  }
  ASSIGN_OR_RETURN(core::KeySelector keys, core::KeySelector::Create(*input, spec.key_fields));

  std::vector<core::Field> out_fields = keys.key_fields();
  out_fields.push_back({"window_start", Type::kTimestamp});
  out_fields.push_back({"window_end", Type::kTimestamp});

  std::vector<ResolvedAggregate> aggs;
  aggs.reserve(spec.aggregates.size());
  for (const AggregateSpec& a : spec.aggregates) {
    const std::string_view kind_name = AggregateKindName(a.kind);
    if (a.kind == AggregateKind::kCount) {
      aggs.push_back({a.kind, -1, Type::kInt64});
      out_fields.push_back({a.output_name, Type::kInt64});
      continue;
    }
    const int col = input->FindField(a.field);
    if (col < 0) {
      return InvalidArgumentF("aggregate '{}': unknown field '{}' (fields: {})", a.output_name,
                              a.field, FieldNames(*input));
    }
    const Type t = input->field(col).type;
    Type out_type = t;
    if (a.kind == AggregateKind::kSum || a.kind == AggregateKind::kAvg) {
      if (!core::IsNumeric(t)) {
        return InvalidArgumentF("aggregate '{}': {} needs an int64 or double field, '{}' is {}",
                                a.output_name, kind_name, a.field, core::TypeName(t));
      }
      if (a.kind == AggregateKind::kAvg) out_type = Type::kDouble;
    } else if (t != Type::kInt64 && t != Type::kDouble && t != Type::kTimestamp) {
      return InvalidArgumentF(
          "aggregate '{}': {} needs an int64, double or timestamp field, '{}' is {}", a.output_name,
          kind_name, a.field, core::TypeName(t));
    }
    aggs.push_back({a.kind, col, t});
    out_fields.push_back({a.output_name, out_type});
  }

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
  return std::unique_ptr<Operator>(new TumblingWindowAggregateOperator(
      std::move(output_schema), std::move(keys), spec.size_ms, spec.offset_ms, std::move(aggs)));
}

}  // namespace sluice::operators
