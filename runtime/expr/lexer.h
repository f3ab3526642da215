#pragma once
// Tokens of the expression language (internal to runtime/expr; grammar in expression.h).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::expr {

enum class Tok { kIdent, kQuotedIdent, kInt, kDouble, kString, kOp, kEnd };

struct Token {
  Tok kind;
  int offset;       // of the first character
  int end;          // one past the last character
  std::string text; // identifier name, unescaped string, number text or operator
};

// Splits `text` into tokens ending with a kEnd token. InvalidArgument with *err_offset set to
// the offending character for an unterminated string or identifier, a bad number or an unknown
// character.
absl::StatusOr<std::vector<Token>> Lex(std::string_view text, int* err_offset);
// ASCII lower case (keywords and function names are case-insensitive).
std::string Lower(std::string_view s);
// Identifier characters: [A-Za-z_] to start, then also digits.
bool IsIdentStart(char c);
bool IsDigit(char c);
bool IsIdentChar(char c);

}  // namespace sluice::expr
