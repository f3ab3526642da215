#pragma once
// Built-in functions of the expression language (internal to runtime/expr): their table and
// the call node. Type rules are checked by the parser (parser.cc, CheckCall).

#include <optional>

#include "absl/strings/match.h"
#include "runtime/core/time_format.h"
#include "runtime/expr/nodes.h"
#include "runtime/expr/string_functions.h"

namespace sluice::expr {

// ---- functions -------------------------------------------------------------------------------

enum class Fn {
  kAbs, kRound, kFloor, kCeil, kSqrt, kLower, kUpper, kLength, kConcat, kSubstr, kIf,
  kToString, kToInt, kToDouble, kToTimestamp, kYear, kMonth, kDay, kHour, kMinute, kSecond,
  kDayOfWeek, kStartsWith, kEndsWith, kContains, kCoalesce, kToBool,
  kDateFormat, kRegexpExtract, kSplitIndex, kLike,
};

struct FnSpec {
  std::string_view name;
  Fn fn;
  int min_args;
  int max_args;  // -1: unbounded
};

inline constexpr FnSpec kFunctions[] = {
    {"abs", Fn::kAbs, 1, 1},
    {"ceil", Fn::kCeil, 1, 1},
    {"coalesce", Fn::kCoalesce, 1, -1},
    {"concat", Fn::kConcat, 1, -1},
    {"contains", Fn::kContains, 2, 2},
    {"date_format", Fn::kDateFormat, 2, 2},
    {"day", Fn::kDay, 1, 1},
    {"day_of_week", Fn::kDayOfWeek, 1, 1},
    {"ends_with", Fn::kEndsWith, 2, 2},
    {"floor", Fn::kFloor, 1, 1},
    {"hour", Fn::kHour, 1, 1},
    {"if", Fn::kIf, 3, 3},
    {"length", Fn::kLength, 1, 1},
    {"like", Fn::kLike, 2, 2},
    {"lower", Fn::kLower, 1, 1},
    {"minute", Fn::kMinute, 1, 1},
    {"month", Fn::kMonth, 1, 1},
    {"regexp_extract", Fn::kRegexpExtract, 2, 3},
    {"round", Fn::kRound, 1, 1},
    {"second", Fn::kSecond, 1, 1},
    {"split_index", Fn::kSplitIndex, 3, 3},
    {"sqrt", Fn::kSqrt, 1, 1},
    {"starts_with", Fn::kStartsWith, 2, 2},
    {"substr", Fn::kSubstr, 2, 3},
    {"to_bool", Fn::kToBool, 1, 1},
    {"to_double", Fn::kToDouble, 1, 1},
    {"to_int", Fn::kToInt, 1, 1},
    {"to_string", Fn::kToString, 1, 1},
    {"to_timestamp", Fn::kToTimestamp, 1, 2},
    {"upper", Fn::kUpper, 1, 1},
    {"year", Fn::kYear, 1, 1},
};

class FuncNode final : public Node {
 public:
  FuncNode(Fn fn, Type result, std::vector<std::unique_ptr<Node>> args, int begin, int end)
      : Node(result, begin, end), fn_(fn), args_(std::move(args)), vals_(args_.size()) {}

  absl::Status Eval(const RecordBatch& b, size_t row, Datum* out) override {
    if (fn_ == Fn::kIf) {
      RETURN_IF_ERROR(args_[0]->Eval(b, row, &vals_[0]));
      Node* branch = vals_[0].b && !vals_[0].null ? args_[1].get() : args_[2].get();
      return EvalAs(type(), *branch, b, row, out);
    }
    if (fn_ == Fn::kCoalesce) {
      for (const auto& arg : args_) {
        RETURN_IF_ERROR(EvalAs(type(), *arg, b, row, out));
        if (!out->null) break;
      }
      return absl::OkStatus();
    }
    for (size_t i = 0; i < args_.size(); ++i) {
      RETURN_IF_ERROR(args_[i]->Eval(b, row, &vals_[i]));
      if (vals_[i].null) {
        out->null = true;
        return absl::OkStatus();
      }
    }
    out->null = false;
    const Datum& a = vals_[0];
    const Type at = args_[0]->type();
    switch (fn_) {
      case Fn::kAbs:
        if (at == Type::kDouble) {
          out->f64 = std::fabs(a.f64);
        } else {
          out->i64 = a.i64 < 0 ? WrapNeg(a.i64) : a.i64;  // Java: abs(MIN_VALUE) == MIN_VALUE
        }
        break;
      case Fn::kRound: out->i64 = at == Type::kDouble ? JavaRound(a.f64) : a.i64; break;
      case Fn::kFloor: out->f64 = std::floor(AsDouble(at, a)); break;
      case Fn::kCeil: out->f64 = std::ceil(AsDouble(at, a)); break;
      case Fn::kSqrt: out->f64 = std::sqrt(AsDouble(at, a)); break;
      case Fn::kLower:
      case Fn::kUpper:
        scratch_.assign(a.s);
        for (char& c : scratch_) {
          if (fn_ == Fn::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          if (fn_ == Fn::kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        }
        out->s = scratch_;
        break;
      case Fn::kLength: out->i64 = static_cast<int64_t>(Utf8Length(a.s)); break;
      case Fn::kConcat:
        scratch_.clear();
        for (size_t i = 0; i < args_.size(); ++i) AppendText(args_[i]->type(), vals_[i], &scratch_);
        out->s = scratch_;
        break;
      case Fn::kSubstr: {
        int64_t start = std::max<int64_t>(vals_[1].i64, 1) - 1;
        size_t from = Utf8Offset(a.s, start);
        size_t to = a.s.size();
        if (args_.size() == 3) {
          int64_t len = vals_[2].i64;
          to = len <= 0 ? from : from + Utf8Offset(a.s.substr(from), len);
        }
        out->s = a.s.substr(from, to - from);
        break;
      }
      case Fn::kToString:
        scratch_.clear();
        AppendText(at, a, &scratch_);
        out->s = scratch_;
        break;
      case Fn::kToInt: return ToInt(at, a, out);
      case Fn::kToDouble: return ToDouble(at, a, out);
      case Fn::kToBool: return ToBool(at, a, out);
      case Fn::kToTimestamp:
        if (args_.size() == 2) return ToTimestampWithPattern(a.s, vals_[1].s, out);
        if (at == Type::kString) {
          auto ts = core::ParseTimestamp(a.s);
          if (!ts) {
            return InvalidArgumentF(
                "to_timestamp: cannot parse '{}' as a timestamp (expected ISO-8601 like "
                "2001-01-01T00:00:00Z)",
                a.s);
          }
          out->i64 = *ts;
        } else {
          out->i64 = a.i64;
        }
        break;
      case Fn::kYear: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).year; break;
      case Fn::kMonth: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).month; break;
      case Fn::kDay: out->i64 = CivilFromDays(FloorDiv(a.i64, kMsPerDay)).day; break;
      case Fn::kHour: out->i64 = FloorDiv(a.i64, kMsPerHour) - FloorDiv(a.i64, kMsPerDay) * 24; break;
      case Fn::kMinute:
        out->i64 = FloorDiv(a.i64, kMsPerMinute) - FloorDiv(a.i64, kMsPerHour) * 60;
        break;
      case Fn::kSecond:
        out->i64 = FloorDiv(a.i64, kMsPerSecond) - FloorDiv(a.i64, kMsPerMinute) * 60;
        break;
      case Fn::kDayOfWeek: {
        // 1970-01-01 was a Thursday (5 with Sunday = 1).
        int64_t days = FloorDiv(a.i64, kMsPerDay);
        int64_t m = (days + 4) % 7;
        if (m < 0) m += 7;
        out->i64 = m + 1;
        break;
      }
      case Fn::kStartsWith: out->b = a.s.starts_with(vals_[1].s); break;
      case Fn::kEndsWith: out->b = a.s.ends_with(vals_[1].s); break;
      case Fn::kContains: out->b = a.s.find(vals_[1].s) != std::string_view::npos; break;
      case Fn::kIf:
      case Fn::kCoalesce: break;  // handled above
      case Fn::kDateFormat: {
        if (!pattern_.has_value() || pattern_text_ != vals_[1].s) {
          ASSIGN_OR_RETURN(pattern_, core::CompileTimestampPattern(vals_[1].s));
          pattern_text_.assign(vals_[1].s);
        }
        scratch_ = core::FormatTimestamp(a.i64, *pattern_);
        out->s = scratch_;
        break;
      }
      case Fn::kRegexpExtract: {
        if (!regex_.has_value() || regex_text_ != vals_[1].s) {
          regex_text_.assign(vals_[1].s);
          if (!CompileRegex(regex_text_, &regex_)) {
            return InvalidArgumentF("regexp_extract: bad regular expression '{}'", regex_text_);
          }
        }
        const int64_t group = args_.size() == 3 ? vals_[2].i64 : 0;
        std::match_results<std::string_view::const_iterator> m;
        if (group < 0 || static_cast<size_t>(group) >= regex_->mark_count() + 1 ||
            !std::regex_search(a.s.begin(), a.s.end(), m, *regex_) || !m[group].matched) {
          out->null = true;
          break;
        }
        scratch_.assign(m[group].first, m[group].second);
        out->s = scratch_;
        break;
      }
      case Fn::kSplitIndex: {
        std::optional<std::string_view> part = SplitIndex(a.s, vals_[1].s, vals_[2].i64);
        out->null = !part.has_value();
        if (part) out->s = *part;
        break;
      }
      case Fn::kLike: out->b = LikeMatch(a.s, vals_[1].s); break;
    }
    return absl::OkStatus();
  }

 private:
  // to_timestamp(text, pattern): the pattern (a literal, checked by the parser) is compiled
  // once and kept.
  absl::Status ToTimestampWithPattern(std::string_view text, std::string_view pattern,
                                      Datum* out) {
    if (!pattern_.has_value() || pattern_text_ != pattern) {
      ASSIGN_OR_RETURN(pattern_, core::CompileTimestampPattern(pattern));
      pattern_text_.assign(pattern);
    }
    auto ts = core::ParseTimestamp(text, *pattern_);
    if (!ts) {
      return InvalidArgumentF("to_timestamp: cannot parse '{}' with pattern '{}'", text, pattern);
    }
    out->i64 = *ts;
    return absl::OkStatus();
  }

  static absl::Status ToInt(Type at, const Datum& a, Datum* out) {
    switch (at) {
      case Type::kDouble: out->i64 = JavaDoubleToLong(a.f64); break;
      case Type::kBool: out->i64 = a.b ? 1 : 0; break;
      case Type::kString: {
        std::string_view s = a.s;
        if (s.size() > 1 && s[0] == '+') s.remove_prefix(1);
        int64_t v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return InvalidArgumentF("to_int: cannot parse '{}' as int64", a.s);
        }
        out->i64 = v;
        break;
      }
      default: out->i64 = a.i64; break;
    }
    return absl::OkStatus();
  }
  static absl::Status ToBool(Type at, const Datum& a, Datum* out) {
    switch (at) {
      case Type::kBool: out->b = a.b; break;
      case Type::kDouble: out->b = a.f64 != 0; break;
      case Type::kString: {
        const absl::string_view v(a.s.data(), a.s.size());
        const bool t = absl::EqualsIgnoreCase(v, "true");
        if (!t && !absl::EqualsIgnoreCase(v, "false")) {
          return InvalidArgumentF("to_bool: cannot parse '{}' as bool (expected true or false)",
                                  a.s);
        }
        out->b = t;
        break;
      }
      default: out->b = a.i64 != 0; break;
    }
    return absl::OkStatus();
  }
  static absl::Status ToDouble(Type at, const Datum& a, Datum* out) {
    switch (at) {
      case Type::kDouble: out->f64 = a.f64; break;
      case Type::kBool: out->f64 = a.b ? 1.0 : 0.0; break;
      case Type::kString: {
        std::string_view s = a.s;
        if (s.size() > 1 && s[0] == '+') s.remove_prefix(1);
        double v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
          return InvalidArgumentF("to_double: cannot parse '{}' as double", a.s);
        }
        out->f64 = v;
        break;
      }
      default: out->f64 = static_cast<double>(a.i64); break;
    }
    return absl::OkStatus();
  }

  Fn fn_;
  std::vector<std::unique_ptr<Node>> args_;
  std::vector<Datum> vals_;
  std::string scratch_;
  std::optional<core::TimestampPattern> pattern_;  // to_timestamp / date_format's pattern
  std::string pattern_text_;
  std::optional<std::regex> regex_;  // regexp_extract's, compiled once per distinct pattern
  std::string regex_text_;
};

}  // namespace sluice::expr
