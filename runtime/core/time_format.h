#pragma once
// ISO-8601 timestamps <-> milliseconds since the Unix epoch (UTC), proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil algorithm). No allocation: used on the CSV hot path.
//
// Accepted input: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS", optional fraction
// ".f" to ".fffffffff" (truncated to ms), 'T' or ' ' as separator, and an optional zone "Z",
// "+HH:MM", "-HH:MM" or "+HHMM" (no zone means UTC).
// Output: "YYYY-MM-DDTHH:MM:SSZ", with ".mmm" before 'Z' only when the milliseconds are not 0.

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include <string>
#include <string_view>

namespace sluice::core {

std::optional<int64_t> ParseTimestamp(std::string_view text);
void AppendTimestamp(int64_t epoch_ms, std::string* out);

// A timestamp pattern as Flink's TO_TIMESTAMP(string, format) takes it (Java's
// SimpleDateFormat letters: yyyy, yy, MM, dd, HH, hh, mm, ss, SSS (ms), a, 'quoted literals',
// X/XXX/Z for the offset), translated once into a TimestampPattern. InvalidArgument naming an
// unsupported letter ("pattern 'yyyy-ww': unsupported letter 'w' (supported: y M d H h m s S
// a X Z and 'literal')").
struct TimestampPattern {
  std::string absl_format;  // for absl::ParseTime
  bool has_offset = false;  // otherwise the text is UTC
};
absl::StatusOr<TimestampPattern> CompileTimestampPattern(std::string_view java_pattern);
// Parses `text` by `pattern` into epoch ms; nullopt if it does not match.
std::optional<int64_t> ParseTimestamp(std::string_view text, const TimestampPattern& pattern);
std::string FormatTimestamp(int64_t epoch_ms);
// Formats epoch ms (UTC) by a compiled pattern (Flink's DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')).
std::string FormatTimestamp(int64_t epoch_ms, const TimestampPattern& pattern);

// Dates: "YYYY-MM-DD" <-> days since 1970-01-01 (Arrow date32). ParseDate accepts exactly that
// form with a valid day of month.
std::optional<int32_t> ParseDate(std::string_view text);
void AppendDate(int32_t epoch_days, std::string* out);
inline constexpr int64_t kMillisPerDay = 86'400'000;

}  // namespace sluice::core
