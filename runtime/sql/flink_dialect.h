#pragma once
// Flink SQL -> PostgreSQL syntax, before libpg_query parses a script (see docs/sql.md,
// "Dialect"). PostgreSQL's parser covers most of Flink's grammar; this pass rewrites the forms it
// does not know into ones it does, token by token, and keeps an offset map so that every
// message still points into the original text:
//   `name`                      -> "name" (Flink's backquoted identifiers)
//   unquoted non-keyword names  -> "Name" (PostgreSQL folds them to lower case; Flink keeps case)
//   WITH ('k' = 'v')            -> WITH ("k" = 'v')   (connector options)
//   SET 'k' = 'v'               -> SET "k" = 'v'
//   TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), ...)) -> TUMBLE(t, c, ...)   (window TVFs)
//   DOUBLE                      -> DOUBLE PRECISION
//   BEGIN STATEMENT SET; ... END;  and  EXECUTE STATEMENT SET BEGIN ... END;  -> the statements
// and takes out, into DialectExtensions, what has no PostgreSQL form at all: computed columns
// (`c AS expr`) and `WATERMARK FOR c AS expr` of CREATE TABLE, `PRIMARY KEY (...) NOT ENFORCED`,
// and `FOR SYSTEM_TIME AS OF t.c` after a table (lookup joins).
//
// Errors: a SqlError (source_text.h) at the offending token (unterminated string or comment, ROW<...> and
// other composite types). Pure function; thread-safe.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {

// A piece of the original text (an expression taken out of a CREATE TABLE).
struct TextSpan {
  int begin = 0;  // byte offsets into the original text
  int end = 0;
};

struct ComputedColumnText {
  std::string name;
  int name_offset = 0;
  TextSpan expr;
  int index = 0;  // position among all the table's columns (physical and computed)
};

struct WatermarkText {
  std::string column;
  int column_offset = 0;
  TextSpan expr;
};

// What a CREATE TABLE declared beyond PostgreSQL's grammar.
struct TableExtensions {
  std::vector<ComputedColumnText> computed;
  std::optional<WatermarkText> watermark = std::nullopt;
};

// `FOR SYSTEM_TIME AS OF qualifier.column` after a table.
struct LookupTimeText {
  std::string qualifier;  // empty if unqualified
  std::string column;
  int offset = 0;
};

struct DialectExtensions {
  // By the original offset of the CREATE keyword of the statement.
  std::map<int, TableExtensions> tables;
  // By the original offset of the table name the clause follows.
  std::map<int, LookupTimeText> lookups;
};

struct RewrittenSql {
  std::string text;              // PostgreSQL syntax
  std::vector<int> to_original;  // byte offset in `text` -> byte offset in the original text
  DialectExtensions extensions;

  int Original(int offset) const;
};

// The token of the original text starting at `offset` (for messages), "" at the end.
std::string TokenAt(const SourceText& source, int offset);

// Rewrites `text[begin, end)` of `source` (the whole text by default). `prefix` is prepended
// (mapped to `begin`), e.g. "SELECT " to parse an expression on its own.
absl::StatusOr<RewrittenSql> RewriteFlinkDialect(const SourceText& source, TextSpan span,
                                                 std::string_view prefix);

}  // namespace sluice::sql
