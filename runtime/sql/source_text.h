#pragma once
// A SQL script's text and its name, for positioned messages ("FILE:line:column: message").
// Offsets are 0-based byte offsets into the original text; lines and columns are 1-based,
// columns counted in characters (UTF-8 code points), as editors and compilers count them.
//
// Thread-safe for concurrent reads (immutable after construction).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace sluice::sql {

class SourceText {
 public:
  SourceText(std::string name, std::string text);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }

  // 1-based line and column of a byte offset (clamped to the text).
  int Line(int offset) const;
  int Column(int offset) const;

  // "name:line:column: message".
  std::string Format(int offset, std::string_view message) const;
  // A SqlError (below) as "name:line:column: message"; other statuses as "name: message".
  std::string Format(const absl::Status& status) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<int> line_starts_;  // byte offset of each line's first character
};

// One error of a script: where and what. The message names the construct at fault.
struct Diagnostic {
  int offset = 0;  // byte offset into the original text
  std::string message;
};

// An error of the SQL front end: InvalidArgument with the bare message, the byte offset into the
// original text in a payload. The compiler turns it into a Diagnostic.
absl::Status SqlError(int offset, std::string_view message);
// The offset of a SqlError; nullopt for other statuses.
std::optional<int> SqlErrorOffset(const absl::Status& status);

// SqlError with a fmt message.
#define SQL_ERROR(offset, ...) ::sluice::sql::SqlError((offset), ::fmt::format(__VA_ARGS__))

}  // namespace sluice::sql
