#pragma once
// HeartbeatManager: liveness of the registered TaskManagers (Flink's HeartbeatManager with its
// heartbeat.timeout), as pure bookkeeping: the ResourceManager records each heartbeat with the
// time it arrived and asks, on every timer tick, which targets stayed silent longer than the
// timeout. A crashed TaskManager is usually found earlier through its broken session stream;
// the timeout catches the ones that hang or are cut off by the network.
//
// Thread-compatible: its owner serialises access.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sluice::jobmanager {

class HeartbeatManager {
 public:
  explicit HeartbeatManager(int64_t timeout_ms) : timeout_ms_(timeout_ms) {}

  // A heartbeat (or the registration) of `target` at monotonic time `now_ms`.
  void Record(const std::string& target, int64_t now_ms) { last_[target] = now_ms; }
  void Remove(const std::string& target) { last_.erase(target); }
  // Targets silent for more than the timeout at `now_ms`, with how long (ms). They stay until
  // Remove()d.
  std::vector<std::pair<std::string, int64_t>> Expired(int64_t now_ms) const {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& [target, last] : last_) {
      if (now_ms - last > timeout_ms_) out.emplace_back(target, now_ms - last);
    }
    return out;
  }
  int64_t timeout_ms() const { return timeout_ms_; }

 private:
  int64_t timeout_ms_;
  std::map<std::string, int64_t> last_;
};

}  // namespace sluice::jobmanager
