#include "runtime/core/time_format.h"

#include "gtest/gtest.h"

namespace sluice::core {
namespace {

TEST(TimeFormat, ParsesIsoForms) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTimestamp("2001-01-01T00:01:00Z"), 978307260000LL);
  EXPECT_EQ(*ParseTimestamp("2001-01-01T00:01Z"), 978307260000LL);
  EXPECT_EQ(*ParseTimestamp("2001-01-01 00:01:00"), 978307260000LL);
  EXPECT_EQ(*ParseTimestamp("2001-01-01"), 978307200000LL);
  EXPECT_EQ(*ParseTimestamp("2001-01-01T01:01:00+01:00"), 978307260000LL);
  EXPECT_EQ(*ParseTimestamp("2001-01-01T00:01:00.250Z"), 978307260250LL);
  EXPECT_EQ(*ParseTimestamp("2000-02-29T00:00:00Z"), 951782400000LL);
  EXPECT_EQ(*ParseTimestamp("1969-12-31T23:59:59Z"), -1000);
}

TEST(TimeFormat, RejectsMalformed) {
  for (const char* bad : {"", "2001", "2001-13-01", "2001-02-29", "2001-01-01T25:00",
                          "2001-01-01T00:00:00Q", "01/01/2001", "2001-01-01T00:00:00.Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

TEST(TimeFormat, FormatsUtcAndRoundTrips) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(978307260000LL), "2001-01-01T00:01:00Z");
  EXPECT_EQ(FormatTimestamp(978307260250LL), "2001-01-01T00:01:00.250Z");
  EXPECT_EQ(FormatTimestamp(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatTimestamp(253402300800001LL), "10000-01-01T00:00:00.001Z");  // printf path
  for (int64_t t : {0LL, 951782400000LL, 4102444799999LL, -86400001LL}) {
    EXPECT_EQ(*ParseTimestamp(FormatTimestamp(t)), t);
  }
}

}  // namespace
}  // namespace sluice::core
