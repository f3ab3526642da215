#include "jobmanager/resource_manager.h"

#include <algorithm>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

ResourceManager::ResourceManager(GatewayFactory gateways, int64_t heartbeat_timeout_ms,
                                 LossListener on_lost)
    : gateways_(std::move(gateways)), on_lost_(std::move(on_lost)), heartbeats_(heartbeat_timeout_ms) {}

int64_t ResourceManager::Register(TaskManagerInfo info) {
  Deferred calls;
  int64_t registration;
  {
    std::lock_guard lock(mu_);
    if (taskmanagers_.count(info.resource_id)) {
      LoseLocked(info.resource_id, "TaskManager registered again (restarted)", &calls);
    }
    spdlog::info("Registering TaskManager {} at {} with {} slots", info.resource_id, info.address,
                 info.slots);
    Record r;
    info.free_slots = info.slots;
    info.last_heartbeat_ms = NowMillis();
    r.info = info;
    r.registration = registration = ++registrations_;
    r.gateway = gateways_(info.address);
    heartbeats_.Record(info.resource_id, MonotonicMillis());
    taskmanagers_[info.resource_id] = std::move(r);
    ServeLocked(&calls);
  }
  Run(calls);
  return registration;
}

bool ResourceManager::Heartbeat(const std::string& resource_id,
                                const metrics::ProcessMetrics& process) {
  std::lock_guard lock(mu_);
  auto it = taskmanagers_.find(resource_id);
  if (it == taskmanagers_.end()) return false;
  heartbeats_.Record(resource_id, MonotonicMillis());
  it->second.info.last_heartbeat_ms = NowMillis();
  it->second.info.process = process;
  return true;
}

int64_t ResourceManager::CurrentRegistration(const std::string& resource_id) {
  std::lock_guard lock(mu_);
  auto it = taskmanagers_.find(resource_id);
  return it == taskmanagers_.end() ? 0 : it->second.registration;
}

void ResourceManager::SessionClosed(const std::string& resource_id, int64_t registration,
                                    const std::string& why, SessionEnd end) {
  Deferred calls;
  {
    std::lock_guard lock(mu_);
    auto it = taskmanagers_.find(resource_id);
    if (it == taskmanagers_.end() || it->second.registration != registration) return;
    LoseLocked(resource_id, why, &calls, end);
    ServeLocked(&calls);
  }
  Run(calls);
}

void ResourceManager::CheckHeartbeats() {
  Deferred calls;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, silent_ms] : heartbeats_.Expired(MonotonicMillis())) {
      LoseLocked(id, fmt::format("no heartbeat for {} ms (heartbeat.timeout {} ms)", silent_ms,
                                 heartbeats_.timeout_ms()),
                 &calls);
    }
  }
  Run(calls);
}

void ResourceManager::LoseLocked(const std::string& resource_id, const std::string& why,
                                 Deferred* out, SessionEnd end) {
  auto it = taskmanagers_.find(resource_id);
  if (it == taskmanagers_.end()) return;
  const bool orderly = end == SessionEnd::kClosedByTaskManager;
  std::string cause = fmt::format("TaskManager {} at {} {}: {}", resource_id,
                                  it->second.info.address, orderly ? "disconnected" : "lost", why);
  if (orderly) {
    spdlog::info("{}", cause);
  } else {
    spdlog::warn("{}", cause);
  }
  taskmanagers_.erase(it);
  heartbeats_.Remove(resource_id);
  // Its slots are gone with it.
  for (auto& [job, slots] : allocations_) {
    slots.erase(std::remove(slots.begin(), slots.end(), resource_id), slots.end());
  }
  out->push_back([this, resource_id, cause] { on_lost_(resource_id, cause); });
}

void ResourceManager::RequestSlots(const JobId& job, int slots,
                                   std::function<void(std::vector<Slot>)> allocated,
                                   std::function<void(std::string)> waiting) {
  Deferred calls;
  {
    std::lock_guard lock(mu_);
    pending_.push_back(Request{job, slots, std::move(allocated), std::move(waiting)});
    ServeLocked(&calls);
  }
  Run(calls);
}

void ResourceManager::ReleaseSlots(const JobId& job) {
  Deferred calls;
  {
    std::lock_guard lock(mu_);
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [&](const Request& r) { return r.job == job; }),
                   pending_.end());
    auto it = allocations_.find(job);
    if (it != allocations_.end()) {
      for (const auto& tm : it->second) {
        auto t = taskmanagers_.find(tm);
        if (t != taskmanagers_.end()) t->second.info.free_slots++;
      }
      allocations_.erase(it);
    }
    ServeLocked(&calls);
  }
  Run(calls);
}

// Serves waiting requests in submission order while they fit.
void ResourceManager::ServeLocked(Deferred* out) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int free = 0, total = 0;
    for (const auto& [id, tm] : taskmanagers_) {
      free += tm.info.free_slots;
      total += tm.info.slots;
    }
    if (free < it->slots) {
      out->push_back([waiting = it->waiting,
                      msg = fmt::format("waiting for resources: the job needs {} slots, {} of {} "
                                        "are free on {} TaskManager(s)",
                                        it->slots, free, total, taskmanagers_.size())] { waiting(msg); });
      ++it;
      continue;
    }
    std::vector<Slot> slots;
    auto& held = allocations_[it->job];
    for (int i = 0; i < it->slots; ++i) {
      Record* best = nullptr;
      for (auto& [id, tm] : taskmanagers_) {
        if (tm.info.free_slots > 0 && (!best || tm.info.free_slots > best->info.free_slots)) best = &tm;
      }
      best->info.free_slots--;
      held.push_back(best->info.resource_id);
      slots.push_back(Slot{best->info.resource_id, best->info.address, best->gateway});
    }
    out->push_back([allocated = it->allocated, slots = std::move(slots)] { allocated(slots); });
    it = pending_.erase(it);
  }
}

TaskExecutorGatewayPtr ResourceManager::Gateway(const std::string& resource_id) {
  std::lock_guard lock(mu_);
  auto it = taskmanagers_.find(resource_id);
  return it == taskmanagers_.end() ? nullptr : it->second.gateway;
}

std::vector<TaskManagerInfo> ResourceManager::TaskManagers() {
  std::lock_guard lock(mu_);
  std::vector<TaskManagerInfo> out;
  for (const auto& [id, tm] : taskmanagers_) {
    out.push_back(tm.info);
    for (const auto& [job, slots] : allocations_) {
      for (const auto& holder : slots) {
        if (holder == id) out.back().allocated_jobs.push_back(job.ToString());
      }
    }
  }
  return out;
}

int ResourceManager::TotalSlots() {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [id, tm] : taskmanagers_) n += tm.info.slots;
  return n;
}

}  // namespace sluice::jobmanager
