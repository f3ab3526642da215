#include "jobmanager/execution_graph.h"

#include <algorithm>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

using graph::ExecutionState;

void Execution::UpdateMetrics(TaskMetrics reported, int64_t now_ms) {
  MetricRates& r = reported.rates;
  r.records_in = meters[0].Update(reported.records_in, now_ms);
  r.records_out = meters[1].Update(reported.records_out, now_ms);
  r.bytes_in = meters[2].Update(reported.bytes_in, now_ms);
  r.bytes_out = meters[3].Update(reported.bytes_out, now_ms);
  r.busy_ms = meters[4].Update(reported.busy_time_ms, now_ms);
  r.idle_ms = meters[5].Update(reported.idle_time_ms, now_ms);
  r.backpressured_ms = meters[6].Update(reported.backpressured_time_ms, now_ms);
  metrics = std::move(reported);
}

ExecutionGraph::ExecutionGraph(const graph::JobGraph& graph)
    : graph_(graph) {
  for (const auto& v : graph.vertices) {
    std::vector<Execution*> subtasks;
    for (int i = 0; i < v.parallelism; ++i) {
      auto e = NewExecution(v.index, i, 0);
      subtasks.push_back(e.get());
      all_[e->attempt_id] = std::move(e);
    }
    current_.push_back(std::move(subtasks));
  }
}

std::unique_ptr<Execution> ExecutionGraph::NewExecution(int vertex, int subtask, int attempt_number) {
  auto e = std::make_unique<Execution>();
  e->vertex = vertex;
  e->subtask = subtask;
  e->attempt_number = attempt_number;
  e->attempt_id = ExecutionAttemptId::Random();
  return e;
}

Execution* ExecutionGraph::Find(const ExecutionAttemptId& attempt) {
  auto it = all_.find(attempt);
  return it == all_.end() ? nullptr : it->second.get();
}

bool ExecutionGraph::IsCurrent(const Execution& e) const {
  return current_[static_cast<size_t>(e.vertex)][static_cast<size_t>(e.subtask)] == &e;
}

std::vector<Execution*> ExecutionGraph::Current() {
  std::vector<Execution*> out;
  for (auto& v : current_) out.insert(out.end(), v.begin(), v.end());
  return out;
}

bool ExecutionGraph::Transition(Execution& e, ExecutionState to, const std::string& failure) {
  const ExecutionState from = e.state.state();
  if (from == to) return true;
  if (absl::Status s = e.state.TransitionTo(to); !s.ok()) {
    spdlog::warn("{} ({}): {}", TaskName(e), e.attempt_id.ToString(), s.message());
    return false;
  }
  if (!failure.empty()) e.failure = failure;
  spdlog::info("{} ({}) switched from {} to {}.{}", TaskName(e), e.attempt_id.ToString(),
               graph::Name(from), graph::Name(to), failure.empty() ? "" : " Cause: " + failure);
  return true;
}

void ExecutionGraph::NewAttempts() {
  for (auto& v : current_) {
    for (auto& e : v) {
      auto next = NewExecution(e->vertex, e->subtask, e->attempt_number + 1);
      e = next.get();
      all_[next->attempt_id] = std::move(next);
    }
  }
}

bool ExecutionGraph::AllIn(ExecutionState s) const {
  for (const auto& v : current_) {
    for (const auto* e : v) {
      if (e->state.state() != s) return false;
    }
  }
  return true;
}

bool ExecutionGraph::AllTerminal() const {
  for (const auto& v : current_) {
    for (const auto* e : v) {
      if (!graph::IsTerminal(e->state.state())) return false;
    }
  }
  return true;
}

ExecutionState ExecutionGraph::VertexState(int vertex) const {
  int counts[graph::kNumExecutionState] = {};
  for (const auto* e : current_[static_cast<size_t>(vertex)]) counts[static_cast<int>(e->state.state())]++;
  if (counts[static_cast<int>(ExecutionState::kFailed)]) return ExecutionState::kFailed;
  if (counts[static_cast<int>(ExecutionState::kCanceling)]) return ExecutionState::kCanceling;
  if (counts[static_cast<int>(ExecutionState::kCanceled)]) return ExecutionState::kCanceled;
  for (int i = 0; i < graph::kNumExecutionState; ++i) {
    if (counts[i]) return static_cast<ExecutionState>(i);
  }
  return ExecutionState::kFinished;
}

std::array<int, graph::kNumExecutionState> ExecutionGraph::StateCounts() const {
  std::array<int, graph::kNumExecutionState> counts{};
  for (const auto& v : current_) {
    for (const auto* e : v) counts[static_cast<size_t>(e->state.state())]++;
  }
  return counts;
}

std::string ExecutionGraph::TaskName(const Execution& e) const {
  const auto& v = graph_.vertex(e.vertex);
  return fmt::format("{} ({}/{})#{}", v.name, e.subtask + 1, v.parallelism, e.attempt_number);
}

}  // namespace sluice::jobmanager
