#pragma once
// libpg_query parse tree -> ast (internal to runtime/sql): parser.cc converts statements and
// table references, parse_expr.cc expressions and types.

#include "absl/status/statusor.h"
#include "pg_query/pg_query.pb.h"
#include "runtime/sql/ast.h"
#include "runtime/sql/flink_dialect.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {

class Converter {
 public:
  Converter(const SourceText& source, const RewrittenSql& rewritten)
      : source_(source), rw_(rewritten) {}

  // `start`: where the statement's text begins (the splitter's location).
  absl::StatusOr<ast::Statement> Statement(const pg_query::RawStmt& raw, int start);

  // parse_expr.cc
  absl::StatusOr<ast::ExprPtr> Expr(const pg_query::Node& n);
  absl::StatusOr<ast::SqlType> Type(const pg_query::TypeName& t);

 private:
  absl::StatusOr<ast::Statement> StatementNode(const pg_query::Node& n, int offset);
  absl::StatusOr<ast::CreateTable> CreateTable(const pg_query::CreateStmt& s, int offset);
  absl::StatusOr<ast::QueryPtr> Query(const pg_query::SelectStmt& s, int offset);
  absl::StatusOr<ast::TableRefPtr> TableRef(const pg_query::Node& n);
  absl::StatusOr<ast::ExprPtr> ExtensionExpr(TextSpan span);

  // parse_expr.cc
  absl::StatusOr<ast::ExprPtr> AExpr(const pg_query::A_Expr& e);
  absl::StatusOr<ast::ExprPtr> FuncCall(const pg_query::FuncCall& f);
  absl::StatusOr<ast::ExprPtr> TypeCast(const pg_query::TypeCast& c);
  absl::StatusOr<ast::ExprPtr> Const(const pg_query::A_Const& c);
  absl::StatusOr<std::vector<ast::ExprPtr>> Exprs(
      const google::protobuf::RepeatedPtrField<pg_query::Node>& nodes);

 public:
  int Loc(int location) const {
    return location < 0 ? fallback_ : rw_.Original(location + base_);
  }
  // The parsed text starts at byte `base` of the rewritten script.
  void set_base(int base) { base_ = base; }

 private:
  const SourceText& source_;
  const RewrittenSql& rw_;
  int fallback_ = 0;  // offset for nodes without a location (the statement's)
  int base_ = 0;      // the parsed text's first byte in rw_.text
};

// The string of a String node (names, operator names), "" for other nodes.
std::string NodeString(const pg_query::Node& n);

}  // namespace sluice::sql
