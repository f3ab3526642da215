#include "runtime/core/time_format.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

#include <cstdio>

namespace sluice::core {
namespace {

constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int year, month, day, hour = 0, minute = 0, second = 0, millis = 0;
  if (!Digits(s, 0, 4, &year) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  if (day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0)) return std::nullopt;
  size_t p = 10;
  int offset_minutes = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!Digits(s, p + 1, 2, &hour) || p + 3 >= s.size() || s[p + 3] != ':' ||
        !Digits(s, p + 4, 2, &minute)) {
      return std::nullopt;
    }
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!Digits(s, p + 1, 2, &second)) return std::nullopt;
      p += 3;
      if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
        ++p;
        int ndig = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          if (ndig < 3) millis = millis * 10 + (s[p] - '0');
          ++ndig;
          ++p;
        }
        if (ndig == 0) return std::nullopt;
        for (int i = ndig; i < 3; ++i) millis *= 10;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (p < s.size()) {
      if (s[p] == 'Z' || s[p] == 'z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int sign = s[p] == '-' ? -1 : 1;
        int oh, om;
        if (!Digits(s, p + 1, 2, &oh)) return std::nullopt;
        size_t q = p + 3;
        if (q < s.size() && s[q] == ':') ++q;
        if (!Digits(s, q, 2, &om)) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
        p = q + 2;
      }
    }
  }
  if (p != s.size()) return std::nullopt;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return secs * 1000 + millis;
}

namespace {
// Writes `v` (0 <= v < 10^width) as `width` decimal digits at p.
inline char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}
}  // namespace

void AppendTimestamp(int64_t ms, std::string* out) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int millis = static_cast<int>(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) {  // rare: keep printf's sign and width handling
    char buf[48];
    int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(y),
                          m, d, static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                          static_cast<int>(rem % 60));
    out->append(buf, static_cast<size_t>(n));
    if (millis) {
      n = std::snprintf(buf, sizeof buf, ".%03d", millis);
      out->append(buf, static_cast<size_t>(n));
    }
    out->push_back('Z');
    return;
  }
  // The hot path (file sink, CSV and JSON formats): no printf.
  char buf[32];
  char* p = PutDigits(buf, y, 4);
  *p++ = '-';
  p = PutDigits(p, m, 2);
  *p++ = '-';
  p = PutDigits(p, d, 2);
  *p++ = 'T';
  p = PutDigits(p, rem / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, rem / 60 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, rem % 60, 2);
  if (millis) {
    *p++ = '.';
    p = PutDigits(p, millis, 3);
  }
  *p++ = 'Z';
  out->append(buf, static_cast<size_t>(p - buf));
}

std::string FormatTimestamp(int64_t ms) {
  std::string s;
  AppendTimestamp(ms, &s);
  return s;
}

std::string FormatTimestamp(int64_t ms, const TimestampPattern& pattern) {
  return absl::FormatTime(pattern.absl_format, absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::optional<int32_t> ParseDate(std::string_view s) {
  if (s.size() != 10) return std::nullopt;
  std::optional<int64_t> ms = ParseTimestamp(s);
  if (!ms) return std::nullopt;
  return static_cast<int32_t>(*ms / kMillisPerDay - (*ms % kMillisPerDay < 0 ? 1 : 0));
}

void AppendDate(int32_t days, std::string* out) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  out->append(buf, static_cast<size_t>(n));
}


absl::StatusOr<TimestampPattern> CompileTimestampPattern(std::string_view p) {
  TimestampPattern out;
  for (size_t i = 0; i < p.size();) {
    const char c = p[i];
    size_t n = 1;
    while (i + n < p.size() && p[i + n] == c) ++n;
    if (c == '\'') {  // 'literal', '' is a quote
      const size_t close = p.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrFormat("pattern '%s': unclosed quote at position %d", p, i + 1));
      }
      if (close == i + 1) out.absl_format += '\'';
      for (char l : p.substr(i + 1, close - i - 1)) {
        if (l == '%') out.absl_format += '%';
        out.absl_format += l;
      }
      i = close + 1;
      continue;
    }
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter) {
      if (c == '%') out.absl_format += '%';
      out.absl_format += c;
      ++i;
      continue;
    }
    switch (c) {
      case 'y': out.absl_format += n == 2 ? "%y" : n == 4 ? "%E4Y" : "%Y"; break;
      case 'M': out.absl_format += "%m"; break;
      case 'd': out.absl_format += "%d"; break;
      case 'H': out.absl_format += "%H"; break;
      case 'h': out.absl_format += "%I"; break;
      case 'm': out.absl_format += "%M"; break;
      case 's': out.absl_format += "%S"; break;
      case 'S': out.absl_format += "%E" + std::to_string(n) + "f"; break;
      case 'a': out.absl_format += "%p"; break;
      case 'X':
      case 'Z':
        out.absl_format += n >= 3 || c == 'Z' ? "%Ez" : "%z";
        out.has_offset = true;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrFormat(
            "pattern '%s': unsupported letter '%c' (supported: y M d H h m s S a X Z and "
            "'literal')",
            p, c));
    }
    i += n;
  }
  return out;
}

std::optional<int64_t> ParseTimestamp(std::string_view text, const TimestampPattern& pattern) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(pattern.absl_format, absl::string_view(text.data(), text.size()),
                       absl::UTCTimeZone(), &t, &err)) {
    return std::nullopt;
  }
  return absl::ToUnixMillis(t);
}

}  // namespace sluice::core
