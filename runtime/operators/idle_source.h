#pragma once
// Idleness for any source (Flink's WatermarkStrategy.withIdleness): a source subtask that emits
// no record for `idle_timeout_ms` (processing time) marks its output IDLE, so that downstream
// operators take the event time of their other inputs instead of waiting for it; its next
// record marks it ACTIVE again first. While idle, its watermarks (which cannot advance without
// records) are held back, except the final kMaxWatermark of a bounded input, which is passed on
// after becoming ACTIVE. Everything else (state, gauges, events) is the wrapped source's.
//
// Thread: the source's task thread (HandleOperatorEvent is forwarded from the caller's
// thread, as api::Source allows).

#include <cstdint>
#include <memory>

#include "runtime/api/operator.h"
#include "runtime/base/clock.h"

namespace sluice::operators {

// `idle_timeout_ms` > 0; `clock` must outlive the source.
std::unique_ptr<api::Source> WithIdleness(std::unique_ptr<api::Source> source,
                                          int64_t idle_timeout_ms,
                                          const Clock* clock = &Clock::System());

}  // namespace sluice::operators
