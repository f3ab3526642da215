#include "runtime/state/serialization.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::state {
namespace {

TEST(SerializationTest, FixedVarintAndStringRoundTrip) {
  std::string buf;
  ByteWriter w(&buf);
  w.WriteI32(-5);
  w.WriteI64(std::numeric_limits<int64_t>::min());
  w.WriteDouble(3.25);
  w.WriteU8(200);
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     std::numeric_limits<uint64_t>::max()}) {
    w.WriteVarint64(v);
  }
  w.WriteString(std::string("h\0llo", 5));
  size_t patch = w.ReserveFixed64();
  w.PatchFixed64(patch, 42);

  ByteReader r(buf);
  int32_t i32;
  int64_t i64;
  double d;
  uint8_t u8;
  ASSERT_TRUE(r.ReadI32(&i32).ok());
  ASSERT_TRUE(r.ReadI64(&i64).ok());
  ASSERT_TRUE(r.ReadDouble(&d).ok());
  ASSERT_TRUE(r.ReadU8(&u8).ok());
  EXPECT_EQ(i32, -5);
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(d, 3.25);
  EXPECT_EQ(u8, 200);
  for (uint64_t want : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                        std::numeric_limits<uint64_t>::max()}) {
    uint64_t v;
    ASSERT_TRUE(r.ReadVarint64(&v).ok());
    EXPECT_EQ(v, want);
  }
  std::string s;
  ASSERT_TRUE(r.ReadString(&s).ok());
  EXPECT_EQ(s, std::string("h\0llo", 5));
  uint64_t p;
  ASSERT_TRUE(r.ReadFixed64(&p).ok());
  EXPECT_EQ(p, 42u);
  EXPECT_TRUE(r.at_end());
}

TEST(SerializationTest, TruncatedAndMalformedInputIsDataLoss) {
  std::string buf;
  ByteWriter w(&buf);
  w.WriteString("abcdef");
  ByteReader r(std::string_view(buf).substr(0, 4));
  std::string s;
  absl::Status st = r.ReadString(&s);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);

  std::string bad_varint(11, static_cast<char>(0xff));
  ByteReader r2(bad_varint);
  uint64_t v;
  EXPECT_EQ(r2.ReadVarint64(&v).code(), absl::StatusCode::kDataLoss);

  ByteReader r3("\x01\x02");
  int64_t i;
  st = r3.ReadI64(&i);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(st.message()).find("offset 0"), std::string::npos) << st;

  ByteReader r4("\x05");
  bool b;
  EXPECT_EQ(Serializer<bool>::Read(r4, &b).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ByteReader("ab").Seek(3).code(), absl::StatusCode::kDataLoss);
}

TEST(SerializationTest, ContainersRoundTripAndHugeCountsAreRefused) {
  std::vector<std::string> vec = {"a", "", "ccc"};
  absl::flat_hash_map<std::string, std::vector<int64_t>> map = {{"x", {1, 2}}, {"y", {}}};
  std::string buf;
  ByteWriter w(&buf);
  Serializer<std::vector<std::string>>::Write(vec, w);
  Serializer<decltype(map)>::Write(map, w);
  ByteReader r(buf);
  std::vector<std::string> vec2;
  decltype(map) map2;
  ASSERT_TRUE(Serializer<std::vector<std::string>>::Read(r, &vec2).ok());
  ASSERT_TRUE(Serializer<decltype(map)>::Read(r, &map2).ok());
  EXPECT_EQ(vec, vec2);
  EXPECT_EQ(map, map2);

  std::string huge;
  ByteWriter hw(&huge);
  hw.WriteVarint64(uint64_t{1} << 40);
  ByteReader hr(huge);
  std::vector<int64_t> out;
  EXPECT_EQ(Serializer<std::vector<int64_t>>::Read(hr, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(SerializationTest, ChecksumDetectsSingleBitFlips) {
  std::string data(1000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  const uint64_t base = Checksum64(data);
  EXPECT_EQ(base, Checksum64(data)) << "deterministic";
  for (size_t i = 0; i < data.size(); i += 13) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string c = data;
      c[i] = static_cast<char>(c[i] ^ (1 << bit));
      EXPECT_NE(Checksum64(c), base) << "byte " << i << " bit " << bit;
    }
  }
  EXPECT_NE(Checksum64(std::string_view(data).substr(0, 999)), base);
}

}  // namespace
}  // namespace sluice::state
