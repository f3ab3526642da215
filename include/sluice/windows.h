#pragma once
// Sluice C++ DataStream API: windows with a user AggregateFunction (Flink's
// WindowedStream#aggregate(AggregateFunction, ProcessWindowFunction) in one).
//
//   struct Spend : sluice::AggregateFunction<std::pair<int64_t, int64_t>> {   // count, sum
//     Acc CreateAccumulator() override { return {0, 0}; }
//     void Add(const sluice::Row& in, Acc& acc) override { ++acc.first; acc.second += in.GetInt64(2); }
//     void Merge(Acc& into, const Acc& from) override { into.first += from.first; ... }
//     void GetResult(const Acc& acc, const sluice::WindowContext& w, sluice::RowWriter& out) override {
//       out.SetString(0, w.Key().GetString(0)); out.SetInt64(1, w.End()); out.SetInt64(2, acc.second);
//     }
//   };
//   payments.KeyBy({"card"}).Window(sluice::Window::Tumbling(60'000)).Aggregate(Spend(), schema);
//
// Semantics are the built-in windows' (docs/job-spec.md "window"): event time only; a window
// [start, end) fires once the watermark reaches end - 1, emitting one row (GetResult) stamped
// end - 1; with allowed lateness L it is kept until end - 1 + L and a late row fires it again; a
// row all of whose windows are gone is dropped. Session windows merge their accumulators with
// Merge. Accumulators are keyed state (TypeSerializer<ACC>), so they are checkpointed and
// rescale with the job.
//
// It runs as a keyed process function (the engine's ProcessFunction operator) with a MapState
// "window-accumulators" (window start -> end and ACC) and event-time timers: the same
// primitives Flink's WindowOperator is made of. Rows without an event timestamp throw.
//
// Thread safety: as for every function (functions.h).

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sluice/functions.h"
#include "sluice/row_codec.h"
#include "sluice/serializer.h"

namespace sluice {

// The window whose result is being written.
class WindowContext {
 public:
  WindowContext(Row key, int64_t start, int64_t end) : key_(key), start_(start), end_(end) {}
  // The key fields, in KeyBy order.
  const Row& Key() const { return key_; }
  int64_t Start() const { return start_; }  // ms, inclusive
  int64_t End() const { return end_; }      // ms, exclusive

 private:
  Row key_;
  int64_t start_, end_;
};

// All rows of a window at once (Flink's ProcessWindowFunction): the window's rows are kept in
// state until it fires (each row added rewrites its window's entry, so prefer an
// AggregateFunction for large windows). Emit any number of rows; they get the window's end - 1
// as event timestamp.
class ProcessWindowFunction : public Function {
 public:
  virtual void Process(const WindowContext& window, const WindowRows& rows, Collector& out) = 0;
};

// Combines two rows of the stream into one of the same fields (Flink's ReduceFunction), as rows
// arrive; the window emits the last combination. Write every field of `out`.
class ReduceFunction : public Function {
 public:
  virtual void Reduce(const Row& a, const Row& b, RowWriter& out) = 0;
};

// Flink's AggregateFunction<IN, ACC, OUT> over rows: an accumulator per key and window.
template <Serializable ACC>
class AggregateFunction : public Function {
 public:
  using Acc = ACC;
  virtual ACC CreateAccumulator() = 0;
  virtual void Add(const Row& in, ACC& acc) = 0;
  // Folds `from` into `into` (session windows that merge).
  virtual void Merge(ACC& into, const ACC& from) = 0;
  // Writes the window's result row.
  virtual void GetResult(const ACC& acc, const WindowContext& window, RowWriter& out) = 0;
};

namespace detail {

// Window start/end and the accumulator, as stored per key and window start.
template <Serializable ACC>
struct WindowEntry {
  int64_t end = 0;
  ACC acc{};
};

}  // namespace detail

template <Serializable ACC>
struct TypeSerializer<detail::WindowEntry<ACC>> {
  static void Write(const detail::WindowEntry<ACC>& e, std::string* out) {
    TypeSerializer<int64_t>::Write(e.end, out);
    TypeSerializer<ACC>::Write(e.acc, out);
  }
  static bool Read(std::string_view* in, detail::WindowEntry<ACC>* e) {
    return TypeSerializer<int64_t>::Read(in, &e->end) && TypeSerializer<ACC>::Read(in, &e->acc);
  }
};

namespace detail {

// The keyed process function that runs a user AggregateFunction F over windows.
template <typename F>
class WindowAggregateProcess final : public ProcessFunction {
 public:
  using ACC = typename F::Acc;
  // type: "tumbling", "sliding" or "session"; sizes in ms.
  WindowAggregateProcess(F fn, std::string type, int64_t size_ms, int64_t slide_ms, int64_t gap_ms,
                         int64_t lateness_ms)
      : fn_(std::move(fn)), type_(std::move(type)), size_(size_ms), slide_(slide_ms),
        gap_(gap_ms), lateness_(lateness_ms) {}

  void Open(RuntimeContext& ctx) override {
    windows_ = ctx.GetMapState<int64_t, WindowEntry<ACC>>("window-accumulators");
    fn_.Open(ctx);
  }
  void Close() override { fn_.Close(); }

  void ProcessElement(const Row& in, Context& ctx, Collector& out) override {
    const int64_t ts = in.timestamp();
    if (ts == kNoTimestamp) {
      throw std::invalid_argument("window: a row has no event timestamp (declare event-time)");
    }
    const int64_t watermark = ctx.Timers().CurrentWatermark();
    if (type_ == "session") {
      AddToSession(in, ts, watermark, ctx, out);
      return;
    }
    const int64_t step = type_ == "sliding" ? slide_ : size_;
    const int64_t last = ts - Mod(ts, step);
    for (int64_t start = last; start > ts - size_; start -= step) {
      const int64_t end = start + size_;
      if (end - 1 + lateness_ <= watermark) continue;  // gone: this window is late
      WindowEntry<ACC> e = windows_.Get(start).value_or(WindowEntry<ACC>{end, fn_.CreateAccumulator()});
      fn_.Add(in, e.acc);
      windows_.Put(start, e);
      Schedule(end, ctx);
      if (end - 1 <= watermark) Emit(start, e, ctx, out);  // fired already: fire again
    }
  }

  void OnTimer(int64_t time, Context& ctx, Collector& out) override {
    std::vector<std::pair<int64_t, WindowEntry<ACC>>> due;
    windows_.ForEach([&](int64_t start, const WindowEntry<ACC>& e) {
      if (e.end - 1 == time || e.end - 1 + lateness_ == time) due.emplace_back(start, e);
    });
    for (auto& [start, e] : due) {
      if (e.end - 1 == time) Emit(start, e, ctx, out);
      if (e.end - 1 + lateness_ == time) windows_.Remove(start);
    }
  }

 private:
  static int64_t Mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

  void Schedule(int64_t end, Context& ctx) {
    ctx.Timers().RegisterEventTimeTimer(end - 1);
    if (lateness_ > 0) ctx.Timers().RegisterEventTimeTimer(end - 1 + lateness_);
  }

  void Emit(int64_t start, const WindowEntry<ACC>& e, Context& ctx, Collector& out) {
    const WindowContext window(ctx.CurrentKey(), start, e.end);
    if constexpr (requires(F& f, Collector& c) { f.EmitAll(e.acc, window, c); }) {
      TimestampedCollector stamped(out, e.end - 1);
      fn_.EmitAll(e.acc, window, stamped);
    } else {
      RowWriter& w = out.Emit();
      w.SetTimestamp(e.end - 1);
      fn_.GetResult(e.acc, window, w);
    }
  }

  // Stamps every row emitted through it with `timestamp`.
  class TimestampedCollector final : public Collector {
   public:
    TimestampedCollector(Collector& out, int64_t timestamp) : out_(out), timestamp_(timestamp) {}
    RowWriter& Emit() override { return Stamp(out_.Emit()); }
    RowWriter& EmitTo(size_t tag) override { return Stamp(out_.EmitTo(tag)); }

   private:
    RowWriter& Stamp(RowWriter& w) {
      w.SetTimestamp(timestamp_);
      return w;
    }
    Collector& out_;
    int64_t timestamp_;
  };

  // Sessions: [ts, ts + gap) merges with every open session it overlaps or touches.
  void AddToSession(const Row& in, int64_t ts, int64_t watermark, Context& ctx, Collector& out) {
    int64_t start = ts, end = ts + gap_;
    if (end - 1 + lateness_ <= watermark) {
      // Late unless it reaches an open session (as Flink: merging first, then the late check).
      bool reaches = false;
      windows_.ForEach([&](int64_t s, const WindowEntry<ACC>& e) {
        if (s <= end && ts <= e.end) reaches = true;
      });
      if (!reaches) return;
    }
    WindowEntry<ACC> merged{end, fn_.CreateAccumulator()};
    fn_.Add(in, merged.acc);
    std::vector<std::pair<int64_t, WindowEntry<ACC>>> overlapping;
    windows_.ForEach([&](int64_t s, const WindowEntry<ACC>& e) {
      if (s <= end && start <= e.end) overlapping.emplace_back(s, e);
    });
    for (auto& [s, e] : overlapping) {
      fn_.Merge(merged.acc, e.acc);
      start = std::min(start, s);
      merged.end = std::max(merged.end, e.end);
      ctx.Timers().DeleteEventTimeTimer(e.end - 1);
      if (lateness_ > 0) ctx.Timers().DeleteEventTimeTimer(e.end - 1 + lateness_);
      windows_.Remove(s);
    }
    windows_.Put(start, merged);
    Schedule(merged.end, ctx);
    if (merged.end - 1 <= watermark) Emit(start, merged, ctx, out);
  }

  F fn_;
  std::string type_;
  int64_t size_, slide_, gap_, lateness_;
  MapState<int64_t, WindowEntry<ACC>> windows_;
};

// A ProcessWindowFunction as the accumulating function of WindowAggregateProcess: the
// accumulator is the window's rows, encoded.
template <typename P>
class ProcessWindowAdapter {
 public:
  using Acc = std::vector<std::string>;
  explicit ProcessWindowAdapter(P p) : p_(std::move(p)) {}
  void Open(RuntimeContext& ctx) {
    schema_ = ctx.InputSchema(0);
    p_.Open(ctx);
  }
  void Close() { p_.Close(); }
  Acc CreateAccumulator() { return {}; }
  void Add(const Row& in, Acc& acc) {
    acc.emplace_back();
    EncodeRow(in, in.timestamp(), &acc.back());
  }
  void Merge(Acc& into, const Acc& from) { into.insert(into.end(), from.begin(), from.end()); }
  void EmitAll(const Acc& acc, const WindowContext& window, Collector& out) {
    rows_.Reset(schema_);
    for (const std::string& r : acc) {
      if (!rows_.Add(r)) throw StateError("window rows: a stored row does not decode");
    }
    rows_.Finish();
    p_.Process(window, rows_, out);
  }

 private:
  P p_;
  Schema schema_;
  WindowRows rows_;
};

// A ReduceFunction as the accumulating function of WindowAggregateProcess: the accumulator is
// the combined row so far, encoded (empty before the first row).
template <typename R>
class ReduceAdapter {
 public:
  using Acc = std::string;
  explicit ReduceAdapter(R r) : r_(std::move(r)) {}
  void Open(RuntimeContext& ctx) {
    schema_ = ctx.InputSchema(0);
    r_.Open(ctx);
  }
  void Close() { r_.Close(); }
  Acc CreateAccumulator() { return {}; }
  void Add(const Row& in, Acc& acc) {
    if (acc.empty()) {
      EncodeRow(in, in.timestamp(), &acc);
      return;
    }
    Decode(acc);
    writer_.Reset(schema_, in.timestamp());
    r_.Reduce(rows_[0], in, writer_);
    writer_.Encode(&acc);
  }
  void Merge(Acc& into, const Acc& from) {
    if (from.empty()) return;
    if (into.empty()) {
      into = from;
      return;
    }
    rows_.Reset(schema_);
    if (!rows_.Add(into) || !rows_.Add(from)) throw StateError("reduce: a stored row does not decode");
    rows_.Finish();
    writer_.Reset(schema_, rows_[1].timestamp());
    r_.Reduce(rows_[0], rows_[1], writer_);
    writer_.Encode(&into);
  }
  void GetResult(const Acc& acc, const WindowContext&, RowWriter& out) {
    Decode(acc);
    for (size_t f = 0; f < schema_.size(); ++f) out.Copy(f, rows_[0], f);
  }

 private:
  void Decode(const Acc& acc) {
    rows_.Reset(schema_);
    if (!rows_.Add(acc)) throw StateError("reduce: a stored row does not decode");
    rows_.Finish();
  }
  R r_;
  Schema schema_;
  WindowRows rows_;
  EncodingRowWriter writer_;
};

}  // namespace detail
}  // namespace sluice
