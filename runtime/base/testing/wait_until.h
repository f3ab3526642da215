#pragma once
// Test helper: waits for a condition with a deadline (never a bare sleep as synchronisation).
// Header-only; for tests of any module.

#include <chrono>
#include <thread>

namespace sluice::testing {

// Polls `cond` every 2 ms until it holds (true) or `timeout_ms` passed (false).
template <typename F>
bool WaitUntil(F&& cond, int timeout_ms = 10000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace sluice::testing
