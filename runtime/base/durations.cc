#include "runtime/base/durations.h"

#include <cctype>
#include <charconv>
#include <string>

#include "runtime/base/status.h"

namespace sluice {
namespace {
std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
}  // namespace

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  std::string_view t = Trim(text);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || ptr == t.data() || n < 0) {
    return InvalidArgumentF("duration '{}' must start with a non-negative integer", text);
  }
  std::string unit(Trim(std::string_view(ptr, t.data() + t.size() - ptr)));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int64_t mult;
  if (unit.empty() || unit == "ms" || unit == "milli" || unit == "millis" ||
      unit == "millisecond" || unit == "milliseconds") {
    mult = 1;
  } else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" ||
             unit == "seconds") {
    mult = 1000;
  } else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" ||
             unit == "minutes") {
    mult = 60'000;
  } else if (unit == "h" || unit == "hour" || unit == "hours") {
    mult = 3'600'000;
  } else if (unit == "d" || unit == "day" || unit == "days") {
    mult = 86'400'000;
  } else {
    return InvalidArgumentF("duration '{}' has unknown unit '{}' (use ms, s, min, h or d)", text,
                            unit);
  }
  return n * mult;
}

}  // namespace sluice
