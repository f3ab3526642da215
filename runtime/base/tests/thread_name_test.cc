// SetCurrentThreadName: the kernel's view of the name, truncation at 15 bytes and at UTF-8
// character boundaries.
#include "runtime/base/thread_name.h"

#include <thread>

#include "gtest/gtest.h"

namespace sluice {
namespace {

TEST(ThreadName, AShortNameIsKeptWhole) { EXPECT_EQ(TruncateThreadName("exchange-read"), "exchange-read"); }

TEST(ThreadName, ALongNameIsCutAtFifteenBytes) {
  EXPECT_EQ(TruncateThreadName("1/2 Source: kafka -> Filter"), "1/2 Source: kaf");
}

TEST(ThreadName, AMultiByteCharacterIsNotSplit) {
  // 14 ASCII bytes, then "é" (2 bytes): byte 15 would be its first half.
  EXPECT_EQ(TruncateThreadName("abcdefghijklmn\xC3\xA9z"), "abcdefghijklmn");
}

TEST(ThreadName, TheThreadCarriesTheName) {
  std::string seen;
  std::thread t([&] {
    SetCurrentThreadName("1/2 Source: kafka -> Filter");
    seen = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(seen, "1/2 Source: kaf");
}

}  // namespace
}  // namespace sluice
