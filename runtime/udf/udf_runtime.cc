#include "runtime/udf/udf_runtime.h"

#include <stdexcept>

#include "fmt/format.h"

namespace sluice::udf {

sluice::Schema ToApiSchema(const core::Schema& schema) {
  std::vector<sluice::Field> fields;
  fields.reserve(schema.num_fields());
  for (const core::Field& f : schema.fields()) {
    fields.push_back(sluice::Field{f.name, f.type});
  }
  return sluice::Schema(std::move(fields));
}

void ColumnViews::Reset(const core::RecordBatch& batch) {
  batch_ = &batch;
  views_.resize(batch.num_fields());
  for (size_t c = 0; c < batch.num_fields(); ++c) {
    const core::Column& col = batch.column(c);
    views_[c] = sluice::ColumnView{
        col.type(),
        col.null_count() == 0 ? nullptr : col.validity_buffer().data(),
        col.values_buffer().data(),
        reinterpret_cast<const char*>(col.data_buffer().data())};
  }
}

void BatchRowWriter::Begin(int64_t timestamp) {
  batch_->AppendTimestamp(timestamp);
  for (size_t c = 0; c < batch_->num_fields(); ++c) batch_->mutable_column(c).AppendNull();
  row_ = batch_->num_physical_rows() - 1;
}

size_t BatchRowWriter::Check(size_t f) const {
  if (f >= batch_->num_fields()) [[unlikely]] {
    throw std::out_of_range(fmt::format("RowWriter: field {} out of range; the output has {} "
                                        "fields ({})",
                                        f, batch_->num_fields(), batch_->schema().ToString()));
  }
  return f;
}

void BatchRowWriter::SetString(size_t f, std::string_view v) {
  Check(f);
  // A string set twice replaces the first: reset the slot to null (drops its bytes) first.
  if (!batch_->column(f).IsNull(row_)) batch_->SetNull(row_, f);
  batch_->SetString(row_, f, v);
}

void BatchRowWriter::SetNull(size_t f) { batch_->SetNull(row_, Check(f)); }

KeyedRawState::KeyedRawState(state::KeyedStateBackend* backend, std::string name,
                             sluice::StateKind kind)
    : name_(std::move(name)), kind_(kind) {
  absl::Status status;
  switch (kind) {
    case sluice::StateKind::kValue: {
      auto s = backend->GetValueState<std::string>(name_);
      if (s.ok()) value_ = *s; else status = s.status();
      break;
    }
    case sluice::StateKind::kList: {
      auto s = backend->GetListState<std::string>(name_);
      if (s.ok()) list_ = *s; else status = s.status();
      break;
    }
    case sluice::StateKind::kMap: {
      auto s = backend->GetMapState<std::string, std::string>(name_);
      if (s.ok()) map_ = *s; else status = s.status();
      break;
    }
  }
  if (!status.ok()) {
    throw std::logic_error(fmt::format("state '{}': {}", name_, status.message()));
  }
}

void KeyedRawState::Expect(sluice::StateKind kind, const char* op) const {
  if (kind != kind_) [[unlikely]] {
    throw std::logic_error(fmt::format("state '{}': {} is not an operation of its kind", name_, op));
  }
}

bool KeyedRawState::Get(std::string_view key, std::string_view* value) {
  if (kind_ == sluice::StateKind::kValue) {
    const std::string* v = value_->value();
    if (v == nullptr) return false;
    *value = *v;
    return true;
  }
  Expect(sluice::StateKind::kMap, "Get");
  key_.assign(key);
  const std::string* v = map_->get(key_);
  if (v == nullptr) return false;
  *value = *v;
  return true;
}

void KeyedRawState::Put(std::string_view key, std::string_view value) {
  if (kind_ == sluice::StateKind::kValue) {
    value_->update(std::string(value));
    return;
  }
  Expect(sluice::StateKind::kMap, "Put");
  map_->put(std::string(key), std::string(value));
}

void KeyedRawState::Remove(std::string_view key) {
  Expect(sluice::StateKind::kMap, "Remove");
  key_.assign(key);
  map_->remove(key_);
}

void KeyedRawState::Add(std::string_view value) {
  Expect(sluice::StateKind::kList, "Add");
  list_->add(std::string(value));
}

void KeyedRawState::ForEach(void* arg, bool (*fn)(void*, std::string_view, std::string_view)) {
  switch (kind_) {
    case sluice::StateKind::kValue: {
      const std::string* v = value_->value();
      if (v != nullptr) fn(arg, {}, *v);
      return;
    }
    case sluice::StateKind::kList: {
      const std::vector<std::string>* values = list_->get();
      if (values == nullptr) return;
      for (const std::string& v : *values) {
        if (!fn(arg, {}, v)) return;
      }
      return;
    }
    case sluice::StateKind::kMap: {
      const auto* entries = map_->entries();
      if (entries == nullptr) return;
      for (const auto& [k, v] : *entries) {
        if (!fn(arg, k, v)) return;
      }
      return;
    }
  }
}

void KeyedRawState::Clear() {
  switch (kind_) {
    case sluice::StateKind::kValue: value_->clear(); return;
    case sluice::StateKind::kList: list_->clear(); return;
    case sluice::StateKind::kMap: map_->clear(); return;
  }
}

void BroadcastRawState::CheckWritable(const char* op) const {
  if (!*writable_) {
    throw std::logic_error(fmt::format(
        "broadcast state '{}': {} outside ProcessBroadcastElement; the non-broadcast side may "
        "only read it (Flink's ReadOnlyBroadcastState), so every subtask keeps the same content",
        name_, op));
  }
}

bool BroadcastRawState::Get(std::string_view key, std::string_view* value) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *value = it->second;
  return true;
}

void BroadcastRawState::Put(std::string_view key, std::string_view value) {
  CheckWritable("Put");
  entries_.insert_or_assign(std::string(key), std::string(value));
}

void BroadcastRawState::Remove(std::string_view key) {
  CheckWritable("Remove");
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
}

void BroadcastRawState::Add(std::string_view) {
  throw std::logic_error(fmt::format("broadcast state '{}' is a map: Add is not defined", name_));
}

void BroadcastRawState::ForEach(void* arg, bool (*fn)(void*, std::string_view, std::string_view)) {
  for (const auto& [k, v] : entries_) {
    if (!fn(arg, k, v)) return;
  }
}

void BroadcastRawState::Clear() {
  CheckWritable("Clear");
  entries_.clear();
}

}  // namespace sluice::udf
