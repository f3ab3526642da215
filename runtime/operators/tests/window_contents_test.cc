// The window state's snapshot encoding: state written before per-aggregate null counts existed
// (savepoints of earlier releases) still reads, and the current encoding round-trips.
#include "runtime/operators/window_contents.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice::operators {
namespace {

using Codec = state::Serializer<WindowContents>;

TEST(WindowContents, StateOfEarlierReleasesCountsEveryInput) {
  // The encoding before nulls: count, varint number of accumulators, the accumulators.
  std::string old;
  state::ByteWriter w(&old);
  w.WriteI64(3);
  w.WriteVarint64(2);
  w.WriteI64(42);
  w.WriteI64(-7);
  WindowContents c;
  state::ByteReader r(old);
  ASSERT_TRUE(Codec::Read(r, &c).ok());
  EXPECT_EQ(c.count, 3);
  ASSERT_EQ(c.accs.size(), 2u);
  EXPECT_EQ(c.accs[0].i64, 42);
  EXPECT_EQ(c.accs[1].i64, -7);
  EXPECT_EQ(c.valid, (absl::InlinedVector<int64_t, 4>{3, 3}));
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WindowContents, ValidCountsRoundTripAndTruncationIsDataLoss) {
  WindowContents c;
  c.count = 5;
  c.accs.resize(2);
  c.accs[0].i64 = 9;
  c.accs[1].f64 = 2.5;
  c.valid = {4, 0};
  std::string bytes;
  state::ByteWriter w(&bytes);
  Codec::Write(c, w);
  WindowContents back;
  state::ByteReader r(bytes);
  ASSERT_TRUE(Codec::Read(r, &back).ok());
  EXPECT_EQ(back.count, 5);
  EXPECT_EQ(back.accs[0].i64, 9);
  EXPECT_EQ(back.accs[1].f64, 2.5);
  EXPECT_EQ(back.valid, c.valid);
  for (size_t n = 0; n < bytes.size(); ++n) {
    state::ByteReader cut(std::string_view(bytes).substr(0, n));
    WindowContents x;
    EXPECT_FALSE(Codec::Read(cut, &x).ok()) << n;
  }
}

}  // namespace
}  // namespace sluice::operators
