#include "jobmanager/state_assignment.h"

#include <algorithm>
#include <map>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

std::string CheckpointDirOf(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const std::string suffix = "/_metadata";
  if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
    p.resize(p.size() - suffix.size());
  }
  return p;
}

absl::Status CheckRestore(const checkpoint::CheckpointMetadata& md, const graph::JobGraph& graph,
                          bool allow_non_restored, const std::string& restore_path) {
  std::map<std::string, std::string> uids;  // uid -> operator name
  for (const auto& v : graph.vertices) {
    if (v.source) uids[v.source->uid] = v.source->name;
    for (const auto& op : v.operators) uids[op.uid] = op.name;
  }
  const bool rocksdb = graph.config.state_backend.kind == graph::StateBackendKind::kRocksDb;
  for (const auto& st : md.subtasks) {
    for (const auto& op : st.operators) {
      auto it = uids.find(op.operator_uid);
      if (it != uids.end()) {
        if (op.incremental && !rocksdb) {
          return InvalidArgumentF(
              "cannot restore from '{}': operator '{}' ({}) has incremental RocksDB state, "
              "which only the RocksDB backend reads, and the job uses state.backend: heap; "
              "restore it with state.backend: rocksdb, or restore from a savepoint "
              "(canonical format) to switch backends",
              restore_path, op.operator_uid, it->second);
        }
        if (!op.keyed_state_file.empty() && md.max_parallelism != graph.max_parallelism) {
          return InvalidArgumentF(
              "cannot restore from '{}': operator '{}' ({}) has keyed state for max "
              "parallelism {}, the job has max parallelism {} (key groups cannot change)",
              restore_path, op.operator_uid, it->second, md.max_parallelism,
              graph.max_parallelism);
        }
        continue;
      }
      if (!allow_non_restored) {
        std::vector<std::string> known;
        for (const auto& [uid, name] : uids) known.push_back(uid);
        return InvalidArgumentF(
            "cannot restore from '{}': it has state for operator uid '{}', which the job "
            "does not have (uids: {}); pass --allow-non-restored-state to skip it",
            restore_path, op.operator_uid, fmt::join(known, ", "));
      }
      spdlog::warn("Skipping state of operator uid '{}' from {}: not in the job", op.operator_uid,
                   restore_path);
    }
  }
  return absl::OkStatus();
}

namespace {
deployment::KeyedStateFile KeyedFile(const std::string& dir, const checkpoint::OperatorStateHandle& op) {
  deployment::KeyedStateFile f;
  f.path = dir + "/" + op.keyed_state_file;
  f.key_group_offsets = op.key_group_offsets;
  return f;
}

deployment::IncrementalKeyedState Incremental(const std::string& dir,
                                              const checkpoint::OperatorStateHandle& op) {
  deployment::IncrementalKeyedState inc;
  inc.key_group_start = op.incremental->key_group_start;
  inc.key_group_end = op.incremental->key_group_end;
  auto add = [&](const checkpoint::StateFile& sf, bool shared) {
    inc.files.push_back({sf.name, checkpoint::ResolveStatePath(dir, sf.path), sf.path, sf.size,
                         sf.uploaded_by, shared});
  };
  for (const auto& sf : op.incremental->shared_files) add(sf, true);
  for (const auto& sf : op.incremental->private_files) add(sf, false);
  inc.meta = KeyedFile(dir, op);
  return inc;
}
}  // namespace

std::vector<deployment::RestoredOperatorState> AssignState(const checkpoint::CheckpointMetadata& md,
                                                           const std::string& checkpoint_dir,
                                                           const graph::JobVertex& vertex,
                                                           int subtask) {
  const core::KeyGroupRange range = core::ComputeKeyGroupRangeForOperatorIndex(
      vertex.max_parallelism, vertex.parallelism, subtask);
  std::vector<deployment::RestoredOperatorState> out;
  for (const auto& uid : vertex.uids()) {
    std::vector<std::pair<int32_t, const checkpoint::OperatorStateHandle*>> found;
    for (const auto& st : md.subtasks) {
      for (const auto& op : st.operators) {
        if (op.operator_uid == uid) found.emplace_back(st.subtask, &op);
      }
    }
    if (found.empty()) continue;
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const int32_t old_parallelism = static_cast<int32_t>(found.size());
    deployment::RestoredOperatorState r;
    r.operator_uid = uid;
    for (const auto& [old_subtask, op] : found) {
      if (old_parallelism == vertex.parallelism) {
        if (old_subtask == subtask) r.operator_state = op->operator_state;
      } else {
        r.union_states.push_back(op->operator_state);
        r.restored_parallelism = old_parallelism;
      }
      if (op->keyed_state_file.empty()) continue;
      const bool overlaps = std::any_of(op->key_group_offsets.begin(), op->key_group_offsets.end(),
                                        [&](const auto& g) { return range.Contains(g.first); });
      if (!overlaps) continue;
      if (op->incremental) r.incremental_state.push_back(Incremental(checkpoint_dir, *op));
      else r.keyed_state.push_back(KeyedFile(checkpoint_dir, *op));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sluice::jobmanager
