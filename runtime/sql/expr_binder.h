#pragma once
// SQL expressions -> the job spec's expression language (docs/job-spec.md), resolved against a
// relation's columns and type-checked (each rendered node is compiled by runtime/expr against
// the stream's schema, so the types are the engine's own). Internal to runtime/sql.
//
// Errors are SqlErrors at the node at fault: unknown or ambiguous column (listing the
// columns), unknown function (listing the known ones), wrong argument count or types, an
// aggregate where none is allowed, a column neither grouped nor aggregated.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/sql/ast.h"
#include "runtime/sql/rel.h"

namespace sluice::sql {

class Catalog;

struct Bound {
  std::string text;  // in the expression language
  core::Type type = core::Type::kInt64;
  int column = -1;           // the column, if the expression is one
  bool null_literal = false;  // an untyped NULL (text empty)
  bool rowtime = false;       // equals the records' event time (window_time)
};

// The result columns of an aggregation, for binding the SELECT and HAVING above it.
struct Grouping {
  const class ExprBinder* input = nullptr;  // binds in the aggregation's input
  std::map<std::string, Bound> keys;        // input-rendered key text -> output column
  std::map<std::string, Bound> calls;       // CallKey() of aggregates and window properties
};

class ExprBinder {
 public:
  // `catalog`: for calls of functions created by CREATE FUNCTION (null: none).
  ExprBinder(const Rel& rel, const Grouping* grouping = nullptr, const Catalog* catalog = nullptr);

  absl::StatusOr<Bound> Bind(const ast::Expr& e) const;
  // Bind, then require a bool (WHERE, HAVING, ON, FILTER).
  absl::StatusOr<Bound> BindPredicate(const ast::Expr& e, std::string_view what) const;
  // The column an expression names, or an error (unknown, ambiguous).
  absl::StatusOr<int> ResolveColumn(const ast::Expr& column) const;

  // The identity of an aggregate or window-property call over this (input) scope, e.g.
  // "sum|0|`price`|" ("fn|distinct|args|filter").
  absl::StatusOr<std::string> CallKey(const ast::Expr& call) const;

  const Rel& rel() const { return rel_; }
  // OVER aggregate calls (by node) bind to the columns an over step computed (over_planner.cc).
  void SetOverColumns(const std::map<const ast::Expr*, Bound>* over) { over_ = over; }
  // window_start/window_end of a window table function bind (to placeholders the aggregation
  // maps to its output): for the input scope of a window aggregation.
  void AllowWindowProperties() { window_properties_ = true; }

 private:
  absl::StatusOr<Bound> BindNode(const ast::Expr& e) const;
  absl::StatusOr<Bound> BindCall(const ast::Expr& e) const;
  absl::StatusOr<Bound> BindCase(const ast::Expr& e) const;
  absl::StatusOr<Bound> Typed(std::string text, int offset) const;

  const Rel& rel_;
  const Grouping* grouping_;
  const Catalog* catalog_;
  core::SchemaPtr schema_;
  bool window_properties_ = false;
  const std::map<const ast::Expr*, Bound>* over_ = nullptr;
};

// Aggregate functions SQL knows (count, sum, ...); window properties (tumble_start, ...).
bool IsAggregateFunction(const std::string& name);
bool IsWindowProperty(const std::string& name);
// The expression language's quoting of a field: `name`.
std::string QuoteField(const std::string& field);
// Column `i` of `rel` as a plain column reference.
Bound ColumnBound(const Rel& rel, size_t i);
// A SQL string literal in the expression language.
std::string QuoteString(const std::string& s);

}  // namespace sluice::sql
