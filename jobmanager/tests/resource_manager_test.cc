// Tests of the ResourceManager (registration, slot requests and their order, releases, losses
// through re-registration, closed sessions and heartbeat timeouts) against fake TaskManager
// gateways, and of the HeartbeatManager's bookkeeping with explicit times. No sockets.
//
// The ResourceManager runs its callbacks on the calling thread once its lock is released, so
// every callback below has run when the call that caused it returns.

#include "jobmanager/resource_manager.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobmanager/heartbeat_manager.h"
#include "jobmanager/task_executor_gateway.h"
#include "runtime/base/ids.h"
#include "runtime/deployment/task_deployment_descriptor.h"

namespace sluice::jobmanager {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr int64_t kLongTimeoutMs = 3'600'000;  // no TaskManager times out during a test

// A TaskManager that accepts everything; it knows the address it was created for, so a test can
// tell which TaskManager a slot's gateway talks to.
class FakeTaskExecutorGateway final : public TaskExecutorGateway {
 public:
  explicit FakeTaskExecutorGateway(std::string address) : address_(std::move(address)) {}
  const std::string& address() const { return address_; }

  void SubmitTask(deployment::TaskDeploymentDescriptor, Callback done) override {
    done(absl::OkStatus());
  }
  void CancelTask(const JobId&, const ExecutionAttemptId&, Callback done) override {
    done(absl::OkStatus());
  }
  void TriggerCheckpoint(const JobId&, const ExecutionAttemptId&,
                         const CheckpointTrigger&) override {}
  void NotifyCheckpointComplete(const JobId&, const ExecutionAttemptId&, int64_t) override {}
  void NotifyCheckpointAborted(const JobId&, const ExecutionAttemptId&, int64_t) override {}
  void SendOperatorEvent(const JobId&, const ExecutionAttemptId&, int, int, std::string,
                         Callback done) override {
    done(absl::OkStatus());
  }

 private:
  std::string address_;
};

TaskManagerInfo Tm(const std::string& resource_id, int slots,
                   const std::string& address = "") {
  TaskManagerInfo info;
  info.resource_id = resource_id;
  info.address = address.empty() ? resource_id + ":6122" : address;
  info.slots = slots;
  info.cpu_cores = 4;
  info.memory_bytes = int64_t{1} << 30;
  return info;
}

// What one RequestSlots call got back.
struct SlotRequest {
  int allocated_calls = 0;
  std::vector<Slot> slots;
  std::vector<std::string> waiting;  // every `waiting` message, in order
};

struct Loss {
  std::string resource_id;
  std::string cause;
};

// Slots per resource id.
std::map<std::string, int> SlotsPerTaskManager(const std::vector<Slot>& slots) {
  std::map<std::string, int> n;
  for (const auto& s : slots) n[s.resource_id]++;
  return n;
}

class ResourceManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ResourceManager> MakeResourceManager(int64_t heartbeat_timeout_ms) {
    return std::make_unique<ResourceManager>(
        [this](const std::string& address) -> TaskExecutorGatewayPtr {
          created_.push_back(address);
          return std::make_shared<FakeTaskExecutorGateway>(address);
        },
        heartbeat_timeout_ms,
        [this](const std::string& resource_id, const std::string& cause) {
          losses_.push_back(Loss{resource_id, cause});
        });
  }

  // The request's outcome is shared with the callbacks, so it outlives a request still pending
  // when the test ends.
  std::shared_ptr<SlotRequest> Request(ResourceManager& rm, const JobId& job, int slots) {
    auto r = std::make_shared<SlotRequest>();
    rm.RequestSlots(
        job, slots,
        [r](std::vector<Slot> given) {
          r->allocated_calls++;
          r->slots = std::move(given);
        },
        [r](std::string why) { r->waiting.push_back(std::move(why)); });
    return r;
  }

  // free_slots of `resource_id` as TaskManagers() lists it; -1 if it is not listed.
  static int FreeSlots(ResourceManager& rm, const std::string& resource_id) {
    for (const auto& tm : rm.TaskManagers()) {
      if (tm.resource_id == resource_id) return tm.free_slots;
    }
    return -1;
  }

  std::vector<std::string> created_;  // addresses the gateway factory was called for
  std::vector<Loss> losses_;
  std::unique_ptr<ResourceManager> rm_ = MakeResourceManager(kLongTimeoutMs);
};

TEST_F(ResourceManagerTest, RegistrationMakesSlotsAvailableAndListsTheTaskManagers) {
  EXPECT_THAT(rm_->TaskManagers(), IsEmpty());
  EXPECT_EQ(rm_->TotalSlots(), 0);

  TaskManagerInfo a = Tm("tm-a", 2);
  a.free_slots = 0;  // the ResourceManager owns the free count: a new TaskManager is all free
  const int64_t reg_a = rm_->Register(a);
  const int64_t reg_b = rm_->Register(Tm("tm-b", 3));

  EXPECT_GT(reg_a, 0);
  EXPECT_NE(reg_a, reg_b);
  EXPECT_EQ(rm_->CurrentRegistration("tm-a"), reg_a);
  EXPECT_EQ(rm_->CurrentRegistration("tm-b"), reg_b);
  EXPECT_EQ(rm_->TotalSlots(), 5);

  const std::vector<TaskManagerInfo> tms = rm_->TaskManagers();
  ASSERT_EQ(tms.size(), 2u);
  std::map<std::string, TaskManagerInfo> by_id;
  for (const auto& tm : tms) by_id[tm.resource_id] = tm;
  ASSERT_EQ(by_id.count("tm-a"), 1u);
  ASSERT_EQ(by_id.count("tm-b"), 1u);
  EXPECT_EQ(by_id["tm-a"].address, "tm-a:6122");
  EXPECT_EQ(by_id["tm-a"].slots, 2);
  EXPECT_EQ(by_id["tm-a"].free_slots, 2);
  EXPECT_GT(by_id["tm-a"].last_heartbeat_ms, 0);
  EXPECT_EQ(by_id["tm-b"].slots, 3);
  EXPECT_EQ(by_id["tm-b"].free_slots, 3);

  // One gateway per TaskManager, made for its address.
  EXPECT_THAT(created_, ElementsAre("tm-a:6122", "tm-b:6122"));
  auto* gw = dynamic_cast<FakeTaskExecutorGateway*>(rm_->Gateway("tm-b").get());
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->address(), "tm-b:6122");
  EXPECT_EQ(rm_->Gateway("tm-unknown"), nullptr);

  // The registered slots can be taken at once.
  auto r = Request(*rm_, JobId::Random(), 5);
  EXPECT_EQ(r->allocated_calls, 1);
  EXPECT_EQ(r->slots.size(), 5u);
  EXPECT_THAT(losses_, IsEmpty());
}

TEST_F(ResourceManagerTest, RequestThatFitsIsAllocatedAtOnceOneSlotPerTaskManager) {
  rm_->Register(Tm("tm-a", 2));
  rm_->Register(Tm("tm-b", 2));

  auto r = Request(*rm_, JobId::Random(), 2);

  EXPECT_EQ(r->allocated_calls, 1);
  EXPECT_THAT(r->waiting, IsEmpty());
  ASSERT_EQ(r->slots.size(), 2u);
  EXPECT_THAT(SlotsPerTaskManager(r->slots), ElementsAre(Pair("tm-a", 1), Pair("tm-b", 1)));
  for (const Slot& s : r->slots) {
    EXPECT_EQ(s.address, s.resource_id + ":6122");
    EXPECT_EQ(s.gateway, rm_->Gateway(s.resource_id));
    auto* gw = dynamic_cast<FakeTaskExecutorGateway*>(s.gateway.get());
    ASSERT_NE(gw, nullptr);
    EXPECT_EQ(gw->address(), s.address);
  }
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 1);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 1);
}

TEST_F(ResourceManagerTest, EachSlotComesFromTheTaskManagerWithMostFreeSlots) {
  rm_->Register(Tm("tm-a", 3));
  rm_->Register(Tm("tm-b", 1));

  // tm-a has 3 free, then 2, both more than tm-b's 1: not round robin.
  auto first = Request(*rm_, JobId::Random(), 2);
  ASSERT_EQ(first->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(first->slots), ElementsAre(Pair("tm-a", 2)));

  // Now 1 and 1 free: one from each.
  auto second = Request(*rm_, JobId::Random(), 2);
  ASSERT_EQ(second->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(second->slots), ElementsAre(Pair("tm-a", 1), Pair("tm-b", 1)));
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 0);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 0);
}

TEST_F(ResourceManagerTest, RequestThatDoesNotFitWaitsUntilATaskManagerRegisters) {
  rm_->Register(Tm("tm-a", 2));

  auto r = Request(*rm_, JobId::Random(), 3);

  EXPECT_EQ(r->allocated_calls, 0);
  ASSERT_EQ(r->waiting.size(), 1u);
  EXPECT_THAT(r->waiting[0], HasSubstr("waiting for resources"));
  EXPECT_THAT(r->waiting[0], HasSubstr("needs 3 slots"));
  EXPECT_THAT(r->waiting[0], HasSubstr("2 of 2 are free on 1 TaskManager(s)"));
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 2);  // a waiting request holds nothing

  rm_->Register(Tm("tm-b", 1));

  EXPECT_EQ(r->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(r->slots), ElementsAre(Pair("tm-a", 2), Pair("tm-b", 1)));
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 0);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 0);
}

TEST_F(ResourceManagerTest, WaitingRequestsAreServedInSubmissionOrder) {
  const JobId first_job = JobId::Random();
  auto first = Request(*rm_, first_job, 2);
  auto second = Request(*rm_, JobId::Random(), 2);
  EXPECT_EQ(first->allocated_calls, 0);
  EXPECT_EQ(second->allocated_calls, 0);
  EXPECT_THAT(first->waiting, ::testing::Not(IsEmpty()));
  EXPECT_THAT(second->waiting, ::testing::Not(IsEmpty()));

  // Room for one of them: the one asked first.
  rm_->Register(Tm("tm-a", 2));
  EXPECT_EQ(first->allocated_calls, 1);
  EXPECT_EQ(second->allocated_calls, 0);

  // Its slots go to the next in line when it returns them.
  rm_->ReleaseSlots(first_job);
  EXPECT_EQ(second->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(second->slots), ElementsAre(Pair("tm-a", 2)));
  EXPECT_EQ(first->allocated_calls, 1);
}

TEST_F(ResourceManagerTest, LaterSmallRequestIsServedWhileEarlierBigOneWaits) {
  rm_->Register(Tm("tm-a", 2));

  auto big = Request(*rm_, JobId::Random(), 3);
  auto small = Request(*rm_, JobId::Random(), 1);

  // ServeLocked skips a request that does not fit and serves the ones behind it that do.
  EXPECT_EQ(big->allocated_calls, 0);
  EXPECT_EQ(small->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(small->slots), ElementsAre(Pair("tm-a", 1)));

  // 1 + 1 free: still not enough for 3.
  rm_->Register(Tm("tm-b", 1));
  EXPECT_EQ(big->allocated_calls, 0);
  ASSERT_THAT(big->waiting, ::testing::Not(IsEmpty()));
  EXPECT_THAT(big->waiting.back(), HasSubstr("needs 3 slots"));
  EXPECT_THAT(big->waiting.back(), HasSubstr("2 of 3 are free on 2 TaskManager(s)"));

  rm_->Register(Tm("tm-c", 1));
  EXPECT_EQ(big->allocated_calls, 1);
  EXPECT_THAT(SlotsPerTaskManager(big->slots),
              ElementsAre(Pair("tm-a", 1), Pair("tm-b", 1), Pair("tm-c", 1)));
  EXPECT_EQ(small->allocated_calls, 1);
}

TEST_F(ResourceManagerTest, ReleaseSlotsReturnsTheSlotsToTheirTaskManagers) {
  rm_->Register(Tm("tm-a", 2));
  rm_->Register(Tm("tm-b", 1));
  const JobId job = JobId::Random();
  auto r = Request(*rm_, job, 3);
  ASSERT_EQ(r->allocated_calls, 1);
  ASSERT_EQ(FreeSlots(*rm_, "tm-a"), 0);
  ASSERT_EQ(FreeSlots(*rm_, "tm-b"), 0);

  rm_->ReleaseSlots(job);

  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 2);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 1);
  // Releasing again returns nothing more.
  rm_->ReleaseSlots(job);
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 2);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 1);
  // And another job can have them.
  auto next = Request(*rm_, JobId::Random(), 3);
  EXPECT_EQ(next->allocated_calls, 1);
}

TEST_F(ResourceManagerTest, ReleaseSlotsDropsAPendingRequestOfTheJob) {
  rm_->Register(Tm("tm-a", 1));
  const JobId job = JobId::Random();
  auto r = Request(*rm_, job, 2);
  ASSERT_EQ(r->allocated_calls, 0);

  rm_->ReleaseSlots(job);
  rm_->Register(Tm("tm-b", 2));

  EXPECT_EQ(r->allocated_calls, 0);
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 1);
  EXPECT_EQ(FreeSlots(*rm_, "tm-b"), 2);
}

TEST_F(ResourceManagerTest, SecondRegistrationOfTheSameIdLosesTheFirst) {
  const int64_t first = rm_->Register(Tm("tm-a", 2, "host1:6122"));
  const JobId job = JobId::Random();
  auto r = Request(*rm_, job, 1);
  ASSERT_EQ(r->allocated_calls, 1);
  ASSERT_THAT(losses_, IsEmpty());

  // It restarted: a new process at another port with more slots.
  const int64_t second = rm_->Register(Tm("tm-a", 4, "host1:7000"));

  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_EQ(losses_[0].resource_id, "tm-a");
  EXPECT_THAT(losses_[0].cause, HasSubstr("registered again"));
  EXPECT_NE(second, first);
  EXPECT_EQ(rm_->CurrentRegistration("tm-a"), second);

  const std::vector<TaskManagerInfo> tms = rm_->TaskManagers();
  ASSERT_EQ(tms.size(), 1u);
  EXPECT_EQ(tms[0].address, "host1:7000");
  EXPECT_EQ(tms[0].slots, 4);
  EXPECT_EQ(tms[0].free_slots, 4);  // the old process's allocation died with it
  auto* gw = dynamic_cast<FakeTaskExecutorGateway*>(rm_->Gateway("tm-a").get());
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->address(), "host1:7000");

  // The job's slot was on the lost process: releasing it does not credit the new one.
  rm_->ReleaseSlots(job);
  EXPECT_EQ(FreeSlots(*rm_, "tm-a"), 4);
}

TEST_F(ResourceManagerTest, SessionClosedOfAStaleRegistrationDoesNothing) {
  const int64_t stale = rm_->Register(Tm("tm-a", 2));
  rm_->Register(Tm("tm-a", 2));
  losses_.clear();  // the re-registration's loss of the first process

  rm_->SessionClosed("tm-a", stale, "session stream closed");

  EXPECT_THAT(losses_, IsEmpty());
  EXPECT_EQ(rm_->TaskManagers().size(), 1u);
  EXPECT_TRUE(rm_->Heartbeat("tm-a"));
  EXPECT_NE(rm_->Gateway("tm-a"), nullptr);
}

TEST_F(ResourceManagerTest, SessionClosedByTheTaskManagerIsADisconnectNotALoss) {
  const int64_t current = rm_->Register(Tm("tm-a", 2));

  rm_->SessionClosed("tm-a", current, "it is shutting down",
                     ResourceManager::SessionEnd::kClosedByTaskManager);

  ASSERT_EQ(losses_.size(), 1u) << "its tasks are gone all the same";
  EXPECT_THAT(losses_[0].cause, HasSubstr("tm-a"));
  EXPECT_THAT(losses_[0].cause, HasSubstr("disconnected: it is shutting down"));
  EXPECT_THAT(losses_[0].cause, Not(HasSubstr("lost")));
  EXPECT_EQ(rm_->CurrentRegistration("tm-a"), 0);
  EXPECT_EQ(rm_->TotalSlots(), 0);
}

TEST_F(ResourceManagerTest, SessionClosedOfTheCurrentRegistrationLosesTheTaskManager) {
  rm_->Register(Tm("tm-b", 1));
  const int64_t current = rm_->Register(Tm("tm-a", 2));

  rm_->SessionClosed("tm-a", current, "session stream broken: connection reset");

  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_EQ(losses_[0].resource_id, "tm-a");
  EXPECT_THAT(losses_[0].cause, HasSubstr("connection reset"));
  const std::vector<TaskManagerInfo> tms = rm_->TaskManagers();
  ASSERT_EQ(tms.size(), 1u);
  EXPECT_EQ(tms[0].resource_id, "tm-b");
  EXPECT_FALSE(rm_->Heartbeat("tm-a"));
  EXPECT_EQ(rm_->CurrentRegistration("tm-a"), 0);
  EXPECT_EQ(rm_->Gateway("tm-a"), nullptr);
  EXPECT_EQ(rm_->TotalSlots(), 1);
  EXPECT_TRUE(rm_->Heartbeat("tm-b"));
}

TEST_F(ResourceManagerTest, HeartbeatOfAnUnknownTaskManagerReturnsFalse) {
  EXPECT_FALSE(rm_->Heartbeat("tm-a"));
  rm_->Register(Tm("tm-a", 1));
  EXPECT_TRUE(rm_->Heartbeat("tm-a"));
  EXPECT_FALSE(rm_->Heartbeat("tm-b"));
}

TEST_F(ResourceManagerTest, CheckHeartbeatsLosesATaskManagerSilentLongerThanTheTimeout) {
  auto rm = MakeResourceManager(/*heartbeat_timeout_ms=*/1);
  rm->Register(Tm("tm-a", 2));

  // The registration's heartbeat expires once more than 1 ms has passed: poll with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (losses_.empty() && std::chrono::steady_clock::now() < deadline) {
    rm->CheckHeartbeats();
    if (losses_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_EQ(losses_[0].resource_id, "tm-a");
  EXPECT_THAT(losses_[0].cause, HasSubstr("no heartbeat for"));
  EXPECT_THAT(losses_[0].cause, HasSubstr("heartbeat.timeout 1 ms"));
  EXPECT_THAT(rm->TaskManagers(), IsEmpty());
  EXPECT_FALSE(rm->Heartbeat("tm-a"));  // it must register again
  // Lost once, not on every later check.
  rm->CheckHeartbeats();
  EXPECT_EQ(losses_.size(), 1u);
}

TEST_F(ResourceManagerTest, HeartbeatingTaskManagerIsNotLostWithinTheTimeout) {
  rm_->Register(Tm("tm-a", 2));
  ASSERT_TRUE(rm_->Heartbeat("tm-a"));

  rm_->CheckHeartbeats();

  EXPECT_THAT(losses_, IsEmpty());
  EXPECT_EQ(rm_->TaskManagers().size(), 1u);
  EXPECT_TRUE(rm_->Heartbeat("tm-a"));
}

TEST(HeartbeatManagerTest, ExpiredListsTargetsSilentLongerThanTheTimeout) {
  HeartbeatManager hb(/*timeout_ms=*/100);
  EXPECT_EQ(hb.timeout_ms(), 100);
  EXPECT_THAT(hb.Expired(1'000'000), IsEmpty());

  hb.Record("tm-a", 1000);
  hb.Record("tm-b", 1050);

  // Exactly the timeout is not yet expired.
  EXPECT_THAT(hb.Expired(1100), IsEmpty());
  EXPECT_THAT(hb.Expired(1101), ElementsAre(Pair("tm-a", 101)));
  EXPECT_THAT(hb.Expired(1151), ElementsAre(Pair("tm-a", 151), Pair("tm-b", 101)));
  // Expired targets stay until removed.
  EXPECT_THAT(hb.Expired(1151), ElementsAre(Pair("tm-a", 151), Pair("tm-b", 101)));
}

TEST(HeartbeatManagerTest, RecordRefreshesATarget) {
  HeartbeatManager hb(100);
  hb.Record("tm-a", 1000);
  hb.Record("tm-b", 1000);

  hb.Record("tm-a", 1150);

  EXPECT_THAT(hb.Expired(1200), ElementsAre(Pair("tm-b", 200)));
  EXPECT_THAT(hb.Expired(1251), ElementsAre(Pair("tm-a", 101), Pair("tm-b", 251)));
}

TEST(HeartbeatManagerTest, RemoveForgetsATarget) {
  HeartbeatManager hb(100);
  hb.Record("tm-a", 1000);
  hb.Record("tm-b", 1000);

  hb.Remove("tm-a");
  hb.Remove("tm-unknown");  // no effect

  EXPECT_THAT(hb.Expired(5000), ElementsAre(Pair("tm-b", 4000)));
  hb.Remove("tm-b");
  EXPECT_THAT(hb.Expired(5000), IsEmpty());
}

}  // namespace
}  // namespace sluice::jobmanager
