#include "runtime/state/timer_service.h"

#include <cstring>

#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/state/state_table_base.h"
#include "runtime/state/rocksdb_store.h"

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
  const size_t i = static_cast<size_t>(key_group - range_.start);
  Group& g = groups_[i];
  TimerRef ref{timestamp, key_ns};
  if (g.find(ref) != g.end()) return false;
  bool had_head = !g.empty();
  int64_t old_head = had_head ? g.begin()->timestamp : 0;
  if (column_ != nullptr) {
    EncodeRocksKey(key_group, timestamp, key_ns);
    column_->Put(rocks_key_, {});
    // Keep the cache = the group's smallest timers: a timer above an incomplete cache's largest
    // stays in RocksDB only.
    if (!complete_[i] && !g.empty() && !Less()(ref, *g.rbegin())) return true;
    g.insert(Timer{timestamp, std::string(key_ns)});
    if (g.size() > kRocksCacheSize) {
      g.erase(std::prev(g.end()));
      complete_[i] = 0;
    }
    UpdateHead(key_group, had_head, old_head);
    return true;
  }
  g.insert(Timer{timestamp, std::string(key_ns)});
  ++size_;
  UpdateHead(key_group, had_head, old_head);
  return true;
}

bool EventTimeTimerService::Delete(int32_t key_group, std::string_view key_ns, int64_t timestamp) {
  SLUICE_CHECK(range_.Contains(key_group), "timer key group {} outside range [{}, {}]", key_group,
               range_.start, range_.end);
  const size_t i = static_cast<size_t>(key_group - range_.start);
  Group& g = groups_[i];
  auto it = g.find(TimerRef{timestamp, key_ns});
  if (column_ != nullptr) {
    EncodeRocksKey(key_group, timestamp, key_ns);
    if (it == g.end()) {
      // Not cached: it may still be in RocksDB (a complete cache means it is not).
      if (complete_[i]) return false;
      std::string ignored;
      if (!column_->Get(rocks_key_, &ignored)) return false;
      column_->Delete(rocks_key_);
      return true;
    }
    column_->Delete(rocks_key_);
    const bool had_head = !g.empty();
    const int64_t old_head = g.begin()->timestamp;
    g.erase(it);
    AfterCacheErase(i, std::string_view(rocks_key_).substr(2));
    UpdateHead(key_group, had_head, old_head);
    return true;
  }
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
  const size_t i = static_cast<size_t>(kg - range_.start);
  Group& g = groups_[i];
  int64_t old_head = g.begin()->timestamp;
  auto node = g.extract(g.begin());
  if (column_ != nullptr) {
    EncodeRocksKey(kg, node.value().timestamp, node.value().key_ns);
    column_->Delete(rocks_key_);
    AfterCacheErase(i, std::string_view(rocks_key_).substr(2));
  } else {
    --size_;
  }
  UpdateHead(kg, true, old_head);
  *key_group = kg;
  *timestamp = node.value().timestamp;
  std::swap(*key_ns, node.value().key_ns);
}

// --- RocksDB mode ---------------------------------------------------------------------------

namespace {

// Signed timestamps as 8 big-endian bytes that order like the values (sign bit flipped).
void PutOrderedI64(char* out, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int b = 7; b >= 0; --b) {
    out[b] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
}

int64_t GetOrderedI64(const char* in) {
  uint64_t u = 0;
  for (int b = 0; b < 8; ++b) u = (u << 8) | static_cast<unsigned char>(in[b]);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

}  // namespace

void EventTimeTimerService::EncodeRocksKey(int32_t key_group, int64_t timestamp,
                                           std::string_view key_ns) {
  rocks_key_.resize(2 + 8 + key_ns.size());
  rocks_key_[0] = static_cast<char>((key_group >> 8) & 0xff);
  rocks_key_[1] = static_cast<char>(key_group & 0xff);
  PutOrderedI64(rocks_key_.data() + 2, timestamp);
  std::memcpy(rocks_key_.data() + 10, key_ns.data(), key_ns.size());
}

void EventTimeTimerService::UseRocksDb(RocksColumn* column) {
  SLUICE_CHECK(column != nullptr, "UseRocksDb(nullptr)");
  std::vector<std::pair<int32_t, Timer>> heap;
  if (column_ == nullptr) {
    for (size_t i = 0; i < groups_.size(); ++i) {
      for (auto& t : groups_[i]) heap.emplace_back(range_.start + static_cast<int32_t>(i), t);
    }
  }
  column_ = column;
  size_ = 0;
  complete_.assign(groups_.size(), 0);
  resume_.assign(groups_.size(), std::string());
  ReloadFromRocksDb();
  for (const auto& [kg, t] : heap) Register(kg, t.key_ns, t.timestamp);
}

void EventTimeTimerService::ReloadFromRocksDb() {
  SLUICE_CHECK(column_ != nullptr, "ReloadFromRocksDb in heap mode");
  heads_.clear();
  for (size_t i = 0; i < groups_.size(); ++i) {
    groups_[i].clear();
    complete_[i] = 0;
    resume_[i].clear();
    Refill(i);
    if (!groups_[i].empty()) {
      heads_.insert({groups_[i].begin()->timestamp, range_.start + static_cast<int32_t>(i)});
    }
  }
}

void EventTimeTimerService::Refill(size_t i) {
  Group& g = groups_[i];
  const int32_t kg = range_.start + static_cast<int32_t>(i);
  size_t n = 0;
  bool more = false;
  column_->ForEachInKeyGroup(
      kg,
      [&](std::string_view composite, std::string_view) {
        if (n == kRocksCacheSize) {
          more = true;
          return false;
        }
        if (composite.size() < 8 + kNamespaceBytes) {
          column_->RecordError(DataLossF("timer of key group {}: stored key of {} bytes is too "
                                         "short", kg, composite.size()));
          return false;
        }
        g.insert(Timer{GetOrderedI64(composite.data()), std::string(composite.substr(8))});
        ++n;
        return true;
      },
      resume_[i]);
  complete_[i] = more ? 0 : 1;
}

void EventTimeTimerService::AfterCacheErase(size_t i, std::string_view erased_composite) {
  // Every uncached timer is >= the erased one (the cache holds the smallest), so a refill may
  // start there, past the tombstones of the timers fired before it.
  if (groups_[i].empty() && !complete_[i]) {
    resume_[i].assign(erased_composite);
    Refill(i);
  }
}

void EventTimeTimerService::ForEachInRocksGroup(
    int32_t key_group, absl::FunctionRef<void(int64_t, std::string_view)> fn) const {
  column_->ForEachInKeyGroup(key_group, [&](std::string_view composite, std::string_view) {
    if (composite.size() >= 8) fn(GetOrderedI64(composite.data()), composite.substr(8));
    return true;
  });
}

size_t EventTimeTimerService::size() const {
  if (column_ == nullptr) return size_;
  size_t n = 0;
  for (size_t i = 0; i < groups_.size(); ++i) {
    ForEachInRocksGroup(range_.start + static_cast<int32_t>(i),
                        [&](int64_t, std::string_view) { ++n; });
  }
  return n;
}

int64_t EventTimeTimerService::ApproximateSizeBytes() const {
  // std::set node: value + 3 pointers + color, rounded.
  constexpr int64_t kNode = sizeof(Timer) + 32;
  int64_t n = column_ != nullptr ? column_->ApproximateSizeBytes() : 0;
  for (const Group& g : groups_) {
    for (const Timer& t : g) n += kNode + HeapBytes(t.key_ns);
  }
  return n + static_cast<int64_t>(heads_.size()) * 48;
}

void EventTimeTimerService::WriteGroup(int32_t key_group, ByteWriter& out,
                                       bool rocksdb_resident_too) const {
  if (column_ != nullptr) {
    if (!rocksdb_resident_too) {
      out.WriteVarint64(0);
      return;
    }
    uint64_t n = 0;
    ForEachInRocksGroup(key_group, [&](int64_t, std::string_view) { ++n; });
    out.WriteVarint64(n);
    ForEachInRocksGroup(key_group, [&](int64_t ts, std::string_view key_ns) {
      out.WriteI64(ts);
      out.WriteString(key_ns);
    });
    return;
  }
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
