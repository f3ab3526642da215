#pragma once
// Sluice C++ DataStream API: the user functions (Flink's MapFunction, FilterFunction,
// FlatMapFunction, KeyedProcessFunction, KeyedCoProcessFunction, KeyedBroadcastProcessFunction)
// and what the engine gives them (RuntimeContext, Context, TimerService).
//
// Lifecycle: every subtask makes its own instance by copying the object given to the
// DataStream call (so a function must be copyable; its constructor arguments are its
// configuration), then calls Open once, the processing methods, and Close. Open registers
// states (state.h) and looks up field indexes.
//
// Keyed functions (after DataStream::KeyBy) have keyed state and timers, scoped to the key of
// the element being processed; OnTimer runs with the timer's key. Event-time timers fire when
// the operator's watermark passes their time; processing-time timers when the wall clock does
// (ms since the epoch). A timer is registered once per key and time (registering it again is a
// no-op) and fires exactly once, also across a failure and restore: timers are checkpointed
// with the keyed state. Non-keyed functions have neither (the engine throws std::logic_error
// when they ask).
//
// Errors: an exception thrown by a function fails the task with the exception's message and
// the operator's name; the job then restarts per its restart strategy (and shows the failure in
// `/jobs/:id/exceptions` and `sluice status`). An exception while the job is built (in the
// plugin's entry point) refuses the submission.
//
// Thread safety: the engine calls an instance from its task's thread only; instances share
// nothing unless the user's code does (then it must synchronise).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sluice/row.h"
#include "sluice/state.h"

namespace sluice {

enum class TimeDomain : uint8_t { kEventTime, kProcessingTime };

// Timers of the current key (Flink's TimerService). Times are ms since the epoch.
class TimerService {
 public:
  virtual ~TimerService() = default;
  virtual int64_t CurrentProcessingTime() const = 0;
  // The operator's current event time (the minimum over its inputs' watermarks).
  virtual int64_t CurrentWatermark() const = 0;
  virtual void RegisterEventTimeTimer(int64_t time) = 0;
  virtual void RegisterProcessingTimeTimer(int64_t time) = 0;
  virtual void DeleteEventTimeTimer(int64_t time) = 0;
  virtual void DeleteProcessingTimeTimer(int64_t time) = 0;
};

// What a processing method knows about the element or timer at hand.
class Context {
 public:
  virtual ~Context() = default;
  // The element's event timestamp, or the timer's time in OnTimer (kNoTimestamp if none).
  virtual int64_t Timestamp() const = 0;
  // In OnTimer: which kind of timer fired.
  virtual TimeDomain Domain() const = 0;
  virtual TimerService& Timers() = 0;
  // The current key as a row of the key fields (in KeyBy order). Keyed functions only.
  virtual Row CurrentKey() = 0;
};

// Where a function gets its states and learns where it runs (Flink's RuntimeContext).
class RuntimeContext {
 public:
  virtual ~RuntimeContext() = default;
  virtual int SubtaskIndex() const = 0;
  virtual int Parallelism() const = 0;
  virtual int MaxParallelism() const = 0;
  virtual const std::string& OperatorName() const = 0;
  // The schema of input `input` (0 or, for two-input functions, 1).
  virtual const Schema& InputSchema(int input) const = 0;

  template <Serializable T>
  ValueState<T> GetValueState(std::string_view name) {
    return ValueState<T>(KeyedState(name, StateKind::kValue));
  }
  template <Serializable T>
  ListState<T> GetListState(std::string_view name) {
    return ListState<T>(KeyedState(name, StateKind::kList));
  }
  template <Serializable K, Serializable V>
  MapState<K, V> GetMapState(std::string_view name) {
    return MapState<K, V>(KeyedState(name, StateKind::kMap));
  }
  // Broadcast state: functions with a broadcast input only; written while processing the
  // broadcast input, read-only (std::logic_error on writes) while processing the other.
  template <Serializable K, Serializable V>
  MapState<K, V> GetBroadcastState(std::string_view name) {
    return MapState<K, V>(BroadcastState(name));
  }

  // The engine's side of the getters above. Throw std::logic_error when the function has no
  // such state (keyed state without KeyBy; broadcast state without a broadcast input) or when
  // `name` is already registered with another kind.
  virtual RawState* KeyedState(std::string_view name, StateKind kind) = 0;
  virtual RawState* BroadcastState(std::string_view name) = 0;
};

// Base of every user function.
class Function {
 public:
  virtual ~Function() = default;
  virtual void Open(RuntimeContext& /*ctx*/) {}
  virtual void Close() {}
};

// One row in, one row out (Flink's MapFunction).
class MapFunction : public Function {
 public:
  virtual void Map(const Row& in, RowWriter& out) = 0;
};

// Keeps the rows for which Filter returns true (Flink's FilterFunction).
class FilterFunction : public Function {
 public:
  virtual bool Filter(const Row& in) = 0;
};

// One row in, any number out (Flink's FlatMapFunction).
class FlatMapFunction : public Function {
 public:
  virtual void FlatMap(const Row& in, Collector& out) = 0;
};

// One input, with keyed state and timers after KeyBy (Flink's KeyedProcessFunction; without
// KeyBy, Flink's ProcessFunction: no state, no timers).
class ProcessFunction : public Function {
 public:
  virtual void ProcessElement(const Row& in, Context& ctx, Collector& out) = 0;
  virtual void OnTimer(int64_t /*time*/, Context& /*ctx*/, Collector& /*out*/) {}
};
using KeyedProcessFunction = ProcessFunction;

// Two connected inputs (Flink's CoProcessFunction / KeyedCoProcessFunction when both are keyed
// by keys of the same types).
class CoProcessFunction : public Function {
 public:
  virtual void ProcessElement1(const Row& in, Context& ctx, Collector& out) = 0;
  virtual void ProcessElement2(const Row& in, Context& ctx, Collector& out) = 0;
  virtual void OnTimer(int64_t /*time*/, Context& /*ctx*/, Collector& /*out*/) {}
};
using KeyedCoProcessFunction = CoProcessFunction;

// A stream connected with a broadcast stream (Flink's BroadcastProcessFunction, and
// KeyedBroadcastProcessFunction when the first is keyed). Every subtask receives every
// broadcast row. ProcessBroadcastElement has no current key (Context::CurrentKey and Timers
// throw std::logic_error there).
class BroadcastProcessFunction : public Function {
 public:
  virtual void ProcessElement(const Row& in, Context& ctx, Collector& out) = 0;
  virtual void ProcessBroadcastElement(const Row& in, Context& ctx, Collector& out) = 0;
  virtual void OnTimer(int64_t /*time*/, Context& /*ctx*/, Collector& /*out*/) {}
};
using KeyedBroadcastProcessFunction = BroadcastProcessFunction;

}  // namespace sluice
