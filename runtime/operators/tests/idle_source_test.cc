// Source idleness (WithIdleness): no record for the timeout marks the output IDLE once; while
// idle, watermarks are held back; the next record marks it ACTIVE before the record; the final
// kMaxWatermark of a bounded input passes (after ACTIVE). State calls reach the wrapped source.

#include "runtime/operators/idle_source.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/operators/tests/window_test_util.h"

namespace sluice::operators {
namespace {

using ::testing::ElementsAre;

// Emits what the test queued for the next poll: a batch of n rows (n > 0), a watermark (n < 0
// is -watermark), or nothing (n == 0); the end after `last`.
class ScriptedSource final : public api::Source {
 public:
  core::SchemaPtr output_schema() const override { return testing::InputSchema(); }
  absl::Status Open(const api::OperatorContext&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> PollNext(api::Output& out) override {
    const int64_t n = next;
    next = 0;
    if (n > 0) {
      core::RecordBatch b(testing::InputSchema());
      for (int64_t i = 0; i < n; ++i) testing::AddRow(&b, i, "ATL", 1, 0);
      RETURN_IF_ERROR(out.Emit(b));
    } else if (n < 0) {
      RETURN_IF_ERROR(out.EmitWatermark(-n));
    }
    if (last) RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return !last;
  }
  absl::StatusOr<std::string> SnapshotState(int64_t id) override {
    return "state-" + std::to_string(id);
  }
  int64_t next = 0;
  bool last = false;
};

class Recording final : public api::Output {
 public:
  absl::Status Emit(const core::RecordBatch& b) override {
    events.push_back("rows:" + std::to_string(b.num_rows()));
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    events.push_back(wm == api::kMaxWatermark ? "wm:max" : "wm:" + std::to_string(wm));
    return absl::OkStatus();
  }
  absl::Status EmitWatermarkStatus(api::WatermarkStatus s) override {
    events.push_back(s == api::WatermarkStatus::kIdle ? "idle" : "active");
    return absl::OkStatus();
  }
  std::vector<std::string> events;
};

TEST(IdleSource, GoesIdleWithoutRecordsAndActiveWithTheNext) {
  ManualClock clock(0);
  auto inner = std::make_unique<ScriptedSource>();
  ScriptedSource* script = inner.get();
  auto src = WithIdleness(std::move(inner), 1000, &clock);
  ASSERT_TRUE(src->Open(api::OperatorContext{}).ok());
  Recording out;
  script->next = 2;
  ASSERT_TRUE(*src->PollNext(out));
  script->next = -5;
  clock.Advance(999);
  ASSERT_TRUE(*src->PollNext(out));  // not yet idle: the watermark passes
  clock.Advance(1);
  ASSERT_TRUE(*src->PollNext(out));  // 1 s without records: idle
  ASSERT_TRUE(*src->PollNext(out));  // stays idle, reported once
  script->next = -7;
  ASSERT_TRUE(*src->PollNext(out));  // held back while idle
  script->next = 3;
  ASSERT_TRUE(*src->PollNext(out));  // active again before the rows
  clock.Advance(5000);
  ASSERT_TRUE(*src->PollNext(out));
  script->last = true;
  ASSERT_FALSE(*src->PollNext(out));  // the end of input passes, after becoming active
  EXPECT_THAT(out.events, ElementsAre("rows:2", "wm:5", "idle", "active", "rows:3", "idle",
                                      "active", "wm:max"));
  EXPECT_EQ(*src->SnapshotState(4), "state-4");
}

}  // namespace
}  // namespace sluice::operators
