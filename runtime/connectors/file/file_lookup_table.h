#pragma once
// A dimension table read from a CSV file (plain or .gz) for the lookup join
// (runtime/operators/lookup_join.h): Flink's filesystem table as a lookup source.
//
// Format: the first line is a header naming the columns; the table's schema picks columns by
// name (in any order; other columns are ignored). Values as the file source parses them
// (runtime/formats/csv_fields.h), the empty field is null. Blank lines are skipped.
//
// Changes: LoadIfChanged compares the file's size and modification time (ns) with those of the
// last load and reads the file only when they differ, so a scheduled reload of an unchanged
// file costs one stat. A writer should replace the file atomically (write, then rename).
//
// Errors: NotFound / FailedPrecondition when the file cannot be opened; InvalidArgument for a
// header without a wanted column ("lookup table 'airports.csv': no column 'state' in the
// header (columns: iata, name)"), and for a bad row, naming file, line and field.
// Thread: one caller at a time (the lookup join's task thread).

#include <memory>
#include <string>

#include "runtime/operators/lookup_join.h"

namespace sluice::connectors {

struct FileLookupTableOptions {
  std::string path;
  core::SchemaPtr schema;  // the wanted columns, by header name
  char delimiter = ',';
  // false: the file has no header line; its columns are `schema`'s, in order (Flink's csv
  // tables have no header).
  bool header = true;
};

std::unique_ptr<operators::LookupTableSource> MakeFileLookupTable(FileLookupTableOptions options);

}  // namespace sluice::connectors
