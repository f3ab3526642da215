#pragma once
// Time window assignment: the windows [start, end) an event timestamp belongs to, for Flink's
// TumblingEventTimeWindows, SlidingEventTimeWindows (SQL's HOP) and Flink SQL's cumulative
// windows (CUMULATE, CumulativeWindowAssigner). All times are ms.
//
// Every window of one assigner is identified by its end alone (tumbling and sliding windows all
// have the same size; a cumulative window's start is the start of the max-size window that
// contains its end - 1), so the window operator keys window state by end and recovers the start
// with StartOf(end).
//
// Rules (as in Flink):
// - tumbling(size, offset): the one window with start = WindowStartWithOffset(ts, offset, size).
// - sliding(size, slide, offset): size/slide windows (ceiling) whose starts are multiples of
//   slide (+ offset) in (ts - size, ts]; |offset| < slide.
// - cumulate(max_size, step, offset): the windows [S, S + k*step) with S the start of the
//   max-size window containing ts and k*step covering ts, k = 1 .. max_size/step; max_size must
//   be a multiple of step.
// Thread safety: immutable values.

#include <cstdint>

#include "absl/status/statusor.h"

namespace sluice::operators {

// Flink's TimeWindow.getWindowStartWithOffset: start of the window of size `size_ms` shifted
// by `offset_ms` that contains `timestamp` (ms). Correct for negative timestamps.
inline int64_t WindowStartWithOffset(int64_t timestamp, int64_t offset_ms, int64_t size_ms) {
  const int64_t remainder = (timestamp - offset_ms) % size_ms;
  return remainder < 0 ? timestamp - (remainder + size_ms) : timestamp - remainder;
}

class WindowAssigner {
 public:
  enum class Kind : uint8_t { kTumbling, kSliding, kCumulate };

  // InvalidArgument naming the bad value: size/slide/step <= 0, |offset| >= size (tumbling) or
  // slide (sliding) or step (cumulate), slide > size, max size not a multiple of step.
  static absl::StatusOr<WindowAssigner> Tumbling(int64_t size_ms, int64_t offset_ms = 0);
  static absl::StatusOr<WindowAssigner> Sliding(int64_t size_ms, int64_t slide_ms,
                                                int64_t offset_ms = 0);
  static absl::StatusOr<WindowAssigner> Cumulate(int64_t max_size_ms, int64_t step_ms,
                                                 int64_t offset_ms = 0);

  Kind kind() const { return kind_; }
  int64_t size_ms() const { return size_ms_; }    // cumulate: the max size
  int64_t slide_ms() const { return slide_ms_; }  // tumbling: size; cumulate: step

  // Calls fn(end) for each window containing `ts`, in increasing order of end.
  template <typename Fn>
  void ForEachWindowEnd(int64_t ts, Fn&& fn) const {
    switch (kind_) {
      case Kind::kTumbling: fn(WindowStartWithOffset(ts, offset_ms_, size_ms_) + size_ms_); break;
      case Kind::kSliding: {
        // Starts in (ts - size, ts]; the earliest first, so ends come in increasing order.
        const int64_t last_start = WindowStartWithOffset(ts, offset_ms_, slide_ms_);
        int64_t start = last_start;
        while (start - slide_ms_ > ts - size_ms_) start -= slide_ms_;
        for (; start <= last_start; start += slide_ms_) fn(start + size_ms_);
        break;
      }
      case Kind::kCumulate: {
        const int64_t last_end = WindowStartWithOffset(ts, offset_ms_, size_ms_) + size_ms_;
        for (int64_t end = WindowStartWithOffset(ts, offset_ms_, slide_ms_) + slide_ms_;
             end <= last_end; end += slide_ms_) {
          fn(end);
        }
        break;
      }
    }
  }

  // The start of the window ending at `end`.
  int64_t StartOf(int64_t end) const {
    return kind_ == Kind::kCumulate ? WindowStartWithOffset(end - 1, offset_ms_, size_ms_)
                                    : end - size_ms_;
  }

 private:
  WindowAssigner(Kind kind, int64_t size_ms, int64_t slide_ms, int64_t offset_ms)
      : kind_(kind), size_ms_(size_ms), slide_ms_(slide_ms), offset_ms_(offset_ms) {}

  Kind kind_;
  int64_t size_ms_;
  int64_t slide_ms_;
  int64_t offset_ms_;
};

}  // namespace sluice::operators
