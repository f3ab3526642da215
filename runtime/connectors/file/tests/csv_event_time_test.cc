// Event time of the file source from an int64 field in epoch seconds (unit s) and from an
// expression over other fields; a row whose event time is null is a bad row naming the line,
// and with bad-records skip such rows (and malformed ones) are dropped and counted, with
// dead-letter written to the dead-letter file with file, line, error and the row's text.

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/connectors/file/csv_source.h"
#include "nlohmann/json.hpp"
#include "runtime/connectors/file/tests/test_util.h"

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;
using ::sluice::connectors::testing::RunSource;
using ::sluice::connectors::testing::TempDir;
using ::sluice::connectors::testing::WriteFile;
using ::testing::HasSubstr;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{
      {"sec", core::Type::kInt64}, {"day", core::Type::kString}, {"time", core::Type::kString}});
}

CsvSourceOptions Options(const std::string& path) {
  CsvSourceOptions o;
  o.paths = {path};
  o.schema = Schema();
  return o;
}

TEST(CsvEventTime, EpochSecondsAreScaledToMilliseconds) {
  TempDir dir;
  const std::string path = dir.File("e.csv");
  WriteFile(path, "sec,day,time\n978307200,2001-01-01,00:00:00\n978307260,2001-01-01,00:01:00\n");
  CsvSourceOptions opts = Options(path);
  opts.event_time.field = "sec";
  opts.event_time.unit = operators::EventTimeSpec::Unit::kSeconds;
  CollectingOutput out(Schema());
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 2u);
  EXPECT_EQ(out.rows.timestamp(0), 978307200000);
  EXPECT_EQ(out.rows.timestamp(1), 978307260000);
  EXPECT_EQ(out.watermarks.front(), 978307260000 - 1);
}

TEST(CsvEventTime, AnExpressionBuildsTheTimestampFromOtherFields) {
  TempDir dir;
  const std::string path = dir.File("e.csv");
  WriteFile(path, "sec,day,time\n0,2001-01-01,00:00:10\n0,2001-01-02,12:00:00\n0,,00:00:00\n");
  CsvSourceOptions opts = Options(path);
  opts.event_time.expression = "to_timestamp(concat(day, 'T', time, 'Z'))";
  opts.batch_size = 1;  // the good rows are emitted before the bad one
  CollectingOutput out(Schema());
  absl::Status s = RunSource(opts, 0, 1, &out);
  // The third row has no day: its event time is null, a bad row naming file and line.
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("e.csv:4"));
  EXPECT_THAT(s.message(),
              HasSubstr("event-time expression 'to_timestamp(concat(day, 'T', time, 'Z'))' is "
                        "null"));
  ASSERT_EQ(out.rows.num_rows(), 2u);
  EXPECT_EQ(out.rows.timestamp(0), 978307210000);
  EXPECT_EQ(out.rows.timestamp(1), 978307200000 + 36 * 3600 * 1000);
}

TEST(CsvEventTime, AnExpressionOfAnotherTypeIsRefused) {
  CsvSourceOptions opts = Options("/nonexistent.csv");
  opts.event_time.expression = "concat(day, time)";
  auto source = MakeCsvFileSource(opts);
  absl::Status s = source->Open(api::OperatorContext{});
  EXPECT_EQ(s.message(),
            "file source: event-time expression 'concat(day, time)' has type string; expected "
            "timestamp or int64");
}

TEST(CsvEventTime, SkippedBadRowsAreCountedAndTheRestIsRead) {
  TempDir dir;
  const std::string path = dir.File("e.csv");
  WriteFile(path,
            "sec,day,time\n"
            "1,2001-01-01,00:00:10\n"
            "x,2001-01-01,00:00:11\n"   // not an int64
            "3,,00:00:00\n"              // null event time
            "4,2001-01-01\n"            // a field missing
            "5,2001-01-01,00:00:12\n");
  CsvSourceOptions opts = Options(path);
  opts.event_time.expression = "to_timestamp(concat(day, 'T', time, 'Z'))";
  opts.bad_records = CsvSourceOptions::BadRecords::kSkip;
  auto source = MakeCsvFileSource(opts);
  CollectingOutput out(Schema());
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 2u);
  EXPECT_EQ(out.rows.GetInt64(0, 0), 1);
  EXPECT_EQ(out.rows.GetInt64(1, 0), 5);
  // The count is the source's gauge; RunSource's instance is gone, so run one here.
  api::OperatorContext ctx;
  ASSERT_TRUE(source->Open(ctx).ok());
  CollectingOutput again(Schema());
  while (true) {
    auto more = source->PollNext(again);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
  }
  EXPECT_EQ(source->Gauges().at("file.records-skipped"), 3);
  source->Close();
}

TEST(CsvEventTime, DeadLettersKeepFileLineErrorAndTheRow) {
  TempDir dir;
  const std::string path = dir.File("e.csv");
  WriteFile(path,
            "sec,day,time\n"
            "1,2001-01-01,00:00:10\n"
            "x,2001-01-01,00:00:11\n"
            "3,,00:00:00\n"
            "5,2001-01-01,00:00:12\n");
  CsvSourceOptions opts = Options(path);
  opts.event_time.expression = "to_timestamp(concat(day, 'T', time, 'Z'))";
  opts.bad_records = CsvSourceOptions::BadRecords::kDeadLetter;
  opts.dead_letter_dir = dir.File("bad");
  CollectingOutput out(Schema());
  ASSERT_TRUE(RunSource(opts, 0, 1, &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 2u);

  std::ifstream in(dir.File("bad") + "/bad-records-0.jsonl");
  std::vector<nlohmann::json> letters;
  for (std::string line; std::getline(in, line);) letters.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0]["file"], path);
  EXPECT_EQ(letters[0]["line"], 3);
  EXPECT_EQ(letters[0]["row"], "x,2001-01-01,00:00:11");
  EXPECT_THAT(letters[0]["error"].get<std::string>(), HasSubstr("field 'sec'"));
  EXPECT_EQ(letters[1]["line"], 4);
  EXPECT_EQ(letters[1]["row"], "3,,00:00:00");
  EXPECT_THAT(letters[1]["error"].get<std::string>(), HasSubstr("is null"));
}

TEST(CsvEventTime, DeadLetterWithoutADirectoryIsRefused) {
  CsvSourceOptions opts = Options("/nonexistent.csv");
  opts.bad_records = CsvSourceOptions::BadRecords::kDeadLetter;
  EXPECT_EQ(MakeCsvFileSource(opts)->Open(api::OperatorContext{}).message(),
            "file source: bad-records dead-letter needs a dead-letter dir");
}

}  // namespace
}  // namespace sluice::connectors
