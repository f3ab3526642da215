#pragma once
// Sluice C++ DataStream API: keyed state and broadcast state (Flink's ValueState, ListState,
// MapState and BroadcastState).
//
// A function gets its states once, in Open, from its RuntimeContext (functions.h) by name:
//   count_ = ctx.GetValueState<int64_t>("count");
// and uses them while processing. Keyed state is scoped to the key of the element (or timer)
// being processed; it lives in the job's state backend (heap or RocksDB), is part of every
// checkpoint and savepoint, and is redistributed by key group when the job is rescaled.
// Broadcast state (GetBroadcastState, in functions with a broadcast input) is one map per
// subtask that the broadcast side writes and the other side only reads, so every subtask holds
// the same content; it is checkpointed with the operator, and a rescaled job gives each new
// subtask a copy. State names are the state's identity in savepoints: keep them stable.
//
// Values are stored as bytes written by TypeSerializer<T> (serializer.h). A stored value that
// does not decode throws sluice::StateError, which fails the task (as any exception thrown by
// user code does) with a message naming the state.
//
// Thread safety: a state object belongs to one function instance; the engine calls it from one
// thread.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/serializer.h"

namespace sluice {

enum class StateKind : uint8_t { kValue, kList, kMap };

// A state as bytes, implemented by the engine. For kValue the key is empty. A string_view
// returned through `value` stays valid until the next call on this state.
class RawState {
 public:
  virtual ~RawState() = default;
  virtual bool Get(std::string_view key, std::string_view* value) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Remove(std::string_view key) = 0;
  // kList: appends.
  virtual void Add(std::string_view value) = 0;
  // Calls fn(arg, key, value) for every entry (kList: empty keys, in insertion order; kMap: in
  // no particular order) until it returns false. The state must not be modified meanwhile.
  virtual void ForEach(void* arg, bool (*fn)(void* arg, std::string_view key,
                                             std::string_view value)) = 0;
  virtual void Clear() = 0;
  virtual const std::string& name() const = 0;
};

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <Serializable T>
T DecodeOrThrow(std::string_view bytes, const RawState& raw) {
  T v{};
  if (!Decode(bytes, &v)) {
    throw StateError("state '" + raw.name() + "': stored bytes do not decode with its serializer");
  }
  return v;
}
template <typename F>
void ForEachRaw(RawState* raw, F& fn) {
  raw->ForEach(&fn, [](void* arg, std::string_view k, std::string_view v) {
    return (*static_cast<F*>(arg))(k, v);
  });
}
}  // namespace detail

// One value per key (Flink's ValueState).
template <Serializable T>
class ValueState {
 public:
  ValueState() = default;
  explicit ValueState(RawState* raw) : raw_(raw) {}
  // The current key's value, or nullopt.
  std::optional<T> Value() const {
    std::string_view bytes;
    if (!raw_->Get({}, &bytes)) return std::nullopt;
    return detail::DecodeOrThrow<T>(bytes, *raw_);
  }
  T ValueOr(T fallback) const {
    std::optional<T> v = Value();
    return v ? std::move(*v) : std::move(fallback);
  }
  void Update(const T& v) {
    buffer_.clear();
    TypeSerializer<T>::Write(v, &buffer_);
    raw_->Put({}, buffer_);
  }
  void Clear() { raw_->Clear(); }

 private:
  RawState* raw_ = nullptr;
  std::string buffer_;
};

// A list per key (Flink's ListState).
template <Serializable T>
class ListState {
 public:
  ListState() = default;
  explicit ListState(RawState* raw) : raw_(raw) {}
  void Add(const T& v) {
    buffer_.clear();
    TypeSerializer<T>::Write(v, &buffer_);
    raw_->Add(buffer_);
  }
  // fn(const T&) for each element in insertion order; return false from fn to stop early
  // (or return void to visit all).
  template <typename F>
  void ForEach(F&& fn) {
    auto visit = [&](std::string_view, std::string_view v) {
      T value = detail::DecodeOrThrow<T>(v, *raw_);
      if constexpr (std::is_void_v<decltype(fn(value))>) {
        fn(value);
        return true;
      } else {
        return static_cast<bool>(fn(value));
      }
    };
    detail::ForEachRaw(raw_, visit);
  }
  std::vector<T> Get() {
    std::vector<T> out;
    ForEach([&](const T& v) { out.push_back(v); });
    return out;
  }
  void Update(const std::vector<T>& values) {
    raw_->Clear();
    for (const T& v : values) Add(v);
  }
  void Clear() { raw_->Clear(); }

 private:
  RawState* raw_ = nullptr;
  std::string buffer_;
};

// A map per key (Flink's MapState), or a subtask's broadcast state (Flink's BroadcastState).
template <Serializable K, Serializable V>
class MapState {
 public:
  MapState() = default;
  explicit MapState(RawState* raw) : raw_(raw) {}
  std::optional<V> Get(const K& key) {
    std::string_view bytes;
    if (!raw_->Get(EncodeKey(key), &bytes)) return std::nullopt;
    return detail::DecodeOrThrow<V>(bytes, *raw_);
  }
  bool Contains(const K& key) {
    std::string_view bytes;
    return raw_->Get(EncodeKey(key), &bytes);
  }
  void Put(const K& key, const V& value) {
    EncodeKey(key);
    value_buffer_.clear();
    TypeSerializer<V>::Write(value, &value_buffer_);
    raw_->Put(key_buffer_, value_buffer_);
  }
  void Remove(const K& key) { raw_->Remove(EncodeKey(key)); }
  // fn(const K&, const V&) for each entry, in no particular order; return false to stop early
  // (or return void to visit all). Do not modify the state from fn.
  template <typename F>
  void ForEach(F&& fn) {
    auto visit = [&](std::string_view k, std::string_view v) {
      K key = detail::DecodeOrThrow<K>(k, *raw_);
      V value = detail::DecodeOrThrow<V>(v, *raw_);
      if constexpr (std::is_void_v<decltype(fn(key, value))>) {
        fn(key, value);
        return true;
      } else {
        return static_cast<bool>(fn(key, value));
      }
    };
    detail::ForEachRaw(raw_, visit);
  }
  bool IsEmpty() {
    bool empty = true;
    auto visit = [&](std::string_view, std::string_view) { return empty = false; };
    detail::ForEachRaw(raw_, visit);
    return empty;
  }
  void Clear() { raw_->Clear(); }

 private:
  const std::string& EncodeKey(const K& key) {
    key_buffer_.clear();
    TypeSerializer<K>::Write(key, &key_buffer_);
    return key_buffer_;
  }

  RawState* raw_ = nullptr;
  std::string key_buffer_;
  std::string value_buffer_;
};

}  // namespace sluice
