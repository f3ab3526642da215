// State backend benchmark: checkpoint duration and upload size versus state size, restore time
// and rescale restore time, for the RocksDB backend (issue #4 benchmarks; RESULTS.md).
//
// One Google Benchmark run per state size (MiB of RocksDB SST files after the fill): the state
// is ~100-byte incompressible values under 8-byte keys in one ValueState of a backend owning
// all 128 key groups (one subtask), filled once; then, each timed once:
//   full_snapshot     canonical Snapshot() (the savepoint format) + writing the file
//   inc_first         first incremental checkpoint: sync part + upload of every SST
//   inc_small         incremental checkpoint after updating 0.1% of the keys
//   restore_same      RestoreIncremental at the same key-group range (a failover)
//   restore_rescale   RestoreIncremental of one half of the key groups (scale-up 1 -> 2:
//                     each new subtask restores in parallel, so the slower half is reported)
//   restore_canonical Restore() of the canonical snapshot into a fresh RocksDB backend
// Durations in ms and sizes in bytes are reported as counters. Not run by ctest.
//
//   build/bin/state_backend_bench --benchmark_filter='.*/1024' --benchmark_counters_tabular=true

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "fmt/format.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/incremental_uploader.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
constexpr int32_t kMaxP = 128;
constexpr size_t kValueBytes = 100;

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int32_t KeyGroupOf(int64_t k) {
  return core::ComputeKeyGroupForKeyHash(static_cast<int32_t>(k * 0x9E3779B1), kMaxP);
}

state::BackendOptions Rocks(const fs::path& root) {
  state::BackendOptions o;
  o.kind = state::BackendOptions::kRocksDb;
  o.local_dir = (root / "local").string();
  return o;  // default block cache and write buffer (64 MiB each)
}

state::IncrementalRestoreSource SourceOf(const checkpoint::CheckpointStorage& storage, int64_t id,
                                         const checkpoint::OperatorStateHandle& h) {
  state::IncrementalRestoreSource src;
  src.range = {h.incremental->key_group_start, h.incremental->key_group_end};
  const std::string dir = storage.CheckpointDir(id);
  for (const auto* list : {&h.incremental->shared_files, &h.incremental->private_files}) {
    for (const auto& f : *list) src.files.emplace_back(f.name, checkpoint::ResolveStatePath(dir, f.path));
  }
  src.meta = *checkpoint::CheckpointStorage::ReadStateFile(dir, h.keyed_state_file);
  src.meta_offsets = h.key_group_offsets;
  return src;
}

void BM_RocksDbStateCheckpointAndRestore(benchmark::State& bs) {
  const int64_t target_bytes = bs.range(0) << 20;
  const fs::path root = fs::temp_directory_path() / fmt::format("sluice-state-bench-{}", ::getpid());
  fs::remove_all(root);
  checkpoint::CheckpointStorage storage((root / "checkpoints").string(), "0000000000000000000000000000beef");
  for (auto _ : bs) {
    auto backend = state::KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, Rocks(root));
    if (!backend.ok()) {
      bs.SkipWithError(std::string(backend.status().message()).c_str());
      return;
    }
    state::KeyedStateBackend& b = **backend;
    auto* v = *b.GetValueState<std::string>("value");
    std::mt19937_64 rng(42);
    std::string value(kValueBytes, '\0');
    int64_t keys = 0;
    auto fill = std::chrono::steady_clock::now();
    // Fill until the SST files reach the target (checked every 256k keys).
    while (true) {
      for (int i = 0; i < 262144; ++i, ++keys) {
        for (size_t j = 0; j < kValueBytes; j += 8) {
          uint64_t r = rng();
          std::memcpy(value.data() + j, &r, std::min<size_t>(8, kValueBytes - j));
        }
        b.SetCurrentKey(std::string_view(reinterpret_cast<const char*>(&keys), 8), KeyGroupOf(keys));
        v->update(value);
      }
      auto props = b.RocksDbProperties();
      int64_t sst = 0;
      for (const auto& [k, x] : props) {
        if (k == "total-sst-files-size" || k == "cur-size-all-mem-tables") sst += x;
      }
      if (sst >= target_bytes) break;
    }
    bs.counters["keys"] = static_cast<double>(keys);
    bs.counters["fill_s"] = MsSince(fill) / 1000;

    auto t = std::chrono::steady_clock::now();
    auto full = b.Snapshot();
    (void)storage.WriteStateFile(1, "full.kstate", full->bytes);
    bs.counters["full_snapshot_ms"] = MsSince(t);
    bs.counters["full_bytes"] = static_cast<double>(full->bytes.size());

    checkpoint::IncrementalUploader up(storage, "op-0-0");
    auto checkpoint = [&](int64_t id, const char* ms_name, const char* bytes_name) {
      auto t0 = std::chrono::steady_clock::now();
      auto snap = b.SnapshotIncremental(fmt::format("{}.chk-{}", b.rocksdb_dir(), id));
      checkpoint::OperatorStateHandle h;
      absl::Status s = up.Upload(id, *snap, b.key_group_range(), &h);
      if (!s.ok()) bs.SkipWithError(std::string(s.message()).c_str());
      bs.counters[ms_name] = MsSince(t0);
      bs.counters[bytes_name] = static_cast<double>(h.incremental->checkpointed_size);
      bs.counters["state_bytes"] = static_cast<double>(h.keyed_state_size);
      up.NotifyComplete(id);
      return h;
    };
    checkpoint(2, "inc_first_ms", "inc_first_bytes");
    for (int64_t k = 0; k < keys / 1000; ++k) {
      const int64_t key = k * 997 % keys;
      b.SetCurrentKey(std::string_view(reinterpret_cast<const char*>(&key), 8), KeyGroupOf(key));
      v->update(std::string("updated"));
    }
    checkpoint::OperatorStateHandle h3 = checkpoint(3, "inc_small_ms", "inc_small_bytes");

    {
      auto r = state::KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, Rocks(root));
      t = std::chrono::steady_clock::now();
      absl::Status s = (*r)->RestoreIncremental({SourceOf(storage, 3, h3)});
      bs.counters["restore_same_ms"] = MsSince(t);
      if (!s.ok()) bs.SkipWithError(std::string(s.message()).c_str());
    }
    double slowest = 0;
    for (int i = 0; i < 2; ++i) {
      auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 2, i);
      auto r = state::KeyedStateBackend::Create(kMaxP, range, Rocks(root));
      t = std::chrono::steady_clock::now();
      absl::Status s = (*r)->RestoreIncremental({SourceOf(storage, 3, h3)});
      slowest = std::max(slowest, MsSince(t));
      if (!s.ok()) bs.SkipWithError(std::string(s.message()).c_str());
    }
    bs.counters["restore_rescale_ms"] = slowest;
    {
      auto r = state::KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, Rocks(root));
      t = std::chrono::steady_clock::now();
      absl::Status s = (*r)->Restore({full->bytes}, {full->key_group_offsets});
      auto* rv = *(*r)->GetValueState<std::string>("value");  // registration writes the entries
      (void)rv;
      bs.counters["restore_canonical_ms"] = MsSince(t);
      if (!s.ok()) bs.SkipWithError(std::string(s.message()).c_str());
    }
  }
  fs::remove_all(root);
}
BENCHMARK(BM_RocksDbStateCheckpointAndRestore)
    ->Arg(256)->Arg(512)->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
