// Checkpointing of the CSV file source: a restore emits exactly the rows after the snapshot
// (plain and gzip files, at the end, with watermarks) and refuses splits that do not match.
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

TEST(CsvFileSourceCheckpoint, RestoreEmitsExactlyTheRemainingRowsOfAPlainFile) {
  TempDir dir;
  std::string path = dir.File("big.csv");
  std::vector<std::string> expected;
  // ~1.5 MiB: positions also fall behind the first 1 MiB read buffer.
  WriteFile(path, GenerateFlights(40000, &expected));
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.batch_size = 997;
  for (int p : {1, 3}) {
    std::vector<std::string> all;
    for (int i = 0; i < p; ++i) {
      CollectingOutput whole(FlightSchema());
      ASSERT_TRUE(RunSource(opts, i, p, &whole).ok());
      for (int polls : {0, 1, 7, 25}) {
        std::vector<std::string> lines = ReadWithRestore(opts, i, p, polls);
        ASSERT_EQ(lines.size(), whole.lines.size())
            << "p=" << p << " i=" << i << " polls=" << polls;
        EXPECT_TRUE(lines == whole.lines) << "p=" << p << " i=" << i << " polls=" << polls;
      }
      all.insert(all.end(), whole.lines.begin(), whole.lines.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<std::string> sorted = expected;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_TRUE(all == sorted) << "p=" << p;
  }
}

TEST(CsvFileSourceCheckpoint, RestoreEmitsExactlyTheRemainingRowsOfGzipFiles) {
  TempDir dir;
  std::vector<std::string> expected_a, expected_b;
  WriteGz(dir.File("a.csv.gz"), GenerateFlights(30000, &expected_a));
  WriteGz(dir.File("b.csv.gz"), GenerateFlights(500, &expected_b));
  WriteFile(dir.File("c.csv"),
            "date,delay,distance,origin,destination\n"
            "2001-01-01T00:00:00Z,1,2,X,Y\n");
  std::vector<std::string> expected = expected_a;
  expected.insert(expected.end(), expected_b.begin(), expected_b.end());
  expected.push_back("2001-01-01T00:00:00Z,1,2,X,Y");
  CsvSourceOptions opts = Options({dir.path()}, FlightSchema());
  opts.batch_size = 1000;
  // 0: before anything; 12: inside a.csv.gz, past the first MiB; 30: at the end of a (the
  // split is not known to be finished yet); 31: inside b; 32: in c; 40: after the end.
  for (int polls : {0, 1, 12, 30, 31, 32, 40}) {
    std::vector<std::string> lines = ReadWithRestore(opts, 0, 1, polls);
    ASSERT_EQ(lines.size(), expected.size()) << "polls=" << polls;
    EXPECT_TRUE(lines == expected) << "polls=" << polls;
  }
}

TEST(CsvFileSourceCheckpoint, SnapshotAtTheEndRestoresToAnEndedSource) {
  TempDir dir;
  std::string path = dir.File("f.csv");
  WriteFile(path, "date,delay,distance,origin,destination\n2001-01-01T00:00:00Z,1,1,A,B\n");
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "date";
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  CollectingOutput out(FlightSchema());
  Drain(*source, &out);
  ASSERT_EQ(out.lines.size(), 1u);
  absl::StatusOr<std::string> state = source->SnapshotState(5);
  ASSERT_TRUE(state.ok());
  auto restored = MakeCsvFileSource(opts);
  ASSERT_TRUE(restored->Open(SubtaskCtx(0, 1, *state)).ok());
  CollectingOutput after(FlightSchema());
  absl::StatusOr<bool> more = restored->PollNext(after);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(after.batches, 0);
  EXPECT_EQ(after.watermarks, std::vector<int64_t>{api::kMaxWatermark});
}

TEST(CsvFileSourceCheckpoint, EmptyRestoredStateIsAFreshStart) {
  TempDir dir;
  std::string path = dir.File("f.csv");
  WriteFile(path, "date,delay,distance,origin,destination\n2001-01-01T00:00:00Z,1,1,A,B\n");
  auto source = MakeCsvFileSource(Options({path}, FlightSchema()));
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1, std::string())).ok());
  CollectingOutput out(FlightSchema());
  Drain(*source, &out);
  EXPECT_EQ(out.lines.size(), 1u);
}

TEST(CsvFileSourceCheckpoint, WatermarkContinuesAfterRestore) {
  TempDir dir;
  std::string path = dir.File("e.csv");
  WriteFile(path,
            "date,delay,distance,origin,destination\n"
            "2001-01-01T00:00:10Z,1,1,A,B\n"
            "2001-01-01T00:00:50Z,2,1,A,B\n"
            "2001-01-01T00:00:20Z,3,1,A,B\n"  // out of order: lower than the max so far
            "2001-01-01T00:00:30Z,4,1,A,B\n"
            "2001-01-01T00:01:00Z,5,1,A,B\n");
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "date";
  opts.max_out_of_orderness_ms = 1000;
  opts.batch_size = 2;
  const int64_t base = 978307200000LL;
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  CollectingOutput before(FlightSchema());
  ASSERT_TRUE(source->PollNext(before).ok());
  ASSERT_EQ(before.watermarks, std::vector<int64_t>{base + 50000 - 1001});
  absl::StatusOr<std::string> state = source->SnapshotState(1);
  ASSERT_TRUE(state.ok());
  auto restored = MakeCsvFileSource(opts);
  ASSERT_TRUE(restored->Open(SubtaskCtx(0, 1, *state)).ok());
  CollectingOutput after(FlightSchema());
  Drain(*restored, &after);
  EXPECT_EQ(after.lines.size(), 3u);
  // The batch {20 s, 30 s} alone would give 29 s - 1001 ms; the restored max (50 s) holds.
  EXPECT_EQ(after.watermarks, (std::vector<int64_t>{base + 50000 - 1001, base + 60000 - 1001,
                                                    api::kMaxWatermark}));
  EXPECT_GE(after.watermarks.front(), before.watermarks.back());
}

TEST(CsvFileSourceCheckpoint, RestoreWithOtherSplitsIsRefusedNamingTheFile) {
  TempDir dir;
  std::string path = dir.File("big.csv");
  std::vector<std::string> ignored;
  WriteFile(path, GenerateFlights(1000, &ignored));
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.batch_size = 10;
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(1, 3)).ok());
  CollectingOutput out(FlightSchema());
  ASSERT_TRUE(source->PollNext(out).ok());
  std::string state = *source->SnapshotState(1);
  // Another parallelism: other byte ranges.
  absl::Status s = MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 2, state));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("file source: restored position for '" + path + "' (bytes ["));
  EXPECT_THAT(s.message(), HasSubstr("checkpointed by subtask 1 of parallelism 3) but this "
                                     "subtask 1 of parallelism 2 now reads bytes ["));
  EXPECT_THAT(s.message(), HasSubstr("same source parallelism"));
  // The file changed size since the checkpoint.
  WriteFile(path, GenerateFlights(1200, &ignored));
  s = MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 3, state));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("restored position for '" + path + "'"));
  // A file that is new to this subtask.
  WriteFile(path, GenerateFlights(1000, &ignored));
  std::string other = dir.File("more.csv");
  WriteFile(other, "date,delay,distance,origin,destination\n");
  opts.paths = {path, other};
  s = MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 3, state));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("has no position for '" + other + "'"));
  // Not a source state at all.
  opts.paths = {path};
  s = MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 3, std::string("FSNK\x01\0\0\0", 8)));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  s = MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 3, state.substr(0, state.size() - 1)));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  // The original still restores.
  EXPECT_TRUE(MakeCsvFileSource(opts)->Open(SubtaskCtx(1, 3, state)).ok());
}

TEST(CsvFileSourceCheckpoint, GzipFilesMovingToAnotherSubtaskAreRefused) {
  TempDir dir;
  std::string header = "date,delay,distance,origin,destination\n";
  WriteGz(dir.File("a.csv.gz"), header + "2001-01-01T00:00:00Z,1,1,A,B\n");
  WriteGz(dir.File("b.csv.gz"), header + "2001-01-01T00:00:00Z,2,2,A,B\n");
  CsvSourceOptions opts = Options({dir.path()}, FlightSchema());
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(SubtaskCtx(0, 1)).ok());
  std::string state = *source->SnapshotState(1);  // owns a and b
  absl::Status s = MakeCsvFileSource(opts)->Open(SubtaskCtx(0, 2, state));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("restored position for '" + dir.File("b.csv.gz") + "' (the whole of"));
  EXPECT_THAT(s.message(), HasSubstr("now reads nothing more"));
}

}  // namespace
}  // namespace sluice::connectors
