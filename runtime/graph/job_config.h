#pragma once
// JobConfig: a job's settings, parsed once from the job spec into typed values (Flink's
// ExecutionConfig + CheckpointConfig + the state backend and restart strategy options of a
// job). The JobGraph carries it; the JobManager reads the checkpointing and restart parts, the
// TaskManagers the state backend part. Nothing re-parses strings after compilation.
//
// Immutable after compilation; plain values, safe to copy and share between threads.

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/checkpoint/restart_strategy.h"

namespace sluice::graph {

// Flink's state.backend: hashmap (heap) or rocksdb.
enum class StateBackendKind : uint8_t { kHeap, kRocksDb };

struct StateBackendConfig {
  StateBackendKind kind = StateBackendKind::kHeap;
  // state.backend.incremental: RocksDB checkpoints upload only new SST files (default true for
  // RocksDB; the heap backend always takes full snapshots).
  bool incremental = false;
  // state.backend.rocksdb.block.cache-size / .writebuffer.size in bytes; 0 = the backend's
  // default (runtime/state/keyed_state_backend.h BackendOptions).
  int64_t rocksdb_block_cache_bytes = 0;
  int64_t rocksdb_write_buffer_bytes = 0;
  // state.backend.rocksdb.timer-service.factory: ROCKSDB (true, default) or HEAP (false).
  bool rocksdb_timers = true;
  // state.local-dir: where RocksDB instances live; empty = the system temp directory.
  std::string local_dir;
};

struct JobConfig {
  // execution.checkpointing.*: nullopt = the job does not checkpoint.
  std::optional<checkpoint::CheckpointConfig> checkpointing;
  // state.checkpoints.dir from the spec (absolute); empty = the JobManager's default.
  std::string checkpoint_dir;
  // restart-strategy.*: without an explicit strategy, exponential-delay with checkpointing and
  // none without (Flink's rule: a job without checkpoints would lose its state on a restart).
  checkpoint::RestartStrategyConfig restart_strategy;
  StateBackendConfig state_backend;
  // table.exec.state.ttl in ms (job spec `state: {ttl: ...}`); 0 = keyed state never expires.
  int64_t state_ttl_ms = 0;

  bool checkpointing_enabled() const {
    return checkpointing.has_value() && checkpointing->interval_ms > 0;
  }
};

}  // namespace sluice::graph
