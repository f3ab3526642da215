#pragma once
// How a StateTable's entries go into a keyed snapshot, in the canonical group format: varint
// count, then per entry the length-prefixed composite key and the serialized entry
// (Serializer<Entry> bytes, or the TTL layout of state_ttl.h for a state with TTL). Heap shards
// are written by the upload thread through a ShardPin (cow_groups.h); RocksDB key groups are
// copied from the column as stored. States with TTL leave out expired entries and elements
// (Flink's cleanupFullSnapshot).
//
// Thread: the heap writers run on whichever thread serializes the pinned shard (cow_groups.h
// guarantees the shard is not written meanwhile); the RocksDB writers on the task thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "runtime/state/cow_groups.h"
#include "runtime/state/keyed_snapshot_writer.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"
#include "runtime/state/state_ttl.h"

namespace sluice::state::internal {


// Writes key group `key_group` of a RocksDB column family in the canonical group format
// (varint count, then per entry the length-prefixed composite key and the stored value, which
// is already Serializer<Entry> bytes, copied as it is). `scratch` is a reused buffer.
inline void WriteColumnGroup(const RocksColumn& column, int32_t key_group, std::string* scratch,
                             ByteWriter& out) {
  scratch->clear();
  ByteWriter w(scratch);
  uint64_t n = 0;
  column.ForEachInKeyGroup(key_group, [&](std::string_view composite, std::string_view value) {
    w.WriteString(composite);
    w.WriteRaw(value);
    ++n;
    return true;
  });
  out.WriteVarint64(n);
  out.WriteRaw(*scratch);
}

// RocksDB, TTL: like WriteColumnGroup, without the entries and elements expired at `now_ms`
// (rewritten where only some elements expired).
template <typename Traits>
void WriteTtlColumnGroup(const RocksColumn& column, int32_t key_group, int64_t ttl_ms,
                         int64_t now_ms, std::string* scratch, ByteWriter& out) {
  scratch->clear();
  ByteWriter w(scratch);
  uint64_t n = 0;
  std::string rewritten;
  column.ForEachInKeyGroup(key_group, [&](std::string_view composite, std::string_view value) {
    switch (FilterStoredTtlValue<Traits>(value, ttl_ms, now_ms, &rewritten)) {
      case TtlFilterDecision::kKeep:
        w.WriteString(composite);
        w.WriteRaw(value);
        ++n;
        break;
      case TtlFilterDecision::kRewrite:
        w.WriteString(composite);
        w.WriteRaw(rewritten);
        ++n;
        break;
      case TtlFilterDecision::kRemove:
        break;
    }
    return true;
  });
  out.WriteVarint64(n);
  out.WriteRaw(*scratch);
}

// Heap: one shard's entries (key, then entry) appended to `out`; returns how many.
template <typename Entry>
uint64_t WritePlainShard(const absl::flat_hash_map<std::string, Entry>& m, std::string* out) {
  ByteWriter w(out);
  for (const auto& [k, v] : m) {
    w.WriteString(k);
    Serializer<Entry>::Write(v, w);
  }
  return m.size();
}

// Heap, TTL: the same without the entries and elements expired at `now_ms` (the shard is not
// modified). `Slot` has `value` and `meta` (StateTable::TtlSlot).
template <typename Traits, typename Slot>
uint64_t WriteTtlShard(const absl::flat_hash_map<std::string, Slot>& m, int64_t ttl_ms,
                       int64_t now_ms, std::string* out) {
  ByteWriter w(out);
  uint64_t n = 0;
  Slot copy{};
  for (const auto& [k, s] : m) {
    const Slot* slot = &s;
    if (TtlExpired(Traits::Oldest(s.value, s.meta), ttl_ms, now_ms)) {
      copy = s;
      if (!Traits::RemoveExpired(copy.value, copy.meta, ttl_ms, now_ms)) continue;
      slot = &copy;
    }
    w.WriteString(k);
    Traits::Write(slot->value, slot->meta, w);
    ++n;
  }
  return n;
}

// A heap table's pinned shards as a snapshot source (StateTableBase::PinForSnapshot): one block
// per non-empty key group. Refers to the table's shards only through the pin, which the table
// settles before they go away; finishing the source (destruction) releases the pin.
template <typename M>
class PinnedShards final : public SnapshotBlockSource {
 public:
  explicit PinnedShards(std::shared_ptr<ShardPin<M>> pin) : pin_(std::move(pin)) {}
  ~PinnedShards() override { pin_->Finish(); }
  size_t Blocks(int32_t index) override { return pin_->SettleGroup(index) > 0 ? 1 : 0; }
  void WriteBlock(int32_t index, size_t, ByteWriter& out) override {
    out.WriteVarint64(pin_->SettleGroup(index));
    pin_->ForEachGroupBytes(index, [&](std::string_view bytes) { out.WriteRaw(bytes); });
  }
  void Done(int32_t index) override { pin_->ReleaseGroup(index); }

 private:
  std::shared_ptr<ShardPin<M>> pin_;
};

}  // namespace sluice::state::internal
