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
#include "runtime/connectors/file/tests/csv_test_data.h"
#include "runtime/connectors/file/tests/test_util.h"
#include "runtime/core/time_format.h"

namespace sluice::connectors {
namespace {

using namespace ::sluice::connectors::testing;  // NOLINT: the shared helpers
using ::testing::HasSubstr;

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
}  // namespace
}  // namespace sluice::connectors
