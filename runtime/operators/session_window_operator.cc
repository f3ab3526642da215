#include "runtime/operators/session_window_operator.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/operators/window_operator_base.h"
#include "runtime/state/serialization.h"

namespace sluice::operators::internal {

// One open session of a key: [start, end), its contents and timers under namespace `id`.
struct Session {
  int64_t start;
  int64_t end;
  int64_t id;
};

}  // namespace sluice::operators::internal

// Snapshot encoding of a Session: start, end, id (i64 each).
template <>
struct sluice::state::Serializer<sluice::operators::internal::Session> {
  static void Write(const sluice::operators::internal::Session& s, ByteWriter& out) {
    out.WriteI64(s.start);
    out.WriteI64(s.end);
    out.WriteI64(s.id);
  }
  static absl::Status Read(ByteReader& in, sluice::operators::internal::Session* s) {
    RETURN_IF_ERROR(in.ReadI64(&s->start));
    RETURN_IF_ERROR(in.ReadI64(&s->end));
    return in.ReadI64(&s->id);
  }
};

namespace sluice::operators::internal {
namespace {

// Namespace of the session index (the index is its own state, so it cannot clash with ids).
constexpr int64_t kIndexNamespace = 0;

class SessionWindowOperator final : public WindowOperatorBase {
 public:
  SessionWindowOperator(core::SchemaPtr output_schema, core::KeySelector keys, int64_t gap_ms,
                        int64_t allowed_lateness_ms, WindowAggregates aggs, core::SchemaPtr input,
                        bool late_to_side_output)
      : WindowOperatorBase(std::move(output_schema), std::move(keys), allowed_lateness_ms,
                           std::move(aggs), std::move(input), late_to_side_output),
        gap_ms_(gap_ms) {}

  absl::Status Open(const api::OperatorContext& ctx) override {
    RETURN_IF_ERROR(WindowOperatorBase::Open(ctx));
    ASSIGN_OR_RETURN(sessions_,
                     backend_->GetValueState<std::vector<Session>>(kSessionWindowsStateName, ttl_));
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(const core::RecordBatch& batch, api::Output& out) override {
    RETURN_IF_ERROR(BeginBatch(batch));
    const size_t n = batch.num_rows();
    for (size_t row = 0; row < n; ++row) {
      ASSIGN_OR_RETURN(const int32_t kg, RowKeyGroup(batch, row));
      SetRowKey(batch, row, kg);
      RETURN_IF_ERROR(AddRow(batch, row, out));
    }
    return EndBatch(out);
  }

 private:
  // Adds the row to its session (the current key's), merging sessions as needed.
  absl::Status AddRow(const core::RecordBatch& batch, size_t row, api::Output& out) {
    const int64_t ts = batch.timestamp(row);
    const int64_t w_end =
        ts > std::numeric_limits<int64_t>::max() - gap_ms_ ? std::numeric_limits<int64_t>::max()
                                                           : ts + gap_ms_;
    LoadSessions();
    // Open sessions are disjoint and do not touch, so those the window [ts, w_end) intersects
    // are consecutive: [first, last).
    size_t first = sess_.size(), last = 0;
    for (size_t i = 0; i < sess_.size(); ++i) {
      if (sess_[i].start <= w_end && sess_[i].end >= ts) {
        first = std::min(first, i);
        last = i + 1;
      }
    }
    Session s{ts, w_end, ts};
    bool timers_move = true;    // the session's end changed (or it is new)
    bool index_changed = true;  // the key's sessions changed
    if (first == sess_.size()) {
      if (w_end - 1 + lateness_ms_ <= current_watermark_) {
        Late(batch, row);  // its own window is gone and it joins no open session
        return absl::OkStatus();
      }
      sess_.insert(std::upper_bound(sess_.begin(), sess_.end(), ts,
                                    [](int64_t t, const Session& x) { return t < x.start; }),
                   s);
    } else {
      const Session old = sess_[first];
      s = {std::min(old.start, ts), std::max(sess_[last - 1].end, w_end), old.id};
      // Merging more than one session always moves the end (the later ones end later).
      timers_move = s.end != old.end;
      index_changed = timers_move || s.start != old.start;
      if (timers_move) DeleteTimers(old);
      if (last - first > 1) MergeContents(first, last);
      sess_[first] = s;
      sess_.erase(sess_.begin() + static_cast<std::ptrdiff_t>(first + 1),
                  sess_.begin() + static_cast<std::ptrdiff_t>(last));
    }
    backend_->SetCurrentNamespace(s.id);
    contents_->add(RowRef{&batch, row});
    window_created_ = false;
    const bool fired_already = s.end - 1 <= current_watermark_;
    if (timers_move) {
      if (!fired_already) backend_->RegisterEventTimeTimer(s.id, s.end - 1);
      if (lateness_ms_ > 0) backend_->RegisterEventTimeTimer(s.id, s.end - 1 + lateness_ms_);
    }
    // With state TTL the index is rewritten with every row, so that it expires with the
    // contents (not before them).
    if (index_changed || ttl_.has_value()) {
      backend_->SetCurrentNamespace(kIndexNamespace);
      sessions_->update(sess_);
    }
    // A row that joins a fired session within the allowed lateness fires it again.
    if (fired_already) {
      backend_->SetCurrentNamespace(s.id);
      return EmitContents(key_scratch_, s, out);
    }
    return absl::OkStatus();
  }

  // Folds the contents of sessions (first, last) into session first's, in start order, and
  // deletes their contents and timers. Key context: the sessions' key.
  void MergeContents(size_t first, size_t last) {
    backend_->SetCurrentNamespace(sess_[first].id);
    const WindowContents* into = contents_->accumulator();
    merged_ = into != nullptr ? *into : aggs_.Fresh();  // none: its contents expired (TTL)
    for (size_t j = first + 1; j < last; ++j) {
      backend_->SetCurrentNamespace(sess_[j].id);
      if (const WindowContents* other = contents_->accumulator(); other != nullptr) {
        aggs_.Merge(merged_, *other);
      }
      contents_->clear();
      DeleteTimers(sess_[j]);
    }
    backend_->SetCurrentNamespace(sess_[first].id);
    contents_->update(merged_);
  }

  void DeleteTimers(const Session& s) {
    backend_->DeleteEventTimeTimer(s.id, s.end - 1);
    if (lateness_ms_ > 0) backend_->DeleteEventTimeTimer(s.id, s.end - 1 + lateness_ms_);
  }

  // sess_ = the current key's open sessions.
  void LoadSessions() {
    backend_->SetCurrentNamespace(kIndexNamespace);
    const std::vector<Session>* v = sessions_->value();
    if (v != nullptr) {
      sess_ = *v;
    } else {
      sess_.clear();
    }
  }

  absl::Status FireUpTo(int64_t watermark, api::Output& out) override {
    return backend_->AdvanceWatermark(
        watermark, [&](std::string_view key, int32_t, int64_t id, int64_t ts) -> absl::Status {
          LoadSessions();
          auto it = std::find_if(sess_.begin(), sess_.end(),
                                 [&](const Session& x) { return x.id == id; });
          if (it == sess_.end()) return absl::OkStatus();  // expired with state TTL
          const Session s = *it;
          backend_->SetCurrentNamespace(id);
          if (ts == s.end - 1) {  // the session's maxTimestamp: fire
            RETURN_IF_ERROR(EmitContents(key, s, out));
            if (lateness_ms_ > 0) return absl::OkStatus();  // kept for late rows until cleanup
          }
          // Purge: on firing without lateness, or the cleanup timer.
          contents_->clear();
          sess_.erase(it);
          backend_->SetCurrentNamespace(kIndexNamespace);
          if (sess_.empty()) {
            sessions_->clear();
          } else {
            sessions_->update(sess_);
          }
          return absl::OkStatus();
        });
  }

  // Emits session `s` with its contents (key context: its key, namespace s.id).
  absl::Status EmitContents(std::string_view key, const Session& s, api::Output& out) {
    const WindowContents* w = contents_->accumulator();
    if (w == nullptr) return absl::OkStatus();  // its contents expired (state TTL)
    return EmitWindow(key, s.start, s.end, *w, out);
  }

  const int64_t gap_ms_;
  state::ValueState<std::vector<Session>>* sessions_ = nullptr;  // in backend_
  std::vector<Session> sess_;  // scratch: the current key's sessions
  WindowContents merged_;      // scratch: merged contents
};

}  // namespace

std::unique_ptr<api::Operator> MakeSessionWindowOperator(core::SchemaPtr output_schema,
                                                         core::KeySelector keys, int64_t gap_ms,
                                                         int64_t allowed_lateness_ms,
                                                         WindowAggregates aggs,
                                                         core::SchemaPtr input,
                                                         bool late_to_side_output) {
  return std::make_unique<SessionWindowOperator>(std::move(output_schema), std::move(keys),
                                                 gap_ms, allowed_lateness_ms, std::move(aggs),
                                                 std::move(input), late_to_side_output);
}

}  // namespace sluice::operators::internal
