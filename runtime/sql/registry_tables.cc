// Tables whose records are Avro with their schemas in a schema registry (`avro-confluent`): the
// subject's latest schema gives the columns of a table declared without any, and is checked
// against declared columns before anything is deployed (fields exist, types can be read).

#include "runtime/base/status.h"
#include "runtime/formats/avro_schema.h"
#include "runtime/formats/schema_registry.h"
#include "runtime/sql/catalog.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

const ast::Option* Find(const TableDef& t, const std::string& key) {
  for (const ast::Option& o : t.options) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

}  // namespace

std::optional<RegistryOptions> AvroRegistryOptions(const TableDef& t) {
  const ast::Option* connector = Find(t, "connector");
  if (connector == nullptr) return std::nullopt;
  // kafka: 'format' and 'avro-confluent.*'; upsert-kafka: 'value.format', 'value.avro-confluent.*'.
  std::string prefix;
  if (connector->value == "upsert-kafka") prefix = "value.";
  else if (connector->value != "kafka") return std::nullopt;
  const ast::Option* format = Find(t, prefix.empty() ? "format" : "value.format");
  if (format == nullptr || format->value != "avro-confluent") return std::nullopt;
  RegistryOptions r;
  r.offset = format->value_offset;
  const std::string base = prefix + "avro-confluent.";
  const ast::Option* url = Find(t, base + "url");
  if (url == nullptr) url = Find(t, base + "schema-registry.url");  // Flink < 1.13's name
  if (url != nullptr) {
    r.url = url->value;
    r.offset = url->value_offset;
  }
  if (const ast::Option* s = Find(t, base + "subject")) r.subject = s->value;
  else if (const ast::Option* topic = Find(t, "topic")) r.subject = topic->value + "-value";
  if (const ast::Option* u = Find(t, base + "basic-auth.user-info")) r.user_info = u->value;
  return r;
}

absl::Status ResolveRegistrySchema(TableDef* t) {
  std::optional<RegistryOptions> r = AvroRegistryOptions(*t);
  if (!r) return absl::OkStatus();
  bool declared = false;
  for (const TableColumn& c : t->columns) declared |= !c.computed;
  if (r->url.empty()) {
    return SQL_ERROR(r->offset, "format 'avro-confluent' needs option '{}avro-confluent.url' (the "
                                "schema registry)",
                     Find(*t, "value.format") != nullptr ? "value." : "");
  }
  if (r->subject.empty()) {
    return SQL_ERROR(r->offset, "format 'avro-confluent' needs option 'avro-confluent.subject' "
                                "(or 'topic', for the subject '<topic>-value')");
  }
  auto client = formats::SchemaRegistryClient::Create(r->url, r->user_info);
  if (!client.ok()) return SQL_ERROR(r->offset, "{}", client.status().message());
  absl::StatusOr<formats::RegisteredSchema> latest = (*client)->Latest(r->subject);
  if (absl::IsNotFound(latest.status()) && declared) {
    return absl::OkStatus();  // a sink's subject is created when it first writes
  }
  if (!latest.ok()) {
    return SQL_ERROR(r->offset, "table '{}': cannot get the schema of subject '{}': {}", t->name,
                     r->subject, latest.status().message());
  }
  absl::StatusOr<formats::AvroRecordSchema> record =
      formats::ParseAvroRecordSchema(latest->schema);
  if (!record.ok()) {
    return SQL_ERROR(r->offset, "table '{}': subject '{}' version {} (id {}): {}", t->name,
                     r->subject, latest->version, latest->id, record.status().message());
  }
  if (!declared) {
    absl::StatusOr<std::vector<core::Field>> columns = formats::AvroColumns(*record);
    if (!columns.ok()) {
      return SQL_ERROR(r->offset, "table '{}': subject '{}' version {}: {}; declare the table's "
                                  "columns to read the others", t->name, r->subject,
                       latest->version, columns.status().message());
    }
    // Columns from the registry go first, then the declared computed columns.
    std::vector<TableColumn> all;
    for (const core::Field& f : *columns) {
      TableColumn c;
      c.name = f.name;
      c.type = f.type;
      c.offset = t->offset;
      all.push_back(std::move(c));
    }
    for (TableColumn& c : t->columns) all.push_back(std::move(c));
    t->columns = std::move(all);
    return absl::OkStatus();
  }
  for (const TableColumn& c : t->columns) {
    if (c.computed) continue;
    absl::Status st = formats::CheckAvroReadable(*record, core::Schema({{c.name, c.type}}),
                                                 /*columns_must_exist=*/true);
    if (!st.ok()) {
      return SQL_ERROR(c.offset, "table '{}', subject '{}' version {} (id {}): {}", t->name,
                       r->subject, latest->version, latest->id, st.message());
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::sql
