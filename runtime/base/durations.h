#pragma once
// Parsing of human durations used in job specs and config files, in Flink's notation:
// "500 ms", "5s", "1 min", "1h", "2 d" or a bare integer meaning milliseconds.
// Returns milliseconds. InvalidArgument names the text and the accepted units.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice {

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

}  // namespace sluice
