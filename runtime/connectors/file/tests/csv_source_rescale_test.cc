// Rescaling of the CSV file source: a restore at another parallelism from the union of all
// old subtasks' states reads every row exactly once (plain and gzip files, repeated rescales).
#include "runtime/connectors/file/csv_source.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/connectors/file/tests/test_util.h"
#include "runtime/core/time_format.h"
#include "runtime/connectors/file/tests/csv_test_data.h"

namespace sluice::connectors {
namespace {

using namespace ::sluice::connectors::testing;  // NOLINT: the shared helpers
using ::testing::HasSubstr;

api::OperatorContext RescaleCtx(int index, int parallelism,
                                      const std::vector<std::string>& old_states) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.restored_union_states = old_states;
  ctx.restored_parallelism = static_cast<int32_t>(old_states.size());
  return ctx;
}

// What one subtask emitted before its snapshot, and the snapshot.
struct Partial {
  std::vector<std::string> lines;
  std::string state;
};

// Opens a source with `ctx`, polls it `polls` times (or to its end if polls < 0), snapshots it,
// then polls a few more times (lost progress, as in a crash).
Partial ReadPartially(const CsvSourceOptions& opts, const api::OperatorContext& ctx,
                      int polls) {
  Partial p;
  auto source = MakeCsvFileSource(opts);
  absl::Status open = source->Open(ctx);
  EXPECT_TRUE(open.ok()) << open;
  CollectingOutput out(opts.schema);
  for (int k = 0; polls < 0 || k < polls; ++k) {
    absl::StatusOr<bool> more = source->PollNext(out);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
  }
  absl::StatusOr<std::string> state = source->SnapshotState(1);
  EXPECT_TRUE(state.ok()) << state.status();
  if (state.ok()) p.state = *state;
  p.lines = out.lines;
  CollectingOutput lost(opts.schema);
  for (int k = 0; k < 2; ++k) EXPECT_TRUE(source->PollNext(lost).ok());
  return p;
}

// Runs every subtask of `parallelism` at `polls[i]` from `old_states` (union restore; empty:
// fresh start), appending what they emitted before their snapshots to *lines. Returns the
// snapshots.
std::vector<std::string> RunGeneration(const CsvSourceOptions& opts, int parallelism,
                                       const std::vector<std::string>& old_states,
                                       const std::vector<int>& polls,
                                       std::vector<std::string>* lines) {
  std::vector<std::string> states;
  for (int i = 0; i < parallelism; ++i) {
    api::OperatorContext ctx = RescaleCtx(i, parallelism, old_states);
    Partial p = ReadPartially(opts, ctx, polls[static_cast<size_t>(i) % polls.size()]);
    lines->insert(lines->end(), p.lines.begin(), p.lines.end());
    states.push_back(std::move(p.state));
  }
  return states;
}

// Restores every subtask of `parallelism` from `old_states` and reads to the end.
std::vector<std::string> DrainGeneration(const CsvSourceOptions& opts, int parallelism,
                                         const std::vector<std::string>& old_states) {
  std::vector<std::string> lines;
  RunGeneration(opts, parallelism, old_states, {-1}, &lines);
  return lines;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(CsvFileSourceRescale, PlainFileRestoredAtOneTwoFourAndFiveReadsTheRestExactlyOnce) {
  TempDir dir;
  std::string path = dir.File("big.csv");
  std::vector<std::string> expected;
  WriteFile(path, GenerateFlights(40000, &expected));  // ~1.5 MiB
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.batch_size = 997;
  // Per old subtask: polls before the snapshot (0: not started, -1: finished).
  const std::vector<std::vector<int>> patterns = {
      {3, 0, -1}, {1, 7, 2}, {-1, -1, -1}, {0, 0, 0}, {13, 5, 9}};
  for (const std::vector<int>& polls : patterns) {
    std::vector<std::string> before;
    std::vector<std::string> states = RunGeneration(opts, 3, {}, polls, &before);
    ASSERT_EQ(states.size(), 3u);
    for (int p : {1, 2, 3, 4, 5}) {
      std::vector<std::string> all = before;
      std::vector<std::string> after = DrainGeneration(opts, p, states);
      all.insert(all.end(), after.begin(), after.end());
      ASSERT_EQ(all.size(), expected.size())
          << "p=" << p << " polls=" << polls[0] << "," << polls[1] << "," << polls[2];
      EXPECT_TRUE(Sorted(all) == Sorted(expected)) << "p=" << p;
    }
  }
}

TEST(CsvFileSourceRescale, ChainedRescalesAndASameParallelismRestoreInBetween) {
  TempDir dir;
  std::string path = dir.File("big.csv");
  std::vector<std::string> expected;
  WriteFile(path, GenerateFlights(20000, &expected));
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.batch_size = 501;
  std::vector<std::string> emitted;
  // p=3 -> p=2 -> (crash, restore at p=2 from each subtask's own state) -> p=5 -> p=1.
  std::vector<std::string> s3 = RunGeneration(opts, 3, {}, {4, 1, 9}, &emitted);
  std::vector<std::string> s2 = RunGeneration(opts, 2, s3, {3, 2}, &emitted);
  std::vector<std::string> s2b;
  for (int i = 0; i < 2; ++i) {
    // Not rescaling: this subtask's own state, whose positions are finer than its split now.
    Partial p = ReadPartially(opts, SubtaskCtx(i, 2, s2[static_cast<size_t>(i)]), 2 + i);
    emitted.insert(emitted.end(), p.lines.begin(), p.lines.end());
    s2b.push_back(p.state);
  }
  std::vector<std::string> s5 = RunGeneration(opts, 5, s2b, {1, 0, 2, 1, 3}, &emitted);
  std::vector<std::string> rest = DrainGeneration(opts, 1, s5);
  emitted.insert(emitted.end(), rest.begin(), rest.end());
  ASSERT_EQ(emitted.size(), expected.size());
  EXPECT_TRUE(Sorted(emitted) == Sorted(expected));
}

// Rows "2001-01-01T00:00:00Z,<i>,<i>,<tag>,<tag>" with a header.
std::string TaggedRows(int n, const std::string& tag, std::vector<std::string>* expected) {
  std::string text = "date,delay,distance,origin,destination\n";
  for (int i = 0; i < n; ++i) {
    std::string line = fmt::format("2001-01-01T00:00:00Z,{},{},{},{}", i, i, tag, tag);
    text += line + "\n";
    expected->push_back(line);
  }
  return text;
}

TEST(CsvFileSourceRescale, GzipAndPlainFilesTogether) {
  TempDir dir;
  std::vector<std::string> expected;
  WriteGz(dir.File("a.csv.gz"), GenerateFlights(30000, &expected));  // file 0
  std::vector<std::string> b_rows;
  WriteGz(dir.File("b.csv.gz"), TaggedRows(500, "b1", &b_rows));  // file 1
  expected.insert(expected.end(), b_rows.begin(), b_rows.end());
  WriteFile(dir.File("c.csv"), TaggedRows(3000, "c2", &expected));  // file 2, split by bytes
  CsvSourceOptions opts = Options({dir.path()}, FlightSchema());
  opts.batch_size = 700;
  for (const std::vector<int>& polls :
       std::vector<std::vector<int>>{{5, 0, 2}, {-1, 1, -1}, {50, -1, 0}}) {
    std::vector<std::string> before;
    std::vector<std::string> states = RunGeneration(opts, 3, {}, polls, &before);
    for (int p : {1, 2, 5}) {
      std::vector<std::string> all = before;
      for (int i = 0; i < p; ++i) {
        CollectingOutput out(FlightSchema());
        auto source = MakeCsvFileSource(opts);
        ASSERT_TRUE(source->Open(RescaleCtx(i, p, states)).ok());
        Drain(*source, &out);
        for (const std::string& line : out.lines) {
          // b.csv.gz (file 1) now belongs to subtask 1 % p.
          if (line.find(",b1,") != std::string::npos) {
            EXPECT_EQ(i, 1 % p) << line;
          }
        }
        all.insert(all.end(), out.lines.begin(), out.lines.end());
      }
      ASSERT_EQ(all.size(), expected.size()) << "p=" << p;
      EXPECT_TRUE(Sorted(all) == Sorted(expected)) << "p=" << p;
    }
  }
}

TEST(CsvFileSourceRescale, RestoredWatermarkNeverMakesARowLate) {
  // Sorted by time, split by bytes: the old subtask 1 has seen far later times than the rows
  // subtask 0 has left; a single new subtask reading both must not treat those rows as late.
  TempDir dir;
  std::string path = dir.File("sorted.csv");
  std::vector<std::string> ignored;
  WriteFile(path, GenerateFlights(6000, &ignored));  // one row per minute
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "date";
  opts.max_out_of_orderness_ms = 1000;
  opts.batch_size = 100;
  std::vector<std::string> before;
  std::vector<std::string> states = RunGeneration(opts, 2, {}, {2, 20}, &before);
  for (int p : {1, 3}) {
    for (int i = 0; i < p; ++i) {
      auto source = MakeCsvFileSource(opts);
      ASSERT_TRUE(source->Open(RescaleCtx(i, p, states)).ok());
      // Checks every row against the watermark emitted before it.
      struct LateCheck : api::Output {
        int64_t watermark = api::kMinWatermark;
        int64_t rows = 0;
        int64_t late = 0;
        absl::Status Emit(const core::RecordBatch& batch) override {
          for (size_t r = 0; r < batch.num_rows(); ++r) {
            ++rows;
            if (batch.GetInt64(r, 0) <= watermark) ++late;
          }
          return absl::OkStatus();
        }
        absl::Status EmitWatermark(int64_t wm) override {
          EXPECT_GE(wm, watermark);
          watermark = wm;
          return absl::OkStatus();
        }
      } check;
      for (;;) {
        absl::StatusOr<bool> more = source->PollNext(check);
        ASSERT_TRUE(more.ok()) << more.status();
        if (!*more) break;
      }
      EXPECT_EQ(check.late, 0) << "p=" << p << " i=" << i;
      EXPECT_EQ(check.watermark, api::kMaxWatermark);
      if (p == 1) {
        EXPECT_EQ(static_cast<size_t>(check.rows) + before.size(), 6000u);
      }
    }
  }
}

TEST(CsvFileSourceRescale, RefusesChangedFilesAndMissingStates) {
  TempDir dir;
  std::string path = dir.File("f.csv");
  std::vector<std::string> ignored;
  WriteFile(path, GenerateFlights(1000, &ignored));
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.batch_size = 10;
  std::vector<std::string> before;
  std::vector<std::string> states = RunGeneration(opts, 3, {}, {1, 2, 3}, &before);
  // An old subtask's state is missing: its range would be skipped.
  std::vector<std::string> two = {states[0], states[2]};
  absl::Status s = MakeCsvFileSource(opts)->Open(RescaleCtx(0, 2, two));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("every old subtask's position is needed"));
  // The file changed size.
  WriteFile(path, GenerateFlights(1100, &ignored));
  s = MakeCsvFileSource(opts)->Open(RescaleCtx(0, 2, states));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("the old subtasks' positions for '" + path + "' cover bytes [0, "));
  EXPECT_THAT(s.message(), HasSubstr("the file changed since the checkpoint"));
  // A file that is no longer an input.
  std::string other = dir.File("g.csv");
  WriteFile(other, "date,delay,distance,origin,destination\n");
  opts.paths = {other};
  s = MakeCsvFileSource(opts)->Open(RescaleCtx(0, 2, states));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("read '" + path + "', which is no longer an input"));
  // All states empty: a fresh start.
  CollectingOutput out(FlightSchema());
  auto fresh = MakeCsvFileSource(opts);
  ASSERT_TRUE(fresh->Open(RescaleCtx(0, 2, {std::string(), std::string()})).ok());
  Drain(*fresh, &out);
  EXPECT_TRUE(out.lines.empty());
}

// --- Rate limit -------------------------------------------------------------------------------

// A fake monotonic clock: sleeping advances it.
struct FakeClock {
  int64_t now = 1000;
  int64_t longest_sleep = 0;
  int sleeps = 0;
  void Install(CsvSourceOptions* opts) {
    opts->now_ms = [this] { return now; };
    opts->sleep_ms = [this](int64_t ms) {
      EXPECT_GT(ms, 0);
      longest_sleep = std::max(longest_sleep, ms);
      ++sleeps;
      now += ms;
    };
  }
};

std::string NumbersFile(int rows) {
  std::string text = "n\n";
  for (int i = 0; i < rows; ++i) text += std::to_string(i) + "\n";
  return text;
}

core::SchemaPtr NumberSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"n", core::Type::kInt64}});
}

TEST(CsvFileSourceRate, AverageRateMatchesAndPollsNeverSleepLongerThan20Ms) {
  TempDir dir;
  std::string path = dir.File("n.csv");
  WriteFile(path, NumbersFile(5000));
  CsvSourceOptions opts = Options({path}, NumberSchema());
  opts.rate_records_per_second = 1000;
  FakeClock clock;
  clock.Install(&opts);
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  CollectingOutput out(NumberSchema());
  const int64_t start = clock.now;
  int64_t longest_poll = 0;
  for (;;) {
    const int64_t before = clock.now;
    const size_t rows_before = out.lines.size();
    absl::StatusOr<bool> more = source->PollNext(out);
    ASSERT_TRUE(more.ok()) << more.status();
    longest_poll = std::max(longest_poll, clock.now - before);
    // Never more rows than the tokens earned since the start.
    EXPECT_LE(static_cast<int64_t>(out.lines.size()), (clock.now - start) * 1000 / 1000)
        << "after " << rows_before;
    if (!*more) break;
  }
  EXPECT_EQ(out.lines.size(), 5000u);
  EXPECT_GE(clock.now - start, 4980);
  EXPECT_LE(clock.now - start, 5040);
  EXPECT_LE(clock.longest_sleep, 20);
  EXPECT_LE(longest_poll, 20);
  // Batches of ~20 ms worth of rows, not one row per poll and not a full batch.
  EXPECT_GE(out.batches, 200);
  EXPECT_LE(out.batches, 260);
}

TEST(CsvFileSourceRate, NoBurstCatchUpBeyondOneBatchAfterAPause) {
  TempDir dir;
  std::string path = dir.File("n.csv");
  WriteFile(path, NumbersFile(5000));
  CsvSourceOptions opts = Options({path}, NumberSchema());
  opts.rate_records_per_second = 1000;
  opts.batch_size = 100;
  FakeClock clock;
  clock.Install(&opts);
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  CollectingOutput out(NumberSchema());
  while (out.lines.size() < 1000) ASSERT_TRUE(source->PollNext(out).ok());
  ASSERT_EQ(out.lines.size(), 1000u);
  clock.now += 10'000;  // e.g. 10 s of backpressure
  ASSERT_TRUE(source->PollNext(out).ok());
  EXPECT_EQ(out.lines.size(), 1100u);  // one batch, the bucket's capacity
  const int64_t resume = clock.now;
  ASSERT_TRUE(source->PollNext(out).ok());
  EXPECT_EQ(clock.now, resume + 20);  // the bucket is empty again
  EXPECT_LE(out.lines.size(), 1120u);
  Drain(*source, &out);
  EXPECT_EQ(out.lines.size(), 5000u);
  // The remaining 3900 rows at 1000 rows/s.
  EXPECT_GE(clock.now - resume, 3880);
  EXPECT_LE(clock.now - resume, 3940);
}

TEST(CsvFileSourceRate, SlowRateReturnsEveryTwentyMillisecondsWithoutRows) {
  TempDir dir;
  std::string path = dir.File("n.csv");
  WriteFile(path, NumbersFile(3));
  CsvSourceOptions opts = Options({path}, NumberSchema());
  opts.rate_records_per_second = 2;  // one row every 500 ms
  FakeClock clock;
  clock.Install(&opts);
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  CollectingOutput out(NumberSchema());
  int polls = 0;
  const int64_t start = clock.now;
  for (;; ++polls) {
    const int64_t before = clock.now;
    absl::StatusOr<bool> more = source->PollNext(out);
    ASSERT_TRUE(more.ok());
    EXPECT_LE(clock.now - before, 20);
    if (!*more) break;
  }
  EXPECT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.batches, 3);
  EXPECT_GE(clock.now - start, 1500);
  EXPECT_LE(clock.now - start, 1520);
  EXPECT_GE(polls, 70);
}

TEST(CsvFileSourceRate, UnlimitedByDefaultAndNegativeRateRefused) {
  TempDir dir;
  std::string path = dir.File("n.csv");
  WriteFile(path, NumbersFile(5000));
  CsvSourceOptions opts = Options({path}, NumberSchema());
  FakeClock clock;
  clock.Install(&opts);
  CollectingOutput out(NumberSchema());
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  EXPECT_EQ(out.lines.size(), 5000u);
  EXPECT_EQ(clock.sleeps, 0);
  opts.rate_records_per_second = -1;
  absl::Status s = MakeCsvFileSource(opts)->Open(SubtaskCtx(0, 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rate must be"));
}

TEST(CsvFileSourceRate, SnapshotWhileThrottledRestoresExactly) {
  TempDir dir;
  std::string path = dir.File("n.csv");
  WriteFile(path, NumbersFile(500));
  CsvSourceOptions opts = Options({path}, NumberSchema());
  opts.rate_records_per_second = 1000;
  FakeClock clock;
  clock.Install(&opts);
  std::vector<std::string> lines = ReadWithRestore(opts, 0, 1, 7);
  ASSERT_EQ(lines.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(lines[i], std::to_string(i));
}

}  // namespace
}  // namespace sluice::connectors
