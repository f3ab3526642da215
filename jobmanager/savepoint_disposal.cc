#include "jobmanager/savepoint_disposal.h"

#include <filesystem>
#include <system_error>

#include "runtime/base/ids.h"
#include "runtime/base/status.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {
namespace {

namespace fs = std::filesystem;

// Deletes the savepoint at `path`; returns its directory and a failure message ("" on success).
DisposalResult Dispose(const std::string& path) {
  DisposalResult r;
  fs::path dir(path);
  if (dir.filename() == "_metadata") dir = dir.parent_path();
  dir = dir.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  r.path = dir.string();
  if (dir.filename().string().rfind("savepoint-", 0) != 0) {
    r.failure = fmt::format(
        "'{}' is not a savepoint directory (savepoint-*); checkpoints are deleted by their job",
        r.path);
    return r;
  }
  auto md = checkpoint::CheckpointStorage::ReadMetadata(r.path);
  if (!md.ok()) {
    r.failure = std::string(md.status().message());
    return r;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) r.failure = fmt::format("cannot delete '{}': {}", r.path, ec.message());
  return r;
}

}  // namespace

absl::StatusOr<std::string> SavepointDisposer::Trigger(const std::string& path) {
  if (path.empty()) return InvalidArgumentF("field 'savepoint-path' is missing or empty");
  DisposalResult result = Dispose(path);
  if (result.failure.empty()) {
    spdlog::info("Disposed of savepoint {}.", result.path);
  } else {
    spdlog::warn("Savepoint disposal of {} failed: {}", path, result.failure);
  }
  std::string id = Id128::Random().ToString();
  std::lock_guard lock(mu_);
  results_.emplace_back(id, std::move(result));
  while (results_.size() > kMaxKept) results_.pop_front();
  return id;
}

absl::StatusOr<DisposalResult> SavepointDisposer::Get(const std::string& trigger_id) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, result] : results_) {
    if (id == trigger_id) return result;
  }
  return NotFoundF("no savepoint disposal operation {}", trigger_id);
}

}  // namespace sluice::jobmanager
