#pragma once
// Wall-clock and monotonic time in milliseconds. Wall clock for timestamps shown to users
// (REST start-time, state-change stamps, epoch ms as Flink); monotonic for timeouts.
//
// Clock: an injectable source of processing time (Flink's `Clock`/`TtlTimeProvider`), for code
// whose behaviour depends on the wall clock (state TTL) and whose tests must control time
// without sleeping. Implementations are thread-safe: RocksDB compaction threads read it.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice {

inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t MonotonicMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Processing time in epoch milliseconds. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
  // The system wall clock (sluice::NowMillis()); one process-wide instance, never destroyed.
  static const Clock& System();
};

namespace internal {
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override { return ::sluice::NowMillis(); }
};
}  // namespace internal

inline const Clock& Clock::System() {
  static const internal::SystemClock* const clock = new internal::SystemClock();
  return *clock;
}

// A clock that moves only when told to (tests). Starts at `start_ms`. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_(start_ms) {}
  int64_t NowMillis() const override { return now_.load(std::memory_order_relaxed); }
  void Set(int64_t now_ms) { now_.store(now_ms, std::memory_order_relaxed); }
  void Advance(int64_t delta_ms) { now_.fetch_add(delta_ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sluice
