#include "runtime/state/keyed_snapshot_writer.h"

#include <algorithm>
#include <string_view>

#include "runtime/base/check.h"

namespace sluice::state {

KeyedSnapshotWriter::KeyedSnapshotWriter(
    std::string header, core::KeyGroupRange range,
    std::vector<std::unique_ptr<internal::SnapshotBlockSource>> states,
    std::unique_ptr<internal::SnapshotBlockSource> timers,
    std::shared_ptr<std::atomic<size_t>> last_size)
    : header_(std::move(header)),
      range_(range),
      states_(std::move(states)),
      timers_(std::move(timers)),
      last_size_(std::move(last_size)) {}

KeyedStateSnapshot KeyedSnapshotWriter::Write() {
  SLUICE_CHECK(!written_, "KeyedSnapshotWriter::Write called twice");
  written_ = true;
  KeyedStateSnapshot snap;
  snap.bytes = std::move(header_);
  const size_t hint = last_size_ ? last_size_->load(std::memory_order_relaxed) : 0;
  snap.bytes.reserve(hint + hint / 8 + 256);
  snap.key_group_offsets.reserve(range_.size());
  ByteWriter w(&snap.bytes);
  for (int32_t kg = range_.start; kg <= range_.end; ++kg) {
    const int32_t index = kg - range_.start;
    const size_t group_start = w.position();
    snap.key_group_offsets.emplace_back(kg, group_start);
    w.WriteI32(kg);
    const size_t len_at = w.ReserveFixed64();
    const size_t body_start = w.position();
    uint64_t blocks = 0;
    for (const auto& s : states_) blocks += s->Blocks(index);
    w.WriteVarint64(blocks);
    for (size_t i = 0; i < states_.size(); ++i) {
      const size_t n = states_[i]->Blocks(index);
      for (size_t b = 0; b < n; ++b) {
        w.WriteVarint64(i);
        const size_t block_len_at = w.ReserveFixed64();
        const size_t block_start = w.position();
        states_[i]->WriteBlock(index, b, w);
        w.PatchFixed64(block_len_at, w.position() - block_start);
      }
      states_[i]->Done(index);
    }
    timers_->WriteBlock(index, 0, w);
    timers_->Done(index);
    w.PatchFixed64(len_at, w.position() - body_start);
    w.WriteFixed64(Checksum64(
        std::string_view(snap.bytes).substr(group_start, w.position() - group_start)));
  }
  if (last_size_) last_size_->store(snap.bytes.size(), std::memory_order_relaxed);
  return snap;
}

}  // namespace sluice::state
