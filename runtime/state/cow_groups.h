#pragma once
// CowGroups<Map>: the heap storage of one keyed state, per key group split into shards (hash
// maps), which asynchronous snapshots serialize while the task goes on writing.
//
// Idea: Flink's CopyOnWriteStateMap lets a heap snapshot run on another thread while the task
// writes, copying what is written during the snapshot. Copying is what costs here (an entry
// copy allocates; measured twice the serialization, benchmarks/heap_snapshot_bench.cc), so the
// unit is a shard and the copy is the serialized form: Pin() makes a ShardPin, O(shards), no
// entry touched. From then on every shard is serialized exactly once for that snapshot, by
// whichever thread comes first: the snapshot writer walking the groups in order, or the task
// thread about to write to a shard the writer has not reached yet (Mutable). A thread that finds
// the other serializing the shard waits for it (one shard: ~100-1000 entries, microseconds). So
// the task never does more than the old synchronous snapshot did, spread over the writes after
// the barrier, and none of it for shards the writer reached first.
//
// Shards: a key group's entries are split by hash into up to 2^kMaxShardBits maps, about
// kTargetShards per state in total, so a shard is small enough to serialize at once, and the
// task, writing to random keys, meets unserialized shards over many records rather than all of
// them within the first few (the latency benchmark's 1 M-key run with 1-s checkpoints: p99
// 82-96 ms with 4,096 shards, 71 with 16,384, 54 with 32,768; RESULTS.md). More shards cost
// every access: the shard headers outgrow the CPU caches (16,384: updates ~15 % slower in
// benchmarks/heap_snapshot_bench.cc, 4,096: within noise). Memory: an empty map per shard
// (~40 bytes), and per pin a claim, a buffer and a count per shard.
//
// Thread safety: the owning task thread calls every CowGroups method. A ShardPin's Settle/
// Finish may run on one other thread (the writer), which reads a shard only while it holds the
// shard's claim (kBusy); the task writes a shard only after the claim is kDone for every active
// pin (acquire/release on the claim). The storage must outlive its pins' Settle calls: the
// destructor and Reset() settle every active pin first.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/hash/hash.h"

namespace sluice::state::internal {

// One snapshot's claim on every shard of a CowGroups at the moment of its Pin().
template <typename Map>
class ShardPin {
 public:
  // Serializes one shard's entries (appends to `out`) and returns how many it wrote.
  using Serializer = std::function<uint64_t(const Map&, std::string* out)>;

  ShardPin(const Map* shards, size_t count, int shard_bits, Serializer serializer)
      : shards_(shards),
        shard_bits_(shard_bits),
        claims_(count),
        bytes_(count),
        counts_(count, 0),
        serializer_(std::move(serializer)) {}

  // Makes sure shard `slot` is serialized as it was at the pin: serializes it unless another
  // thread did or is doing it (then waits for that). Either thread.
  void Settle(size_t slot) {
    uint8_t c = claims_[slot].load(std::memory_order_acquire);
    if (c == kDone) return;
    if (c == kPending &&
        claims_[slot].compare_exchange_strong(c, kBusy, std::memory_order_acq_rel)) {
      counts_[slot] = serializer_(shards_[slot], &bytes_[slot]);
      claims_[slot].store(kDone, std::memory_order_release);
      return;
    }
    while (claims_[slot].load(std::memory_order_acquire) != kDone) std::this_thread::yield();
  }
  // Writer: settles group `index` and returns its entry count; then GroupBytes/ReleaseGroup.
  uint64_t SettleGroup(int32_t index) {
    uint64_t n = 0;
    for (size_t s = First(index); s < First(index + 1); ++s) {
      Settle(s);
      n += counts_[s];
    }
    return n;
  }
  // Writer, after SettleGroup: the group's serialized entries, shard by shard.
  template <typename F>
  void ForEachGroupBytes(int32_t index, F&& fn) const {
    for (size_t s = First(index); s < First(index + 1); ++s) fn(std::string_view(bytes_[s]));
  }
  void ReleaseGroup(int32_t index) {
    for (size_t s = First(index); s < First(index + 1); ++s) std::string().swap(bytes_[s]);
  }
  // The writer is done (or gone): the owner stops settling for this pin.
  void Finish() { finished_.store(true, std::memory_order_release); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  enum : uint8_t { kPending = 0, kBusy = 1, kDone = 2 };
  size_t First(int32_t index) const { return static_cast<size_t>(index) << shard_bits_; }

  const Map* shards_;  // the owner's live shards
  int shard_bits_;
  std::vector<std::atomic<uint8_t>> claims_;
  std::vector<std::string> bytes_;  // per shard, once kDone
  std::vector<uint64_t> counts_;    // per shard, once kDone
  Serializer serializer_;
  std::atomic<bool> finished_{false};
};

template <typename Map>
class CowGroups {
 public:
  // Shards per state this storage aims at (fewer groups: more shards per group).
  static constexpr size_t kTargetShards = 4096;
  static constexpr int kMaxShardBits = 6;  // at most 64 shards per key group

  CowGroups() = default;
  explicit CowGroups(int32_t groups) { Reset(groups); }
  ~CowGroups() { SettleAll(); }
  CowGroups(const CowGroups&) = delete;
  CowGroups& operator=(const CowGroups&) = delete;

  // Drops every entry and sizes the storage for `groups` key groups.
  void Reset(int32_t groups) {
    SettleAll();
    shard_bits_ = 0;
    while (shard_bits_ < kMaxShardBits &&
           (static_cast<size_t>(groups) << (shard_bits_ + 1)) <= kTargetShards) {
      ++shard_bits_;
    }
    shards_ = std::vector<Map>(static_cast<size_t>(groups) << shard_bits_);
  }
  int32_t groups() const { return static_cast<int32_t>(shards_.size() >> shard_bits_); }
  size_t shards_per_group() const { return size_t{1} << shard_bits_; }

  // The shard holding `composite` in group `index`, read-only.
  const Map& Find(int32_t index, std::string_view composite) const {
    return shards_[Slot(index, composite)];
  }
  // The same shard for writing: serialized first for every snapshot still in progress.
  Map& Mutable(int32_t index, std::string_view composite) {
    return MutableSlot(Slot(index, composite));
  }
  // Shard `shard` of group `index` for writing (TTL cleanup visits them all).
  Map& MutableShard(int32_t index, size_t shard) {
    return MutableSlot((static_cast<size_t>(index) << shard_bits_) + shard);
  }
  // The shards of group `index`, read-only.
  std::span<const Map> Group(int32_t index) const {
    return std::span<const Map>(shards_).subspan(static_cast<size_t>(index) << shard_bits_,
                                                 shards_per_group());
  }

  size_t GroupSize(int32_t index) const {
    size_t n = 0;
    for (const Map& m : Group(index)) n += m.size();
    return n;
  }
  bool GroupEmpty(int32_t index) const {
    for (const Map& m : Group(index)) {
      if (!m.empty()) return false;
    }
    return true;
  }
  template <typename F>
  void ForEachShard(F&& fn) const {
    for (const Map& m : shards_) fn(m);
  }

  // A snapshot of every shard as it is now, serialized by `serializer` (see the file comment).
  std::shared_ptr<ShardPin<Map>> Pin(typename ShardPin<Map>::Serializer serializer) {
    auto pin = std::make_shared<ShardPin<Map>>(shards_.data(), shards_.size(), shard_bits_,
                                               std::move(serializer));
    pins_.push_back(pin);
    return pin;
  }

 private:
  size_t Slot(int32_t index, std::string_view composite) const {
    const size_t shard =
        shard_bits_ == 0 ? 0 : absl::Hash<std::string_view>{}(composite) >> (64 - shard_bits_);
    return (static_cast<size_t>(index) << shard_bits_) + shard;
  }
  Map& MutableSlot(size_t slot) {
    if (!pins_.empty()) [[unlikely]] SettlePins(slot);
    return shards_[slot];
  }
  void SettlePins(size_t slot) {
    for (size_t i = 0; i < pins_.size();) {
      if (pins_[i]->finished()) {
        pins_.erase(pins_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      pins_[i++]->Settle(slot);
    }
  }
  // Before the shards go away: every active pin gets them all.
  void SettleAll() {
    for (auto& pin : pins_) {
      if (pin->finished()) continue;
      for (size_t s = 0; s < shards_.size(); ++s) pin->Settle(s);
    }
    pins_.clear();
  }

  std::vector<Map> shards_;  // group index << shard_bits_ | shard
  int shard_bits_ = 0;
  std::vector<std::shared_ptr<ShardPin<Map>>> pins_;  // snapshots in progress
};

}  // namespace sluice::state::internal
