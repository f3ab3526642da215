#pragma once
// CowGroups<Map>: the heap storage of one keyed state, per key group split into shards (hash
// maps), which asynchronous snapshots serialize while the task goes on writing.
//
// Idea: Flink's CopyOnWriteStateMap lets a heap snapshot run on another thread while the task
// writes, copying only the entries the task touches during the snapshot. Here Pin() makes a
// ShardPin, O(shards), no entry touched, and the snapshot writer serializes the shards as they
// were at the pin, group by group. When the task touches a shard the writer has not reached
// yet, it does not wait for it nor serialize it (a shard is ~100-1000 entries, ~10 µs; on
// random keys the task meets thousands of unserialized shards right after the barrier, which
// was a ~50 ms stop every checkpoint in the latency benchmark, RESULTS.md): it hands the
// shard's map to the pin as it is ("frozen", moved, O(1)) and goes on in an empty "delta" map
// in its place. An entry the task accesses is copied from the frozen map into the delta first
// (Flink's copy-on-read of a mutable state object); a removal of a frozen entry is recorded as
// a tombstone. Once the writer has serialized the frozen map, the next access to the shard for
// another (key, namespace) merges the delta back into it (O(delta)), and so does every access
// for a new key for up to kMergesPerAccess other released shards, so that shards nobody
// touches are merged too. Entries are only copied for the task's accesses during a snapshot,
// never the whole shard.
//
// A second snapshot pinned while the first is still being written, and whole-shard operations
// (visits, sizes, restores, TTL cleanup), first merge what they touch; visits also serialize
// the group for the snapshots in progress, so that a visitor reading the state freezes nothing
// under the visit. With more than one snapshot in progress a write serializes the shard for the
// others first (the older, simpler scheme: one shard at a time, by whichever thread comes
// first). A thread waiting for a shard another one is serializing yields (one shard: ~10 µs).
//
// Shards: a key group's entries are split by hash into up to 2^kMaxShardBits maps, about
// kTargetShards per state in total, so that a frozen shard's delta is small and merges are
// cheap. More shards cost every access: the shard headers outgrow the CPU caches (16,384:
// updates ~15 % slower in benchmarks/heap_snapshot_bench.cc, 4,096: within noise). Memory: an
// empty map per shard (~40 bytes), per pin a claim, a buffer, a source and a count per shard,
// and once a snapshot ran, a frozen map and a flag per shard.
//
// Pointer validity: an entry pointer handed out (FindEntry, TryEmplace) stays valid until the
// storage is accessed with another `epoch` (the caller's (key, namespace) access counter) or
// through a whole-shard operation; merges only happen then.
//
// Thread safety: the owning task thread calls every CowGroups method. A ShardPin's Settle/
// Finish may run on one other thread (the writer), which reads a shard's source (the live map,
// or the frozen one) only while it holds the shard's claim (kBusy); the task changes a live
// shard only after the claim is kDone for every active pin, or after claiming it itself to
// freeze it, and changes a frozen map only once its claim is kDone or the pin finished
// (acquire/release on the claim). The storage must outlive its pins' Settle calls: the
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
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace sluice::state::internal {

// One snapshot's claim on every shard of a CowGroups at the moment of its Pin().
template <typename Map>
class ShardPin {
 public:
  // Serializes one shard's entries (appends to `out`) and returns how many it wrote.
  using Serializer = std::function<uint64_t(const Map&, std::string* out)>;

  ShardPin(const Map* shards, size_t count, int shard_bits, Serializer serializer)
      : shard_bits_(shard_bits),
        sources_(count),
        claims_(count),
        bytes_(count),
        counts_(count, 0),
        serializer_(std::move(serializer)) {
    for (size_t i = 0; i < count; ++i) sources_[i] = shards + i;
  }

  // Makes sure shard `slot` is serialized as it was at the pin: serializes it unless another
  // thread did or is doing it (then waits for that). Either thread. A claim the owner holds
  // to freeze the shard comes back pending (Redirect), and is then taken here.
  void Settle(size_t slot) {
    for (;;) {
      uint8_t c = claims_[slot].load(std::memory_order_acquire);
      if (c == kDone) return;
      if (c == kPending) {
        if (claims_[slot].compare_exchange_strong(c, kBusy, std::memory_order_acq_rel)) {
          counts_[slot] = serializer_(*sources_[slot], &bytes_[slot]);
          claims_[slot].store(kDone, std::memory_order_release);
          return;
        }
        continue;
      }
      std::this_thread::yield();
    }
  }
  // Owner: whether shard `slot` is serialized (its source is no longer read).
  bool Settled(size_t slot) const { return claims_[slot].load(std::memory_order_acquire) == kDone; }
  // Owner: takes shard `slot` out of the writer's hands if the writer has not started it
  // (true: the caller holds the claim and must call Redirect next).
  bool TryClaim(size_t slot) {
    uint8_t c = kPending;
    return claims_[slot].compare_exchange_strong(c, kBusy, std::memory_order_acq_rel);
  }
  // Owner, after TryClaim: the shard as it was at the pin is now `*frozen`; pending again.
  void Redirect(size_t slot, const Map* frozen) {
    sources_[slot] = frozen;
    claims_[slot].store(kPending, std::memory_order_release);
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

  int shard_bits_;
  std::vector<const Map*> sources_;  // per shard: the owner's live map, or its frozen copy
  std::vector<std::atomic<uint8_t>> claims_;
  std::vector<std::string> bytes_;  // per shard, once kDone
  std::vector<uint64_t> counts_;    // per shard, once kDone
  Serializer serializer_;
  std::atomic<bool> finished_{false};
};

template <typename Map>
class CowGroups {
 public:
  using Value = typename Map::mapped_type;
  // Shards per state this storage aims at (fewer groups: more shards per group).
  static constexpr size_t kTargetShards = 4096;
  static constexpr int kMaxShardBits = 6;  // at most 64 shards per key group
  // Frozen shards merged back per entry access for a new key once the writer is done with them
  // (besides the accessed one), so that all are merged within a few thousand accesses.
  static constexpr int kMergesPerAccess = 2;

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
    frozen_.clear();
    frozen_flags_.clear();
  }
  int32_t groups() const { return static_cast<int32_t>(shards_.size() >> shard_bits_); }
  size_t shards_per_group() const { return size_t{1} << shard_bits_; }
  // A snapshot is pinned or its copies are not merged back yet.
  bool snapshot_in_progress() const { return busy(); }
  // A snapshot's writer has not finished (drops finished pins first).
  bool SnapshotPinned() {
    DropFinishedPins();
    return !pins_.empty();
  }

  // --- Entry access (the task's per-record path). `epoch` changes whenever the caller's
  // current (key, namespace) may have changed (KeyContext::epoch).

  // The entry `composite` of group `index`, or nullptr; the caller may mutate it in place.
  Value* FindEntry(int32_t index, const std::string& composite, uint64_t epoch) {
    const size_t slot = Slot(index, composite);
    if (busy()) [[unlikely]] {
      if (Prepare(slot, epoch)) return OverlayFind(slot, composite);
    }
    Map& m = shards_[slot];
    auto it = m.find(composite);
    return it == m.end() ? nullptr : &it->second;
  }
  // The entry, value-initialized if absent; `second`: it was created.
  std::pair<Value*, bool> TryEmplace(int32_t index, const std::string& composite,
                                     uint64_t epoch) {
    const size_t slot = Slot(index, composite);
    if (busy()) [[unlikely]] {
      if (Prepare(slot, epoch)) {
        if (Value* v = OverlayFind(slot, composite)) return {v, false};
        return {&shards_[slot].try_emplace(composite).first->second, true};
      }
    }
    auto [it, inserted] = shards_[slot].try_emplace(composite);
    return {&it->second, inserted};
  }
  void EraseEntry(int32_t index, const std::string& composite, uint64_t epoch) {
    const size_t slot = Slot(index, composite);
    if (busy()) [[unlikely]] {
      if (Prepare(slot, epoch)) {
        shards_[slot].erase(composite);
        if (frozen_[slot].contains(composite)) tombstones_[slot].insert(composite);
        return;
      }
    }
    shards_[slot].erase(composite);
  }

  // --- Whole-shard access (restores, visits, sizes, TTL cleanup): merges what it touches.

  // The shard holding `composite` in group `index`, read-only.
  const Map& Find(int32_t index, std::string_view composite) const {
    const size_t slot = Slot(index, composite);
    Materialize(slot);
    return shards_[slot];
  }
  // The same shard for writing: serialized first for every snapshot still in progress.
  Map& Mutable(int32_t index, std::string_view composite) {
    return MutableSlot(Slot(index, composite));
  }
  // Shard `shard` of group `index` for writing (TTL cleanup visits them all).
  Map& MutableShard(int32_t index, size_t shard) {
    return MutableSlot((static_cast<size_t>(index) << shard_bits_) + shard);
  }
  // The shards of group `index`, read-only. Serialized for every snapshot in progress first,
  // so that accesses during a visit (reads of other entries) freeze none of them.
  std::span<const Map> Group(int32_t index) const {
    const size_t first = static_cast<size_t>(index) << shard_bits_;
    for (size_t s = first; s < first + shards_per_group(); ++s) {
      Materialize(s);
      for (const auto& pin : pins_) {
        if (!pin->finished()) pin->Settle(s);
      }
    }
    return std::span<const Map>(shards_).subspan(first, shards_per_group());
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
    MaterializeAll();
    for (const Map& m : shards_) fn(m);
  }

  // A snapshot of every shard as it is now, serialized by `serializer` (see the file comment).
  std::shared_ptr<ShardPin<Map>> Pin(typename ShardPin<Map>::Serializer serializer) {
    MaterializeAll();
    DropFinishedPins();
    auto pin = std::make_shared<ShardPin<Map>>(shards_.data(), shards_.size(), shard_bits_,
                                               std::move(serializer));
    pins_.push_back(pin);
    return pin;
  }

 private:
  bool busy() const { return !pins_.empty() || frozen_count_ > 0; }

  size_t Slot(int32_t index, std::string_view composite) const {
    const size_t shard =
        shard_bits_ == 0 ? 0 : absl::Hash<std::string_view>{}(composite) >> (64 - shard_bits_);
    return (static_cast<size_t>(index) << shard_bits_) + shard;
  }

  // Readies shard `slot` for an entry access with a snapshot pinned or copies not merged yet;
  // true: the shard is frozen and the access goes through its delta (OverlayFind etc.).
  bool Prepare(size_t slot, uint64_t epoch) {
    const bool same_access = epoch == last_epoch_;
    last_epoch_ = epoch;
    if (frozen_count_ > 0) {
      if (frozen_flags_[slot]) {
        if (same_access || !FrozenReleased(slot)) return true;
        Merge(slot);
      }
      // Shards nobody accesses are merged too, a few per access, once released.
      if (!same_access) MergeReleased(kMergesPerAccess);
    }
    DropFinishedPins();
    if (pins_.size() == 1) {
      if (frozen_.empty()) {  // allocated before the claim: nothing may throw while it is held
        frozen_.resize(shards_.size());
        frozen_flags_.assign(shards_.size(), 0);
        frozen_slots_.reserve(shards_.size());
      }
      if (pins_[0]->TryClaim(slot)) {
        Freeze(slot);
        return true;
      }
    }
    for (const auto& pin : pins_) pin->Settle(slot);
    return false;
  }

  // The frozen map of `slot` is no longer read by the writer.
  bool FrozenReleased(size_t slot) const {
    return frozen_pin_->finished() || frozen_pin_->Settled(slot);
  }

  // With the claim of the only pin held: hands the live map to the pin, goes on in an empty one.
  void Freeze(size_t slot) {
    frozen_[slot] = std::move(shards_[slot]);
    shards_[slot] = Map();
    frozen_pin_ = pins_[0];
    frozen_pin_->Redirect(slot, &frozen_[slot]);
    frozen_flags_[slot] = 1;
    frozen_slots_.push_back(slot);
    ++frozen_count_;
  }

  // An entry of a frozen shard: from the delta, else copied into it from the frozen map.
  Value* OverlayFind(size_t slot, const std::string& composite) {
    Map& delta = shards_[slot];
    if (auto it = delta.find(composite); it != delta.end()) return &it->second;
    if (!tombstones_.empty()) {
      auto t = tombstones_.find(slot);
      if (t != tombstones_.end() && t->second.contains(composite)) return nullptr;
    }
    const Map& frozen = frozen_[slot];
    auto f = frozen.find(composite);
    if (f == frozen.end()) return nullptr;
    return &delta.try_emplace(f->first, f->second).first->second;
  }

  // Once the writer is done with it: the frozen map with the delta applied becomes the shard.
  void Merge(size_t slot) const {
    Map& frozen = frozen_[slot];
    if (auto t = tombstones_.find(slot); t != tombstones_.end()) {
      for (const std::string& k : t->second) frozen.erase(k);
      tombstones_.erase(t);
    }
    for (auto& [k, v] : shards_[slot]) frozen.insert_or_assign(k, std::move(v));
    shards_[slot] = std::move(frozen);
    frozen = Map();
    frozen_flags_[slot] = 0;
    if (--frozen_count_ == 0) {
      frozen_slots_.clear();
      merge_cursor_ = 0;
      frozen_pin_.reset();
    }
  }
  // Merges up to `n` frozen shards the writer is done with, in the order they were frozen.
  void MergeReleased(int n) {
    while (n > 0 && frozen_count_ > 0 && merge_cursor_ < frozen_slots_.size()) {
      const size_t s = frozen_slots_[merge_cursor_];
      if (frozen_flags_[s]) {
        if (!FrozenReleased(s)) return;
        Merge(s);
        --n;
        if (frozen_count_ == 0) return;
      }
      ++merge_cursor_;
    }
  }
  // Whole-shard access: a frozen `slot` is serialized (by this thread if the writer has not)
  // and merged.
  void Materialize(size_t slot) const {
    if (frozen_count_ == 0 || !frozen_flags_[slot]) return;
    if (!frozen_pin_->finished()) frozen_pin_->Settle(slot);
    Merge(slot);
  }
  void MaterializeAll() const {
    if (frozen_count_ == 0) return;
    const std::vector<size_t> slots = frozen_slots_;
    for (size_t s : slots) Materialize(s);
  }

  Map& MutableSlot(size_t slot) {
    if (busy()) [[unlikely]] {
      Materialize(slot);
      DropFinishedPins();
      for (const auto& pin : pins_) pin->Settle(slot);
    }
    return shards_[slot];
  }
  void DropFinishedPins() {
    std::erase_if(pins_, [](const auto& pin) { return pin->finished(); });
  }
  // Before the shards go away: every active pin gets them all (a frozen shard's pin reads the
  // frozen map, which goes away with them).
  void SettleAll() {
    for (auto& pin : pins_) {
      if (pin->finished()) continue;
      for (size_t s = 0; s < shards_.size(); ++s) pin->Settle(s);
    }
    if (frozen_pin_ != nullptr && !frozen_pin_->finished()) {
      for (size_t s : frozen_slots_) frozen_pin_->Settle(s);
    }
    pins_.clear();
    frozen_pin_.reset();
    frozen_slots_.clear();
    merge_cursor_ = 0;
    tombstones_.clear();
    frozen_count_ = 0;
  }

  // Whole-shard reads merge frozen shards: representation, not content, hence `mutable`.
  mutable std::vector<Map> shards_;  // group index << shard_bits_ | shard (a delta if frozen)
  int shard_bits_ = 0;
  std::vector<std::shared_ptr<ShardPin<Map>>> pins_;  // snapshots in progress
  // Frozen shards (see the file comment), all of one pin; sized on the first freeze.
  mutable std::vector<Map> frozen_;
  mutable std::vector<uint8_t> frozen_flags_;
  mutable std::vector<size_t> frozen_slots_;  // frozen since the last full merge (may be merged)
  mutable size_t merge_cursor_ = 0;           // MergeReleased's position in frozen_slots_
  mutable size_t frozen_count_ = 0;
  mutable std::shared_ptr<ShardPin<Map>> frozen_pin_;
  // Entries of a frozen map removed through its delta, by shard.
  mutable absl::flat_hash_map<size_t, absl::flat_hash_set<std::string>> tombstones_;
  uint64_t last_epoch_ = ~uint64_t{0};
};

}  // namespace sluice::state::internal
