#include "runtime/job/node_compilers.h"

#include <cctype>

#include "runtime/base/memory_size.h"
#include "runtime/base/status.h"

namespace sluice::job {

namespace {

absl::Status CompileCheckpointing(const SpecReader& r, const YAML::Node& cp, graph::JobConfig* c) {
  RETURN_IF_ERROR(r.CheckKeys(cp, "checkpointing",
                              {"interval", "timeout", "min-pause", "max-concurrent",
                               "tolerable-failed-checkpoints", "retained", "dir",
                               "externalized-checkpoint-retention"}));
  checkpoint::CheckpointConfig cfg;
  if (cp["interval"]) {
    ASSIGN_OR_RETURN(cfg.interval_ms, r.GetDuration(cp, "checkpointing", "interval"));
    if (cfg.interval_ms != 0 && cfg.interval_ms < 10) {
      return r.Error(cp["interval"], "checkpointing: interval must be 0 (off) or at least 10 ms");
    }
  }
  if (cp["timeout"]) {
    ASSIGN_OR_RETURN(cfg.timeout_ms, r.GetDuration(cp, "checkpointing", "timeout"));
  }
  if (cp["min-pause"]) {
    ASSIGN_OR_RETURN(cfg.min_pause_ms, r.GetDuration(cp, "checkpointing", "min-pause"));
  }
  const std::tuple<const char*, int*, int> ints[] = {
      {"max-concurrent", &cfg.max_concurrent, 1},
      {"tolerable-failed-checkpoints", &cfg.tolerable_failed_checkpoints, 0},
      {"retained", &cfg.retained, 1}};
  for (const auto& [key, field, min] : ints) {
    if (!cp[key]) continue;
    ASSIGN_OR_RETURN(*field, r.GetInt(cp, "checkpointing", key, min));
    if (*field < min) return r.Error(cp[key], "checkpointing: '{}' must be at least {}", key, min);
  }
  if (cp["externalized-checkpoint-retention"]) {
    // Flink's enum names; case and '-' for '_' do not matter.
    ASSIGN_OR_RETURN(std::string text, r.GetString(cp, "checkpointing",
                                                   "externalized-checkpoint-retention", true));
    std::string norm;
    for (char ch : text) norm.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(ch)));
    if (norm == "RETAIN_ON_CANCELLATION") {
      cfg.retention = checkpoint::CheckpointRetention::kRetainOnCancellation;
    } else if (norm == "DELETE_ON_CANCELLATION") {
      cfg.retention = checkpoint::CheckpointRetention::kDeleteOnCancellation;
    } else if (norm == "NO_EXTERNALIZED_CHECKPOINTS") {
      cfg.retention = checkpoint::CheckpointRetention::kNoExternalized;
    } else {
      return r.Error(cp["externalized-checkpoint-retention"],
                     "checkpointing: unknown externalized-checkpoint-retention '{}' (expected "
                     "RETAIN_ON_CANCELLATION, DELETE_ON_CANCELLATION or "
                     "NO_EXTERNALIZED_CHECKPOINTS)",
                     text);
    }
  }
  if (cp["dir"]) {
    ASSIGN_OR_RETURN(std::string dir, r.GetString(cp, "checkpointing", "dir", true));
    c->checkpoint_dir = r.ResolvePath(dir);
  }
  if (cfg.interval_ms > 0) {
    if (absl::Status s = cfg.Validate(); !s.ok()) return r.Error(cp, "checkpointing: {}", s.message());
    c->checkpointing = cfg;
  }
  return absl::OkStatus();
}

absl::Status CompileState(const SpecReader& r, const YAML::Node& st, graph::JobConfig* c) {
  RETURN_IF_ERROR(r.CheckKeys(st, "state", {"backend", "local-dir", "rocksdb", "incremental", "ttl"}));
  graph::StateBackendConfig& b = c->state_backend;
  if (st["ttl"]) {
    // Flink SQL's table.exec.state.ttl: keyed state expires this long after its last write
    // (processing time); 0 = never (the default). Applied by the window operator.
    ASSIGN_OR_RETURN(c->state_ttl_ms, r.GetDuration(st, "state", "ttl"));
  }
  if (YAML::Node rk = st["rocksdb"]) {
    RETURN_IF_ERROR(r.CheckKeys(rk, "state.rocksdb",
                                {"block-cache-size", "write-buffer-size", "timer-service"}));
    if (rk["timer-service"]) {
      // Flink's state.backend.rocksdb.timer-service.factory: ROCKSDB (default) | HEAP.
      ASSIGN_OR_RETURN(std::string ts, r.GetString(rk, "state.rocksdb", "timer-service", true));
      if (ts != "rocksdb" && ts != "heap") {
        return r.Error(rk["timer-service"], "state.rocksdb: 'timer-service' must be rocksdb or "
                       "heap, found '{}'", ts);
      }
      b.rocksdb_timers = ts == "rocksdb";
    }
    // Flink's state.backend.rocksdb.block.cache-size / .writebuffer.size, in bytes or with a
    // unit suffix (kb, mb, gb).
    const std::pair<const char*, int64_t*> sizes[] = {
        {"block-cache-size", &b.rocksdb_block_cache_bytes},
        {"write-buffer-size", &b.rocksdb_write_buffer_bytes}};
    for (const auto& [key, field] : sizes) {
      if (!rk[key]) continue;
      ASSIGN_OR_RETURN(std::string text, r.GetString(rk, "state.rocksdb", key, true));
      auto bytes = ParseMemorySizeBytes(text);
      if (!bytes || *bytes <= 0) {
        return r.Error(rk[key], "state.rocksdb: '{}' must be a size like 64 mb, found '{}'", key,
                       text);
      }
      *field = *bytes;
    }
  }
  ASSIGN_OR_RETURN(std::string backend, r.GetString(st, "state", "backend", false, "heap"));
  if (backend != "heap" && backend != "hashmap" && backend != "rocksdb") {
    return r.Error(st["backend"], "state: unknown backend '{}' (expected heap or rocksdb)", backend);
  }
  b.kind = backend == "rocksdb" ? graph::StateBackendKind::kRocksDb : graph::StateBackendKind::kHeap;
  // Flink's state.backend.incremental; Sluice defaults it to true (see docs/job-spec.md).
  ASSIGN_OR_RETURN(bool incremental, r.GetBool(st, "state", "incremental", true));
  if (incremental && backend != "rocksdb" && st["incremental"]) {
    return r.Error(st["incremental"], "state: incremental checkpoints need backend: rocksdb "
                   "(the heap backend always takes full snapshots)");
  }
  b.incremental = backend == "rocksdb" && incremental;
  if (st["local-dir"]) {
    ASSIGN_OR_RETURN(std::string dir, r.GetString(st, "state", "local-dir", true));
    b.local_dir = r.ResolvePath(dir);
  }
  return absl::OkStatus();
}

// `restart-strategy: {type, <option>: value}` -> Flink's flat keys, parsed once.
absl::Status CompileRestartStrategy(const SpecReader& r, const YAML::Node& rs, graph::JobConfig* c) {
  std::map<std::string, std::string> keys;
  if (rs) {
    if (!rs.IsMap()) return r.Error(rs, "restart-strategy must be a mapping with a 'type'");
    ASSIGN_OR_RETURN(std::string type, r.GetString(rs, "restart-strategy", "type", true));
    keys["restart-strategy.type"] = type;
    for (const auto& kv : rs) {
      std::string key = kv.first.as<std::string>();
      if (key == "type") continue;
      if (!kv.second.IsScalar()) {
        return r.Error(kv.second, "restart-strategy: '{}' must be a scalar", key);
      }
      keys["restart-strategy." + type + "." + key] = kv.second.Scalar();
    }
  } else if (!c->checkpointing_enabled()) {
    // Flink: without checkpointing the default is no restarts (state would be lost).
    keys["restart-strategy.type"] = "none";
  }
  auto parsed = checkpoint::RestartStrategyConfig::Parse(keys);
  if (!parsed.ok()) return r.Error(rs ? rs : YAML::Node(), "restart-strategy: {}", parsed.status().message());
  c->restart_strategy = *parsed;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<graph::JobConfig> CompileJobConfig(const SpecReader& r, const YAML::Node& root) {
  graph::JobConfig c;
  if (YAML::Node cp = root["checkpointing"]) RETURN_IF_ERROR(CompileCheckpointing(r, cp, &c));
  if (YAML::Node st = root["state"]) RETURN_IF_ERROR(CompileState(r, st, &c));
  RETURN_IF_ERROR(CompileRestartStrategy(r, root["restart-strategy"], &c));
  return c;
}

}  // namespace sluice::job
