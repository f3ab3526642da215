#include "runtime/state/keyed_state_backend.h"

#include <algorithm>
#include <tuple>
#include <cstring>
#include <limits>

#include "runtime/base/check.h"
#include "runtime/base/status.h"

namespace sluice::state {

std::string_view StateKindName(StateKind kind) {
  switch (kind) {
    case StateKind::kValue:
      return "VALUE";
    case StateKind::kList:
      return "LIST";
    case StateKind::kMap:
      return "MAP";
    case StateKind::kReducing:
      return "REDUCING";
    case StateKind::kAggregating:
      return "AGGREGATING";
  }
  return "UNKNOWN";
}

bool IsValidStateKind(uint8_t kind) { return kind >= 1 && kind <= 5; }

namespace {

inline void PutNamespace(std::string& composite, size_t key_size, int64_t ns) {
  std::memcpy(composite.data() + key_size, &ns, sizeof(ns));
}

// A state as listed in a snapshot header.
struct SnapshotState {
  std::string name;
  StateKind kind;
  bool ttl;
};

// Header fields of a parsed snapshot.
struct SnapshotHeader {
  uint32_t version = 0;
  int32_t max_parallelism = 0;
  core::KeyGroupRange range{0, -1};
  std::vector<SnapshotState> states;
};

// Enabling or disabling TTL of restored state is refused, as in Flink (its TtlStateFactory
// refuses restoring TTL state without TTL and the reverse as an incompatible serializer).
absl::Status TtlMismatch(std::string_view name, std::string_view where, bool restored_ttl,
                         const std::optional<StateTtlConfig>& registered) {
  if (restored_ttl) {
    return InvalidArgumentF("state '{}' was restored from {} with TTL but is registered without "
                            "TTL; enabling or disabling TTL of existing state is incompatible "
                            "(as in Flink): keep the state's TTL, or register the state under a "
                            "new name",
                            name, where);
  }
  return InvalidArgumentF("state '{}' was restored from {} without TTL but is registered with "
                          "TTL ({}); enabling or disabling TTL of existing state is incompatible "
                          "(as in Flink): keep the state without TTL, or register the state under "
                          "a new name",
                          name, where, registered.has_value() ? DescribeTtl(*registered) : "");
}

absl::Status ReadHeader(ByteReader& r, size_t snapshot_index, SnapshotHeader* h) {
  uint32_t magic = 0, version = 0;
  if (r.size() < 8) {
    return DataLossF("keyed state snapshot #{}: {} bytes is too short for a header",
                     snapshot_index, r.size());
  }
  RETURN_IF_ERROR(r.ReadFixed32(&magic));
  if (magic != kKeyedSnapshotMagic) {
    return DataLossF("keyed state snapshot #{}: expected magic {:#010x} (\"SLKS\"), found {:#010x}: "
                     "not a Sluice heap keyed state snapshot or corrupt",
                     snapshot_index, kKeyedSnapshotMagic, magic);
  }
  RETURN_IF_ERROR(r.ReadFixed32(&version));
  if (version < kKeyedSnapshotMinVersion || version > kKeyedSnapshotVersion) {
    return InvalidArgumentF("keyed state snapshot #{}: format version {} is not supported "
                            "(this build reads versions {} to {})",
                            snapshot_index, version, kKeyedSnapshotMinVersion,
                            kKeyedSnapshotVersion);
  }
  h->version = version;
  RETURN_IF_ERROR(r.ReadI32(&h->max_parallelism));
  RETURN_IF_ERROR(r.ReadI32(&h->range.start));
  RETURN_IF_ERROR(r.ReadI32(&h->range.end));
  uint64_t n = 0;
  RETURN_IF_ERROR(r.ReadLength(&n, r.remaining()));
  h->states.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    uint8_t kind = 0, flags = 0;
    RETURN_IF_ERROR(r.ReadStringView(&name));
    RETURN_IF_ERROR(r.ReadU8(&kind));
    if (!IsValidStateKind(kind)) {
      return DataLossF("keyed state snapshot #{}: state '{}' has unknown kind {}", snapshot_index,
                       name, kind);
    }
    if (version >= 2) {
      RETURN_IF_ERROR(r.ReadU8(&flags));
      if ((flags & ~kKeyedSnapshotFlagTtl) != 0) {
        return DataLossF("keyed state snapshot #{}: state '{}' has unknown flags {:#04x}",
                         snapshot_index, name, flags);
      }
    }
    h->states.push_back(SnapshotState{std::string(name), static_cast<StateKind>(kind),
                                      (flags & kKeyedSnapshotFlagTtl) != 0});
  }
  size_t header_end = r.position();
  uint64_t checksum = 0;
  RETURN_IF_ERROR(r.ReadFixed64(&checksum));
  uint64_t actual = Checksum64(r.data().substr(0, header_end));
  if (checksum != actual) {
    return DataLossF("keyed state snapshot #{}: header checksum mismatch (stored {:#x}, computed "
                     "{:#x}): corrupt snapshot",
                     snapshot_index, checksum, actual);
  }
  return absl::OkStatus();
}

}  // namespace

KeyedStateBackend::KeyedStateBackend(int32_t max_parallelism, core::KeyGroupRange range,
                                     BackendOptions options)
    : max_parallelism_(max_parallelism),
      range_(range),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &Clock::System()),
      timers_(range),
      watermark_(std::numeric_limits<int64_t>::min()) {
  SLUICE_CHECK(max_parallelism > 0 && max_parallelism <= core::kUpperBoundMaxParallelism,
               "max parallelism {} outside [1, {}]", max_parallelism,
               core::kUpperBoundMaxParallelism);
  SLUICE_CHECK(range.size() > 0 && range.start >= 0 && range.end < max_parallelism,
               "key group range [{}, {}] must be non-empty and inside [0, {})", range.start,
               range.end, max_parallelism);
  ctx_.composite.resize(kNamespaceBytes);
  PutNamespace(ctx_.composite, 0, 0);
  if (options_.kind == BackendOptions::kRocksDb) {
    internal::RocksDbInstanceOptions ro;
    ro.local_dir = options_.local_dir;
    ro.block_cache_bytes = options_.block_cache_bytes;
    ro.write_buffer_bytes = options_.write_buffer_bytes;
    auto inst = internal::RocksDbInstance::Open(ro);
    if (inst.ok()) {
      rocks_ = *std::move(inst);
      open_status_ = AttachTimers();
    } else {
      open_status_ = inst.status();
    }
  }
}

absl::Status KeyedStateBackend::AttachTimers() {
  internal::RocksColumn* stored = rocks_->FindColumn(kTimerColumn);
  if (options_.rocksdb_timers) {
    if (stored == nullptr) {
      ASSIGN_OR_RETURN(stored, rocks_->GetOrCreateColumn(kTimerColumn));
    }
    timers_.UseRocksDb(stored);
    return rocks_->status();
  }
  if (stored == nullptr) return absl::OkStatus();
  // Timers restored from RocksDB-resident timers into heap timers: move them over.
  std::vector<std::tuple<int32_t, std::string, int64_t>> moved;
  internal::EventTimeTimerService reader(range_);
  reader.UseRocksDb(stored);
  reader.ForEach([&](int32_t kg, std::string_view key_ns, int64_t ts) {
    moved.emplace_back(kg, std::string(key_ns), ts);
  });
  for (const auto& [kg, key_ns, ts] : moved) timers_.Register(kg, key_ns, ts);
  RETURN_IF_ERROR(stored->DeleteAll());
  return rocks_->status();
}

KeyedStateBackend::~KeyedStateBackend() {
  states_.clear();  // before the RocksDB instance (also guaranteed by member order)
  rocks_.reset();
}

absl::StatusOr<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::Create(
    int32_t max_parallelism, core::KeyGroupRange range, BackendOptions options) {
  auto b = std::make_unique<KeyedStateBackend>(max_parallelism, range, std::move(options));
  RETURN_IF_ERROR(b->status());
  return b;
}

std::string KeyedStateBackend::rocksdb_dir() const {
  return rocks_ != nullptr ? rocks_->dir() : std::string();
}

absl::Status KeyedStateBackend::status() const {
  if (!open_status_.ok()) return open_status_;
  if (rocks_ != nullptr) return rocks_->status();
  return absl::OkStatus();
}

absl::StatusOr<IncrementalSnapshot> KeyedStateBackend::SnapshotIncremental(
    const std::string& dir) {
  if (rocks_ == nullptr) {
    RETURN_IF_ERROR(open_status_);
    return FailedPreconditionF("incremental checkpoint into '{}': the backend stores state on "
                               "the heap; incremental checkpoints need the RocksDB backend",
                               dir);
  }
  for (const auto& s : states_) s->FlushCache();
  RETURN_IF_ERROR(status());
  IncrementalSnapshot out;
  ASSIGN_OR_RETURN(out.files, rocks_->Checkpoint(dir));
  ASSIGN_OR_RETURN(out.meta, WriteSnapshot(/*meta_only=*/true));
  return out;
}

absl::Status KeyedStateBackend::RestoreIncremental(
    const std::vector<IncrementalRestoreSource>& sources) {
  RETURN_IF_ERROR(open_status_);
  if (rocks_ == nullptr) {
    return FailedPreconditionF("cannot restore an incremental RocksDB checkpoint into the heap "
                               "state backend: use state.backend: rocksdb, or restore from a "
                               "savepoint (canonical format) to switch backends");
  }
  if (!states_.empty()) {
    return FailedPreconditionF("RestoreIncremental must run before any state is registered");
  }
  auto overlap = [&](const core::KeyGroupRange& r) {
    return std::max(0, std::min(r.end, range_.end) - std::max(r.start, range_.start) + 1);
  };
  int best = -1;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (overlap(sources[i].range) > 0 &&
        (best < 0 || overlap(sources[i].range) > overlap(sources[static_cast<size_t>(best)].range))) {
      best = static_cast<int>(i);
    }
  }
  internal::RocksDbInstanceOptions ro;
  ro.local_dir = options_.local_dir;
  ro.block_cache_bytes = options_.block_cache_bytes;
  ro.write_buffer_bytes = options_.write_buffer_bytes;
  if (best >= 0) {
    const IncrementalRestoreSource& base = sources[static_cast<size_t>(best)];
    ASSIGN_OR_RETURN(auto inst, internal::RocksDbInstance::OpenFromFiles(ro, base.files));
    if (base.range.start < range_.start || base.range.end > range_.end) {
      RETURN_IF_ERROR(inst->DeleteKeyGroupsOutside(range_.start, range_.end));
    }
    rocks_ = std::move(inst);  // the fresh, empty instance and its directory go away
    for (size_t i = 0; i < sources.size(); ++i) {
      if (static_cast<int>(i) == best || overlap(sources[i].range) == 0) continue;
      ASSIGN_OR_RETURN(auto other, internal::RocksDbInstance::OpenFromFiles(ro, sources[i].files));
      RETURN_IF_ERROR(rocks_->CopyKeyGroupsFrom(*other, std::max(range_.start, sources[i].range.start),
                                                std::min(range_.end, sources[i].range.end)));
    }
    // The timers of the restored key groups came in with the files (if they were in RocksDB);
    // older checkpoints' heap timers come from the metas below.
    RETURN_IF_ERROR(AttachTimers());
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    RETURN_IF_ERROR(RestoreOne(i, sources[i].meta, sources[i].meta_offsets));
  }
  // States whose entries came in through the column families wait for registration like
  // canonically restored ones; a column family the metas do not name is corrupt input.
  for (const std::string& name : rocks_->ColumnNames()) {
    if (name == kTimerColumn) continue;
    auto it = pending_.find(name);
    if (it == pending_.end()) {
      return DataLossF("restored RocksDB state has a column family for state '{}' that no meta "
                       "snapshot declares",
                       name);
    }
    it->second.column = rocks_->FindColumn(name);
  }
  return rocks_->status();
}

absl::Status KeyedStateBackend::CompactRocksDb() {
  if (rocks_ == nullptr) return open_status_;
  for (const auto& s : states_) s->FlushCache();
  return rocks_->CompactAll();
}

std::vector<std::pair<std::string, int64_t>> KeyedStateBackend::RocksDbProperties() const {
  if (rocks_ == nullptr) return {};
  return rocks_->Properties();
}

void KeyedStateBackend::SetCurrentKey(std::string_view key_bytes, int32_t key_group) {
  SLUICE_CHECK(range_.Contains(key_group),
               "key group {} is outside this backend's key group range [{}, {}]", key_group,
               range_.start, range_.end);
  ctx_.composite.resize(key_bytes.size() + kNamespaceBytes);
  if (!key_bytes.empty()) std::memcpy(ctx_.composite.data(), key_bytes.data(), key_bytes.size());
  ctx_.key_size = key_bytes.size();
  PutNamespace(ctx_.composite, ctx_.key_size, ctx_.ns);
  ctx_.key_group = key_group;
  ctx_.group_index = key_group - range_.start;
  ++ctx_.epoch;
  if (rocks_ != nullptr) {
    ctx_.rocks_key.resize(2 + ctx_.composite.size());
    ctx_.rocks_key[0] = static_cast<char>((key_group >> 8) & 0xff);
    ctx_.rocks_key[1] = static_cast<char>(key_group & 0xff);
    std::memcpy(ctx_.rocks_key.data() + 2, ctx_.composite.data(), ctx_.composite.size());
  }
}

void KeyedStateBackend::SetCurrentNamespace(int64_t ns) {
  ctx_.ns = ns;
  PutNamespace(ctx_.composite, ctx_.key_size, ns);
  ++ctx_.epoch;
  if (rocks_ != nullptr && ctx_.key_group >= 0) {
    PutNamespace(ctx_.rocks_key, 2 + ctx_.key_size, ns);
  }
}

absl::Status KeyedStateBackend::CheckSameState(const internal::StateTableBase& existing,
                                               StateKind kind, std::type_index type,
                                               const std::optional<StateTtlConfig>& ttl) const {
  if (existing.kind() != kind) {
    return InvalidArgumentF("state '{}' is already registered as {} state, cannot register it as "
                            "{} state",
                            existing.name(), StateKindName(existing.kind()), StateKindName(kind));
  }
  if (existing.type() != type) {
    return InvalidArgumentF("state '{}' is already registered as {} state with other element "
                            "types ({}), requested {}",
                            existing.name(), StateKindName(kind), existing.type().name(),
                            type.name());
  }
  if (existing.ttl_config() != ttl) {
    auto describe = [](const std::optional<StateTtlConfig>& c) {
      return c.has_value() ? "TTL (" + DescribeTtl(*c) + ")" : std::string("no TTL");
    };
    return InvalidArgumentF("state '{}' is already registered with {}, requested {}",
                            existing.name(), describe(existing.ttl_config()), describe(ttl));
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::CheckTtlConfig(std::string_view name,
                                               const std::optional<StateTtlConfig>& ttl) {
  if (ttl.has_value() && ttl->ttl_ms <= 0) {
    return InvalidArgumentF("state '{}': TTL must be a positive number of milliseconds, got {}",
                            name, ttl->ttl_ms);
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::CheckPendingKind(std::string_view name, StateKind kind,
                                                 const std::optional<StateTtlConfig>& ttl) const {
  auto it = pending_.find(std::string(name));
  if (it == pending_.end()) return absl::OkStatus();
  if (it->second.kind != kind) {
    return InvalidArgumentF("state '{}' was restored from a checkpoint as {} state but is now "
                            "registered as {} state; the state's kind cannot change",
                            name, StateKindName(it->second.kind), StateKindName(kind));
  }
  if (it->second.ttl != ttl.has_value()) {
    return TtlMismatch(name, "a checkpoint", it->second.ttl, ttl);
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::Register(std::unique_ptr<internal::StateTableBase> state) {
  if (rocks_ != nullptr) {
    ASSIGN_OR_RETURN(internal::RocksColumn * column, rocks_->GetOrCreateColumn(state->name()));
    state->AttachColumn(column);
    if (state->has_ttl()) column->EnableTtlCompactionFilter(state->MakeTtlValueFilter(), clock_);
  }
  auto it = pending_.find(state->name());
  if (it != pending_.end()) {
    for (const auto& [kg, body] : it->second.chunks) {
      ByteReader r(body);
      RETURN_IF_ERROR(state->ReadGroup(kg - range_.start, r));
      if (!r.at_end()) {
        return DataLossF("state '{}', key group {}: {} unread bytes after the entries: the "
                         "restored bytes do not match the registered state's serializer",
                         state->name(), kg, r.remaining());
      }
    }
    pending_.erase(it);
  }
  by_name_.emplace(state->name(), state.get());
  states_.push_back(std::move(state));
  return absl::OkStatus();
}

std::vector<std::string> KeyedStateBackend::StateNames() const {
  std::vector<std::string> names;
  for (const auto& s : states_) names.push_back(s->name());
  for (const auto& [name, p] : pending_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

void KeyedStateBackend::RegisterEventTimeTimer(int64_t ns, int64_t timestamp_ms) {
  SLUICE_CHECK(ctx_.key_group >= 0, "RegisterEventTimeTimer before SetCurrentKey");
  timer_scratch_.resize(ctx_.key_size + kNamespaceBytes);
  std::memcpy(timer_scratch_.data(), ctx_.composite.data(), ctx_.key_size);
  PutNamespace(timer_scratch_, ctx_.key_size, ns);
  timers_.Register(ctx_.key_group, timer_scratch_, timestamp_ms);
}

void KeyedStateBackend::DeleteEventTimeTimer(int64_t ns, int64_t timestamp_ms) {
  SLUICE_CHECK(ctx_.key_group >= 0, "DeleteEventTimeTimer before SetCurrentKey");
  timer_scratch_.resize(ctx_.key_size + kNamespaceBytes);
  std::memcpy(timer_scratch_.data(), ctx_.composite.data(), ctx_.key_size);
  PutNamespace(timer_scratch_, ctx_.key_size, ns);
  timers_.Delete(ctx_.key_group, timer_scratch_, timestamp_ms);
}

absl::Status KeyedStateBackend::AdvanceWatermark(int64_t watermark, TimerCallback on_timer) {
  watermark_ = std::max(watermark_, watermark);
  while (timers_.HasDue(watermark)) {
    int32_t kg = 0;
    int64_t ts = 0;
    timers_.PopEarliest(&kg, &fired_scratch_, &ts);
    std::string_view key = CompositeKey(fired_scratch_);
    int64_t ns = CompositeNamespace(fired_scratch_);
    SetCurrentKey(key, kg);
    SetCurrentNamespace(ns);
    RETURN_IF_ERROR(on_timer(current_key(), kg, ns, ts));
  }
  return status();
}

std::optional<int64_t> KeyedStateBackend::EarliestEventTimeTimer() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.EarliestTimestamp();
}

absl::Status KeyedStateBackend::Restore(
    const std::vector<std::string_view>& snapshots_bytes,
    const std::vector<std::vector<std::pair<int32_t, uint64_t>>>& offsets) {
  RETURN_IF_ERROR(open_status_);
  if (snapshots_bytes.size() != offsets.size()) {
    return InvalidArgumentF("Restore: {} snapshots but {} key group offset lists",
                            snapshots_bytes.size(), offsets.size());
  }
  for (size_t i = 0; i < snapshots_bytes.size(); ++i) {
    RETURN_IF_ERROR(RestoreOne(i, snapshots_bytes[i], offsets[i]));
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::RestoreOne(
    size_t index, std::string_view bytes,
    const std::vector<std::pair<int32_t, uint64_t>>& offsets) {
  ByteReader r(bytes);
  SnapshotHeader h;
  RETURN_IF_ERROR(ReadHeader(r, index, &h));
  if (h.max_parallelism != max_parallelism_) {
    return InvalidArgumentF("keyed state snapshot #{} was taken with max parallelism {}, this "
                            "backend has {}; max parallelism is fixed for the life of a job's "
                            "state",
                            index, h.max_parallelism, max_parallelism_);
  }
  // Resolve the snapshot's states against registered ones (kind must match) and pending ones.
  std::vector<internal::StateTableBase*> targets(h.states.size(), nullptr);
  std::vector<PendingState*> pendings(h.states.size(), nullptr);
  for (size_t s = 0; s < h.states.size(); ++s) {
    const auto& [name, kind, ttl] = h.states[s];
    auto it = by_name_.find(name);
    if (it != by_name_.end()) {
      if (it->second->kind() != kind) {
        return InvalidArgumentF("state '{}' is registered as {} state but keyed state snapshot "
                                "#{} holds it as {} state; the state's kind cannot change",
                                name, StateKindName(it->second->kind()), index,
                                StateKindName(kind));
      }
      if (it->second->has_ttl() != ttl) {
        return TtlMismatch(name, fmt::format("keyed state snapshot #{}", index), ttl,
                           it->second->ttl_config());
      }
      targets[s] = it->second;
      continue;
    }
    auto [pit, inserted] = pending_.try_emplace(name, PendingState{kind, ttl, {}});
    if (!inserted && pit->second.kind != kind) {
      return InvalidArgumentF("state '{}' is {} state in one restored snapshot and {} state in "
                              "keyed state snapshot #{}",
                              name, StateKindName(pit->second.kind), StateKindName(kind), index);
    }
    if (!inserted && pit->second.ttl != ttl) {
      return InvalidArgumentF("state '{}' has TTL in one restored snapshot and not in keyed state "
                              "snapshot #{} (or the reverse)",
                              name, index);
    }
    pendings[s] = &pit->second;
  }

  for (const auto& [kg, offset] : offsets) {
    if (!range_.Contains(kg)) continue;
    if (!h.range.Contains(kg)) {
      return DataLossF("keyed state snapshot #{}: index lists key group {} outside the "
                       "snapshot's range [{}, {}]",
                       index, kg, h.range.start, h.range.end);
    }
    RETURN_IF_ERROR(r.Seek(offset));
    int32_t stored_kg = 0;
    uint64_t body_len = 0;
    RETURN_IF_ERROR(r.ReadI32(&stored_kg));
    if (stored_kg != kg) {
      return DataLossF("keyed state snapshot #{}: expected key group {} at offset {}, found {}",
                       index, kg, offset, stored_kg);
    }
    RETURN_IF_ERROR(r.ReadFixed64(&body_len));
    std::string_view body;
    if (body_len > r.remaining()) {
      return DataLossF("keyed state snapshot #{}: key group {} at offset {} claims {} bytes, "
                       "only {} left: truncated or corrupt",
                       index, kg, offset, body_len, r.remaining());
    }
    RETURN_IF_ERROR(r.ReadRaw(body_len, &body));
    uint64_t checksum = 0;
    RETURN_IF_ERROR(r.ReadFixed64(&checksum));
    uint64_t actual = Checksum64(bytes.substr(offset, 4 + 8 + body_len));
    if (checksum != actual) {
      return DataLossF("keyed state snapshot #{}: checksum mismatch in key group {} at offset {} "
                       "(stored {:#x}, computed {:#x}): corrupt snapshot",
                       index, kg, offset, checksum, actual);
    }

    ByteReader b(body);
    uint64_t blocks = 0;
    RETURN_IF_ERROR(b.ReadLength(&blocks, b.remaining()));
    for (uint64_t i = 0; i < blocks; ++i) {
      uint64_t s = 0, len = 0;
      RETURN_IF_ERROR(b.ReadVarint64(&s));
      if (s >= h.states.size()) {
        return DataLossF("keyed state snapshot #{}, key group {}: state index {} but the header "
                         "lists {} states",
                         index, kg, s, h.states.size());
      }
      RETURN_IF_ERROR(b.ReadFixed64(&len));
      std::string_view chunk;
      RETURN_IF_ERROR(b.ReadRaw(len, &chunk));
      if (targets[s] != nullptr) {
        ByteReader cr(chunk);
        RETURN_IF_ERROR(targets[s]->ReadGroup(kg - range_.start, cr));
        if (!cr.at_end()) {
          return DataLossF("state '{}', key group {}: {} unread bytes after the entries: the "
                           "snapshot does not match the registered state's serializer",
                           h.states[s].name, kg, cr.remaining());
        }
      } else {
        pendings[s]->chunks.emplace_back(kg, std::string(chunk));
      }
    }
    RETURN_IF_ERROR(timers_.ReadGroup(kg, b));
    if (!b.at_end()) {
      return DataLossF("keyed state snapshot #{}, key group {}: {} unexpected bytes after the "
                       "timers",
                       index, kg, b.remaining());
    }
  }
  return absl::OkStatus();
}

int64_t KeyedStateBackend::ApproximateSizeBytes() const {
  int64_t n = 0;
  for (const auto& s : states_) n += s->ApproximateSizeBytes();
  for (const auto& [name, p] : pending_) {
    for (const auto& c : p.chunks) n += static_cast<int64_t>(c.second.capacity());
    if (p.column != nullptr) n += p.column->ApproximateSizeBytes();
  }
  return n + timers_.ApproximateSizeBytes();
}

}  // namespace sluice::state
