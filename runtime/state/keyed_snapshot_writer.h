#pragma once
// KeyedSnapshotWriter: assembles a KeyedStateBackend snapshot (the format in
// keyed_state_backend.h) from a prebuilt header and one block source per state, key group by key
// group, with the group index and checksums. The backend builds it in the synchronous part of a
// checkpoint; Write() may then run on another thread (heap states are pinned copy-on-write, see
// cow_groups.h), which makes heap snapshots asynchronous as in Flink's HeapSnapshotStrategy.
//
// Thread: Write() once, on any thread, if every source allows it (pinned heap sources and
// copied restored bytes do; live RocksDB sources require the task thread and no modification
// of the backend until Write() returns).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/key_groups.h"
#include "runtime/state/serialization.h"

namespace sluice::state {

// Snapshot of a KeyedStateBackend: the bytes and, for each key group of the range in order,
// the offset of that key group's section in `bytes`.
struct KeyedStateSnapshot {
  std::string bytes;
  std::vector<std::pair<int32_t, uint64_t>> key_group_offsets;
};

namespace internal {

// One state's entries (or restored bytes) as the blocks of each key group of a snapshot.
class SnapshotBlockSource {
 public:
  virtual ~SnapshotBlockSource() = default;
  // Number of blocks in group `index` (= key group - range start): 0 or 1, several for restored
  // bytes of one state from several old subtasks.
  virtual size_t Blocks(int32_t index) = 0;
  // Writes the body of block `block` < Blocks(index) of group `index`.
  virtual void WriteBlock(int32_t index, size_t block, ByteWriter& out) = 0;
  // The writer is done with group `index` (a pinned source lets go of its shards).
  virtual void Done(int32_t /*index*/) {}
};

}  // namespace internal

class KeyedSnapshotWriter {
 public:
  // `header`: the encoded header with its checksum. `states[i]` writes the blocks of state
  // index i; `timers` writes each group's timer section as one block (Blocks is not asked).
  // `last_size` (may be null): the previous snapshot's size in bytes, reserved up front, and
  // set to this one's by Write().
  KeyedSnapshotWriter(std::string header, core::KeyGroupRange range,
                      std::vector<std::unique_ptr<internal::SnapshotBlockSource>> states,
                      std::unique_ptr<internal::SnapshotBlockSource> timers,
                      std::shared_ptr<std::atomic<size_t>> last_size);
  KeyedSnapshotWriter(const KeyedSnapshotWriter&) = delete;
  KeyedSnapshotWriter& operator=(const KeyedSnapshotWriter&) = delete;

  // Writes the snapshot; call once.
  KeyedStateSnapshot Write();

 private:
  std::string header_;
  core::KeyGroupRange range_;
  std::vector<std::unique_ptr<internal::SnapshotBlockSource>> states_;
  std::unique_ptr<internal::SnapshotBlockSource> timers_;
  std::shared_ptr<std::atomic<size_t>> last_size_;
  bool written_ = false;
};

}  // namespace sluice::state
