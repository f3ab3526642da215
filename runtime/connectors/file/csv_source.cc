#include "runtime/connectors/file/csv_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "fmt/ranges.h"
#include "spdlog/spdlog.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/connectors/file/csv_source_state.h"
#include "runtime/connectors/file/dead_letters.h"
#include "runtime/connectors/file/line_reader.h"
#include "runtime/formats/csv_fields.h"
#include "runtime/formats/state_codec.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/rate_limiter.h"
#include "runtime/operators/union_state.h"
#include "runtime/operators/watermarks.h"
#include "runtime/operators/source_output.h"

namespace sluice::connectors {
namespace {

using formats::csv::AppendCsvRow;
using formats::csv::RawField;
using formats::csv::SplitFields;
using formats::csv::Trim;
using formats::csv::Unescape;

class CsvFileSource final : public api::Source {
 public:
  explicit CsvFileSource(CsvSourceOptions opts)
      : opts_(std::move(opts)),
        null_literal_(opts_.null_literal),
        watermarks_(opts_.max_out_of_orderness_ms) {}

  core::SchemaPtr output_schema() const override { return opts_.schema; }

  std::map<std::string, int64_t> Gauges() const override {
    return {{"file.records-skipped", skipped_.load(std::memory_order_relaxed)},
            {"file.records-dead-lettered", dead_lettered_.load(std::memory_order_relaxed)}};
  }

  absl::Status Open(const api::OperatorContext& ctx) override {
    ctx_ = ctx;
    if (opts_.schema == nullptr || opts_.schema->num_fields() == 0) {
      return InvalidArgumentF("file source: no schema (at least one field is required)");
    }
    if (opts_.paths.empty()) return InvalidArgumentF("file source: no paths to read");
    if (opts_.batch_size == 0) return InvalidArgumentF("file source: batch_size must be >= 1");
    if (opts_.format == formats::RecordFormat::kJson) {
      if (opts_.header) return InvalidArgumentF("file source: JSON lines have no header");
      formats::RecordFormatOptions fo;
      fo.format = formats::RecordFormat::kJson;
      absl::StatusOr<std::unique_ptr<formats::RecordDecoder>> d =
          formats::RecordDecoder::Create(opts_.schema, fo);
      if (!d.ok()) return InvalidArgumentF("file source: {}", std::string(d.status().message()));
      json_ = *std::move(d);
    } else if (opts_.format != formats::RecordFormat::kCsv) {
      return InvalidArgumentF("file source: format {} is not a file format (csv or json)",
                              formats::RecordFormatName(opts_.format));
    }
    if (!(opts_.rate_records_per_second >= 0) || std::isinf(opts_.rate_records_per_second)) {
      return InvalidArgumentF(
          "file source: rate must be a finite number >= 0 records per "
          "second, found {}",
          opts_.rate_records_per_second);
    }
    if (opts_.rate_records_per_second > 0) {
      limiter_.emplace(opts_.rate_records_per_second, opts_.batch_size, opts_.now_ms,
                       opts_.sleep_ms);
    }
    if (opts_.delimiter == '"' || opts_.delimiter == '\n' || opts_.delimiter == '\r') {
      return InvalidArgumentF("file source: delimiter cannot be a quote or line break");
    }
    if (ctx.parallelism < 1 || ctx.subtask_index < 0 || ctx.subtask_index >= ctx.parallelism) {
      return InvalidArgumentF("file source: subtask {} of parallelism {} is out of range",
                              ctx.subtask_index, ctx.parallelism);
    }
    if (opts_.bad_records == CsvSourceOptions::BadRecords::kDeadLetter) {
      if (opts_.dead_letter_dir.empty()) {
        return InvalidArgumentF("file source: bad-records dead-letter needs a dead-letter dir");
      }
      RETURN_IF_ERROR(dead_letters_.Open(opts_.dead_letter_dir, ctx.subtask_index));
    }
    if (!opts_.event_time.empty()) {
      ASSIGN_OR_RETURN(event_time_, operators::EventTimeExtractor::Create(
                                        *opts_.schema, opts_.event_time, "file source"));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandPaths());
    for (std::string& path : files) {
      InputFile f;
      f.gz = EndsWith(path, ".gz");
      if (!f.gz) {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) return OpenError(path, errno);
        f.size = st.st_size;
      }
      f.path = std::move(path);
      files_.push_back(std::move(f));
    }
    for (size_t k = 0; k < files_.size(); ++k) {
      std::optional<Split> s = OwnSplit(k);
      if (s.has_value()) splits_.push_back(std::move(*s));
    }
    batch_.set_schema(opts_.schema);
    if (!ctx.restored_union_states.empty()) {
      RETURN_IF_ERROR(RestoreRescaled(ctx.restored_union_states));
    } else if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
      RETURN_IF_ERROR(Restore(*ctx.restored_state));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) override {
    RETURN_IF_ERROR(dead_letters_.Flush());  // a completed checkpoint loses no dead letter
    formats::StateWriter w(kStateMagic, kStateVersion);
    w.U32(static_cast<uint32_t>(ctx_.subtask_index));
    w.U32(static_cast<uint32_t>(ctx_.parallelism));
    w.I64(max_event_time_);
    w.U32(static_cast<uint32_t>(splits_.size()));
    for (size_t k = 0; k < splits_.size(); ++k) {
      const Split& s = splits_[k];
      uint8_t status = kSplitPending;
      int64_t offset = s.start;
      int64_t line = 1;
      if (k < next_split_ || s.finished) {
        status = kSplitFinished;
        offset = -1;
        line = -1;
      } else if (k == next_split_ && reader_open_) {
        status = kSplitReading;
        offset = reader_.next_offset();
        line = s.next_line;
      } else if (s.resume_offset >= 0) {  // restored, not reopened yet
        status = kSplitReading;
        offset = s.resume_offset;
        line = s.next_line;
      }
      w.Str(s.path);
      w.I64(s.start);
      w.I64(s.end);
      w.U8(status);
      w.I64(offset);
      w.I64(line);
    }
    return std::move(w).Finish();
  }

  // Without a rate limit the file's next lines are ready (a disk read away).
  bool MoreAvailable() const override { return !limiter_ && next_split_ < splits_.size(); }

  absl::StatusOr<bool> PollNext(api::Output& out) override {
    if (done_) return false;
    size_t limit = opts_.batch_size;
    if (limiter_ && next_split_ < splits_.size()) {
      limit = limiter_->Acquire();
      if (limit == 0) {  // out of tokens for now; poll again, unless the input has ended
        ASSIGN_OR_RETURN(bool ended, AtEndOfInput());
        if (!ended) return true;
      }
    }
    std::string_view line;
    int64_t offset = 0;
    while (batch_.num_rows() < limit) {
      if (!reader_open_) {
        SkipFinishedSplits();
        if (next_split_ == splits_.size()) break;
        RETURN_IF_ERROR(OpenSplit(splits_[next_split_]));
      }
      Split& split = splits_[next_split_];
      ASSIGN_OR_RETURN(bool got, reader_.Next(&line, &offset));
      if (!got || offset >= split.end) {
        reader_.Close();
        reader_open_ = false;
        ++next_split_;
        continue;
      }
      ++split.next_line;
      bytes_in_ += static_cast<int64_t>(line.size()) + 1;
      if (offset == 0 && opts_.header) {
        RETURN_IF_ERROR(CheckHeader(split, line));
        continue;
      }
      if (line.empty()) continue;
      RETURN_IF_ERROR(ParseRow(split, line, offset));
    }
    if (ctx_.metrics != nullptr && bytes_in_ > 0) {
      ctx_.metrics->bytes_in.fetch_add(bytes_in_, std::memory_order_relaxed);
    }
    bytes_in_ = 0;
    if (!batch_.empty()) {
      if (limiter_) limiter_->Consume(batch_.num_rows());
      RETURN_IF_ERROR(operators::EmitSourceBatch(&batch_, out, ctx_.metrics));
      if (event_time_) {
        int64_t wm = watermarks_.CurrentWatermark();
        if (wm > last_watermark_) {
          last_watermark_ = wm;
          RETURN_IF_ERROR(out.EmitWatermark(wm));
        }
      }
      return true;
    }
    done_ = true;
    RETURN_IF_ERROR(dead_letters_.Flush());
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }

  void Close() override {
    reader_.Close();
    reader_open_ = false;
  }

 private:
  // Whether no line is left in any split (finishing the splits it finds exhausted), without
  // consuming a line.
  absl::StatusOr<bool> AtEndOfInput() {
    std::string_view line;
    int64_t offset = 0;
    for (;;) {
      if (!reader_open_) {
        SkipFinishedSplits();
        if (next_split_ == splits_.size()) break;
        RETURN_IF_ERROR(OpenSplit(splits_[next_split_]));
      }
      ASSIGN_OR_RETURN(bool got, reader_.Peek(&line, &offset));
      if (got && offset < splits_[next_split_].end) return false;
      reader_.Close();
      reader_open_ = false;
      ++next_split_;
    }
    return true;
  }

  void SkipFinishedSplits() {
    while (next_split_ < splits_.size() && splits_[next_split_].finished) ++next_split_;
  }

  // The split of files_[k] this subtask reads at the current parallelism, if any.
  std::optional<Split> OwnSplit(size_t k) const {
    const InputFile& f = files_[k];
    const int64_t p = ctx_.parallelism;
    const int64_t i = ctx_.subtask_index;
    Split s;
    s.path = f.path;
    s.gz = f.gz;
    if (f.gz) {
      if (static_cast<int64_t>(k % p) != i) return std::nullopt;
      s.end = std::numeric_limits<int64_t>::max();
      return s;
    }
    s.start = static_cast<int64_t>(static_cast<__int128>(f.size) * i / p);
    s.end = static_cast<int64_t>(static_cast<__int128>(f.size) * (i + 1) / p);
    if (s.start >= s.end) return std::nullopt;
    return s;
  }

  // Groups the positions of `states` by file, each group sorted by start. Positions of files
  // that are no longer inputs are refused with `refusal(position)`.
  template <typename Refusal>
  absl::StatusOr<std::map<std::string, std::vector<const Position*>>> GroupByFile(
      const std::vector<DecodedState>& states, const Refusal& refusal) const {
    std::map<std::string, std::vector<const Position*>> by_path;
    for (const InputFile& f : files_) by_path[f.path];
    for (const DecodedState& st : states) {
      for (const Position& pos : st.positions) {
        auto it = by_path.find(pos.split.path);
        if (it == by_path.end()) return refusal(pos);
        it->second.push_back(&pos);
      }
    }
    for (auto& [path, positions] : by_path) {
      std::stable_sort(positions.begin(), positions.end(),
                       [](const Position* a, const Position* b) {
                         return a->split.start < b->split.start;
                       });
    }
    return by_path;
  }

  // Restores this subtask's own state (same parallelism): the restored positions of every file
  // must tile exactly the range this subtask reads now (one position per split, or several
  // finer ones after an earlier rescaling restore). Replaces splits_.
  absl::Status Restore(const std::string& state) {
    std::vector<DecodedState> states(1);
    ASSIGN_OR_RETURN(states[0], DecodeState(state));
    const DecodedState& st = states[0];
    const std::string where =
        fmt::format("subtask {} of parallelism {}", ctx_.subtask_index, ctx_.parallelism);
    const std::string from =
        fmt::format("subtask {} of parallelism {}", st.subtask, st.parallelism);
    constexpr std::string_view kHint =
        "; restoring a subtask's own state needs the same files and the same source "
        "parallelism (a rescaling restore passes the states of all old subtasks instead)";
    auto refused = [&](const Position& old, const std::string& now) {
      return FailedPreconditionF(
          "file source: restored position for '{}' ({}, checkpointed by {}) but this {} now "
          "reads {}{}",
          old.split.path, DescribeRange(old.split), from, where, now, kHint);
    };
    ASSIGN_OR_RETURN(auto by_path, GroupByFile(states, [&](const Position& pos) {
      return refused(pos, "nothing of it (it is no longer an input)");
    }));
    std::vector<Split> splits;
    for (size_t k = 0; k < files_.size(); ++k) {
      const std::vector<const Position*>& positions = by_path[files_[k].path];
      std::optional<Split> own = OwnSplit(k);
      if (!own.has_value()) {
        if (!positions.empty()) return refused(*positions.front(), "nothing more");
        continue;
      }
      if (positions.empty()) {
        return FailedPreconditionF(
            "file source: this {} now reads {} but the restored state (of {}) has no position "
            "for '{}'{}",
            where, DescribeRange(*own), from, own->path, kHint);
      }
      const Position* bad = nullptr;
      if (!Tiles(positions, own->start, own->end, &bad)) {
        return refused(bad != nullptr ? *bad : *positions.back(), DescribeRange(*own));
      }
      for (const Position* pos : positions) splits.push_back(AdoptSplit(*pos));
    }
    splits_ = std::move(splits);
    next_split_ = 0;
    if (st.max_event_time != api::kMinWatermark) {
      watermarks_.OnEvent(st.max_event_time);
      max_event_time_ = st.max_event_time;
    }
    return absl::OkStatus();
  }

  // Restores at a different parallelism from the states of all old subtasks (union state):
  // per plain file, the old positions must tile the whole file; this subtask reads the lines
  // not consumed yet that start in its new byte range. A .gz file keeps its single position
  // and goes to subtask file_index % parallelism. Replaces splits_. The watermark generator
  // starts fresh (see csv_source.h).
  absl::Status RestoreRescaled(const std::vector<std::string>& blobs) {
    ASSIGN_OR_RETURN(std::vector<DecodedState> states,
                     operators::DecodeUnionStates(blobs, ctx_.restored_parallelism,
                                                  "file source",
                                                  "every old subtask's position is needed",
                                                  DecodeState));
    if (states.empty()) return absl::OkStatus();  // no old subtask had a state: fresh start
    const uint32_t old_p = states.front().parallelism;
    const std::string what = fmt::format(
        "file source: restoring at parallelism {} from parallelism {}", ctx_.parallelism, old_p);
    ASSIGN_OR_RETURN(auto by_path, GroupByFile(states, [&](const Position& pos) {
      return FailedPreconditionF(
          "{}: the old subtasks read '{}', which is no longer an input; a restore needs the "
          "same files",
          what, pos.split.path);
    }));
    std::vector<Split> splits;
    for (size_t k = 0; k < files_.size(); ++k) {
      const InputFile& f = files_[k];
      const std::vector<const Position*>& positions = by_path[f.path];
      std::optional<Split> own = OwnSplit(k);
      if (f.gz) {
        if (positions.size() != 1 || !positions.front()->split.gz) {
          return FailedPreconditionF(
              "{}: expected one position for the gzip file '{}', found {} ({})", what, f.path,
              positions.size(), DescribeRanges(positions));
        }
        if (own.has_value()) splits.push_back(AdoptSplit(*positions.front()));
        continue;
      }
      const Position* bad = nullptr;
      if (!Tiles(positions, 0, f.size, &bad)) {
        return FailedPreconditionF(
            "{}: the old subtasks' positions for '{}' cover bytes {} but the file now has {} "
            "bytes, which they must cover exactly once; the file changed since the checkpoint",
            what, f.path, DescribeRanges(positions), f.size);
      }
      if (!own.has_value()) continue;
      // Map the old positions onto this subtask's byte range [lo, hi).
      const int64_t lo = own->start;
      const int64_t hi = own->end;
      for (const Position* pos : positions) {
        const Split& old = pos->split;
        const int64_t a = std::max(old.start, lo);
        const int64_t b = std::min(old.end, hi);
        if (a >= b) continue;
        if (old.start >= lo && old.end <= hi) {  // wholly ours: keep its exact position
          splits.push_back(AdoptSplit(*pos));
          continue;
        }
        const int64_t consumed = pos->ConsumedUntil();
        if (consumed > a) {  // lines starting in [a, min(consumed, b)) were emitted
          Split done = old;
          done.start = a;
          done.end = std::min(consumed, b);
          done.finished = true;
          splits.push_back(std::move(done));
        }
        if (consumed < b) {  // lines starting in [max(consumed, a), b) were not
          Split rest = old;
          rest.start = std::max(consumed, a);
          rest.end = b;
          splits.push_back(std::move(rest));
        }
      }
    }
    splits_ = std::move(splits);
    next_split_ = 0;
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ExpandPaths() const {
    std::vector<std::string> files;
    for (const std::string& path : opts_.paths) {
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) return OpenError(path, errno);
      if (!S_ISDIR(st.st_mode)) {
        files.push_back(path);
        continue;
      }
      std::error_code ec;
      std::vector<std::string> in_dir;
      for (auto it = std::filesystem::directory_iterator(path, ec);
           !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || name[0] == '_') continue;
        std::error_code type_ec;
        if (!it->is_regular_file(type_ec)) continue;
        in_dir.push_back(it->path().string());
      }
      if (ec) return OpenError(path, ec.value());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    }
    return files;
  }

  absl::Status OpenSplit(Split& split) {
    if (split.resume_offset >= 0) {  // restored: the offset is a line start
      RETURN_IF_ERROR(reader_.Open(split.path, split.gz, split.resume_offset));
      reader_open_ = true;
      split.resume_offset = -1;
      return absl::OkStatus();
    }
    split.next_line = 1;
    // Hadoop's LineRecordReader: a split not at 0 starts one byte early and drops everything up
    // to the first '\n', so a line starting exactly at `start` is kept and a partial one is left
    // to the previous split (which reads past its end to finish it).
    RETURN_IF_ERROR(reader_.Open(split.path, split.gz, split.start > 0 ? split.start - 1 : 0));
    reader_open_ = true;
    if (split.start > 0) {
      std::string_view partial;
      int64_t offset = 0;
      ASSIGN_OR_RETURN(bool got, reader_.Next(&partial, &offset));
      (void)got;
    }
    return absl::OkStatus();
  }

  absl::Status CheckHeader(const Split& split, std::string_view line) {
    if (line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 BOM
    std::string reason;
    bool ok = SplitFields(line, opts_.delimiter, &fields_, &reason);
    const core::Schema& schema = *opts_.schema;
    std::vector<std::string> names;
    for (const RawField& f : fields_) names.emplace_back(Trim(Unescape(f, &scratch_)));
    bool match = ok && names.size() == schema.num_fields();
    for (size_t c = 0; match && c < names.size(); ++c) match = names[c] == schema.field(c).name;
    if (match) return absl::OkStatus();
    std::vector<std::string_view> declared;
    for (const core::Field& f : schema.fields()) declared.push_back(f.name);
    if (!ok) {
      return InvalidArgumentF("{}:1: malformed header: {}", split.path, reason);
    }
    return InvalidArgumentF("{}:1: header has columns [{}] but the schema declares [{}]",
                            split.path, fmt::join(names, ", "), fmt::join(declared, ", "));
  }

  absl::Status RowError(const Split& split, int64_t offset, const std::string& reason) {
    absl::StatusOr<int64_t> line = LineNumberAt(split.path, split.gz, offset);
    if (!line.ok()) {
      return InvalidArgumentF("{}: byte offset {}: {}", split.path, offset, reason);
    }
    return InvalidArgumentF("{}:{}: {}", split.path, *line, reason);
  }

  // A bad row: the task's failure, or (bad-records: skip) counted and, for the first ones,
  // logged with its file and line.
  absl::Status BadRow(const Split& split, int64_t offset, const std::string& reason,
                      std::string_view row) {
    if (opts_.bad_records == CsvSourceOptions::BadRecords::kDeadLetter) {
      absl::StatusOr<int64_t> line = LineNumberAt(split.path, split.gz, offset);
      RETURN_IF_ERROR(
          dead_letters_.Write(split.path, line.ok() ? *line : 0, offset, reason, row));
      dead_lettered_.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    absl::Status error = RowError(split, offset, reason);
    if (opts_.bad_records == CsvSourceOptions::BadRecords::kFail) return error;
    const int64_t n = skipped_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= kLoggedSkips) {
      spdlog::warn("file source: skipped bad row {}{}", error.message(),
                   n == kLoggedSkips ? " (further skipped rows are only counted)" : "");
    }
    return absl::OkStatus();
  }

  absl::Status ParseRow(const Split& split, std::string_view line, int64_t offset) {
    std::string reason;
    if (json_ != nullptr) {
      if (absl::Status s = json_->Decode(line, &batch_); !s.ok()) {
        return BadRow(split, offset, std::string(s.message()), line);
      }
    } else if (!AppendCsvRow(line, opts_.delimiter, &batch_, &fields_, &scratch_, &reason,
                             null_literal_)) {
      return BadRow(split, offset, reason, line);
    }
    const size_t row = batch_.num_rows() - 1;
    if (event_time_) {
      absl::StatusOr<int64_t> t = event_time_->Timestamp(batch_, row);
      if (!t.ok()) {
        batch_.PopRow();
        return BadRow(split, offset, std::string(t.status().message()), line);
      }
      const int64_t ts = *t;
      batch_.SetTimestamp(row, ts);
      watermarks_.OnEvent(ts);
      max_event_time_ = std::max(max_event_time_, ts);
    }
    return absl::OkStatus();
  }

  CsvSourceOptions opts_;
  api::OperatorContext ctx_;
  std::optional<operators::EventTimeExtractor> event_time_;
  static constexpr int64_t kLoggedSkips = 10;  // bad rows logged per subtask, then only counted
  std::atomic<int64_t> skipped_{0};            // bad rows skipped (read by Gauges())
  std::atomic<int64_t> dead_lettered_{0};      // bad rows written to dead_letters_
  FileDeadLetters dead_letters_;
  std::vector<InputFile> files_;  // the expanded input list, in order
  std::vector<Split> splits_;
  size_t next_split_ = 0;
  LineReader reader_;
  bool reader_open_ = false;
  bool done_ = false;
  core::RecordBatch batch_;
  std::vector<RawField> fields_;  // reused per line
  std::string scratch_;           // reused for unescaping quoted fields
  std::optional<std::string> null_literal_;  // opts_.null_literal, in AppendCsvRow's form
  std::unique_ptr<formats::RecordDecoder> json_;  // format json only
  operators::BoundedOutOfOrdernessWatermarks watermarks_;
  int64_t last_watermark_ = api::kMinWatermark;
  int64_t max_event_time_ = api::kMinWatermark;  // mirrors watermarks_, for snapshots
  int64_t bytes_in_ = 0;
  std::optional<operators::RateLimiter> limiter_;  // with a rate only
};

}  // namespace

std::unique_ptr<api::Source> MakeCsvFileSource(CsvSourceOptions opts) {
  return std::make_unique<CsvFileSource>(std::move(opts));
}

}  // namespace sluice::connectors
