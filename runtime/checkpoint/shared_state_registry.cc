#include "runtime/checkpoint/shared_state_registry.h"

#include <algorithm>

namespace sluice::checkpoint {

std::vector<std::string> SharedStateRegistry::Missing(const std::vector<std::string>& files) const {
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (!refs_.contains(f) && !waiting_.contains(f)) out.push_back(f);
  }
  return out;
}

void SharedStateRegistry::Register(int64_t id, const std::vector<std::string>& files) {
  ++round_;
  auto& mine = by_checkpoint_[id];
  for (const auto& f : files) {
    if (!refs_[f].insert(id).second) continue;
    waiting_.erase(f);
    mine.push_back(f);
  }
}

void SharedStateRegistry::Release(int64_t id) {
  auto it = by_checkpoint_.find(id);
  if (it == by_checkpoint_.end()) return;
  for (const auto& f : it->second) {
    auto r = refs_.find(f);
    if (r == refs_.end()) continue;
    r->second.erase(id);
    if (r->second.empty()) {
      refs_.erase(r);
      waiting_.emplace(f, round_);
    }
  }
  by_checkpoint_.erase(it);
}

std::vector<std::string> SharedStateRegistry::CollectGarbage() {
  std::vector<std::string> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second < round_) {
      out.push_back(it->first);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::string> SharedStateRegistry::TakeAll() {
  std::vector<std::string> out;
  for (const auto& [f, round] : waiting_) out.push_back(f);
  waiting_.clear();
  return out;
}

}  // namespace sluice::checkpoint
