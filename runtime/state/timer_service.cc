#include "runtime/state/timer_service.h"

#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/state/keyed_state.h"

namespace sluice::state::internal {

EventTimeTimerService::EventTimeTimerService(core::KeyGroupRange range)
    : range_(range), groups_(range.size()) {}

void EventTimeTimerService::UpdateHead(int32_t key_group, bool had_head, int64_t old_head) {
  const Group& g = groups_[key_group - range_.start];
  bool has_head = !g.empty();
  int64_t new_head = has_head ? g.begin()->timestamp : 0;
  if (had_head == has_head && (!has_head || old_head == new_head)) return;
  if (had_head) heads_.erase({old_head, key_group});
  if (has_head) heads_.insert({new_head, key_group});
}

bool EventTimeTimerService::Register(int32_t key_group, std::string_view key_ns,
                                     int64_t timestamp) {
  SLUICE_CHECK(range_.Contains(key_group), "timer key group {} outside range [{}, {}]", key_group,
               range_.start, range_.end);
  Group& g = groups_[key_group - range_.start];
  TimerRef ref{timestamp, key_ns};
  if (g.find(ref) != g.end()) return false;
  bool had_head = !g.empty();
  int64_t old_head = had_head ? g.begin()->timestamp : 0;
  g.insert(Timer{timestamp, std::string(key_ns)});
  ++size_;
  UpdateHead(key_group, had_head, old_head);
  return true;
}

bool EventTimeTimerService::Delete(int32_t key_group, std::string_view key_ns, int64_t timestamp) {
  SLUICE_CHECK(range_.Contains(key_group), "timer key group {} outside range [{}, {}]", key_group,
               range_.start, range_.end);
  Group& g = groups_[key_group - range_.start];
  auto it = g.find(TimerRef{timestamp, key_ns});
  if (it == g.end()) return false;
  int64_t old_head = g.begin()->timestamp;
  g.erase(it);
  --size_;
  UpdateHead(key_group, true, old_head);
  return true;
}

void EventTimeTimerService::PopEarliest(int32_t* key_group, std::string* key_ns,
                                        int64_t* timestamp) {
  SLUICE_CHECK(!heads_.empty(), "PopEarliest on an empty timer service");
  int32_t kg = heads_.begin()->second;
  Group& g = groups_[kg - range_.start];
  int64_t old_head = g.begin()->timestamp;
  auto node = g.extract(g.begin());
  --size_;
  UpdateHead(kg, true, old_head);
  *key_group = kg;
  *timestamp = node.value().timestamp;
  std::swap(*key_ns, node.value().key_ns);
}

int64_t EventTimeTimerService::ApproximateSizeBytes() const {
  // std::set node: value + 3 pointers + color, rounded.
  constexpr int64_t kNode = sizeof(Timer) + 32;
  int64_t n = 0;
  for (const Group& g : groups_) {
    for (const Timer& t : g) n += kNode + HeapBytes(t.key_ns);
  }
  return n + static_cast<int64_t>(heads_.size()) * 48;
}

void EventTimeTimerService::WriteGroup(int32_t key_group, ByteWriter& out) const {
  const Group& g = groups_[key_group - range_.start];
  out.WriteVarint64(g.size());
  for (const Timer& t : g) {
    out.WriteI64(t.timestamp);
    out.WriteString(t.key_ns);
  }
}

absl::Status EventTimeTimerService::ReadGroup(int32_t key_group, ByteReader& in) {
  uint64_t n = 0;
  RETURN_IF_ERROR(in.ReadLength(&n, in.remaining()));
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ts = 0;
    std::string_view key_ns;
    RETURN_IF_ERROR(in.ReadI64(&ts));
    RETURN_IF_ERROR(in.ReadStringView(&key_ns));
    if (key_ns.size() < kNamespaceBytes) {
      return DataLossF("timer of key group {}: key of {} bytes at offset {} is shorter than its "
                       "{}-byte namespace",
                       key_group, key_ns.size(), in.position(), kNamespaceBytes);
    }
    Register(key_group, key_ns, ts);
  }
  return absl::OkStatus();
}

}  // namespace sluice::state::internal
