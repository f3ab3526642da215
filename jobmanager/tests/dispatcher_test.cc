// The Dispatcher: submission compiles the spec and starts a JobMaster, bad specs are refused
// with their location, lookups by id, listings in submission order, shutdown.

#include "jobmanager/dispatcher.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobmanager/tests/window_spec.h"
#include "runtime/base/testing/wait_until.h"

namespace sluice::jobmanager {
namespace {

using ::testing::HasSubstr;
using sluice::testing::WaitUntil;

// Never has slots: jobs wait in CREATED.
class NoSlots final : public SlotProvider {
 public:
  void RequestSlots(const JobId&, int n, std::function<void(std::vector<Slot>)>,
                    std::function<void(std::string)> waiting) override {
    waiting("waiting for " + std::to_string(n) + " slots");
  }
  void ReleaseSlots(const JobId&) override {}
};

job::JobSubmission Spec(const std::string& yaml) { return {yaml, "job.yaml", "/base", 0}; }

TEST(Dispatcher, SubmittedJobsAreListedInOrderAndFoundById) {
  NoSlots slots;
  Dispatcher d(JobMasterOptions{}, "", &slots);
  auto a = d.SubmitJob(Spec(testing_specs::WindowSpec("first", 2)), {});
  auto b = d.SubmitJob(Spec(testing_specs::WindowSpec("second", 1)), {});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*a, *b);
  std::vector<JobSummaryView> jobs = d.ListJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].name, "first");
  EXPECT_EQ(jobs[1].name, "second");
  auto found = d.Lookup(a->ToString());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->id(), *a);
  ASSERT_TRUE(WaitUntil([&] { return !(*found)->Summary().status_message.empty(); }));
  EXPECT_EQ((*found)->Summary().state, graph::JobStatus::kCreated);
  EXPECT_EQ(d.Lookup(JobId::Random()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(d.Lookup("not-an-id").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Dispatcher, ABadSpecIsRefusedWithItsLocationAndNotStored) {
  NoSlots slots;
  Dispatcher d(JobMasterOptions{}, "", &slots);
  auto bad = d.SubmitJob(Spec("name: x\nsource: {type: file}\nsink: {type: print}\n"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("job.yaml:2:9: source: missing"));
  EXPECT_TRUE(d.ListJobs().empty());
  // A job that compiles but cannot run as given (a restore without checkpointing).
  auto restore = d.SubmitJob(Spec(testing_specs::WindowSpec("r", 1)), SubmitOptions{"/nope", false});
  ASSERT_FALSE(restore.ok());
  EXPECT_THAT(std::string(restore.status().message()), HasSubstr("needs a job with checkpointing"));
  EXPECT_TRUE(d.ListJobs().empty());
}

TEST(Dispatcher, ShutdownCancelsJobsAndRefusesNewOnes) {
  NoSlots slots;
  Dispatcher d(JobMasterOptions{}, "", &slots);
  auto id = d.SubmitJob(Spec(testing_specs::WindowSpec("a", 1)), {});
  ASSERT_TRUE(id.ok());
  d.Shutdown();
  EXPECT_EQ(d.ListJobs().at(0).state, graph::JobStatus::kCanceled);
  EXPECT_EQ(d.SubmitJob(Spec(testing_specs::WindowSpec("b", 1)), {}).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sluice::jobmanager
