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

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;
using ::sluice::connectors::testing::RunSource;
using ::sluice::connectors::testing::TempDir;
using ::sluice::connectors::testing::WriteFile;
using ::testing::HasSubstr;

core::SchemaPtr FlightSchema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"date", core::Type::kTimestamp},
                               {"delay", core::Type::kInt64},
                               {"distance", core::Type::kInt64},
                               {"origin", core::Type::kString},
                               {"destination", core::Type::kString}});
}

core::SchemaPtr AllTypesSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"s", core::Type::kString},
                                                                 {"i", core::Type::kInt64},
                                                                 {"d", core::Type::kDouble},
                                                                 {"b", core::Type::kBool},
                                                                 {"t", core::Type::kTimestamp}});
}

CsvSourceOptions Options(std::vector<std::string> paths, core::SchemaPtr schema) {
  CsvSourceOptions o;
  o.paths = std::move(paths);
  o.schema = std::move(schema);
  return o;
}

void WriteGz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

TEST(CsvFileSource, ParsesEveryType) {
  TempDir dir;
  std::string path = dir.File("t.csv");
  WriteFile(path,
            "s,i,d,b,t\n"
            "abc,+5,1.5,TRUE,2001-01-01T00:01:00Z\n"
            "x y,-7,-2e3,0,2001-01-01 00:00:01.5Z\n"
            ",9223372036854775807,+0.25,False,1970-01-01\n"
            "z,0,3,1,2001-01-01T02:00:00+01:00\n");
  CollectingOutput out(AllTypesSchema());
  ASSERT_TRUE(RunSource(Options({path}, AllTypesSchema()), 0, 1, &out).ok());
  const core::RecordBatch& r = out.rows;
  ASSERT_EQ(r.num_rows(), 4u);
  EXPECT_EQ(r.GetString(0, 0), "abc");
  EXPECT_EQ(r.GetInt64(0, 1), 5);
  EXPECT_DOUBLE_EQ(r.GetDouble(0, 2), 1.5);
  EXPECT_TRUE(r.GetBool(0, 3));
  EXPECT_EQ(r.GetInt64(0, 4), 978307260000LL);
  EXPECT_EQ(r.GetString(1, 0), "x y");
  EXPECT_EQ(r.GetInt64(1, 1), -7);
  EXPECT_DOUBLE_EQ(r.GetDouble(1, 2), -2000.0);
  EXPECT_FALSE(r.GetBool(1, 3));
  EXPECT_EQ(r.GetInt64(1, 4), 978307201500LL);
  EXPECT_EQ(r.GetString(2, 0), "");
  EXPECT_EQ(r.GetInt64(2, 1), 9223372036854775807LL);
  EXPECT_DOUBLE_EQ(r.GetDouble(2, 2), 0.25);
  EXPECT_FALSE(r.GetBool(2, 3));
  EXPECT_EQ(r.GetInt64(2, 4), 0);
  EXPECT_TRUE(r.GetBool(3, 3));
  EXPECT_EQ(r.GetInt64(3, 4), 978307200000LL + 3600000LL);
  // No event time configured: records carry no timestamp, only the final watermark.
  EXPECT_EQ(r.timestamp(0), core::kNoTimestamp);
  EXPECT_EQ(out.watermarks, std::vector<int64_t>{api::kMaxWatermark});
}

TEST(CsvFileSource, QuotedFieldsCrlfAndBlankLines) {
  TempDir dir;
  std::string path = dir.File("q.csv");
  auto schema = std::make_shared<core::Schema>(std::vector<core::Field>{
      {"a", core::Type::kString}, {"b", core::Type::kString}, {"n", core::Type::kInt64}});
  WriteFile(path,
            "\"a\",b,n\r\n"
            "\"x,y\",\"say \"\"hi\"\"\",\"42\"\r\n"
            "\r\n"
            "\"\",\"\"\"\",1\n"
            "plain,\"a\"\"\"\"b\",2");  // no final newline
  CollectingOutput out(schema);
  absl::Status s = RunSource(Options({path}, schema), 0, 1, &out);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(out.rows.num_rows(), 3u);
  EXPECT_EQ(out.rows.GetString(0, 0), "x,y");
  EXPECT_EQ(out.rows.GetString(0, 1), "say \"hi\"");
  EXPECT_EQ(out.rows.GetInt64(0, 2), 42);
  EXPECT_EQ(out.rows.GetString(1, 0), "");
  EXPECT_EQ(out.rows.GetString(1, 1), "\"");
  EXPECT_EQ(out.rows.GetString(2, 0), "plain");
  EXPECT_EQ(out.rows.GetString(2, 1), "a\"\"b");
  EXPECT_EQ(out.rows.GetInt64(2, 2), 2);
}

TEST(CsvFileSource, CustomDelimiterAndNoHeader) {
  TempDir dir;
  std::string path = dir.File("d.csv");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"a", core::Type::kString}, {"n", core::Type::kInt64}});
  WriteFile(path, "x,1;2\n\"p;q\";3\n");
  CsvSourceOptions opts = Options({path}, schema);
  opts.header = false;
  opts.delimiter = ';';
  CollectingOutput out(schema);
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  EXPECT_THAT(out.lines, ::testing::ElementsAre("\"x,1\",2", "p;q,3"));
}

TEST(CsvFileSource, UnterminatedQuoteIsABadRow) {
  TempDir dir;
  std::string path = dir.File("u.csv");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"a", core::Type::kString}, {"n", core::Type::kInt64}});
  WriteFile(path, "a,n\nok,1\n\"broken,2\n");
  CollectingOutput out(schema);
  absl::Status s = RunSource(Options({path}, schema), 0, 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(path + ":3: column 1: quoted field has no closing quote"));
}

TEST(CsvFileSource, ReadsGzipFiles) {
  TempDir dir;
  std::string path = dir.File("f.csv.gz");
  WriteGz(path,
          "date,delay,distance,origin,destination\n"
          "2001-01-01T00:01:00Z,33,2176,LAS,PHL\n"
          "2001-01-01T00:01:00Z,19,215,ATL,SAV\n");
  CollectingOutput out(FlightSchema());
  ASSERT_TRUE(RunSource(Options({path}, FlightSchema()), 0, 1, &out).ok());
  EXPECT_THAT(out.lines, ::testing::ElementsAre("2001-01-01T00:01:00Z,33,2176,LAS,PHL",
                                                "2001-01-01T00:01:00Z,19,215,ATL,SAV"));
}

TEST(CsvFileSource, CorruptGzipIsDataLoss) {
  TempDir dir;
  std::string path = dir.File("bad.csv.gz");
  WriteFile(path, std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
  CollectingOutput out(FlightSchema());
  absl::Status s = RunSource(Options({path}, FlightSchema()), 0, 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(path));
}

// A file of `n` flight rows with varied line lengths (some quoted), plus the expected rows.
std::string GenerateFlights(int n, std::vector<std::string>* expected) {
  std::mt19937 rng(42);
  std::string text = "date,delay,distance,origin,destination\n";
  for (int i = 0; i < n; ++i) {
    std::string origin(1 + rng() % 12, static_cast<char>('A' + i % 26));
    bool quoted = i % 7 == 0;
    std::string ts = core::FormatTimestamp(978307200000LL + i * 60000LL);
    std::string line =
        fmt::format("{},{},{},{}{}{},D{}", ts, static_cast<int>(rng() % 200) - 50, i,
                    quoted ? "\"" : "", quoted ? origin + ",x" : origin, quoted ? "\"" : "", i);
    text += line + (i % 3 == 0 ? "\r\n" : "\n");
    expected->push_back(line);
  }
  return text;
}

TEST(CsvFileSource, ByteRangeSplitsReadEveryRowExactlyOnce) {
  TempDir dir;
  std::string path = dir.File("big.csv");
  std::vector<std::string> expected;
  // ~40k lines (~1.5 MiB) so lines also cross the 1 MiB read buffer boundary.
  WriteFile(path, GenerateFlights(40000, &expected));
  std::sort(expected.begin(), expected.end());
  for (int p = 1; p <= 5; ++p) {
    std::vector<std::string> all;
    for (int i = 0; i < p; ++i) {
      CollectingOutput out(FlightSchema());
      absl::Status s = RunSource(Options({path}, FlightSchema()), i, p, &out);
      ASSERT_TRUE(s.ok()) << "p=" << p << " i=" << i << ": " << s;
      EXPECT_GT(out.lines.size(), 0u) << "p=" << p << " i=" << i;
      ASSERT_FALSE(out.watermarks.empty());
      EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);
      all.insert(all.end(), out.lines.begin(), out.lines.end());
    }
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), expected.size()) << "p=" << p;
    EXPECT_TRUE(all == expected) << "p=" << p;
  }
}

TEST(CsvFileSource, TinyFileWithMoreSubtasksThanBytes) {
  TempDir dir;
  std::string path = dir.File("tiny.csv");
  auto schema = std::make_shared<core::Schema>(std::vector<core::Field>{{"n", core::Type::kInt64}});
  WriteFile(path, "n\n1\n2\n3");
  for (int p = 1; p <= 12; ++p) {
    std::vector<std::string> all;
    for (int i = 0; i < p; ++i) {
      CollectingOutput out(schema);
      ASSERT_TRUE(RunSource(Options({path}, schema), i, p, &out).ok());
      all.insert(all.end(), out.lines.begin(), out.lines.end());
    }
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<std::string>{"1", "2", "3"})) << "p=" << p;
  }
}

TEST(CsvFileSource, GzipFilesAreAssignedWholeByFileIndex) {
  TempDir dir;
  std::string header = "date,delay,distance,origin,destination\n";
  WriteGz(dir.File("a.csv.gz"), header + "2001-01-01T00:00:00Z,1,1,A,B\n");
  WriteGz(dir.File("b.csv.gz"), header + "2001-01-01T00:00:00Z,2,2,A,B\n");
  WriteGz(dir.File("c.csv.gz"), header + "2001-01-01T00:00:00Z,3,3,A,B\n");
  WriteFile(dir.File(".hidden.csv"), "junk\n");
  WriteFile(dir.File("_SUCCESS"), "junk\n");
  std::vector<int64_t> delays;
  for (int i = 0; i < 2; ++i) {
    CollectingOutput out(FlightSchema());
    absl::Status s = RunSource(Options({dir.path()}, FlightSchema()), i, 2, &out);
    ASSERT_TRUE(s.ok()) << s;
    for (size_t r = 0; r < out.rows.num_rows(); ++r) {
      delays.push_back(out.rows.GetInt64(r, 1) * 10 + i);
    }
  }
  // Sorted names a, b, c are files 0, 1, 2: subtask 0 gets a and c, subtask 1 gets b.
  EXPECT_EQ(delays, (std::vector<int64_t>{10, 30, 21}));
}

TEST(CsvFileSource, SubtaskWithoutSplitEndsAtOnceWithMaxWatermark) {
  TempDir dir;
  std::string path = dir.File("one.csv.gz");
  WriteGz(path, "date,delay,distance,origin,destination\n2001-01-01T00:00:00Z,1,1,A,B\n");
  auto source = MakeCsvFileSource(Options({path}, FlightSchema()));
  api::OperatorContext ctx;
  ctx.subtask_index = 2;
  ctx.parallelism = 3;
  ASSERT_TRUE(source->Open(ctx).ok());
  CollectingOutput out(FlightSchema());
  absl::StatusOr<bool> more = source->PollNext(out);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(out.batches, 0);
  EXPECT_EQ(out.watermarks, std::vector<int64_t>{api::kMaxWatermark});
}

TEST(CsvFileSource, BadValueNamesPathLineAndField) {
  TempDir dir;
  std::string path = dir.File("bad.csv");
  std::vector<std::string> ignored;
  std::string text = GenerateFlights(3000, &ignored);
  // Break the value of `delay` on physical line 2501 (line 1 is the header).
  size_t pos = 0;
  for (int line = 1; line < 2501; ++line) pos = text.find('\n', pos) + 1;
  size_t comma = text.find(',', pos);
  text.insert(comma + 1, "abc");
  WriteFile(path, text);
  // Whichever subtask owns the line must report the file's physical line number.
  bool reported = false;
  for (int i = 0; i < 3; ++i) {
    CollectingOutput out(FlightSchema());
    absl::Status s = RunSource(Options({path}, FlightSchema()), i, 3, &out);
    if (s.ok()) continue;
    reported = true;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr(path + ":2501: field 'delay' (column 2): 'abc"));
    EXPECT_THAT(s.message(), HasSubstr("is not a valid int64"));
  }
  EXPECT_TRUE(reported);
}

TEST(CsvFileSource, WrongFieldCountNamesPathAndLine) {
  TempDir dir;
  std::string path = dir.File("short.csv.gz");
  WriteGz(path,
          "date,delay,distance,origin,destination\n"
          "2001-01-01T00:00:00Z,1,1,A,B\n"
          "\n"
          "2001-01-01T00:00:00Z,1,1,A\n");
  CollectingOutput out(FlightSchema());
  absl::Status s = RunSource(Options({path}, FlightSchema()), 0, 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), path + ":4: expected 5 fields, found 4");
}

TEST(CsvFileSource, BadBoolAndTimestampAreReported) {
  TempDir dir;
  std::string path = dir.File("t.csv");
  WriteFile(path, "s,i,d,b,t\nx,1,1.0,yes,2001-01-01\n");
  CollectingOutput out(AllTypesSchema());
  absl::Status s = RunSource(Options({path}, AllTypesSchema()), 0, 1, &out);
  EXPECT_THAT(s.message(), HasSubstr(":2: field 'b' (column 4): 'yes' is not a valid bool"));
  WriteFile(path, "s,i,d,b,t\nx,1,1.0,true,yesterday\n");
  s = RunSource(Options({path}, AllTypesSchema()), 0, 1, &out);
  EXPECT_THAT(s.message(), HasSubstr(":2: field 't' (column 5): 'yesterday' is not a valid "
                                     "timestamp"));
  WriteFile(path, "s,i,d,b,t\nx,1,1.0.0,true,2001-01-01\n");
  s = RunSource(Options({path}, AllTypesSchema()), 0, 1, &out);
  EXPECT_THAT(s.message(), HasSubstr(":2: field 'd' (column 3): '1.0.0' is not a valid double"));
  WriteFile(path, "s,i,d,b,t\nx,99999999999999999999,1,true,2001-01-01\n");
  s = RunSource(Options({path}, AllTypesSchema()), 0, 1, &out);
  EXPECT_THAT(s.message(), HasSubstr("'99999999999999999999' is not a valid int64"));
}

TEST(CsvFileSource, HeaderMismatchIsReported) {
  TempDir dir;
  std::string path = dir.File("h.csv");
  WriteFile(path, "a,b\n1,2\n");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"x", core::Type::kInt64}, {"y", core::Type::kInt64}});
  CollectingOutput out(schema);
  absl::Status s = RunSource(Options({path}, schema), 0, 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), path + ":1: header has columns [a, b] but the schema declares [x, y]");
}

TEST(CsvFileSource, HeaderWithBomAndSpacesMatches) {
  TempDir dir;
  std::string path = dir.File("h.csv");
  WriteFile(path, "\xEF\xBB\xBFx , y\n1,2\n");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"x", core::Type::kInt64}, {"y", core::Type::kInt64}});
  CollectingOutput out(schema);
  absl::Status s = RunSource(Options({path}, schema), 0, 1, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(out.lines, ::testing::ElementsAre("1,2"));
}

TEST(CsvFileSource, MissingFileIsNotFound) {
  TempDir dir;
  std::string path = dir.File("nope.csv");
  auto source = MakeCsvFileSource(Options({path}, FlightSchema()));
  absl::Status s = source->Open(api::OperatorContext{});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "file source: cannot open '" + path + "': No such file or directory");
}

TEST(CsvFileSource, RejectsEventTimeFieldOfWrongType) {
  TempDir dir;
  std::string path = dir.File("f.csv");
  WriteFile(path, "date,delay,distance,origin,destination\n");
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "origin";
  auto source = MakeCsvFileSource(opts);
  absl::Status s = source->Open(api::OperatorContext{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'origin' has type string"));
  opts.event_time.field = "when";
  s = MakeCsvFileSource(opts)->Open(api::OperatorContext{});
  EXPECT_THAT(s.message(), HasSubstr("'when' is not in the schema"));
}

TEST(CsvFileSource, EventTimeAndWatermarks) {
  TempDir dir;
  std::string path = dir.File("e.csv");
  WriteFile(path,
            "date,delay,distance,origin,destination\n"
            "2001-01-01T00:00:10Z,1,1,A,B\n"
            "2001-01-01T00:00:05Z,2,1,A,B\n"  // out of order
            "2001-01-01T00:00:20Z,3,1,A,B\n"
            "2001-01-01T00:00:15Z,4,1,A,B\n"
            "2001-01-01T00:00:30Z,5,1,A,B\n");
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "date";
  opts.max_out_of_orderness_ms = 1000;
  opts.batch_size = 2;
  CollectingOutput out(FlightSchema());
  api::OperatorMetrics metrics;
  ASSERT_TRUE(RunSource(opts, 0, 1, &out, &metrics).ok());
  ASSERT_EQ(out.rows.num_rows(), 5u);
  const int64_t base = 978307200000LL;
  EXPECT_EQ(out.rows.timestamp(0), base + 10000);
  EXPECT_EQ(out.rows.timestamp(1), base + 5000);
  EXPECT_EQ(out.batches, 3);
  // After each batch: max timestamp so far - 1000 - 1, only when it advanced.
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{base + 10000 - 1001, base + 20000 - 1001,
                                                  base + 30000 - 1001, api::kMaxWatermark}));
  EXPECT_TRUE(std::is_sorted(out.watermarks.begin(), out.watermarks.end()));
  EXPECT_EQ(metrics.records_out.load(), 5);
  EXPECT_EQ(metrics.bytes_in.load(), static_cast<int64_t>(std::filesystem::file_size(path)));
}

TEST(CsvFileSource, Int64EventTimeField) {
  TempDir dir;
  std::string path = dir.File("e.csv");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"ts", core::Type::kInt64}, {"v", core::Type::kString}});
  WriteFile(path, "ts,v\n1000,a\n3000,b\n2000,c\n");
  CsvSourceOptions opts = Options({path}, schema);
  opts.event_time.field = "ts";
  CollectingOutput out(schema);
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 3u);
  EXPECT_EQ(out.rows.timestamp(2), 2000);
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{2999, api::kMaxWatermark}));
}

TEST(CsvFileSource, LineLongerThanReadBuffer) {
  TempDir dir;
  std::string path = dir.File("long.csv");
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"s", core::Type::kString}, {"n", core::Type::kInt64}});
  std::string big(3 << 20, 'x');
  WriteFile(path, "s,n\n" + big + ",1\nshort,2\n");
  CollectingOutput out(schema);
  ASSERT_TRUE(RunSource(Options({path}, schema), 0, 1, &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 2u);
  EXPECT_EQ(out.rows.GetString(0, 0), big);
  EXPECT_EQ(out.rows.GetInt64(1, 1), 2);
}

TEST(CsvFileSource, ReadsTheJanuary2001Sample) {
  std::string path = SLUICE_SOURCE_DIR "/examples/data/flights-2001-01.csv.gz";
  CsvSourceOptions opts = Options({path}, FlightSchema());
  opts.event_time.field = "date";
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(api::OperatorContext{}).ok());
  // Counting output, to avoid copying half a million rows.
  struct Counter : api::Output {
    absl::Status Emit(const core::RecordBatch& b) override {
      rows += static_cast<int64_t>(b.num_rows());
      return absl::OkStatus();
    }
    absl::Status EmitWatermark(int64_t wm) override {
      EXPECT_GT(wm, last);
      last = wm;
      return absl::OkStatus();
    }
    int64_t rows = 0;
    int64_t last = api::kMinWatermark;
  } counter;
  for (;;) {
    absl::StatusOr<bool> more = source->PollNext(counter);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
  }
  EXPECT_EQ(counter.rows, 508239);
  EXPECT_EQ(counter.last, api::kMaxWatermark);
}

// --- Checkpointing ---------------------------------------------------------------------------

api::OperatorContext SubtaskCtx(int index, int parallelism,
                                      std::optional<std::string> restored = std::nullopt) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.restored_state = std::move(restored);
  return ctx;
}

// Polls `source` until it ends, collecting into `out`.
void Drain(api::Source& source, CollectingOutput* out) {
  for (int polls = 0; polls < 1'000'000; ++polls) {
    absl::StatusOr<bool> more = source.PollNext(*out);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) return;
  }
  FAIL() << "source never ended";
}

// For subtask `index` of `parallelism`: polls `polls` times, snapshots, polls a few more times
// (progress after the checkpoint, lost in the "crash"), then restores a new source from the
// snapshot and reads to the end. Returns the rows before the snapshot followed by the rows
// after the restore; they must equal one uninterrupted run.
std::vector<std::string> ReadWithRestore(const CsvSourceOptions& opts, int index, int parallelism,
                                         int polls) {
  std::vector<std::string> lines;
  std::string state;
  {
    auto source = MakeCsvFileSource(opts);
    EXPECT_TRUE(source->Open(SubtaskCtx(index, parallelism)).ok());
    CollectingOutput before(opts.schema);
    for (int k = 0; k < polls; ++k) {
      absl::StatusOr<bool> more = source->PollNext(before);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
    }
    absl::StatusOr<std::string> snapshot = source->SnapshotState(1);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    state = *snapshot;
    lines = before.lines;
    CollectingOutput lost(opts.schema);
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(source->PollNext(lost).ok());
  }
  auto restored = MakeCsvFileSource(opts);
  absl::Status open = restored->Open(SubtaskCtx(index, parallelism, state));
  EXPECT_TRUE(open.ok()) << open;
  CollectingOutput after(opts.schema);
  Drain(*restored, &after);
  EXPECT_FALSE(after.watermarks.empty());
  if (!after.watermarks.empty()) {
    EXPECT_EQ(after.watermarks.back(), api::kMaxWatermark);
  }
  lines.insert(lines.end(), after.lines.begin(), after.lines.end());
  return lines;
}

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

// --- Rescaling (restore at another parallelism from the union of all old states) -------------

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
