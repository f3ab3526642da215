#include "runtime/checkpoint/incremental_uploader.h"

#include <filesystem>
#include <system_error>

#include "runtime/base/ids.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::checkpoint {

namespace fs = std::filesystem;

IncrementalUploader::IncrementalUploader(CheckpointStorage storage, std::string file_prefix)
    : storage_(std::move(storage)), prefix_(std::move(file_prefix)) {}

void IncrementalUploader::Seed(std::vector<StateFile> files) {
  base_.clear();
  for (auto& f : files) base_.emplace(f.name, std::move(f));
}

absl::Status IncrementalUploader::Upload(int64_t checkpoint_id,
                                         const state::IncrementalSnapshot& snap,
                                         core::KeyGroupRange range, OperatorStateHandle* handle,
                                         bool full) {
  Uploaded up;
  IncrementalKeyedState inc;
  inc.key_group_start = range.start;
  inc.key_group_end = range.end;
  int64_t total = 0, uploaded = 0;
  absl::Status status;
  for (const std::string& name : snap.files.sst_files) {
    const std::string local = snap.files.dir + "/" + name;
    StateFile f;
    if (auto it = base_.find(name); !full && it != base_.end()) {
      f = it->second;
    } else {
      std::error_code ec;
      f.name = name;
      f.size = static_cast<int64_t>(fs::file_size(local, ec));
      auto path = storage_.UploadSharedFile(
          local, fmt::format("{}-{}.sst", prefix_, Id128::Random().ToString()));
      if (!path.ok()) {
        status = path.status();
        break;
      }
      f.path = *path;
      f.uploaded_by = checkpoint_id;
      up.new_paths.push_back(f.path);
      uploaded += f.size;
    }
    total += f.size;
    inc.shared_files.push_back(f);
    up.ssts.emplace(name, std::move(f));
  }
  for (size_t i = 0; status.ok() && i < snap.files.other_files.size(); ++i) {
    const std::string& name = snap.files.other_files[i];
    const std::string local = snap.files.dir + "/" + name;
    std::error_code ec;
    StateFile f{name, "", static_cast<int64_t>(fs::file_size(local, ec))};
    auto path = storage_.UploadStateFile(checkpoint_id, local, fmt::format("{}.{}", prefix_, name));
    if (!path.ok()) {
      status = path.status();
      break;
    }
    f.path = *path;
    total += f.size;
    uploaded += f.size;
    inc.private_files.push_back(std::move(f));
  }
  if (status.ok()) {
    auto meta = storage_.WriteStateFile(checkpoint_id, fmt::format("{}.meta", prefix_),
                                        snap.meta.bytes);
    if (meta.ok()) {
      handle->keyed_state_file = *meta;
    } else {
      status = meta.status();
    }
  }
  std::error_code ec;
  fs::remove_all(snap.files.dir, ec);
  if (!status.ok()) {
    // Nothing references this attempt's new shared files.
    for (const auto& p : up.new_paths) {
      (void)CheckpointStorage::DeleteFile(ResolveStatePath(storage_.CheckpointDir(checkpoint_id), p));
    }
    return status;
  }
  const int64_t meta_size = static_cast<int64_t>(snap.meta.bytes.size());
  handle->key_group_offsets = snap.meta.key_group_offsets;
  handle->keyed_state_size = total + meta_size;
  inc.checkpointed_size = uploaded + meta_size;
  handle->incremental = std::move(inc);
  pending_[checkpoint_id] = std::move(up);
  return absl::OkStatus();
}

void IncrementalUploader::NotifyComplete(int64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  // Older pending checkpoints stay listed until their abort (subsumption) arrives.
  if (id > base_id_) {
    base_ = std::move(it->second.ssts);
    base_id_ = id;
  }
  pending_.erase(it);
}

void IncrementalUploader::NotifyAborted(int64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  for (const auto& p : it->second.new_paths) {
    absl::Status s = CheckpointStorage::DeleteFile(ResolveStatePath(storage_.CheckpointDir(id), p));
    if (!s.ok()) spdlog::warn("Could not delete {} of aborted checkpoint {}: {}", p, id, s.message());
  }
  pending_.erase(it);
}

}  // namespace sluice::checkpoint
