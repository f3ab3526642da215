#include "taskmanager/subtask_checkpoint_coordinator.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/base/thread_name.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "spdlog/spdlog.h"

namespace sluice::taskmanager {

// The synchronous part's result for one chain element.
struct SubtaskCheckpointCoordinator::Pending {
  std::string uid;
  std::string operator_state;
  std::optional<state::KeyedStateSnapshot> keyed;
  // Heap keyed state: pinned in the synchronous part, written by the uploader into `keyed`.
  std::shared_ptr<state::KeyedSnapshotWriter> heap;
  std::optional<state::IncrementalSnapshot> incremental;
  size_t op_index = 0;
  bool full_upload = false;  // native savepoint: upload every SST, reuse nothing
};

namespace {

// How much higher the upload thread's nice value is than the TaskManager's (Linux: per thread;
// at most 19, the lowest priority). When it competes with task threads for a core, the
// scheduler gives it about a tenth of their share, so serializing and writing a heap
// checkpoint delays records less; it still gets that share under full load, and all of an
// idle core.
constexpr int kUploadThreadNiceIncrement = 10;

}  // namespace

SubtaskCheckpointCoordinator::SubtaskCheckpointCoordinator(
    const deployment::TaskDeploymentDescriptor& tdd, TaskEnvironment* env, std::string task_name,
    bool incremental)
    : tdd_(tdd), env_(env), task_name_(std::move(task_name)), incremental_(incremental) {
  if (!tdd_.checkpoint_dir.empty()) {
    uploader_ = std::make_unique<SerialExecutor>();
    uploader_->Post([] {
      SetCurrentThreadName("ckpt-upload");
      // Below the task threads (docs/design-decisions.md): an error leaves the default.
      const auto tid = static_cast<id_t>(gettid());
      const int nice = std::min(19, getpriority(PRIO_PROCESS, tid) + kUploadThreadNiceIncrement);
      (void)setpriority(PRIO_PROCESS, tid, nice);
    });
  }
}

SubtaskCheckpointCoordinator::~SubtaskCheckpointCoordinator() {
  if (uploader_) uploader_->Shutdown();
}

void SubtaskCheckpointCoordinator::Bind(api::Source* source, std::string source_uid,
                                        std::vector<api::Operator*> operators,
                                        std::vector<OperatorState>* states) {
  source_ = source;
  source_uid_ = std::move(source_uid);
  ops_ = std::move(operators);
  states_ = states;
}

void SubtaskCheckpointCoordinator::WaitForUploads() {
  if (uploader_) uploader_->Call([] { return 0; });
}

absl::Status SubtaskCheckpointCoordinator::Checkpoint(int64_t checkpoint_id, int64_t alignment_ms,
                                                      CheckpointOptions options,
                                                      const std::function<absl::Status()>& emit_barrier) {
  if (!uploader_) {
    return FailedPreconditionF("checkpoint {} triggered but the job does not checkpoint",
                               checkpoint_id);
  }
  if (checkpoint_id <= last_checkpoint_id_) return absl::OkStatus();
  last_checkpoint_id_ = checkpoint_id;
  const int64_t t0 = MonotonicMillis();
  // Synchronous part. Canonical savepoints always take the buffer; native savepoints every SST
  // file (self-contained); incremental checkpoints the new ones.
  auto pending = std::make_shared<std::vector<Pending>>();
  absl::Status failure;
  if (source_) {
    auto st = source_->SnapshotState(checkpoint_id);
    if (!st.ok()) failure = st.status();
    else pending->push_back(Pending{source_uid_, std::move(*st), std::nullopt, nullptr, std::nullopt, 0, false});
  }
  for (size_t i = 0; failure.ok() && i < ops_.size(); ++i) {
    auto st = ops_[i]->SnapshotState(checkpoint_id);
    if (!st.ok()) {
      failure = st.status();
      break;
    }
    OperatorState& os = (*states_)[i];
    Pending p{os.uid, std::move(*st), std::nullopt, nullptr, std::nullopt, i, false};
    const bool native_rocksdb = options.savepoint && options.native && os.uploader != nullptr;
    if (os.backend && os.uploader && ((!options.savepoint && incremental_) || native_rocksdb)) {
      auto snap = os.backend->SnapshotIncremental(
          fmt::format("{}.chk-{}", os.backend->rocksdb_dir(), checkpoint_id));
      if (!snap.ok()) {
        failure = snap.status();
        break;
      }
      p.incremental = std::move(*snap);
      p.full_upload = native_rocksdb;
    } else if (os.backend && os.backend->kind() == state::BackendOptions::kHeap) {
      // Pinned: the uploader serializes the entries while the task goes on (cow_groups.h).
      auto writer = os.backend->SnapshotAsync();
      if (!writer.ok()) {
        failure = writer.status();
        break;
      }
      p.heap = std::move(*writer);
    } else if (os.backend) {
      auto snap = os.backend->Snapshot();
      if (!snap.ok()) {
        failure = snap.status();
        break;
      }
      p.keyed = std::move(*snap);
    }
    pending->push_back(std::move(p));
  }
  if (!failure.ok()) {
    spdlog::warn("{} declines checkpoint {}: {}", task_name_, checkpoint_id, failure.message());
    env_->DeclineCheckpoint(tdd_, checkpoint_id, std::string(failure.message()));
    return absl::OkStatus();
  }
  const int64_t sync_ms = MonotonicMillis() - t0;
  RETURN_IF_ERROR(emit_barrier());
  uploader_->Post([this, pending, checkpoint_id, alignment_ms, sync_ms] {
    Upload(pending, checkpoint_id, alignment_ms, sync_ms);
  });
  return absl::OkStatus();
}

void SubtaskCheckpointCoordinator::Upload(std::shared_ptr<std::vector<Pending>> pending,
                                          int64_t checkpoint_id, int64_t alignment_ms,
                                          int64_t sync_ms) {
  const int64_t t1 = MonotonicMillis();
  checkpoint::CheckpointStorage storage(tdd_.checkpoint_dir, tdd_.job_id.ToString());
  checkpoint::SubtaskStateHandle handle;
  handle.vertex = tdd_.vertex;
  handle.subtask = tdd_.subtask;
  int64_t size = 0, checkpointed = 0;
  for (auto& p : *pending) {
    checkpoint::OperatorStateHandle op;
    op.operator_uid = p.uid;
    op.operator_state = std::move(p.operator_state);
    size += static_cast<int64_t>(op.operator_state.size());
    checkpointed += static_cast<int64_t>(op.operator_state.size());
    if (p.heap) {
      p.keyed = p.heap->Write();
      p.heap.reset();  // lets go of the last pinned shards
    }
    if (p.keyed) {
      std::string file = fmt::format("{}-{}-{}.kstate", p.uid, tdd_.subtask, tdd_.attempt_number);
      std::replace(file.begin(), file.end(), '/', '_');
      auto written = storage.WriteStateFile(checkpoint_id, file, p.keyed->bytes);
      if (!written.ok()) {
        env_->DeclineCheckpoint(tdd_, checkpoint_id, std::string(written.status().message()));
        return;
      }
      op.keyed_state_file = *written;
      op.key_group_offsets = p.keyed->key_group_offsets;
      op.keyed_state_size = static_cast<int64_t>(p.keyed->bytes.size());
      size += op.keyed_state_size;
      checkpointed += op.keyed_state_size;
    }
    if (p.incremental) {
      OperatorState& os = (*states_)[p.op_index];
      absl::Status up = os.uploader->Upload(checkpoint_id, *p.incremental,
                                            os.backend->key_group_range(), &op, p.full_upload);
      if (!up.ok()) {
        env_->DeclineCheckpoint(tdd_, checkpoint_id, std::string(up.message()));
        return;
      }
      size += op.keyed_state_size;
      checkpointed += op.incremental->checkpointed_size;
    }
    handle.operators.push_back(std::move(op));
  }
  CheckpointAck ack;
  ack.checkpoint_id = checkpoint_id;
  ack.state_handle = checkpoint::EncodeSubtaskStateHandle(handle);
  ack.state_size_bytes = size;
  ack.checkpointed_size_bytes = checkpointed;
  ack.alignment_ms = alignment_ms;
  ack.sync_ms = sync_ms;
  ack.async_ms = MonotonicMillis() - t1;
  env_->AcknowledgeCheckpoint(tdd_, ack);
}

absl::Status SubtaskCheckpointCoordinator::NotifyComplete(int64_t checkpoint_id) {
  if (uploader_) {
    uploader_->Post([this, checkpoint_id] {
      for (auto& os : *states_) {
        if (os.uploader) os.uploader->NotifyComplete(checkpoint_id);
      }
    });
  }
  if (source_) RETURN_IF_ERROR(source_->NotifyCheckpointComplete(checkpoint_id));
  for (auto* op : ops_) RETURN_IF_ERROR(op->NotifyCheckpointComplete(checkpoint_id));
  last_completed_id_ = std::max(last_completed_id_, checkpoint_id);
  return absl::OkStatus();
}

void SubtaskCheckpointCoordinator::NotifyAborted(int64_t checkpoint_id) {
  for (auto* op : ops_) op->NotifyCheckpointAborted(checkpoint_id);
  // After this checkpoint's upload (same thread): delete the shared files it uploaded.
  if (uploader_) {
    uploader_->Post([this, checkpoint_id] {
      for (auto& os : *states_) {
        if (os.uploader) os.uploader->NotifyAborted(checkpoint_id);
      }
    });
  }
}

}  // namespace sluice::taskmanager
