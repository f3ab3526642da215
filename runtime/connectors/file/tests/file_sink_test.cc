#include "runtime/connectors/file/file_sink.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/file/tests/test_util.h"

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;
using ::sluice::connectors::testing::ReadFile;
using ::sluice::connectors::testing::TempDir;
using ::sluice::connectors::testing::WriteFile;
namespace fs = std::filesystem;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{
      {"name", core::Type::kString}, {"n", core::Type::kInt64}, {"t", core::Type::kTimestamp}});
}

core::RecordBatch Batch(int rows, int first = 0) {
  core::RecordBatch b(Schema());
  for (int i = first; i < first + rows; ++i) {
    size_t r = b.AppendRow();
    b.SetString(r, 0, i % 2 ? "a,b" : "plain");
    b.SetInt64(r, 1, i);
    b.SetInt64(r, 2, 978307200000LL + i * 1000LL);
  }
  return b;
}

operators::OperatorContext Ctx(int index, int parallelism,
                               operators::OperatorMetrics* metrics = nullptr) {
  operators::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  ctx.metrics = metrics;
  return ctx;
}

TEST(FileSink, WritesHeaderAndRowsAndRenamesAtFinish) {
  TempDir dir;
  std::string out_dir = dir.File("out/nested");  // parents are created
  auto sink = MakeFileSink({.path = out_dir, .schema = Schema(), .header = true});
  EXPECT_EQ(*sink->output_schema(), *Schema());
  operators::OperatorMetrics metrics;
  ASSERT_TRUE(sink->Open(Ctx(1, 2, &metrics)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(2), downstream).ok());
  ASSERT_TRUE(sink->ProcessWatermark(operators::kMaxWatermark, downstream).ok());
  EXPECT_TRUE(fs::exists(out_dir + "/.part-1.csv.inprogress"));
  EXPECT_FALSE(fs::exists(out_dir + "/part-1.csv"));
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_FALSE(fs::exists(out_dir + "/.part-1.csv.inprogress"));
  const std::string expected =
      "name,n,t\n"
      "plain,0,2001-01-01T00:00:00Z\n"
      "\"a,b\",1,2001-01-01T00:00:01Z\n";
  EXPECT_EQ(ReadFile(out_dir + "/part-1.csv"), expected);
  // Terminal: nothing goes downstream, not even watermarks.
  EXPECT_EQ(downstream.batches, 0);
  EXPECT_TRUE(downstream.watermarks.empty());
  EXPECT_EQ(metrics.records_in.load(), 2);
  EXPECT_EQ(metrics.bytes_out.load(), static_cast<int64_t>(expected.size()));
}

TEST(FileSink, NoHeaderOption) {
  TempDir dir;
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema(), .header = false});
  ASSERT_TRUE(sink->Open(Ctx(0, 1)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(1), downstream).ok());
  ASSERT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_EQ(ReadFile(dir.File("part-0.csv")), "plain,0,2001-01-01T00:00:00Z\n");
}

TEST(FileSink, CloseWithoutFinishDeletesInProgressFile) {
  TempDir dir;
  WriteFile(dir.File("part-0.csv"), "previous run\n");
  auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink->Open(Ctx(0, 1)).ok());
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink->ProcessBatch(Batch(3), downstream).ok());
  EXPECT_TRUE(fs::exists(dir.File(".part-0.csv.inprogress")));
  sink->Close();
  EXPECT_FALSE(fs::exists(dir.File(".part-0.csv.inprogress")));
  // The last finished output stays as it was.
  EXPECT_EQ(ReadFile(dir.File("part-0.csv")), "previous run\n");
}

TEST(FileSink, SubtaskZeroRemovesStalePartFiles) {
  TempDir dir;
  for (int k = 0; k < 5; ++k) WriteFile(dir.File("part-" + std::to_string(k) + ".csv"), "old\n");
  WriteFile(dir.File("notes.txt"), "keep\n");
  WriteFile(dir.File("part-x.csv"), "keep\n");
  // Subtask 1 does not clean up.
  auto sink1 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink1->Open(Ctx(1, 2)).ok());
  EXPECT_TRUE(fs::exists(dir.File("part-4.csv")));
  auto sink0 = MakeFileSink({.path = dir.path(), .schema = Schema()});
  ASSERT_TRUE(sink0->Open(Ctx(0, 2)).ok());
  EXPECT_FALSE(fs::exists(dir.File("part-2.csv")));
  EXPECT_FALSE(fs::exists(dir.File("part-3.csv")));
  EXPECT_FALSE(fs::exists(dir.File("part-4.csv")));
  EXPECT_TRUE(fs::exists(dir.File("part-0.csv")));
  EXPECT_TRUE(fs::exists(dir.File("part-1.csv")));
  EXPECT_TRUE(fs::exists(dir.File("notes.txt")));
  EXPECT_TRUE(fs::exists(dir.File("part-x.csv")));
  CollectingOutput downstream(Schema());
  ASSERT_TRUE(sink0->Finish(downstream).ok());
  ASSERT_TRUE(sink1->Finish(downstream).ok());
  sink0->Close();
  sink1->Close();
  // Each subtask overwrote its own part file.
  EXPECT_EQ(ReadFile(dir.File("part-0.csv")), "name,n,t\n");
  EXPECT_EQ(ReadFile(dir.File("part-1.csv")), "name,n,t\n");
}

TEST(FileSink, OutputReadsBackThroughTheCsvSource) {
  TempDir dir;
  const int kRows = 60000;  // > 1 MiB of text: exercises the buffered write path
  for (int i = 0; i < 2; ++i) {
    auto sink = MakeFileSink({.path = dir.path(), .schema = Schema()});
    ASSERT_TRUE(sink->Open(Ctx(i, 2)).ok());
    CollectingOutput downstream(Schema());
    for (int b = 0; b < kRows / 1000; ++b) {
      ASSERT_TRUE(sink->ProcessBatch(Batch(1000, i * kRows + b * 1000), downstream).ok());
    }
    ASSERT_TRUE(sink->Finish(downstream).ok());
    sink->Close();
  }
  CsvSourceOptions opts;
  opts.paths = {dir.path()};
  opts.schema = Schema();
  auto source = MakeCsvFileSource(opts);
  ASSERT_TRUE(source->Open(Ctx(0, 1)).ok());
  CollectingOutput out(Schema());
  for (;;) {
    absl::StatusOr<bool> more = source->PollNext(out);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
  }
  ASSERT_EQ(out.rows.num_rows(), static_cast<size_t>(2 * kRows));
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    ASSERT_EQ(out.rows.GetInt64(r, 1), static_cast<int64_t>(r));
    ASSERT_EQ(out.rows.GetString(r, 0), r % 2 ? "a,b" : "plain");
  }
}

}  // namespace
}  // namespace sluice::connectors
