#include "taskmanager/state_initializer.h"

#include <algorithm>
#include <filesystem>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/core/key_groups.h"

namespace sluice::taskmanager {

StreamTaskStateInitializer::StreamTaskStateInitializer(
    const deployment::TaskDeploymentDescriptor& tdd, const graph::JobGraph& graph,
    std::string task_name)
    : tdd_(tdd), graph_(graph), vertex_(graph.vertex(tdd.vertex)), task_name_(std::move(task_name)) {}

state::BackendOptions StreamTaskStateInitializer::BackendOptions() const {
  const graph::StateBackendConfig& c = graph_.config.state_backend;
  state::BackendOptions o;
  o.kind = c.kind == graph::StateBackendKind::kRocksDb ? state::BackendOptions::kRocksDb
                                                       : state::BackendOptions::kHeap;
  if (c.rocksdb_block_cache_bytes > 0) o.block_cache_bytes = c.rocksdb_block_cache_bytes;
  if (c.rocksdb_write_buffer_bytes > 0) o.write_buffer_bytes = c.rocksdb_write_buffer_bytes;
  o.rocksdb_timers = c.rocksdb_timers;
  o.local_dir = c.local_dir.empty() ? std::filesystem::temp_directory_path().string() : c.local_dir;
  return o;
}

absl::StatusOr<OperatorState> StreamTaskStateInitializer::Initialize(
    const graph::ChainedOperator& op) {
  OperatorState st;
  st.uid = op.uid;
  if (!op.keyed) return st;
  const core::KeyGroupRange range = core::ComputeKeyGroupRangeForOperatorIndex(
      vertex_.max_parallelism, vertex_.parallelism, tdd_.subtask);
  ASSIGN_OR_RETURN(st.backend,
                   state::KeyedStateBackend::Create(vertex_.max_parallelism, range, BackendOptions()));
  // RocksDB backends get an uploader for native savepoints; incremental checkpoints use it
  // only with state.backend.incremental.
  if (st.backend->kind() == state::BackendOptions::kRocksDb && !tdd_.checkpoint_dir.empty()) {
    std::string prefix = fmt::format("{}-{}-{}", op.uid, tdd_.subtask, tdd_.attempt_number);
    std::replace(prefix.begin(), prefix.end(), '/', '_');
    st.uploader = std::make_unique<checkpoint::IncrementalUploader>(
        checkpoint::CheckpointStorage(tdd_.checkpoint_dir, tdd_.job_id.ToString()), prefix);
  }
  if (const auto* restored = tdd_.RestoredFor(op.uid)) RETURN_IF_ERROR(Restore(*restored, st));
  return st;
}

absl::Status StreamTaskStateInitializer::Restore(const deployment::RestoredOperatorState& restored,
                                                 OperatorState& st) {
  state::KeyedStateBackend& backend = *st.backend;
  if (!restored.incremental_state.empty()) {
    std::vector<state::IncrementalRestoreSource> sources;
    std::vector<checkpoint::StateFile> shared;
    for (const auto& inc : restored.incremental_state) {
      state::IncrementalRestoreSource src;
      src.range = {inc.key_group_start, inc.key_group_end};
      for (const auto& f : inc.files) {
        src.files.emplace_back(f.name, f.path);
        if (f.shared) shared.push_back({f.name, f.relative_path, f.size, f.uploaded_by});
      }
      ASSIGN_OR_RETURN(src.meta, checkpoint::CheckpointStorage::ReadFile(inc.meta.path));
      src.meta_offsets = inc.meta.key_group_offsets;
      sources.push_back(std::move(src));
    }
    RETURN_IF_ERROR(backend.RestoreIncremental(sources));
    // A restart from this job's own checkpoint into the same key groups gets the identical
    // database: the next checkpoint uploads only what changed since.
    if (st.uploader && tdd_.restored_from_own_checkpoint && sources.size() == 1 &&
        sources[0].range.start == backend.key_group_range().start &&
        sources[0].range.end == backend.key_group_range().end) {
      st.uploader->Seed(std::move(shared));
    }
  }
  if (restored.keyed_state.empty()) return absl::OkStatus();
  std::vector<std::string> files;
  std::vector<std::vector<std::pair<int32_t, uint64_t>>> offsets;
  for (const auto& f : restored.keyed_state) {
    ASSIGN_OR_RETURN(std::string bytes, checkpoint::CheckpointStorage::ReadFile(f.path));
    files.push_back(std::move(bytes));
    offsets.push_back(f.key_group_offsets);
  }
  std::vector<std::string_view> views(files.begin(), files.end());
  return backend.Restore(views, offsets);
}

api::OperatorContext StreamTaskStateInitializer::Context(const std::string& name,
                                                         const std::string& uid,
                                                         api::OperatorMetrics* metrics,
                                                         state::KeyedStateBackend* backend) const {
  api::OperatorContext ctx;
  ctx.job_name = graph_.name;
  ctx.task_name = task_name_;
  ctx.operator_name = name;
  ctx.operator_uid = uid;
  ctx.subtask_index = tdd_.subtask;
  ctx.parallelism = vertex_.parallelism;
  ctx.max_parallelism = vertex_.max_parallelism;
  ctx.attempt_number = tdd_.attempt_number;
  ctx.metrics = metrics;
  ctx.checkpointing_enabled = !tdd_.checkpoint_dir.empty();
  ctx.state_ttl_ms = graph_.config.state_ttl_ms;
  ctx.keyed_state = backend;
  if (const auto* restored = tdd_.RestoredFor(uid)) {
    ctx.restored_state = restored->operator_state;
    ctx.restored_union_states = restored->union_states;
    ctx.restored_parallelism = restored->restored_parallelism;
  }
  return ctx;
}

}  // namespace sluice::taskmanager
