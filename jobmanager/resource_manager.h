#pragma once
// ResourceManager: the cluster's TaskManagers and their slots (Flink's ResourceManager with
// its SlotManager, without active resource providers): registration and re-registration,
// liveness through the HeartbeatManager and session streams, and slot requests of JobMasters,
// served in submission order while slots are free. A job takes all its slots at once (slot
// sharing: slot i hosts subtask i of every vertex, Flink's default slot sharing group), spread
// over TaskManagers, each slot from the TaskManager with most free slots.
//
// Threading: thread-safe (one mutex); callbacks (allocations, losses) run after it is released,
// on the calling thread, so a JobMaster's callbacks must only post to its executor.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/ids.h"
#include "jobmanager/heartbeat_manager.h"
#include "jobmanager/task_executor_gateway.h"
#include "runtime/metrics/process_metrics.h"

namespace sluice::jobmanager {

struct TaskManagerInfo {
  std::string resource_id;
  std::string address;  // host:port of its gRPC services
  int slots = 0;
  int free_slots = 0;
  int cpu_cores = 0;
  int64_t memory_bytes = 0;
  int64_t last_heartbeat_ms = 0;  // epoch ms
  int64_t registered_ms = 0;      // epoch ms
  int metrics_port = 0;           // its Prometheus endpoint, 0 = none
  metrics::ProcessMetrics process;  // as of its last heartbeat
  std::vector<std::string> allocated_jobs;  // TaskManagers(): the job of each allocated slot
};

// One slot given to a job.
struct Slot {
  std::string resource_id;
  std::string address;
  TaskExecutorGatewayPtr gateway;
};

// Where a JobMaster gets its slots (the ResourceManager; a fake in tests).
class SlotProvider {
 public:
  virtual ~SlotProvider() = default;
  // Asks for `slots` slots for `job`; `allocated` runs once they are given (possibly at once),
  // `waiting` whenever the request had to wait, with a message saying why.
  virtual void RequestSlots(const JobId& job, int slots,
                            std::function<void(std::vector<Slot>)> allocated,
                            std::function<void(std::string)> waiting) = 0;
  // Returns the job's slots (and drops a pending request of it).
  virtual void ReleaseSlots(const JobId& job) = 0;
};

class ResourceManager final : public SlotProvider {
 public:
  using GatewayFactory = std::function<TaskExecutorGatewayPtr(const std::string& address)>;
  // A TaskManager is gone; `cause` says why (for exception histories).
  using LossListener = std::function<void(const std::string& resource_id, const std::string& cause)>;

  ResourceManager(GatewayFactory gateways, int64_t heartbeat_timeout_ms, LossListener on_lost);

  // (Re-)registers a TaskManager; a second registration of the same resource id first loses the
  // old one (it restarted). Returns the registration number its session must name.
  int64_t Register(TaskManagerInfo info);
  // Known TaskManager (its heartbeat and process metrics are recorded): true; unknown: false
  // (it must re-register).
  bool Heartbeat(const std::string& resource_id, const metrics::ProcessMetrics& process = {});
  // How a session stream ended: broken (the process died, the network failed) is a loss, logged
  // as a warning; closed by the TaskManager is its orderly shutdown (Flink's
  // disconnectTaskManager), logged as info. Either way its slots and tasks are gone.
  enum class SessionEnd { kBroken, kClosedByTaskManager };
  // Registration `registration`'s session stream ended: the TaskManager is gone unless it
  // registered again meanwhile. `why` is appended to the cause.
  void SessionClosed(const std::string& resource_id, int64_t registration, const std::string& why,
                     SessionEnd end = SessionEnd::kBroken);
  int64_t CurrentRegistration(const std::string& resource_id);  // 0 if unknown
  // Loses every TaskManager silent for longer than the heartbeat timeout.
  void CheckHeartbeats();

  void RequestSlots(const JobId& job, int slots, std::function<void(std::vector<Slot>)> allocated,
                    std::function<void(std::string)> waiting) override;
  // Waiting jobs may get the released slots.
  void ReleaseSlots(const JobId& job) override;
  // The gateway of a registered TaskManager, or null.
  TaskExecutorGatewayPtr Gateway(const std::string& resource_id);

  std::vector<TaskManagerInfo> TaskManagers();
  int TotalSlots();

 private:
  struct Record {
    TaskManagerInfo info;
    int64_t registration = 0;
    TaskExecutorGatewayPtr gateway;
  };
  struct Request {
    JobId job;
    int slots = 0;
    std::function<void(std::vector<Slot>)> allocated;
    std::function<void(std::string)> waiting;
  };
  using Deferred = std::vector<std::function<void()>>;
  void LoseLocked(const std::string& resource_id, const std::string& why, Deferred* out,
                  SessionEnd end = SessionEnd::kBroken);
  void ServeLocked(Deferred* out);
  static void Run(Deferred& calls) {
    for (auto& c : calls) c();
  }

  GatewayFactory gateways_;
  LossListener on_lost_;
  std::mutex mu_;
  HeartbeatManager heartbeats_;
  std::map<std::string, Record> taskmanagers_;
  std::deque<Request> pending_;
  std::map<JobId, std::vector<std::string>> allocations_;  // job -> resource id per slot
  int64_t registrations_ = 0;
};

}  // namespace sluice::jobmanager
