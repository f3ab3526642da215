#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/base/durations.h"
#include "runtime/base/host_port.h"
#include "runtime/base/ids.h"
#include "runtime/base/serial_executor.h"
#include "runtime/base/status.h"

namespace sluice {
namespace {

TEST(Id128, PrintsAs32LowercaseHexAndParsesBack) {
  JobId id = JobId::Random();
  std::string s = id.ToString();
  ASSERT_EQ(s.size(), 32u);
  for (char c : s) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
  auto parsed = JobId::Parse(s);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(Id128(0x1, 0xab).ToString(), "000000000000000100000000000000ab");
}

TEST(HostPort, BracketsIpv6LiteralsOnly) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 6123), "127.0.0.1:6123");
  EXPECT_EQ(JoinHostPort("jobmanager", 6123), "jobmanager:6123");
  EXPECT_EQ(JoinHostPort("::1", 6123), "[::1]:6123");
  EXPECT_EQ(JoinHostPort("::", 0), "[::]:0");
  EXPECT_EQ(JoinHostPort("[fe80::1]", 80), "[fe80::1]:80");
}

TEST(Id128, RejectsBadText) {
  EXPECT_FALSE(JobId::Parse("abc").ok());
  EXPECT_FALSE(JobId::Parse(std::string(31, 'a') + "g").ok());
}

TEST(Durations, ParsesFlinkNotation) {
  EXPECT_EQ(*ParseDurationMs("500"), 500);
  EXPECT_EQ(*ParseDurationMs("500 ms"), 500);
  EXPECT_EQ(*ParseDurationMs("5s"), 5000);
  EXPECT_EQ(*ParseDurationMs("1 min"), 60000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(*ParseDurationMs("2 d"), 172800000);
  auto bad = ParseDurationMs("5 fortnights");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown unit 'fortnights'"), std::string::npos);
  EXPECT_FALSE(ParseDurationMs("soon").ok());
}

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError("odd");
  return x / 2;
}
absl::Status UseMacros(int x, int* out) {
  ASSIGN_OR_RETURN(int h, Half(x));
  RETURN_IF_ERROR(h > 10 ? absl::OutOfRangeError("big") : absl::OkStatus());
  *out = h;
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrorsAndValues) {
  int out = 0;
  EXPECT_TRUE(UseMacros(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseMacros(3, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UseMacros(40, &out).code(), absl::StatusCode::kOutOfRange);
}

TEST(SerialExecutor, RunsInOrderOnOneThread) {
  SerialExecutor ex;
  std::vector<int> seen;
  for (int i = 0; i < 100; ++i) ex.Post([&seen, i] { seen.push_back(i); });
  int n = ex.Call([&] { return static_cast<int>(seen.size()); });
  EXPECT_EQ(n, 100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

// An RPC that arrives while a daemon stops must get an answer, not a broken promise.
TEST(SerialExecutor, CallAfterShutdownRunsOnTheCallerOnceTheQueueDrained) {
  SerialExecutor ex;
  std::vector<int> seen;
  for (int i = 0; i < 50; ++i) ex.Post([&seen, i] { seen.push_back(i); });
  ex.Shutdown();
  EXPECT_FALSE(ex.Post([&seen] { seen.push_back(-1); }));  // dropped
  std::vector<std::thread> callers;
  std::atomic<int> answers{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      answers += ex.Call([&] {
        seen.push_back(100);  // serialised: no data race on `seen`
        return 1;
      });
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(answers.load(), 4);
  ASSERT_EQ(seen.size(), 54u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);  // queued work ran first
}

}  // namespace
}  // namespace sluice
