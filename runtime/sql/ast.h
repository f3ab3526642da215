#pragma once
// The SQL front end's syntax tree: what parser.cc makes of libpg_query's parse tree, with
// every node's byte offset into the original script. Names keep their case as written
// (Flink's rule: identifiers are case-sensitive); function names are lower case.
//
// Only the constructs Sluice plans exist here; the parser refuses the others with their
// location, so the planner never meets an unknown node. Immutable after parsing; shared
// (views reference their query) through shared_ptr<const ...>.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/core/types.h"

namespace sluice::sql::ast {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;
struct Query;
using QueryPtr = std::shared_ptr<const Query>;

// A SQL type as written: Sluice's column type plus the text for messages. DECIMAL and FLOAT
// map to double, TINYINT/SMALLINT/INT to int32, CHAR/VARCHAR/STRING to string, TIMESTAMP(p)
// and TIMESTAMP_LTZ(p) to timestamp (milliseconds), BYTES/VARBINARY to bytes.
struct SqlType {
  core::Type type = core::Type::kInt64;
  std::string text;
  int offset = 0;
};

enum class ExprKind {
  kColumn,    // [qualifier.]name
  kLiteral,   // value (monostate = NULL); literal_type for TIMESTAMP '...' and DATE '...'
  kInterval,  // INTERVAL '10' SECOND: interval_ms
  kCall,      // name(args) [FILTER (WHERE filter)] [OVER (...)]; also count(*) (star)
  kUnary,     // op: "not", "-", "+"
  kBinary,    // op: "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||", "and", "or"
  kIsNull,    // args[0] IS [NOT] NULL (negated)
  kBetween,   // args[0] [NOT] BETWEEN args[1] AND args[2]
  kIn,        // args[0] [NOT] IN (args[1..])
  kLike,      // args[0] [NOT] LIKE args[1]
  kCase,      // CASE [operand] WHEN args[2i] THEN args[2i+1] ... [ELSE else_expr] END
  kCast,      // CAST(args[0] AS cast_type)
};

using Value = std::variant<std::monostate, int64_t, double, std::string, bool>;

struct WindowSpec {  // OVER (PARTITION BY ... ORDER BY ... [frame])
  std::vector<ExprPtr> partition_by;
  std::vector<ExprPtr> order_by;
  std::vector<bool> descending;  // per order_by
  int offset = 0;
  // The frame as PostgreSQL's parser gives it: its FRAMEOPTION_* bits (0: no frame clause)
  // and the start offset (`n` of ROWS n PRECEDING, an INTERVAL for RANGE), if any.
  int frame_options = 0;
  ExprPtr start_offset;
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  int offset = 0;
  std::string name;       // column or function name, or operator
  std::string qualifier;  // kColumn: table or alias, empty if none
  Value value;                                   // kLiteral
  std::optional<core::Type> literal_type;        // kLiteral: TIMESTAMP/DATE literals
  int64_t interval_ms = 0;                       // kInterval
  std::vector<ExprPtr> args;
  ExprPtr case_operand;                          // kCase (simple form)
  ExprPtr else_expr;                             // kCase
  std::optional<SqlType> cast_type;              // kCast
  bool negated = false;                          // kIsNull, kBetween, kIn, kLike
  bool star = false;                             // count(*)
  bool distinct = false;                         // count(DISTINCT x)
  ExprPtr filter;                                // agg(x) FILTER (WHERE filter)
  std::shared_ptr<const WindowSpec> over;        // fn(...) OVER (...)
};

struct SelectItem {
  ExprPtr expr;                // null for * and t.*
  std::string alias;           // AS alias, empty if none
  bool star = false;
  std::string star_qualifier;  // t.*
  int offset = 0;
};

struct TableRef;
using TableRefPtr = std::shared_ptr<const TableRef>;

enum class TableRefKind { kTable, kSubquery, kJoin, kFunction };
enum class JoinType { kInner, kLeft, kRight, kFull, kCross };

struct TableRef {
  TableRefKind kind = TableRefKind::kTable;
  int offset = 0;
  std::string name;   // kTable: the table or view; kFunction: the function (lower case)
  std::string alias;  // empty if none
  QueryPtr subquery;  // kSubquery
  // kJoin
  JoinType join_type = JoinType::kInner;
  TableRefPtr left, right;
  ExprPtr on;
  // kFunction (window table functions): the arguments; the table argument is a kColumn.
  std::vector<ExprPtr> args;
  std::vector<std::string> arg_names;  // named arguments (DATA => ...), empty strings if positional
  // kTable: FOR SYSTEM_TIME AS OF <column> (a lookup join's time)
  ExprPtr system_time;
};

struct OrderItem {
  ExprPtr expr;
  bool descending = false;
};

struct Query {
  int offset = 0;
  // A UNION ALL of these queries when not empty (the fields below are unused then).
  std::vector<QueryPtr> union_all;
  std::vector<SelectItem> select;
  bool distinct = false;
  std::vector<TableRefPtr> from;  // several: a cross join (with WHERE conditions)
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  ExprPtr having;
  std::vector<OrderItem> order_by;
  std::optional<int64_t> limit;
  // WITH name AS (query), ...: visible in this query.
  std::vector<std::pair<std::string, QueryPtr>> with;
};

struct ColumnDef {
  std::string name;
  int offset = 0;
  std::optional<SqlType> type;  // physical column
  ExprPtr computed;              // computed column: name AS expr
  bool not_null = false;
};

struct Option {
  std::string key;
  std::string value;
  int offset = 0;  // of the key
  int value_offset = 0;
};

struct CreateTable {
  std::string name;
  int offset = 0;
  std::vector<ColumnDef> columns;
  std::optional<std::pair<std::string, ExprPtr>> watermark;  // column, expression
  int watermark_offset = 0;
  std::vector<std::string> primary_key;
  std::vector<Option> options;
  bool if_not_exists = false;
};

// CREATE [TEMPORARY [SYSTEM]] FUNCTION name AS 'identifier': `identifier` names a scalar
// function of the job's plugin (its registered name, or a Java class name whose last part is).
struct CreateFunction {
  std::string name;
  std::string identifier;
  int offset = 0;
  int identifier_offset = 0;
};

struct CreateView {
  std::string name;
  int offset = 0;
  QueryPtr query;
  std::vector<std::string> column_names;  // CREATE VIEW v (a, b) AS ...
};

struct Set {
  std::string key;
  std::string value;
  int offset = 0;
  int value_offset = 0;
};

struct Insert {
  std::string table;
  int offset = 0;
  std::vector<std::string> columns;  // INSERT INTO t (a, b): empty = all, in order
  QueryPtr query;
};

struct Select {
  QueryPtr query;
};

struct Statement;
struct Explain {
  std::shared_ptr<const Statement> statement;
};

struct Statement {
  int offset = 0;  // of the statement's first token
  std::variant<CreateTable, CreateView, CreateFunction, Set, Insert, Select, Explain> node;
};

}  // namespace sluice::sql::ast
