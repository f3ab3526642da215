#pragma once
// The expression language of job specs (filter predicates, map outputs): a small SQL-ish
// language, compiled once against an input Schema and evaluated per row of a RecordBatch.
//
// Grammar (lowest to highest precedence; binary operators are left-associative):
//   expr       := or
//   or         := and (('or' | 'OR' | '||') and)*
//   and        := not (('and' | 'AND' | '&&') not)*
//   not        := ('not' | 'NOT') not | comparison           -- SQL: NOT a = b is NOT (a = b)
//   comparison := additive (('=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>=') additive)?
//   additive   := term (('+' | '-') term)*
//   term       := unary (('*' | '/' | '%') unary)*
//   unary      := ('-' | '!') unary | primary                -- '!' binds tightly, as in C
//   primary    := literal | field | function '(' [expr (',' expr)*] ')' | '(' expr ')'
//               | CASE [expr] (WHEN expr THEN expr)+ [ELSE expr] END   (case_node.h)
//               | CAST '(' expr AS type ['(' int [, int] ')'] ')'
//   field      := [A-Za-z_][A-Za-z0-9_]* | '`' any text, '``' for a backquote '`'
//   literal    := 123 (int64) | 1.5, 1e3, .5 (double) | 'it''s' or "text" (string)
//               | true | false | TIMESTAMP '2001-01-01T00:00:00Z'
//               | INTERVAL '1' HOUR (int64 milliseconds; units MILLISECOND, SECOND, MINUTE,
//                 HOUR, DAY, plural accepted) | INTERVAL '5 min' (Flink duration notation)
// Keywords and function names are case-insensitive; field names are case-sensitive.
//
// Nulls (SQL three-valued logic): any operator or function with a null operand is null, except
//   `a and b` (false if either is false, else null if either is null), `a or b` (true if either
//   is true, else null if either is null), `x is null`, `x is not null` (never null),
//   coalesce(a, b, ...) (the first non-null argument) and if(c, a, b) (a null condition picks
//   b, as CASE WHEN). A filter keeps a row only if its predicate is true (null drops it); a map
//   output that evaluates to null is a null field.
//   Grammar addition: comparison := additive 'is' ['not'] 'null'.
// Field types int32 and date read as int64 and timestamp (midnight UTC) inside expressions,
//   bytes as string; a plain field reference keeps the field's type.
//
// Typing (checked at compile time; no implicit string conversions):
//   - arithmetic: int64 op int64 -> int64 (wraps on overflow and truncates division, as Java
//     long does; / or % by zero is a runtime error); double involved -> double (IEEE: x/0.0 is
//     inf). timestamp +/- int64 (ms) -> timestamp, int64 + timestamp -> timestamp,
//     timestamp - timestamp -> int64 ms.
//   - comparisons: numeric (int64/double mixed), string (bytewise), bool (= and != only),
//     timestamp vs timestamp; a timestamp compared with a string literal parses the literal as
//     a timestamp at compile time (`date >= '2001-01-05'`).
//   - and/or/not need bool operands; and/or short-circuit.
// Functions: abs, round (Java Math.round, -> int64), floor, ceil, sqrt (-> double), lower,
//   upper, length (code points), concat(a, b, ...) (any types, formatted as to_string),
//   substr(s, start1[, len]) (code points), if(cond, a, b), to_string, to_int, to_double,
//   to_timestamp, year, month, day, hour, minute, second, day_of_week (1 = Sunday .. 7 =
//   Saturday, as Flink's DAYOFWEEK), starts_with, ends_with, contains, coalesce(a, b, ...)
//   (arguments of one type, or int64 and double mixed -> double), to_bool.
// CAST(x AS t) is to_int (BIGINT, INT, INTEGER, SMALLINT, TINYINT), to_double (DOUBLE, FLOAT,
//   REAL), to_string (STRING, VARCHAR, CHAR), to_bool (BOOLEAN) or to_timestamp (TIMESTAMP);
//   lengths and precisions are ignored; DATE is refused at compile time.
//
// Evaluation: vectorized (EvalBatchBool, EvalBatchInto: each node evaluates a whole batch per
// call in loops over value vectors; functions still go row by row inside that) or per row
// (Eval, EvalBool, EvalInto), with the same results.
//
// Thread safety: an Expression is not thread-safe (nodes own scratch buffers); each task
// compiles its own. Evaluation of numeric/bool expressions does not allocate; string functions
// reuse per-node scratch buffers, so they allocate only until the buffers have grown.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"
#include "sluice/scalar_function.h"

namespace sluice::expr {

// User-defined scalar functions an expression may call (a plugin's, include/sluice/
// scalar_function.h), by registered name; calls match names case-insensitively. Built-in
// functions come first: a plugin may not register a built-in's name (IsBuiltinFunction).
using ScalarFunctions = std::map<std::string, sluice::ScalarFunctionFactory>;
bool IsBuiltinFunction(std::string_view name);

// A value during evaluation. Strings point into the evaluated batch, a literal or a node's
// scratch buffer; they are valid until the next evaluation of the same expression.
struct Datum {
  core::Type type = core::Type::kInt64;
  union {
    int64_t i64;  // kInt64, kTimestamp (ms since epoch)
    double f64;   // kDouble
    bool b;       // kBool
  };
  std::string_view s;  // kString
  bool null = false;   // SQL NULL; the value fields are then meaningless
  Datum() : i64(0) {}
};

class Node;  // expression tree node (nodes.h)
struct Vec;  // one node's values for a batch (nodes.h)

// A compiled, type-checked expression. Lifecycle: Compile() once per task/operator instance,
// then Eval*() for each row of batches with the compiled-against schema. Owned by the operator
// that evaluates it; used from that operator's task thread only.
class Expression {
 public:
  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  // Parses and type-checks `text` against `input`. On error returns InvalidArgument whose
  // message says what is wrong (e.g. "unknown field 'delays' (fields: date, delay, ...)",
  // "type mismatch: cannot compare string 'origin' with int64 literal 5", "expected ')' but
  // found end of expression") without position, and sets *error_offset (if non-null) to the
  // 0-based character offset in `text` where the problem is (for a type mismatch of an
  // operator: the operator; for a bad function argument: that argument).
  // `functions`: user-defined scalar functions it may call (one instance of each called
  // function is created per call site: the Expression owns them).
  static absl::StatusOr<std::unique_ptr<Expression>> Compile(
      std::string_view text, const core::Schema& input, int* error_offset = nullptr,
      const ScalarFunctions* functions = nullptr);
  // A plain reference to field `name` of `input` (no parsing, so any name works).
  // InvalidArgument "unknown field 'x' (fields: a, b)" when there is none.
  static absl::StatusOr<std::unique_ptr<Expression>> FieldReference(std::string_view name,
                                                                    const core::Schema& input);

  // Result type.
  core::Type type() const { return type_; }
  // The source text (for FieldReference: the field name).
  const std::string& text() const { return text_; }
  // Names of the input fields the expression reads, in order of first appearance.
  std::vector<std::string> ReferencedFields() const;
  // The input field index if the whole expression is a plain field reference.
  std::optional<size_t> AsFieldReference() const;

  // Evaluates on row `row` of `batch` (schema equal to the compiled-against one). Null is
  // false. Requires type() == kBool. Runtime errors: InvalidArgument naming the expression.
  absl::StatusOr<bool> EvalBool(const core::RecordBatch& batch, size_t row);
  // Evaluates and returns the raw datum (valid until the next evaluation). Its type is the
  // expression's type as evaluated: int32 and date field references give int64 and timestamp.
  absl::StatusOr<Datum> Eval(const core::RecordBatch& batch, size_t row);
  // Evaluates and stores the result into field `out_col` of row `out_row` of `out`. The field
  // type must equal type(), except that an int64 result may be stored into a double field
  // (widened). InvalidArgument on a type mismatch or a runtime error (division by zero, a
  // to_int of a non-number), naming the expression text.
  absl::Status EvalInto(const core::RecordBatch& batch, size_t row, core::RecordBatch* out,
                        size_t out_row, size_t out_col);

  // --- vectorized: a whole batch per call (what operators use) --------------------------
  // Evaluates a bool expression on every logical row of `batch`: (*keep)[i] = 1 where it is
  // true, 0 where it is false or null. Runtime errors as EvalBool.
  absl::Status EvalBatchBool(const core::RecordBatch& batch, std::vector<uint8_t>* keep);
  // Appends the value of every logical row of `batch` to `out`, nulls included. The column's
  // type must be one EvalInto accepts for type() (InvalidArgument otherwise).
  absl::Status EvalBatchInto(const core::RecordBatch& batch, core::Column* out);

 private:
  Expression(std::string text, std::unique_ptr<Node> root, std::vector<std::string> fields);
  absl::Status RuntimeError(const absl::Status& s) const;

  std::string text_;
  std::unique_ptr<Node> root_;
  core::Type type_;
  std::vector<std::string> referenced_fields_;
  std::unique_ptr<Vec> values_;  // the root's values of the last batch
  std::vector<uint32_t> rows_;   // physical rows of the batch, for a field reference's gather
};

}  // namespace sluice::expr
