#pragma once
// CSV field parsing shared by the CSV file source (csv_source.h) and the Kafka source's `csv`
// format (runtime/formats/record_format.h), so that a row means the same in both.
//
// Fields (RFC 4180): separated by a one-byte delimiter; a field may be enclosed in double
// quotes, inside which the delimiter is literal and "" stands for one quote. Values by type:
// int64 and int32 (decimal, optional sign), double (decimal or scientific, "inf"/"nan"), string
// (bytes as is), bool (true/false in any case, or 1/0), timestamp (ISO-8601,
// runtime/core/time_format.h), date (YYYY-MM-DD), bytes (base64, as Flink's csv format).
// Nulls: an unquoted field equal to the null literal (by default the empty text, so `a,,c` has
// a null second field) is null, whatever the column type; a quoted field never is (`""` is the
// empty string). Without a null literal, nulls cannot be written and an empty numeric field is
// a bad value.
// The input is one line: line splitting (and '\r' stripping) is the caller's.
//
// Allocation: none in steady state. Fields are string_views into the line; a field with ""
// escapes is resolved into a caller-owned scratch string that is reused.
//
// Threading: plain functions; the scratch vectors/strings belong to the caller.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::formats::csv {

// One field of a line as split: its text without enclosing quotes, and whether it still holds
// "" escapes (see Unescape).
struct RawField {
  std::string_view text;
  bool escaped;
  bool quoted;  // enclosed in double quotes
};

// Splits `line` into RFC-4180 fields (replacing *out). On a malformed line returns false and
// sets *reason, e.g. "column 3: quoted field has no closing quote".
bool SplitFields(std::string_view line, char delim, std::vector<RawField>* out,
                 std::string* reason);

// The value of `f`: its text, or with "" escapes resolved into *scratch.
std::string_view Unescape(const RawField& f, std::string* scratch);

// Strict value parsers: the whole text must be the value. A leading '+' is accepted for numbers.
bool ParseInt64(std::string_view s, int64_t* v);
bool ParseInt32(std::string_view s, int32_t* v);
bool ParseDouble(std::string_view s, double* v);
bool ParseBool(std::string_view s, bool* v);  // true/false in any case, 1/0

// Strips spaces and tabs at both ends.
std::string_view Trim(std::string_view s);
// A value quoted in an error message: at most 64 bytes, and "..." if it was cut.
std::string_view Clip(std::string_view s);
const char* ClipSuffix(std::string_view s);

// "field 'delay' (column 2): 'abc' is not a valid int64", with a hint for timestamps.
// `col` is 0-based; the message counts from 1.
std::string BadFieldReason(const core::Field& field, size_t col, std::string_view text);

// Splits `line` and appends it as a row of *batch's schema (fields in schema order, exactly as
// many as the schema has). On a bad line returns false, leaves *batch as it was and sets
// *reason to what is wrong ("expected 5 fields, found 4", or BadFieldReason, or the split
// error). `fields` and `scratch` are reused buffers. `null_literal`: the unquoted text read as
// null (default the empty field; std::nullopt: no nulls).
bool AppendCsvRow(std::string_view line, char delim, core::RecordBatch* batch,
                  std::vector<RawField>* fields, std::string* scratch, std::string* reason,
                  const std::optional<std::string>& null_literal = std::string());

// Like AppendCsvRow for a line of `num_line_fields` fields of which only some are wanted:
// schema field c of *batch is line field columns[c] (columns.size() == the schema's field
// count, each < num_line_fields). Messages count columns in the line.
bool AppendCsvRowProjected(std::string_view line, char delim,
                           const std::vector<size_t>& columns, size_t num_line_fields,
                           core::RecordBatch* batch, std::vector<RawField>* fields,
                           std::string* scratch, std::string* reason,
                           const std::optional<std::string>& null_literal = std::string());

}  // namespace sluice::formats::csv
