#include "jobmanager/source_coordinators.h"

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::jobmanager {

namespace {
class EnumeratorContext final : public api::SplitEnumeratorContext {
 public:
  EnumeratorContext(int vertex, int32_t parallelism, const SourceCoordinators::Hooks& hooks)
      : vertex_(vertex), parallelism_(parallelism), hooks_(hooks) {}
  int32_t parallelism() const override { return parallelism_; }
  void SendEventToReader(int32_t subtask, std::string event) override {
    hooks_.send(vertex_, subtask, std::move(event));
  }
  void FailJob(absl::Status cause) override { hooks_.fail(vertex_, std::move(cause)); }

 private:
  const int vertex_;
  const int32_t parallelism_;
  const SourceCoordinators::Hooks hooks_;
};
}  // namespace

absl::Status SourceCoordinators::Create(const graph::JobGraph& graph, Hooks hooks,
                                        const std::map<std::string, std::string>& restored_states,
                                        const std::set<std::string>& restored_uids,
                                        const std::string& restore_path) {
  for (const auto& v : graph.vertices) {
    if (!v.source || !v.source->enumerator) continue;
    Coordinator c;
    c.vertex = v.index;
    c.uid = v.source->uid;
    c.context = std::make_shared<EnumeratorContext>(v.index, v.parallelism, hooks);
    ASSIGN_OR_RETURN(auto e, v.source->enumerator(c.context.get()));
    c.enumerator = std::move(e);
    if (auto it = restored_states.find(c.uid); it != restored_states.end()) {
      if (absl::Status s = c.enumerator->RestoreState(it->second); !s.ok()) {
        return InvalidArgumentF("cannot restore from '{}': split enumerator of '{}': {}",
                                restore_path, c.uid, s.message());
      }
    } else if (restored_uids.count(c.uid) > 0) {
      c.enumerator->RestoredWithoutState();
    }
    coordinators_.push_back(std::move(c));
  }
  return absl::OkStatus();
}

absl::Status SourceCoordinators::StartAll() {
  for (auto& c : coordinators_) {
    if (c.started) continue;
    c.started = true;
    if (absl::Status s = c.enumerator->Start(); !s.ok()) {
      return absl::Status(s.code(), fmt::format("the split enumerator of '{}' did not start: {}",
                                                c.uid, s.message()));
    }
  }
  return absl::OkStatus();
}

void SourceCoordinators::AddReader(int vertex, int subtask) {
  for (auto& c : coordinators_) {
    if (c.vertex == vertex && c.started) c.enumerator->AddReader(subtask);
  }
}

absl::StatusOr<std::map<std::string, std::string>> SourceCoordinators::Snapshot(int64_t id) {
  std::map<std::string, std::string> states;
  for (auto& c : coordinators_) {
    auto st = c.enumerator->SnapshotState(id);
    if (!st.ok()) {
      return absl::Status(st.status().code(),
                          fmt::format("the split enumerator of '{}' could not snapshot its "
                                      "state: {}",
                                      c.uid, st.status().message()));
    }
    states[c.uid] = std::move(*st);
  }
  return states;
}

std::vector<SourceCoordinators::Closed> SourceCoordinators::Close() {
  std::vector<Closed> out;
  for (auto& c : coordinators_) {
    c.enumerator->Close();
    out.push_back(Closed{std::move(c.context), std::move(c.enumerator)});
  }
  coordinators_.clear();
  return out;
}

}  // namespace sluice::jobmanager
