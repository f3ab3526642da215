// Known values computed by running Flink's MathUtils.murmurHash and KeyGroupRangeAssignment
// formulas, and Java's own String/Long/Double.hashCode, on OpenJDK 17 (see the table below).
#include "runtime/core/key_groups.h"

#include "gtest/gtest.h"

namespace sluice::core {
namespace {

struct StringCase {
  const char* key;
  int32_t java_hash;
  int32_t key_group_128;
  int32_t operator_of_4;
  int32_t key_group_1000;
};

constexpr StringCase kStrings[] = {
    {"ATL", 65145, 39, 1, 55},          {"ORD", 78529, 109, 3, 437},
    {"DFW", 67605, 97, 3, 873},         {"LAX", 75139, 10, 0, 186},
    {"SFO", 82012, 55, 1, 303},         {"JFK", 73359, 118, 3, 942},
    {"", 0, 94, 2, 54},                 {"ANC", 64950, 103, 3, 575},
    {"Zürich", -1482116162, 89, 2, 977}, {"日本", 835047, 95, 2, 263},
    {"😀x", 54959989, 60, 1, 508},
};

TEST(KeyGroups, StringKeysMatchFlink) {
  for (const auto& c : kStrings) {
    SCOPED_TRACE(c.key);
    int32_t h = JavaStringHash(c.key);
    EXPECT_EQ(h, c.java_hash);
    EXPECT_EQ(ComputeKeyGroupForKeyHash(h, 128), c.key_group_128);
    EXPECT_EQ(ComputeOperatorIndexForKeyGroup(128, 4, c.key_group_128), c.operator_of_4);
    EXPECT_EQ(AssignKeyHashToParallelOperator(h, 128, 4), c.operator_of_4);
    EXPECT_EQ(ComputeKeyGroupForKeyHash(h, 1000), c.key_group_1000);
  }
}

TEST(KeyGroups, LongDoubleBooleanHashesMatchJava) {
  struct L { int64_t v; int32_t hash; int32_t kg128; };
  const L longs[] = {{0, 0, 94},           {1, 1, 86},     {-1, 0, 94},
                     {42, 42, 29},         {int64_t{1} << 40, 256, 54},
                     {INT64_MIN, INT32_MIN, 108}, {978307260000LL, -945283453, 93}};
  for (const auto& l : longs) {
    EXPECT_EQ(JavaLongHash(l.v), l.hash) << l.v;
    EXPECT_EQ(ComputeKeyGroupForKeyHash(l.hash, 128), l.kg128) << l.v;
  }
  EXPECT_EQ(JavaDoubleHash(0.0), 0);
  EXPECT_EQ(JavaDoubleHash(-0.0), INT32_MIN);
  EXPECT_EQ(JavaDoubleHash(1.5), 1073217536);
  EXPECT_EQ(JavaDoubleHash(-3.25), -1073086464);
  EXPECT_EQ(JavaDoubleHash(1e300), -164130400);
  EXPECT_EQ(JavaBooleanHash(true), 1231);
  EXPECT_EQ(JavaBooleanHash(false), 1237);
  // Tuple2.of("ATL", 7L).hashCode() == 31 * "ATL".hashCode() + Long.hashCode(7)
  EXPECT_EQ(CombineHash(CombineHash(0, JavaStringHash("ATL")), JavaLongHash(7)), 2019502);
}

TEST(KeyGroups, MurmurHashMatchesFlinkIncludingEdges) {
  EXPECT_EQ(MurmurHash(0), 593689054);
  EXPECT_EQ(MurmurHash(1), 68075478);
  EXPECT_EQ(MurmurHash(-1), 1982413648);
  EXPECT_EQ(MurmurHash(INT32_MIN), 1718298732);
  EXPECT_EQ(MurmurHash(INT32_MAX), 1653689534);
  EXPECT_EQ(MurmurHash(123456789), 1088346449);
}

TEST(KeyGroups, RangesForOperatorIndexMatchFlink) {
  using R = KeyGroupRange;
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 4, 0), (R{0, 31}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 4, 3), (R{96, 127}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 3, 1), (R{43, 85}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 5, 2), (R{52, 76}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 5, 4), (R{103, 127}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 1, 0), (R{0, 127}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(128, 128, 7), (R{7, 7}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(32768, 7, 6), (R{28087, 32767}));
  EXPECT_EQ(ComputeKeyGroupRangeForOperatorIndex(10, 3, 1), (R{4, 6}));
}

TEST(KeyGroups, RangesPartitionAllKeyGroupsAndAgreeWithOperatorIndex) {
  for (int32_t max_p : {1, 7, 10, 128, 1000}) {
    for (int32_t p = 1; p <= std::min(max_p, 17); ++p) {
      int32_t next = 0;
      for (int32_t i = 0; i < p; ++i) {
        KeyGroupRange r = ComputeKeyGroupRangeForOperatorIndex(max_p, p, i);
        ASSERT_EQ(r.start, next) << max_p << " " << p << " " << i;
        for (int32_t g = r.start; g <= r.end; ++g) {
          ASSERT_EQ(ComputeOperatorIndexForKeyGroup(max_p, p, g), i);
        }
        next = r.end + 1;
      }
      ASSERT_EQ(next, max_p);
    }
  }
}

TEST(KeyGroups, DefaultMaxParallelismAndPreconditions) {
  EXPECT_EQ(ComputeDefaultMaxParallelism(1), 128);
  EXPECT_EQ(ComputeDefaultMaxParallelism(85), 128);
  EXPECT_EQ(ComputeDefaultMaxParallelism(86), 256);
  EXPECT_EQ(ComputeDefaultMaxParallelism(30000), 32768);
  EXPECT_TRUE(CheckParallelism(4, 128).ok());
  auto s = CheckParallelism(200, 128);
  EXPECT_EQ(s.message(), "parallelism 200 is above max parallelism 128 (the number of key groups)");
  EXPECT_FALSE(CheckParallelism(1, 40000).ok());
  EXPECT_FALSE(CheckParallelism(0, 128).ok());
}

}  // namespace
}  // namespace sluice::core
