#pragma once
// SELECT queries -> steps of the job spec (spec_builder.h), resolving tables, views and WITH
// queries through the catalog. One planner: every SQL operator becomes a spec step that the
// YAML compiler compiles like any other (docs/sql.md maps each one). Internal to runtime/sql.
//
// What it plans: projection and filter (map, filter), window table functions and group
// windows with aggregates (key-by + window), regular, interval and lookup joins, UNION ALL,
// views and WITH. Errors are SqlErrors at the construct at fault. Not thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/sql/ast.h"
#include "runtime/sql/catalog.h"
#include "runtime/sql/expr_binder.h"
#include "runtime/sql/rel.h"
#include "runtime/sql/spec_builder.h"

namespace sluice::sql {

class QueryPlanner {
 public:
  // `planned`: tables and views planned by earlier statements of the script (shared sources
  // and sub-plans); planned() returns them with this planner's additions.
  QueryPlanner(const Catalog& catalog, SpecBuilder& spec, std::map<std::string, Rel> planned = {})
      : catalog_(catalog), spec_(spec), planned_(std::move(planned)) {}
  const std::map<std::string, Rel>& planned() const { return planned_; }

  absl::StatusOr<Rel> Plan(const ast::Query& query) { return PlanQuery(query, nullptr); }

  // Projects `in` onto `exprs` named `names` (a map step unless it is the identity).
  absl::StatusOr<Rel> Project(const Rel& in, const std::vector<Bound>& exprs,
                              const std::vector<std::string>& names, const std::string& what);

 private:
  struct Ctes {
    std::map<std::string, ast::QueryPtr> queries;
    const Ctes* parent = nullptr;
  };

  absl::StatusOr<Rel> PlanQuery(const ast::Query& q, const Ctes* ctes);
  absl::StatusOr<Rel> PlanUnion(const ast::Query& q, const Ctes* ctes);
  absl::StatusOr<Rel> PlanFrom(const ast::Query& q, const Ctes* ctes);
  absl::StatusOr<Rel> PlanTableRef(const ast::TableRef& ref, const Ctes* ctes);
  absl::StatusOr<Rel> PlanNamed(const std::string& name, int offset, const Ctes* ctes);
  absl::StatusOr<Rel> Scan(const TableDef& table);
  absl::StatusOr<Rel> WindowFunction(const ast::TableRef& ref, const Ctes* ctes);
  absl::StatusOr<Rel> Filter(const Rel& in, const ast::Expr& predicate, const std::string& what);
  // `over`: the columns of the query's OVER aggregate calls (Over below), if any.
  absl::StatusOr<Rel> Select(const ast::Query& q, const Rel& in,
                             const std::map<const ast::Expr*, Bound>* over = nullptr);

  // over_planner.cc: the OVER aggregations of `q`'s SELECT list as an over step after `in`;
  // *columns gets each OVER call's column.
  absl::StatusOr<Rel> Over(const ast::Query& q, const Rel& in,
                           std::map<const ast::Expr*, Bound>* columns);

  // topn_planner.cc: the ROW_NUMBER() pattern, or nullopt if `q` is not one.
  absl::StatusOr<std::optional<Rel>> TopN(const ast::Query& q, const Ctes* ctes);

  // aggregate_planner.cc
  absl::StatusOr<Rel> Aggregate(const ast::Query& q, const Rel& in);

  // join_planner.cc
  absl::StatusOr<Rel> Join(const Rel& left, const Rel& right, ast::JoinType type,
                           const ast::Expr* on, int offset);
  absl::StatusOr<Rel> LookupJoin(const Rel& left, const ast::TableRef& right, ast::JoinType type,
                                 const ast::Expr* on, int offset);

  // table.exec.state.ttl (SET), for the steps whose state grows with the keys; null if unset.
  std::optional<YAML::Node> StateTtl() const;

  const Catalog& catalog_;
  SpecBuilder& spec_;
  std::map<std::string, Rel> planned_;  // tables and views planned once, shared by readers
  int unique_ = 0;
};

// Whether an expression holds an aggregate call (outside OVER).
bool HasAggregate(const ast::Expr& e);
// A field name for a SQL name: letters, digits and '_' kept; unique among `taken`.
std::string FieldName(const std::string& name, std::vector<std::string>& taken);
// Whether `q`'s SELECT list calls an aggregate function with OVER (over_planner.cc).
bool HasOverAggregate(const ast::Query& q);
Rel Requalify(Rel rel, const std::string& qualifier);

}  // namespace sluice::sql
