#pragma once
// What a task thread's blocking calls record about it (Flink's TaskIOMetricGroup: idle and
// back-pressured time, the current input and output watermarks). The task registers its
// TaskIoMetrics for its own thread (SetThreadTaskIoMetrics); InputGate waits, credit waits and
// watermark emission on that thread then add to it, with no lookup on the data path and a clock
// read only around a wait. Readers (the metrics reporter) load the atomics from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice::network {

struct TaskIoMetrics {
  std::atomic<int64_t> idle_ns{0};           // waiting for input
  std::atomic<int64_t> backpressured_ns{0};  // waiting for output credits
  std::atomic<int64_t> current_input_watermark{INT64_MIN};
  std::atomic<int64_t> current_output_watermark{INT64_MIN};
};

// The calling thread's TaskIoMetrics, or null (threads that are not task threads).
TaskIoMetrics* ThreadTaskIoMetrics();
void SetThreadTaskIoMetrics(TaskIoMetrics* metrics);

// Adds the lifetime of the scope to one of the calling thread's counters (no-op without one).
class ScopedIoTimer {
 public:
  explicit ScopedIoTimer(std::atomic<int64_t> TaskIoMetrics::*counter)
      : metrics_(ThreadTaskIoMetrics()), counter_(counter) {
    if (metrics_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedIoTimer() {
    if (metrics_ == nullptr) return;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
    (metrics_->*counter_).fetch_add(ns, std::memory_order_relaxed);
  }
  ScopedIoTimer(const ScopedIoTimer&) = delete;
  ScopedIoTimer& operator=(const ScopedIoTimer&) = delete;

 private:
  TaskIoMetrics* metrics_;
  std::atomic<int64_t> TaskIoMetrics::*counter_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sluice::network
