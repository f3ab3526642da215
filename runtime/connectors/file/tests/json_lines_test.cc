// JSON lines: the file source's and file sink's `format: json`.
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/file/file_sink.h"
#include "runtime/connectors/file/tests/test_util.h"

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;
using ::sluice::connectors::testing::ReadFile;
using ::sluice::connectors::testing::TempDir;
using ::sluice::connectors::testing::WriteFile;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"t", core::Type::kTimestamp},
                                                                 {"id", core::Type::kInt64},
                                                                 {"name", core::Type::kString},
                                                                 {"day", core::Type::kDate}});
}

CsvSourceOptions JsonSource(const std::string& path) {
  CsvSourceOptions o;
  o.paths = {path};
  o.schema = Schema();
  o.format = formats::RecordFormat::kJson;
  o.header = false;
  o.event_time.field = "t";
  return o;
}

absl::Status RunToEnd(const CsvSourceOptions& opts, CollectingOutput* out) {
  auto source = MakeCsvFileSource(opts);
  api::OperatorContext ctx;
  if (absl::Status s = source->Open(ctx); !s.ok()) return s;
  for (;;) {
    absl::StatusOr<bool> more = source->PollNext(*out);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

TEST(JsonLines, SourceReadsObjectsByNameWithNullsAndEventTime) {
  TempDir dir;
  const std::string path = dir.File("in.jsonl");
  WriteFile(path,
            "{\"t\":\"2001-01-01T00:00:01Z\",\"id\":1,\"name\":\"a\",\"day\":\"2001-01-01\"}\n"
            "{\"name\":null,\"id\":2,\"t\":2000}\n"
            "\n"
            "{\"t\":3000,\"id\":3,\"name\":\"c\",\"day\":null,\"unknown\":[1,2]}\n");
  CollectingOutput out(Schema());
  ASSERT_TRUE(RunToEnd(JsonSource(path), &out).ok());
  ASSERT_EQ(out.rows.num_rows(), 3u);
  EXPECT_EQ(out.rows.RowToString(0), "2001-01-01T00:00:01Z,1,a,2001-01-01");
  EXPECT_EQ(out.rows.RowToString(1), "1970-01-01T00:00:02Z,2,,");
  EXPECT_TRUE(out.rows.IsNull(1, 2));
  EXPECT_TRUE(out.rows.IsNull(1, 3));  // missing member
  EXPECT_EQ(out.rows.timestamp(2), 3000);
}

TEST(JsonLines, BadLinesAndNullEventTimesNameFileAndLine) {
  TempDir dir;
  const std::string path = dir.File("in.jsonl");
  WriteFile(path, "{\"t\":1,\"id\":1}\n{\"t\":2,\"id\":\"x\"}\n");
  CollectingOutput out(Schema());
  absl::Status s = RunToEnd(JsonSource(path), &out);
  EXPECT_EQ(s.message(), path + ":2: field 'id': expected int64, found string \"x\"");
  WriteFile(path, "{\"t\":1,\"id\":1}\n{\"t\":null,\"id\":2}\n");
  CollectingOutput out2(Schema());
  s = RunToEnd(JsonSource(path), &out2);
  EXPECT_EQ(s.message(), path + ":2: event-time field 't' is null");
  CsvSourceOptions with_header = JsonSource(path);
  with_header.header = true;
  CollectingOutput out3(Schema());
  EXPECT_EQ(RunToEnd(with_header, &out3).message(), "file source: JSON lines have no header");
}

TEST(JsonLines, SinkWritesJsonLinesThatTheSourceReadsBack) {
  TempDir dir;
  const std::string out_dir = dir.File("out");
  FileSinkOptions so;
  so.path = out_dir;
  so.schema = Schema();
  so.format = formats::RecordFormat::kJson;
  auto sink = MakeFileSink(so);
  api::OperatorContext ctx;
  ASSERT_TRUE(sink->Open(ctx).ok());
  core::RecordBatch b(Schema());
  size_t r = b.AppendRow(5);
  b.SetInt64(r, 0, 5);
  b.SetInt64(r, 1, 7);
  b.SetString(r, 2, "q\"uote");
  b.SetInt32(r, 3, 11017);
  r = b.AppendRow(6);
  b.SetInt64(r, 0, 6);
  b.SetNull(r, 1);
  b.SetNull(r, 2);
  b.SetNull(r, 3);
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(b, downstream).ok());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  const std::string part = out_dir + "/part-0-0.jsonl";
  ASSERT_TRUE(std::filesystem::exists(part));
  EXPECT_EQ(ReadFile(part),
            "{\"t\":\"1970-01-01T00:00:00.005Z\",\"id\":7,\"name\":\"q\\\"uote\",\"day\":"
            "\"2000-03-01\"}\n"
            "{\"t\":\"1970-01-01T00:00:00.006Z\",\"id\":null,\"name\":null,\"day\":null}\n");
  CollectingOutput back(Schema());
  ASSERT_TRUE(RunToEnd(JsonSource(part), &back).ok());
  ASSERT_EQ(back.rows.num_rows(), 2u);
  EXPECT_EQ(back.rows.RowToString(0), b.RowToString(0));
  EXPECT_EQ(back.rows.RowToString(1), b.RowToString(1));
}

}  // namespace
}  // namespace sluice::connectors
