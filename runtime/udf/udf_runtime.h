#pragma once
// The engine's side of the C++ DataStream API (include/sluice): the objects a user function
// calls while it runs, built over the engine's batches and state.
//   - ColumnViews: the sluice::ColumnView array of a batch, from which sluice::Row views read.
//   - BatchRowWriter: sluice::RowWriter appending to an output RecordBatch (fields start null).
//   - KeyedRawState: sluice::RawState over a keyed state of the operator's KeyedStateBackend
//     (value -> ValueState<string>, list -> ListState<string>, map -> MapState<string, string>),
//     scoped to the backend's current key.
//   - BroadcastRawState: sluice::RawState over an in-memory ordered map, writable only while the
//     operator processes its broadcast input (Flink's BroadcastState / ReadOnlyBroadcastState).
// Errors inside these objects are thrown as exceptions derived from std::exception, as the API
// documents: they unwind through the user's code to the operator, which turns them into a task
// failure (function_operator.cc).
//
// Thread: the operator's task thread only.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"
#include "runtime/state/keyed_state_backend.h"
#include "sluice/row.h"
#include "sluice/state.h"
#include "sluice/types.h"

namespace sluice::udf {

// The API's Schema for an engine schema (same type numbering).
sluice::Schema ToApiSchema(const core::Schema& schema);

// The column views of a batch; rebuilt per batch (no allocation once sized).
class ColumnViews {
 public:
  void Reset(const core::RecordBatch& batch);
  // Row `row` (logical) of the batch last Reset.
  sluice::Row RowAt(size_t row) const {
    return sluice::Row(views_.data(), views_.size(), batch_->physical_row(row),
                       batch_->timestamp(row));
  }

 private:
  const core::RecordBatch* batch_ = nullptr;
  std::vector<sluice::ColumnView> views_;
};

// Appends rows to a RecordBatch for user code.
class BatchRowWriter final : public sluice::RowWriter {
 public:
  explicit BatchRowWriter(core::RecordBatch* batch) : batch_(batch) {}
  // Appends a row with every field null and event timestamp `timestamp`; the setters fill it.
  void Begin(int64_t timestamp);

  void SetInt64(size_t f, int64_t v) override { batch_->SetInt64(row_, Check(f), v); }
  void SetInt32(size_t f, int32_t v) override { batch_->SetInt32(row_, Check(f), v); }
  void SetDouble(size_t f, double v) override { batch_->SetDouble(row_, Check(f), v); }
  void SetBool(size_t f, bool v) override { batch_->SetBool(row_, Check(f), v); }
  void SetString(size_t f, std::string_view v) override;
  void SetNull(size_t f) override;
  void SetTimestamp(int64_t timestamp_ms) override { batch_->SetTimestamp(row_, timestamp_ms); }

 private:
  // Throws std::out_of_range naming the field count when f is out of range.
  size_t Check(size_t f) const;

  core::RecordBatch* batch_;
  size_t row_ = 0;
};

// A keyed state of the backend as bytes.
class KeyedRawState final : public sluice::RawState {
 public:
  // Registers the state in `backend`; throws std::logic_error with the backend's message when
  // the name is taken by another kind (or restored as another kind).
  KeyedRawState(state::KeyedStateBackend* backend, std::string name, sluice::StateKind kind);

  bool Get(std::string_view key, std::string_view* value) override;
  void Put(std::string_view key, std::string_view value) override;
  void Remove(std::string_view key) override;
  void Add(std::string_view value) override;
  void ForEach(void* arg, bool (*fn)(void*, std::string_view, std::string_view)) override;
  void Clear() override;
  const std::string& name() const override { return name_; }
  sluice::StateKind kind() const { return kind_; }

 private:
  // Throws std::logic_error when the API calls an operation of another kind.
  void Expect(sluice::StateKind kind, const char* op) const;

  std::string name_;
  sluice::StateKind kind_;
  state::ValueState<std::string>* value_ = nullptr;
  state::ListState<std::string>* list_ = nullptr;
  state::MapState<std::string, std::string>* map_ = nullptr;
  std::string key_;  // scratch for map keys
};

// A subtask's broadcast state.
class BroadcastRawState final : public sluice::RawState {
 public:
  // `writable` points at the operator's flag: true while it processes the broadcast input.
  BroadcastRawState(std::string name, const bool* writable) : name_(std::move(name)), writable_(writable) {}

  bool Get(std::string_view key, std::string_view* value) override;
  void Put(std::string_view key, std::string_view value) override;
  void Remove(std::string_view key) override;
  void Add(std::string_view value) override;
  void ForEach(void* arg, bool (*fn)(void*, std::string_view, std::string_view)) override;
  void Clear() override;
  const std::string& name() const override { return name_; }

  std::map<std::string, std::string, std::less<>>& entries() { return entries_; }

 private:
  void CheckWritable(const char* op) const;

  std::string name_;
  const bool* writable_;
  std::map<std::string, std::string, std::less<>> entries_;
};

}  // namespace sluice::udf
