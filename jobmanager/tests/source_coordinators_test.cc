// SourceCoordinators: one split enumerator per FLIP-27 source vertex, restored from the
// checkpoint's coordinator state (or told it was restored without one), started once, told of
// (re)deployed readers, snapshotted by source uid, closed with the job.

#include "jobmanager/source_coordinators.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/job/job_compiler.h"

namespace sluice::jobmanager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records the calls it gets; shared with the test through a log.
struct Log {
  std::vector<std::string> calls;
  api::SplitEnumeratorContext* context = nullptr;
};

class FakeEnumerator final : public api::SplitEnumerator {
 public:
  explicit FakeEnumerator(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  absl::Status RestoreState(std::string_view state) override {
    if (state == "corrupt") return absl::DataLossError("bad bytes");
    log_->calls.push_back("restore:" + std::string(state));
    return absl::OkStatus();
  }
  void RestoredWithoutState() override { log_->calls.push_back("restored-without-state"); }
  absl::Status Start() override {
    log_->calls.push_back("start");
    return absl::OkStatus();
  }
  void AddReader(int32_t subtask) override { log_->calls.push_back("reader:" + std::to_string(subtask)); }
  absl::StatusOr<std::string> SnapshotState(int64_t id) override { return "state@" + std::to_string(id); }
  void Close() override { log_->calls.push_back("close"); }

 private:
  std::shared_ptr<Log> log_;
};

// A graph with one source vertex whose enumerator factory is the fake.
graph::JobGraph GraphWithEnumerator(std::shared_ptr<Log> log) {
  auto g = job::CompileJob({R"(source: {type: file, path: a.csv, schema: {v: int64}, uid: src}
parallelism: 3
sink: {type: print}
)", "job.yaml", "/base", 0});
  EXPECT_TRUE(g.ok()) << g.status();
  g->vertices[0].source->enumerator = [log](api::SplitEnumeratorContext* ctx)
      -> absl::StatusOr<std::unique_ptr<api::SplitEnumerator>> {
    log->context = ctx;
    return std::unique_ptr<api::SplitEnumerator>(std::make_unique<FakeEnumerator>(log));
  };
  return std::move(*g);
}

TEST(SourceCoordinators, LifecycleFollowsTheJob) {
  auto log = std::make_shared<Log>();
  graph::JobGraph g = GraphWithEnumerator(log);
  std::vector<std::string> sent, failed;
  SourceCoordinators c;
  ASSERT_TRUE(c.Create(g,
                       {[&](int v, int32_t s, std::string e) {
                          sent.push_back(std::to_string(v) + "/" + std::to_string(s) + ":" + e);
                        },
                        [&](int, absl::Status cause) { failed.push_back(std::string(cause.message())); }},
                       {{"src", "old-state"}}, {"src"}, "/chk-3")
                  .ok());
  ASSERT_NE(log->context, nullptr);
  EXPECT_EQ(log->context->parallelism(), 3);
  log->context->SendEventToReader(2, "splits");  // through the hooks, tagged with the vertex
  log->context->FailJob(absl::UnavailableError("no brokers"));
  EXPECT_THAT(sent, ElementsAre("0/2:splits"));
  EXPECT_THAT(failed, ElementsAre("no brokers"));
  c.AddReader(0, 1);  // not started yet: ignored
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.StartAll().ok());  // a failover keeps it running: started once
  c.AddReader(0, 1);
  auto snap = c.Snapshot(9);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->at("src"), "state@9");
  auto closed = c.Close();
  EXPECT_EQ(closed.size(), 1u);
  EXPECT_TRUE(c.empty());
  EXPECT_THAT(log->calls, ElementsAre("restore:old-state", "start", "reader:1", "close"));
}

TEST(SourceCoordinators, RestoreWithoutEnumeratorStateAndCorruptState) {
  auto log = std::make_shared<Log>();
  graph::JobGraph g = GraphWithEnumerator(log);
  SourceCoordinators::Hooks hooks{[](int, int32_t, std::string) {}, [](int, absl::Status) {}};
  SourceCoordinators readers_only;
  ASSERT_TRUE(readers_only.Create(g, hooks, {}, {"src"}, "/old").ok());
  EXPECT_THAT(log->calls, ElementsAre("restored-without-state"));
  SourceCoordinators corrupt;
  absl::Status s = corrupt.Create(g, hooks, {{"src", "corrupt"}}, {"src"}, "/old");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("split enumerator of 'src'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("bad bytes"));
}

}  // namespace
}  // namespace sluice::jobmanager
