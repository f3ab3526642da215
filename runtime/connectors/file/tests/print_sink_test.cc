#include "runtime/connectors/file/print_sink.h"

#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/connectors/file/tests/test_util.h"

namespace sluice::connectors {
namespace {

using ::sluice::connectors::testing::CollectingOutput;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(
      std::vector<core::Field>{{"s", core::Type::kString}, {"n", core::Type::kInt64}});
}

core::RecordBatch Batch() {
  core::RecordBatch b(Schema());
  size_t r = b.AppendRow();
  b.SetString(r, 0, "ATL");
  b.SetInt64(r, 1, 1);
  r = b.AppendRow();
  b.SetString(r, 0, "x,y");
  b.SetInt64(r, 1, 2);
  return b;
}

std::string Print(int index, int parallelism) {
  std::ostringstream os;
  auto sink = MakePrintSink(Schema(), false, &os);
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  api::OperatorMetrics metrics;
  ctx.metrics = &metrics;
  EXPECT_TRUE(sink->Open(ctx).ok());
  CollectingOutput downstream(Schema());
  EXPECT_TRUE(sink->ProcessBatch(Batch(), downstream).ok());
  EXPECT_TRUE(sink->ProcessWatermark(42, downstream).ok());
  EXPECT_TRUE(sink->Finish(downstream).ok());
  sink->Close();
  EXPECT_EQ(downstream.batches, 0);
  EXPECT_TRUE(downstream.watermarks.empty());
  EXPECT_EQ(metrics.records_in.load(), 2);
  return os.str();
}

TEST(PrintSink, NoPrefixAtParallelismOne) { EXPECT_EQ(Print(0, 1), "ATL,1\n\"x,y\",2\n"); }

TEST(PrintSink, SubtaskPrefixAtHigherParallelism) {
  EXPECT_EQ(Print(1, 3), "2> ATL,1\n2> \"x,y\",2\n");
}

}  // namespace
}  // namespace sluice::connectors
