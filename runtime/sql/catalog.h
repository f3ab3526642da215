#pragma once
// The tables and views a SQL script declared (Flink's catalog, in memory for one script or one
// client session), and its job settings (SET). CREATE TABLE is checked here: column types,
// computed columns, the watermark, and the connector options (connectors.cc turns them into the
// job spec's sources and sinks).
//
// Lookups try the exact name first, then a case-insensitive match if it is unique (so an
// unquoted keyword that PostgreSQL's parser folded to lower case still finds its table).
// Not thread-safe (one per script or session).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/expr/expression.h"
#include "runtime/sql/ast.h"
#include "yaml-cpp/yaml.h"

namespace sluice::sql {

struct TableColumn {
  std::string name;
  core::Type type = core::Type::kInt64;
  int offset = 0;
  ast::ExprPtr computed;  // a computed column's expression (over the physical columns)
  bool proctime = false;  // `c AS PROCTIME()`: a processing-time attribute, not stored
};

struct TableDef {
  std::string name;
  int offset = 0;
  std::vector<TableColumn> columns;  // physical and computed, in declared order
  // WATERMARK FOR column AS column - INTERVAL 'n' unit: event time and its out-of-orderness.
  std::optional<std::string> rowtime;
  int64_t watermark_delay_ms = 0;
  std::vector<std::string> primary_key;
  std::vector<ast::Option> options;  // as written, 'connector' included

  const TableColumn* Find(const std::string& column) const;
  bool HasComputed() const;  // computed columns other than PROCTIME()
};

struct ViewDef {
  std::string name;
  int offset = 0;
  ast::QueryPtr query;
  std::vector<std::string> column_names;
};

// SET 'key' = 'value', as job spec settings.
struct JobSettings {
  YAML::Node spec = YAML::Node(YAML::NodeType::Map);  // name, parallelism, checkpointing, state, ...
  std::map<std::string, std::string> values;           // as written, for EXPLAIN and messages
};

class Catalog {
 public:
  // `registry_lookups`: whether AddTable resolves avro-confluent tables against their schema
  // registry (ResolveRegistrySchema below; network I/O).
  // `functions`: the scalar functions of the job's plugin, which CREATE FUNCTION may name (null:
  // no plugin).
  explicit Catalog(bool registry_lookups = true,
                   std::shared_ptr<const expr::ScalarFunctions> functions = nullptr)
      : registry_lookups_(registry_lookups), functions_(std::move(functions)) {}

  // CREATE TABLE: checks types, computed columns, watermark and options. Errors: a table or
  // view of that name exists (unless IF NOT EXISTS), an unknown connector or option, a
  // missing required option, a bad watermark.
  absl::Status AddTable(const ast::CreateTable& ddl);
  absl::Status AddView(const ast::CreateView& view);
  absl::Status Set(const ast::Set& set);
  // CREATE FUNCTION name AS 'identifier': `identifier` must name one of the plugin's scalar
  // functions, by its registered name or, for a Java class name (Flink's form), by the part
  // after the last dot; case-insensitively. Errors: no plugin, no such function, the name is
  // taken.
  absl::Status AddFunction(const ast::CreateFunction& function);
  // The plugin function a SQL call of `name` (lower case) refers to, or null.
  const std::string* FindFunction(const std::string& name) const;
  // The plugin's functions (for compiling expressions that call them), or null.
  const expr::ScalarFunctions* scalar_functions() const { return functions_.get(); }

  const TableDef* FindTable(const std::string& name) const;
  const ViewDef* FindView(const std::string& name) const;
  const JobSettings& settings() const { return settings_; }
  std::string TableNames() const;

 private:
  bool registry_lookups_;
  std::shared_ptr<const expr::ScalarFunctions> functions_;
  std::map<std::string, std::string> created_functions_;  // SQL name (lower case) -> registered
  std::map<std::string, TableDef> tables_;
  std::map<std::string, ViewDef> views_;
  JobSettings settings_;
};

// Connector options -> the job spec's source or sink mapping (connectors.cc); relative paths
// stay relative (the spec resolves them against the script's directory). Errors name the option.
// `rowtime_expression`: the rendered expression of a computed rowtime column (else unused).
absl::StatusOr<YAML::Node> SourceSpec(const TableDef& table, const std::string& rowtime_expression);
absl::StatusOr<YAML::Node> SinkSpec(const TableDef& table);
// Checks a table's options when it is created (both uses: it may be read or written).
absl::Status CheckOptions(const TableDef& table);
// The schema registry of a table in format avro-confluent (kafka's 'format', upsert-kafka's
// 'value.format'): its URL ('avro-confluent.url', or Flink's older
// 'avro-confluent.schema-registry.url'), subject ('avro-confluent.subject', default
// '<topic>-value'), basic auth ('avro-confluent.basic-auth.user-info'); upsert-kafka's keys
// start with 'value.'. `offset`: of the URL option's value (else of the format), for messages.
struct RegistryOptions {
  std::string url;
  std::string subject;
  std::string user_info;
  int offset = 0;
};
std::optional<RegistryOptions> AvroRegistryOptions(const TableDef& table);
// For an avro-confluent table, fetches the subject's latest schema (network I/O): a table
// declared without physical columns takes them from it; declared columns must be fields of it
// whose types read as the columns' (formats/avro_schema.h). A missing subject is fine for a
// table with columns (a sink registers it when it first writes). Errors are positioned: no
// registry URL, an unreachable registry, an unknown subject, a schema field with no column
// type, a declared column the schema lacks or cannot be read as.
absl::Status ResolveRegistrySchema(TableDef* table);
// Whether a table's sink takes updating results (a changelog format, print, upsert-kafka).
bool SinkTakesUpdates(const TableDef& table);

}  // namespace sluice::sql
