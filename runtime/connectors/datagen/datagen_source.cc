#include "runtime/connectors/datagen/datagen_source.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/rate_limiter.h"
#include "runtime/operators/union_state.h"
#include "runtime/operators/watermarks.h"
#include "runtime/operators/source_output.h"

namespace sluice::connectors {

std::string_view DatagenKindName(DatagenKind kind) {
  switch (kind) {
    case DatagenKind::kRandom:
      return "random";
    case DatagenKind::kSequence:
      return "sequence";
    case DatagenKind::kNow:
      return "now";
  }
  return "?";
}

namespace {

// The int64 min/max options of a random field, clamped to the int32 range (int32 and date).
int64_t Int32Min(int64_t v) { return std::max<int64_t>(v, INT32_MIN); }
int64_t Int32Max(int64_t v) { return std::min<int64_t>(v, INT32_MAX); }


constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // SplitMix64's increment

// SplitMix64's output function (Steele, Lea, Flood 2014): a bijective 64-bit mix.
constexpr uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [lo, hi] (inclusive) from 64 random bits (Lemire's multiply-shift).
int64_t UniformInt(uint64_t bits, int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (span == 0) return static_cast<int64_t>(bits);  // the whole int64 range
  const uint64_t offset =
      static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * span) >> 64);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
}

// Uniform in [lo, hi) from 64 random bits; lo when lo == hi.
double UniformDouble(uint64_t bits, double lo, double hi) {
  if (!(hi > lo)) return lo;
  const double u = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
  const double v = lo + (hi - lo) * u;
  return v < hi ? v : std::nextafter(hi, lo);  // rounding may reach hi
}

// Default clocks.
int64_t RealWallMs() { return NowMillis(); }

// ---- state encoding ------------------------------------------------------------------------

constexpr std::string_view kStateMagic = "DGEN";
constexpr uint32_t kStateVersion = 1;

// Rows [next, end) not generated yet.
struct RowRange {
  int64_t next = 0;
  int64_t end = 0;
  int64_t size() const { return end - next; }
};

struct DecodedState {
  uint32_t subtask = 0;
  uint32_t parallelism = 0;
  int64_t total_rows = 0;
  int64_t max_event_time = api::kMinWatermark;
  std::vector<RowRange> ranges;
};

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutI64(std::string* out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

// Reads the fixed-width fields of a state; every read past the end is DataLoss.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  absl::StatusOr<uint64_t> Fixed(size_t bytes) {
    if (data_.size() - pos_ < bytes) {
      return DataLossF(
          "datagen source: restored state is truncated: needed {} more bytes at byte {} of {}",
          bytes, pos_, data_.size());
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    return v;
  }
  absl::StatusOr<uint32_t> U32() {
    ASSIGN_OR_RETURN(uint64_t v, Fixed(4));
    return static_cast<uint32_t>(v);
  }
  absl::StatusOr<int64_t> I64() {
    ASSIGN_OR_RETURN(uint64_t v, Fixed(8));
    return static_cast<int64_t>(v);
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

absl::StatusOr<DecodedState> DecodeState(std::string_view blob) {
  if (blob.substr(0, kStateMagic.size()) != kStateMagic) {
    return DataLossF(
        "datagen source: restored state does not start with '{}' ({} bytes); it was not "
        "written by a datagen source (did the source's uid move to another source type?)",
        kStateMagic, blob.size());
  }
  Reader r(blob.substr(kStateMagic.size()));
  ASSIGN_OR_RETURN(uint32_t version, r.U32());
  if (version != kStateVersion) {
    return FailedPreconditionF(
        "datagen source: restored state has format version {}; this version reads version {}",
        version, kStateVersion);
  }
  DecodedState st;
  ASSIGN_OR_RETURN(st.subtask, r.U32());
  ASSIGN_OR_RETURN(st.parallelism, r.U32());
  ASSIGN_OR_RETURN(st.total_rows, r.I64());
  ASSIGN_OR_RETURN(st.max_event_time, r.I64());
  ASSIGN_OR_RETURN(uint32_t n, r.U32());
  if (r.remaining() != static_cast<size_t>(n) * 16) {
    return DataLossF("datagen source: restored state lists {} ranges but holds {} bytes for them",
                     n, r.remaining());
  }
  if (st.parallelism == 0 || st.subtask >= st.parallelism || st.total_rows < 0) {
    return DataLossF(
        "datagen source: restored state is inconsistent (subtask {} of parallelism {}, {} rows)",
        st.subtask, st.parallelism, st.total_rows);
  }
  st.ranges.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    RowRange range;
    ASSIGN_OR_RETURN(range.next, r.I64());
    ASSIGN_OR_RETURN(range.end, r.I64());
    if (range.next < 0 || range.next >= range.end || range.end > st.total_rows) {
      return DataLossF(
          "datagen source: restored state of subtask {} has the row range [{}, {}), which is "
          "empty or outside [0, {})",
          st.subtask, range.next, range.end, st.total_rows);
    }
    st.ranges.push_back(range);
  }
  return st;
}

// ---- the reader -----------------------------------------------------------------------------

// Generator of one field, resolved at Open for the hot loop.
struct FieldGen {
  DatagenField spec;
  core::Type type = core::Type::kInt64;
  uint64_t key = 0;  // per-field seed of the random stream
};

// Reader of one datagen source subtask. Lifecycle: Open (decides this subtask's row ranges,
// fresh or restored), PollNext until false (bounded) or forever, Close. Runs on its Task's
// thread.
class DatagenSource final : public api::Source {
 public:
  explicit DatagenSource(DatagenSourceOptions opts)
      : opts_(std::move(opts)), watermarks_(opts_.max_out_of_orderness_ms) {}

  core::SchemaPtr output_schema() const override { return opts_.schema; }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    RETURN_IF_ERROR(ValidateDatagenOptions(opts_));
    if (ctx.parallelism < 1 || ctx.subtask_index < 0 || ctx.subtask_index >= ctx.parallelism) {
      return InvalidArgumentF("datagen source: subtask {} of parallelism {} is out of range",
                              ctx.subtask_index, ctx.parallelism);
    }
    wall_ms_ = opts_.wall_ms ? opts_.wall_ms : RealWallMs;
    if (opts_.rows_per_second > 0) {
      limiter_.emplace(opts_.rows_per_second / ctx.parallelism, opts_.batch_size, opts_.now_ms,
                       opts_.sleep_ms);
    }
    total_rows_ = DatagenTotalRows(opts_);
    const core::Schema& schema = *opts_.schema;
    size_t longest = 0;
    gens_.resize(schema.num_fields());
    for (size_t c = 0; c < schema.num_fields(); ++c) {
      FieldGen& g = gens_[c];
      if (!opts_.fields.empty()) g.spec = opts_.fields[c];
      g.type = schema.field(c).type;
      g.key = Mix(opts_.seed ^ Mix(static_cast<uint64_t>(c) + 1));
      if (g.type == core::Type::kString && g.spec.kind == DatagenKind::kRandom) {
        longest = std::max(longest, static_cast<size_t>(g.spec.length));
      }
    }
    scratch_.assign(longest, '0');
    uses_wall_clock_ = UsesWallClock();
    if (!opts_.event_time.empty()) {
      ASSIGN_OR_RETURN(event_time_, operators::EventTimeExtractor::Create(
                                        schema, opts_.event_time, "datagen source"));
    }
    batch_.set_schema(opts_.schema);

    // This subtask's rows on a fresh start: a contiguous slice of [0, N).
    const int64_t p = ctx.parallelism;
    const int64_t i = ctx.subtask_index;
    RowRange own{Slice(total_rows_, i, p), Slice(total_rows_, i + 1, p)};
    if (own.size() > 0) ranges_.push_back(own);
    if (!ctx.restored_union_states.empty()) {
      RETURN_IF_ERROR(RestoreRescaled(ctx.restored_union_states));
    } else if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
      RETURN_IF_ERROR(Restore(*ctx.restored_state));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) override {
    std::string out(kStateMagic);
    PutU32(&out, kStateVersion);
    PutU32(&out, static_cast<uint32_t>(ctx_.subtask_index));
    PutU32(&out, static_cast<uint32_t>(ctx_.parallelism));
    PutI64(&out, total_rows_);
    PutI64(&out, max_event_time_);
    PutU32(&out, static_cast<uint32_t>(ranges_.size() - current_));
    for (size_t k = current_; k < ranges_.size(); ++k) {
      PutI64(&out, ranges_[k].next);
      PutI64(&out, ranges_[k].end);
    }
    return out;
  }

  // Without a rate limit the next rows are always ready.
  bool MoreAvailable() const override { return !limiter_ && !done_; }

  absl::StatusOr<bool> PollNext(api::Output& out) override {
    if (done_) return false;
    size_t limit = opts_.batch_size;
    if (limiter_ && current_ < ranges_.size()) {
      limit = limiter_->Acquire();
      if (limit == 0) return true;  // out of tokens for now: poll again
    }
    const int64_t now = uses_wall_clock_ ? wall_ms_() : 0;
    while (batch_.num_rows() < limit && current_ < ranges_.size()) {
      RowRange& range = ranges_[current_];
      const int64_t n =
          std::min<int64_t>(range.size(), static_cast<int64_t>(limit - batch_.num_rows()));
      for (int64_t k = 0; k < n; ++k) RETURN_IF_ERROR(AppendRow(range.next + k, now));
      range.next += n;
      if (range.size() == 0) ++current_;
    }
    if (!batch_.empty()) {
      if (limiter_) limiter_->Consume(batch_.num_rows());
      RETURN_IF_ERROR(operators::EmitSourceBatch(&batch_, out, ctx_.metrics));
      if (event_time_) {
        const int64_t wm = watermarks_.CurrentWatermark();
        if (wm > last_watermark_) {
          last_watermark_ = wm;
          RETURN_IF_ERROR(out.EmitWatermark(wm));
        }
      }
      return true;
    }
    done_ = true;
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }

 private:
  // floor(n * i / p) without overflow.
  static int64_t Slice(int64_t n, int64_t i, int64_t p) {
    return static_cast<int64_t>(static_cast<__int128>(n) * i / p);
  }

  bool UsesWallClock() const {
    for (const FieldGen& g : gens_) {
      if (g.spec.kind == DatagenKind::kNow) return true;
      if (g.type == core::Type::kTimestamp && g.spec.kind == DatagenKind::kRandom &&
          !g.spec.has_range) {
        return true;
      }
    }
    return false;
  }

  // Appends global row `row`; `now` is the wall clock of this batch.
  absl::Status AppendRow(int64_t row, int64_t now) {
    const size_t r = batch_.AppendRow();
    for (size_t c = 0; c < gens_.size(); ++c) {
      const FieldGen& g = gens_[c];
      const DatagenField& f = g.spec;
      switch (f.kind) {
        case DatagenKind::kSequence: {
          const int64_t v = f.start + row;
          switch (g.type) {
            case core::Type::kInt64:
            case core::Type::kTimestamp:
              batch_.SetInt64(r, c, v);
              break;
            case core::Type::kDouble:
              batch_.SetDouble(r, c, static_cast<double>(v));
              break;
            case core::Type::kInt32:
            case core::Type::kDate:  // ValidateDatagenOptions keeps the sequence in range
              batch_.SetInt32(r, c, static_cast<int32_t>(v));
              break;
            case core::Type::kString:
            case core::Type::kBytes: {
              char buf[24];
              auto res = std::to_chars(buf, buf + sizeof(buf), v);
              batch_.SetString(r, c, std::string_view(buf, res.ptr - buf));
              break;
            }
            case core::Type::kBool:  // refused by ValidateDatagenOptions
              break;
          }
          break;
        }
        case DatagenKind::kNow:
          batch_.SetInt64(r, c, now);
          break;
        case DatagenKind::kRandom: {
          const uint64_t bits = Mix(g.key + static_cast<uint64_t>(row) * kGolden);
          switch (g.type) {
            case core::Type::kInt64:
              batch_.SetInt64(r, c, UniformInt(bits, f.min, f.max));
              break;
            case core::Type::kTimestamp:
              batch_.SetInt64(r, c,
                              f.has_range ? UniformInt(bits, f.min, f.max)
                                          : now - UniformInt(bits, 0, f.max_past_ms));
              break;
            case core::Type::kDouble:
              batch_.SetDouble(r, c, UniformDouble(bits, f.min_double, f.max_double));
              break;
            case core::Type::kBool:
              batch_.SetBool(r, c, (bits >> 63) != 0);
              break;
            case core::Type::kString:
            case core::Type::kBytes:
              batch_.SetString(r, c, RandomHex(bits, static_cast<size_t>(f.length)));
              break;
            case core::Type::kInt32:
            case core::Type::kDate:
              batch_.SetInt32(r, c,
                              static_cast<int32_t>(UniformInt(bits, Int32Min(f.min), Int32Max(f.max))));
              break;
          }
          break;
        }
      }
    }
    if (event_time_) {
      ASSIGN_OR_RETURN(const int64_t ts, event_time_->Timestamp(batch_, r));
      batch_.SetTimestamp(r, ts);
      watermarks_.OnEvent(ts);
      max_event_time_ = std::max(max_event_time_, ts);
    }
    return absl::OkStatus();
  }

  // `len` lowercase hex characters from a SplitMix64 stream seeded with `bits`, in scratch_.
  std::string_view RandomHex(uint64_t bits, size_t len) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t state = bits;
    for (size_t k = 0; k < len; k += 16) {
      state += kGolden;
      uint64_t word = Mix(state);
      const size_t stop = std::min(len, k + 16);
      for (size_t j = k; j < stop; ++j, word >>= 4) scratch_[j] = kHex[word & 0xf];
    }
    return std::string_view(scratch_.data(), len);
  }

  absl::Status CheckBounds(const DecodedState& st) const {
    if (st.total_rows != total_rows_) {
      auto describe = [](int64_t n) {
        return n == kDatagenUnbounded ? std::string("unbounded rows") : fmt::format("{} rows", n);
      };
      return FailedPreconditionF(
          "datagen source: the restored state (subtask {} of parallelism {}) generates {} but "
          "the source now generates {}; a restore needs the same number-of-rows and sequence "
          "start/end",
          st.subtask, st.parallelism, describe(st.total_rows), describe(total_rows_));
    }
    return absl::OkStatus();
  }

  // Same parallelism: continue exactly where this subtask was.
  absl::Status Restore(std::string_view blob) {
    ASSIGN_OR_RETURN(DecodedState st, DecodeState(blob));
    if (static_cast<int32_t>(st.subtask) != ctx_.subtask_index ||
        static_cast<int32_t>(st.parallelism) != ctx_.parallelism) {
      return FailedPreconditionF(
          "datagen source: restored state of subtask {} of parallelism {} given to subtask {} "
          "of parallelism {}",
          st.subtask, st.parallelism, ctx_.subtask_index, ctx_.parallelism);
    }
    RETURN_IF_ERROR(CheckBounds(st));
    ranges_ = std::move(st.ranges);
    current_ = 0;
    if (st.max_event_time != api::kMinWatermark) {
      watermarks_.OnEvent(st.max_event_time);
      max_event_time_ = st.max_event_time;
    }
    return absl::OkStatus();
  }

  // Another parallelism: the union of all old subtasks' remaining ranges, cut by rank into
  // `parallelism` near-equal parts; this subtask takes its part. Watermarks start fresh.
  absl::Status RestoreRescaled(const std::vector<std::string>& blobs) {
    ASSIGN_OR_RETURN(std::vector<DecodedState> states,
                     operators::DecodeUnionStates(blobs, ctx_.restored_parallelism,
                                                  "datagen source",
                                                  "every old subtask's position is needed",
                                                  DecodeState));
    if (states.empty()) return absl::OkStatus();  // no old subtask had a state: fresh start
    for (const DecodedState& st : states) RETURN_IF_ERROR(CheckBounds(st));
    std::vector<RowRange> remaining;
    for (const DecodedState& st : states) {
      remaining.insert(remaining.end(), st.ranges.begin(), st.ranges.end());
    }
    std::sort(remaining.begin(), remaining.end(),
              [](const RowRange& a, const RowRange& b) { return a.next < b.next; });
    int64_t total = 0;  // disjoint ranges inside [0, N): fits int64
    for (size_t k = 0; k < remaining.size(); ++k) {
      if (k > 0 && remaining[k].next < remaining[k - 1].end) {
        return DataLossF(
            "datagen source: rescaling restore: the old subtasks' remaining rows overlap "
            "([{}, {}) and [{}, {})); a row would be generated twice",
            remaining[k - 1].next, remaining[k - 1].end, remaining[k].next, remaining[k].end);
      }
      total += remaining[k].size();
    }
    // Ranks [lo, hi) of the remaining rows are this subtask's.
    const int64_t lo = Slice(total, ctx_.subtask_index, ctx_.parallelism);
    const int64_t hi = Slice(total, ctx_.subtask_index + 1, ctx_.parallelism);
    std::vector<RowRange> mine;
    int64_t rank = 0;  // rank of the first row of the current range
    for (const RowRange& range : remaining) {
      const int64_t a = std::max(lo, rank);
      const int64_t b = std::min(hi, rank + range.size());
      if (a < b) mine.push_back(RowRange{range.next + (a - rank), range.next + (b - rank)});
      rank += range.size();
    }
    ranges_ = std::move(mine);
    current_ = 0;
    return absl::OkStatus();
  }

  DatagenSourceOptions opts_;
  api::OperatorContext ctx_;
  std::vector<FieldGen> gens_;
  int64_t total_rows_ = 0;
  // The rows this subtask generates, in order; ranges before current_ are done.
  std::vector<RowRange> ranges_;
  size_t current_ = 0;
  bool done_ = false;
  bool uses_wall_clock_ = false;  // a kNow field, or a random timestamp relative to now
  std::optional<operators::EventTimeExtractor> event_time_;
  core::RecordBatch batch_;
  std::string scratch_;  // random strings are built here, then copied into the batch arena
  operators::BoundedOutOfOrdernessWatermarks watermarks_;
  int64_t last_watermark_ = api::kMinWatermark;
  int64_t max_event_time_ = api::kMinWatermark;  // mirrors watermarks_, for snapshots
  std::function<int64_t()> wall_ms_;
  std::optional<operators::RateLimiter> limiter_;  // rows-per-second / parallelism, if set
};

}  // namespace

absl::Status ValidateDatagenOptions(const DatagenSourceOptions& opts) {
  if (opts.schema == nullptr || opts.schema->num_fields() == 0) {
    return InvalidArgumentF("datagen source: no schema (at least one field is required)");
  }
  const core::Schema& schema = *opts.schema;
  if (!opts.fields.empty() && opts.fields.size() != schema.num_fields()) {
    return InvalidArgumentF(
        "datagen source: {} field generators for a schema of {} fields; give one per field or "
        "none",
        opts.fields.size(), schema.num_fields());
  }
  if (!(opts.rows_per_second >= 0) || std::isinf(opts.rows_per_second)) {
    return InvalidArgumentF(
        "datagen source: rows-per-second must be a finite number >= 0 (0 = unlimited), found {}",
        opts.rows_per_second);
  }
  if (opts.number_of_rows.has_value() && *opts.number_of_rows < 0) {
    return InvalidArgumentF("datagen source: number-of-rows must be >= 0, found {}",
                            *opts.number_of_rows);
  }
  if (opts.batch_size == 0) return InvalidArgumentF("datagen source: batch-size must be >= 1");
  if (opts.max_out_of_orderness_ms < 0) {
    return InvalidArgumentF("datagen source: max-out-of-orderness must be >= 0, found {} ms",
                            opts.max_out_of_orderness_ms);
  }
  for (size_t c = 0; c < opts.fields.size(); ++c) {
    const DatagenField& f = opts.fields[c];
    const core::Field& field = schema.field(c);
    const std::string_view type = core::TypeName(field.type);
    switch (f.kind) {
      case DatagenKind::kSequence:
        if (field.type == core::Type::kBool) {
          return InvalidArgumentF(
              "datagen source: field '{}': kind sequence does not apply to a bool field",
              field.name);
        }
        if (f.end < f.start) {
          return InvalidArgumentF("datagen source: field '{}': sequence end {} is below start {}",
                                  field.name, f.end, f.start);
        }
        if ((field.type == core::Type::kInt32 || field.type == core::Type::kDate) &&
            (f.start < INT32_MIN || f.end > INT32_MAX)) {
          return InvalidArgumentF(
              "datagen source: field '{}': a sequence of {} must stay in {}..{}, found {}..{}",
              field.name, type, INT32_MIN, INT32_MAX, f.start, f.end);
        }
        break;
      case DatagenKind::kNow:
        if (field.type != core::Type::kTimestamp && field.type != core::Type::kInt64) {
          return InvalidArgumentF(
              "datagen source: field '{}': kind now needs a timestamp or int64 field, not {}",
              field.name, type);
        }
        break;
      case DatagenKind::kRandom:
        if ((field.type == core::Type::kInt32 || field.type == core::Type::kDate) &&
            Int32Min(f.min) > Int32Max(f.max)) {
          return InvalidArgumentF(
              "datagen source: field '{}': min {} and max {} leave no {} value", field.name,
              f.min, f.max, type);
        }
        if ((field.type == core::Type::kInt64 ||
             (field.type == core::Type::kTimestamp && f.has_range)) &&
            f.min > f.max) {
          return InvalidArgumentF("datagen source: field '{}': min {} is above max {}", field.name,
                                  f.min, f.max);
        }
        if (field.type == core::Type::kDouble &&
            (!std::isfinite(f.min_double) || !std::isfinite(f.max_double) ||
             f.min_double > f.max_double || !std::isfinite(f.max_double - f.min_double))) {
          return InvalidArgumentF(
              "datagen source: field '{}': min {} and max {} must be finite with min <= max",
              field.name, f.min_double, f.max_double);
        }
        if (field.type == core::Type::kTimestamp && !f.has_range && f.max_past_ms < 0) {
          return InvalidArgumentF("datagen source: field '{}': max-past must be >= 0, found {} ms",
                                  field.name, f.max_past_ms);
        }
        if ((field.type == core::Type::kString || field.type == core::Type::kBytes) &&
            (f.length < 0 || f.length > kMaxDatagenStringLength)) {
          return InvalidArgumentF("datagen source: field '{}': length must be in 0..{}, found {}",
                                  field.name, kMaxDatagenStringLength, f.length);
        }
        break;
    }
  }
  if (!opts.event_time.empty()) {
    RETURN_IF_ERROR(
        operators::EventTimeExtractor::Create(schema, opts.event_time, "datagen source").status());
  }
  return absl::OkStatus();
}

int64_t DatagenTotalRows(const DatagenSourceOptions& opts) {
  int64_t n = opts.number_of_rows.value_or(kDatagenUnbounded);
  for (const DatagenField& f : opts.fields) {
    if (f.kind != DatagenKind::kSequence) continue;
    const __int128 len = static_cast<__int128>(f.end) - f.start + 1;
    if (len < n) n = static_cast<int64_t>(len);
  }
  return n;
}

std::unique_ptr<api::Source> MakeDatagenSource(DatagenSourceOptions opts) {
  return std::make_unique<DatagenSource>(std::move(opts));
}

}  // namespace sluice::connectors
