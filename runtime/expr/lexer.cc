#include "runtime/expr/lexer.h"

#include "runtime/base/status.h"
#include "runtime/expr/eval_util.h"

namespace sluice::expr {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

absl::StatusOr<std::vector<Token>> Lex(std::string_view t, int* err_offset) {
  std::vector<Token> out;
  size_t i = 0;
  auto fail = [&](int off, absl::Status s) {
    *err_offset = off;
    return s;
  };
  while (i < t.size()) {
    char c = t[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    const int start = static_cast<int>(i);
    if (IsIdentStart(c)) {
      while (i < t.size() && IsIdentChar(t[i])) ++i;
      out.push_back({Tok::kIdent, start, static_cast<int>(i), std::string(t.substr(start, i - start))});
      continue;
    }
    if (IsDigit(c) || (c == '.' && i + 1 < t.size() && IsDigit(t[i + 1]))) {
      bool is_double = false;
      while (i < t.size() && IsDigit(t[i])) ++i;
      if (i < t.size() && t[i] == '.') {
        is_double = true;
        ++i;
        while (i < t.size() && IsDigit(t[i])) ++i;
      }
      if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        size_t j = i + 1;
        if (j < t.size() && (t[j] == '+' || t[j] == '-')) ++j;
        if (j < t.size() && IsDigit(t[j])) {
          is_double = true;
          i = j;
          while (i < t.size() && IsDigit(t[i])) ++i;
        }
      }
      if (i < t.size() && IsIdentStart(t[i])) {
        return fail(static_cast<int>(i),
                    InvalidArgumentF("unexpected character '{}' in number '{}'", t[i],
                                     t.substr(start, i + 1 - start)));
      }
      out.push_back({is_double ? Tok::kDouble : Tok::kInt, start, static_cast<int>(i),
                     std::string(t.substr(start, i - start))});
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      // Quotes are escaped by doubling them, as in SQL.
      std::string s;
      ++i;
      bool closed = false;
      while (i < t.size()) {
        if (t[i] == c) {
          if (i + 1 < t.size() && t[i + 1] == c) {
            s.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        s.push_back(t[i++]);
      }
      if (!closed) {
        return fail(start, InvalidArgumentF("unterminated {} starting with {}",
                                            c == '`' ? "quoted field name" : "string literal",
                                            c));
      }
      out.push_back(
          {c == '`' ? Tok::kQuotedIdent : Tok::kString, start, static_cast<int>(i), std::move(s)});
      continue;
    }
    static constexpr std::string_view kTwoChar[] = {"==", "!=", "<>", "<=", ">=", "&&", "||"};
    bool matched = false;
    for (std::string_view op : kTwoChar) {
      if (t.substr(i, 2) == op) {
        out.push_back({Tok::kOp, start, start + 2, std::string(op)});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("=<>!+-*/%(),").find(c) != std::string_view::npos) {
      out.push_back({Tok::kOp, start, start + 1, std::string(1, c)});
      ++i;
      continue;
    }
    return fail(start, InvalidArgumentF("unexpected character '{}'", c));
  }
  out.push_back({Tok::kEnd, static_cast<int>(t.size()), static_cast<int>(t.size()), ""});
  return out;
}

}  // namespace sluice::expr
