// KeyedStateBackend's full snapshots: the header and the block sources a KeyedSnapshotWriter
// assembles (live ones for RocksDB, detached ones for asynchronous heap snapshots).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::state {
namespace {

// A registered state read live (RocksDB; the task thread, before the backend changes again).
class LiveStateSource final : public internal::SnapshotBlockSource {
 public:
  LiveStateSource(const internal::StateTableBase& state, bool meta_only)
      : state_(state), meta_only_(meta_only) {}
  size_t Blocks(int32_t index) override {
    // RocksDB-resident entries are left out of meta snapshots (they are in the SST files).
    return !(meta_only_ && state_.on_rocksdb()) && state_.HasEntriesInGroup(index) ? 1 : 0;
  }
  void WriteBlock(int32_t index, size_t, ByteWriter& out) override {
    state_.WriteGroup(index, out);
  }

 private:
  const internal::StateTableBase& state_;
  bool meta_only_;
};

// Restored bytes of a state not registered yet: its (key group, body) chunks, copied when the
// source is detached, and (RocksDB, live) its entries already in a column family.
class PendingStateSource final : public internal::SnapshotBlockSource {
 public:
  using Chunks = std::vector<std::pair<int32_t, std::string>>;
  PendingStateSource(core::KeyGroupRange range, const Chunks* chunks, bool copy,
                     const internal::RocksColumn* column)
      : range_(range), column_(column) {
    if (copy) owned_ = *chunks;
    chunks_ = copy ? &owned_ : chunks;
  }
  size_t Blocks(int32_t index) override {
    const int32_t kg = range_.start + index;
    size_t n = 0;
    for (const auto& c : *chunks_) n += c.first == kg ? 1 : 0;
    return n + (column_ != nullptr && column_->HasKeyGroup(kg) ? 1 : 0);
  }
  void WriteBlock(int32_t index, size_t block, ByteWriter& out) override {
    const int32_t kg = range_.start + index;
    for (const auto& [chunk_kg, body] : *chunks_) {
      if (chunk_kg != kg) continue;
      if (block-- == 0) {
        out.WriteRaw(body);
        return;
      }
    }
    internal::WriteColumnGroup(*column_, kg, &scratch_, out);
  }

 private:
  core::KeyGroupRange range_;
  const Chunks* chunks_;
  Chunks owned_;
  const internal::RocksColumn* column_;  // null: none, or not written (meta snapshots)
  std::string scratch_;
};

// Timers, read live (`rocksdb_resident_too` false: meta snapshots) or serialized up front.
class TimerSource final : public internal::SnapshotBlockSource {
 public:
  TimerSource(const internal::EventTimeTimerService& timers, core::KeyGroupRange range,
              bool rocksdb_resident_too, bool detached)
      : timers_(detached ? nullptr : &timers), range_(range), resident_(rocksdb_resident_too) {
    if (!detached) return;
    groups_.resize(static_cast<size_t>(range.size()));
    for (int32_t i = 0; i < range.size(); ++i) {
      ByteWriter w(&groups_[i]);
      timers.WriteGroup(range.start + i, w, rocksdb_resident_too);
    }
  }
  size_t Blocks(int32_t) override { return 1; }
  void WriteBlock(int32_t index, size_t, ByteWriter& out) override {
    if (timers_ != nullptr) {
      timers_->WriteGroup(range_.start + index, out, resident_);
      return;
    }
    out.WriteRaw(groups_[index]);
  }
  void Done(int32_t index) override {
    if (timers_ == nullptr) std::string().swap(groups_[index]);
  }

 private:
  const internal::EventTimeTimerService* timers_;  // live, or null: groups_
  core::KeyGroupRange range_;
  bool resident_;
  std::vector<std::string> groups_;
};

}  // namespace

std::string KeyedStateBackend::EncodeHeader() const {
  // State indices: registered states, then pending (restored, unregistered) ones.
  std::string header;
  ByteWriter w(&header);
  w.WriteFixed32(kKeyedSnapshotMagic);
  w.WriteFixed32(kKeyedSnapshotVersion);
  w.WriteI32(max_parallelism_);
  w.WriteI32(range_.start);
  w.WriteI32(range_.end);
  w.WriteVarint64(states_.size() + pending_.size());
  for (const auto& s : states_) {
    w.WriteString(s->name());
    w.WriteU8(static_cast<uint8_t>(s->kind()));
    w.WriteU8(s->has_ttl() ? kKeyedSnapshotFlagTtl : 0);
  }
  for (const auto& [name, p] : pending_) {
    w.WriteString(name);
    w.WriteU8(static_cast<uint8_t>(p.kind));
    w.WriteU8(p.ttl ? kKeyedSnapshotFlagTtl : 0);
  }
  w.WriteFixed64(Checksum64(header));
  return header;
}

std::unique_ptr<KeyedSnapshotWriter> KeyedStateBackend::MakeWriter(bool meta_only,
                                                                   bool detached) const {
  std::vector<std::unique_ptr<internal::SnapshotBlockSource>> sources;
  sources.reserve(states_.size() + pending_.size());
  for (const auto& s : states_) {
    if (detached) {
      sources.push_back(s->PinForSnapshot());
    } else {
      sources.push_back(std::make_unique<LiveStateSource>(*s, meta_only));
    }
  }
  for (const auto& [name, p] : pending_) {
    sources.push_back(std::make_unique<PendingStateSource>(
        range_, &p.chunks, detached, meta_only ? nullptr : p.column));
  }
  return std::make_unique<KeyedSnapshotWriter>(
      EncodeHeader(), range_, std::move(sources),
      std::make_unique<TimerSource>(timers_, range_, !meta_only, detached),
      meta_only ? nullptr : last_snapshot_size_);
}

absl::StatusOr<KeyedStateSnapshot> KeyedStateBackend::Snapshot() const {
  if (rocks_ == nullptr) {
    ASSIGN_OR_RETURN(auto writer, SnapshotAsync());
    return writer->Write();
  }
  return WriteSnapshot(/*meta_only=*/false);
}

absl::StatusOr<std::unique_ptr<KeyedSnapshotWriter>> KeyedStateBackend::SnapshotAsync() const {
  RETURN_IF_ERROR(status());
  if (rocks_ != nullptr) {
    return FailedPreconditionF("asynchronous heap snapshot of a RocksDB backend ({}): use a "
                               "full or an incremental RocksDB snapshot",
                               rocks_->dir());
  }
  return MakeWriter(/*meta_only=*/false, /*detached=*/true);
}

absl::StatusOr<KeyedStateSnapshot> KeyedStateBackend::WriteSnapshot(bool meta_only) const {
  RETURN_IF_ERROR(status());
  KeyedStateSnapshot snap = MakeWriter(meta_only, /*detached=*/false)->Write();
  RETURN_IF_ERROR(status());  // a RocksDB read error during the snapshot
  return snap;
}

}  // namespace sluice::state
