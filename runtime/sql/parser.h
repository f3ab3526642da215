#pragma once
// Parses a SQL script (Flink's dialect, docs/sql.md) into ast::Statements: the Flink forms are
// rewritten (flink_dialect.h), PostgreSQL's own parser (libpg_query) parses each statement,
// and its tree is converted into the ast (ast.h), refusing what Sluice does not plan.
//
// Statements are parsed one by one, so one bad statement does not hide the errors of the next
// ones: ParseScript returns one result per statement, each error a SqlError at its location.
// Pure functions; thread-safe (libpg_query keeps its memory context per thread).

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/sql/ast.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {

// One entry per statement (separated by ';'), or a single error for text the splitter cannot
// read (an unterminated string).
std::vector<absl::StatusOr<ast::Statement>> ParseScript(const SourceText& source);

}  // namespace sluice::sql
