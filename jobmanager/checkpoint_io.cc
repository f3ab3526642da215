#include "jobmanager/checkpoint_io.h"

#include <filesystem>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

void CheckpointIo::WriteMetadata(checkpoint::CheckpointMetadata md,
                                 std::function<void(absl::Status)> done) {
  io_.Post([this, md = std::move(md), done = std::move(done)] { done(storage_.WriteMetadata(md)); });
}

void CheckpointIo::Discard(int64_t checkpoint_id) {
  io_.Post([this, checkpoint_id] {
    if (auto s = storage_.Discard(checkpoint_id); !s.ok()) {
      spdlog::warn("Could not discard checkpoint {}: {}", checkpoint_id, s.message());
    }
  });
}

void CheckpointIo::DeleteDirectory(std::string dir) {
  io_.Post([dir = std::move(dir)] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) spdlog::warn("Could not delete {}: {}", dir, ec.message());
  });
}

void CheckpointIo::DeleteFiles(std::vector<std::string> paths) {
  if (paths.empty()) return;
  io_.Post([paths = std::move(paths)] {
    for (const auto& f : paths) {
      if (auto s = checkpoint::CheckpointStorage::DeleteFile(f); !s.ok()) {
        spdlog::warn("Could not delete unreferenced shared state file: {}", s.message());
      }
    }
    spdlog::debug("Deleted {} unreferenced shared state files", paths.size());
  });
}

void CheckpointIo::CopyToSavepoint(int64_t checkpoint_id, std::string target,
                                   std::function<void(absl::Status)> done) {
  io_.Post([this, checkpoint_id, target = std::move(target), done = std::move(done)] {
    const std::string from = storage_.CheckpointDir(checkpoint_id);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(target).parent_path(), ec);
    if (!ec) std::filesystem::copy(from, target, std::filesystem::copy_options::recursive, ec);
    if (ec) {
      done(UnavailableF("cannot copy {} to {}: {}", from, target, ec.message()));
      return;
    }
    done(checkpoint::MakeSelfContained(from, target));
  });
}

}  // namespace sluice::jobmanager
