#pragma once
// Value helpers shared by the expression evaluator's nodes (internal to runtime/expr): Java's
// integer and rounding semantics, calendar fields, UTF-8 code point counting, text formatting.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/time_format.h"
#include "runtime/expr/expression.h"

namespace sluice::expr {

using core::RecordBatch;
using core::Schema;
using core::Type;
using core::TypeName;

inline constexpr int64_t kMsPerSecond = 1000;
inline constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
inline constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
inline constexpr int64_t kMsPerDay = 24 * kMsPerHour;

inline double AsDouble(Type t, const Datum& d) {
  return t == Type::kDouble ? d.f64 : static_cast<double>(d.i64);
}

// Text form used by to_string and concat: as RecordBatch prints values (shortest round-trip
// doubles, ISO-8601 timestamps).
inline void AppendText(Type t, const Datum& d, std::string* out) {
  char buf[64];
  switch (t) {
    case Type::kInt64: {
      auto r = std::to_chars(buf, buf + sizeof buf, d.i64);
      out->append(buf, r.ptr);
      break;
    }
    case Type::kDouble: {
      auto r = std::to_chars(buf, buf + sizeof buf, d.f64);
      out->append(buf, r.ptr);
      break;
    }
    case Type::kBool: out->append(d.b ? "true" : "false"); break;
    case Type::kTimestamp: core::AppendTimestamp(d.i64, out); break;
    case Type::kString:
    case Type::kBytes: out->append(d.s); break;
    case Type::kInt32:
    case Type::kDate: break;  // never an evaluated type (EvaluatedType)
  }
}

// Java's (long) cast of a double: NaN -> 0, saturating at the int64 range.
inline int64_t JavaDoubleToLong(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (x <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

// Java's Math.round(double) (JDK 7+): nearest, ties towards positive infinity.
inline int64_t JavaRound(double x) {
  if (std::isnan(x)) return 0;
  double f = std::floor(x);
  if (x - f >= 0.5) f += 1.0;
  return JavaDoubleToLong(f);
}

inline int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
inline int64_t WrapNeg(int64_t a) { return static_cast<int64_t>(0 - static_cast<uint64_t>(a)); }

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Howard Hinnant's civil_from_days (as runtime/core/time_format uses for the inverse).
struct Civil {
  int64_t year;
  int month, day;
};
inline Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Civil{y + (m <= 2), m, d};
}

// absl::Status::message() is Debian's absl::string_view, which fmt cannot format.
inline std::string_view Msg(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

inline size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}
// Byte offset of code point `cp` (0-based) in s, or s.size() if past the end.
inline size_t Utf8Offset(std::string_view s, int64_t cp) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (cp == 0) return i;
      --cp;
    }
  }
  return s.size();
}

}  // namespace sluice::expr
