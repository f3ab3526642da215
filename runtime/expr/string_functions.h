#pragma once
// SQL string functions of the expression language (internal to runtime/expr): LIKE patterns,
// SPLIT_INDEX, and regular expressions for REGEXP_EXTRACT (ECMAScript syntax, close to Java's
// for the common forms: groups, classes, alternation, quantifiers). Thread-compatible.

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace sluice::expr {

// SQL LIKE: '%' matches any run of characters, '_' one character (code point), '\' escapes
// the next one; everything else matches itself. Iterative, O(len(s) * len(p)) at worst.
inline bool LikeMatch(std::string_view s, std::string_view p) {
  size_t si = 0, pi = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  auto next_cp = [](std::string_view t, size_t i) {
    ++i;
    while (i < t.size() && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) ++i;
    return i;
  };
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '%') {
      star_p = ++pi;
      star_s = si;
      continue;
    }
    if (pi < p.size()) {
      if (p[pi] == '_') {
        si = next_cp(s, si);
        ++pi;
        continue;
      }
      size_t lit = p[pi] == '\\' && pi + 1 < p.size() ? pi + 1 : pi;
      if (p[lit] == s[si]) {
        si += 1;
        pi = lit + 1;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = star_s = next_cp(s, star_s);
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

// Flink's SPLIT_INDEX(s, delimiter, index): the index-th (0-based) part, nullopt if there is no
// such part or the delimiter is empty.
inline std::optional<std::string_view> SplitIndex(std::string_view s, std::string_view delim,
                                                  int64_t index) {
  if (delim.empty() || index < 0) return std::nullopt;
  size_t from = 0;
  for (int64_t i = 0;; ++i) {
    size_t at = s.find(delim, from);
    if (i == index) return s.substr(from, at == std::string_view::npos ? s.size() - from : at - from);
    if (at == std::string_view::npos) return std::nullopt;
    from = at + delim.size();
  }
}

// Compiles `pattern`; false if it is not a valid regular expression.
inline bool CompileRegex(const std::string& pattern, std::optional<std::regex>* out) {
  try {
    out->emplace(pattern, std::regex::ECMAScript);
    return true;
  } catch (const std::regex_error&) {
    out->reset();
    return false;
  }
}

}  // namespace sluice::expr
