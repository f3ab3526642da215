// Heap keyed state checkpoints (issue 15; RESULTS.md "Asynchronous heap snapshots"): what a
// checkpoint barrier costs the task thread with a full synchronous snapshot and with the
// pin of an asynchronous one (KeyedStateBackend::SnapshotAsync), and what copying the entries
// the task touches during a snapshot adds to the writes after the pin.
//
// One subtask's share of a parallelism-2 job: a backend owning 64 of 128 key groups, one
// ValueState<int64_t> under 8-byte keys (range(0) keys; range(1) = 1: with a 1-minute TTL, as
// the latency benchmark's aggregate), filled once. Each iteration, timed apart (counters, ms):
//   sync_full_ms      Snapshot(): every entry serialized on the calling thread
//   sync_pin_ms       SnapshotAsync(): the pin, all a checkpoint now costs the task up front
//   writes_ms         kWrites updates of random keys with no snapshot in progress
//   writes_pinned_ms  the same updates right after a pin, before its writer ran (every shard
//                     written to is frozen and every entry written to copied first: the worst
//                     case, a writer that gets no CPU before the task has written everywhere)
//   write_ms          the writer's Write() (on the uploader thread in a real checkpoint)
// Not run by ctest.
//
//   build/bin/heap_snapshot_bench --benchmark_counters_tabular=true

#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice {
namespace {

constexpr int32_t kMaxP = 128;
constexpr core::KeyGroupRange kRange{0, 63};
constexpr int kWrites = 100000;

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class Keys {
 public:
  explicit Keys(int64_t n) {
    for (int64_t k = 0; static_cast<int64_t>(keys_.size()) < n; ++k) {
      const int32_t kg = core::ComputeKeyGroupForKeyHash(static_cast<int32_t>(k * 0x9E3779B1), kMaxP);
      if (kRange.Contains(kg)) keys_.push_back({k, kg});
    }
  }
  void Set(state::KeyedStateBackend& b, size_t i) const {
    char bytes[8];
    std::memcpy(bytes, &keys_[i].key, sizeof(bytes));
    b.SetCurrentKey(std::string_view(bytes, sizeof(bytes)), keys_[i].group);
  }
  size_t size() const { return keys_.size(); }

 private:
  struct Key {
    int64_t key;
    int32_t group;
  };
  std::vector<Key> keys_;
};

void BM_HeapCheckpoint(benchmark::State& bs) {
  const Keys keys(bs.range(0));
  state::KeyedStateBackend backend(kMaxP, kRange);
  std::optional<state::StateTtlConfig> ttl;
  if (bs.range(1) != 0) ttl = state::StateTtlConfig{.ttl_ms = 60000};
  auto* value = *backend.GetValueState<int64_t>("value", ttl);
  for (size_t i = 0; i < keys.size(); ++i) {
    keys.Set(backend, i);
    value->update(static_cast<int64_t>(i));
  }
  std::mt19937_64 rng(42);
  std::vector<size_t> order(kWrites);
  for (auto& o : order) o = rng() % keys.size();
  auto writes = [&] {
    const auto t = std::chrono::steady_clock::now();
    for (size_t i : order) {
      keys.Set(backend, i);
      value->update(static_cast<int64_t>(i) + 1);
    }
    return MsSince(t);
  };
  for (auto _ : bs) {
    auto t = std::chrono::steady_clock::now();
    auto full = backend.Snapshot();
    bs.counters["sync_full_ms"] = MsSince(t);
    bs.counters["snapshot_mb"] = static_cast<double>(full->bytes.size()) / (1 << 20);
    bs.counters["writes_ms"] = writes();
    t = std::chrono::steady_clock::now();
    auto writer = backend.SnapshotAsync();
    bs.counters["sync_pin_ms"] = MsSince(t);
    bs.counters["writes_pinned_ms"] = writes();
    t = std::chrono::steady_clock::now();
    auto bytes = (*writer)->Write();
    bs.counters["write_ms"] = MsSince(t);
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_HeapCheckpoint)
    ->Args({500000, 0})->Args({500000, 1})->Args({50000, 0})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
