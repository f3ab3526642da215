// The split flat-map: one row per part in order with the input fields and timestamp repeated,
// no rows for null or empty fields, empty parts dropped unless kept, multi-character
// delimiters, input views (a filter's output) read through their selection, and spec errors.

#include "runtime/operators/split_operator.h"

#include "gtest/gtest.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/tests/window_test_util.h"

namespace sluice::operators {
namespace {

using testing::CollectingOutput;

core::SchemaPtr Schema() {
  return std::make_shared<const core::Schema>(
      std::vector<core::Field>{{"id", core::Type::kInt64}, {"tags", core::Type::kString}});
}

core::RecordBatch Rows(const std::vector<std::optional<std::string>>& tags) {
  core::RecordBatch b(Schema());
  int64_t id = 0;
  for (const auto& t : tags) {
    const size_t r = b.AppendRow(100 + id);
    b.SetInt64(r, 0, id++);
    if (t) b.SetString(r, 1, *t);
    else b.SetNull(r, 1);
  }
  return b;
}

std::unique_ptr<api::Operator> Make(SplitSpec spec) {
  auto op = MakeSplit(Schema(), std::move(spec));
  EXPECT_TRUE(op.ok()) << op.status();
  EXPECT_TRUE((*op)->Open(api::OperatorContext{}).ok());
  return *std::move(op);
}

TEST(Split, OneRowPerPartWithTheInputFieldsAndTimestamp) {
  auto op = Make({"tags", ",", "tag"});
  EXPECT_EQ(op->output_schema()->HeaderLine(), "id,tags,tag");
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(Rows({"a,b", "", std::nullopt, "c,,d", "e"}), out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"0,\"a,b\",a", "0,\"a,b\",b", "3,\"c,,d\",c",
                                                "3,\"c,,d\",d", "4,e,e"}));
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{100, 100, 103, 103, 104}));
}

TEST(Split, KeepsEmptyPartsAndTakesLongDelimiters) {
  auto op = Make({"tags", "::", "tag", /*keep_empty=*/true});
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(Rows({"x::::y", "a:b"}), out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"0,x::::y,x", "0,x::::y,\"\"", "0,x::::y,y",
                                                "1,a:b,a:b"}));  // "" is the empty part
}

TEST(Split, ReadsAViewThroughItsSelection) {
  auto op = Make({"tags", ",", "tag"});
  core::RecordBatch base = Rows({"a", "b,c", "d"});
  core::RecordBatch view;
  view.ResetAsView(base);
  view.SelectRowOf(base, 1);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(view, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"1,\"b,c\",b", "1,\"b,c\",c"}));
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{101, 101}));
}

TEST(Split, BadSpecsAreRefused) {
  EXPECT_EQ(MakeSplit(Schema(), {"nope", ",", "t"}).status().message(),
            "split: unknown field 'nope' (fields: id,tags)");
  EXPECT_EQ(MakeSplit(Schema(), {"id", ",", "t"}).status().message(),
            "split: field 'id' is int64, expected string");
  EXPECT_EQ(MakeSplit(Schema(), {"tags", "", "t"}).status().message(),
            "split: the delimiter must not be empty");
  EXPECT_EQ(MakeSplit(Schema(), {"tags", ",", "id"}).status().message(),
            "split: 'as' must name a new field, 'id' is an input field");
}

}  // namespace
}  // namespace sluice::operators
