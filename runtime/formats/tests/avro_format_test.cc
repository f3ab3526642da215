// The avro and avro-confluent formats: round trips through RecordEncoder and RecordDecoder,
// records written by another writer (avro-c directly, with its own schema) read through the
// registry with Avro's schema resolution, the schema registry client, and every error kind.

#include "runtime/formats/avro_format.h"

#include <avro.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/record_batch.h"
#include "runtime/formats/avro_schema.h"
#include "runtime/formats/record_encoder.h"
#include "runtime/formats/schema_registry.h"
#include "runtime/formats/tests/registry_stand_in.h"

namespace sluice::formats {
namespace {

using ::testing::HasSubstr;

core::SchemaPtr Row() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{
      {"id", core::Type::kInt64},     {"price", core::Type::kDouble},
      {"name", core::Type::kString},  {"ok", core::Type::kBool},
      {"at", core::Type::kTimestamp}, {"day", core::Type::kDate},
      {"n", core::Type::kInt32},      {"blob", core::Type::kBytes}});
}

core::RecordBatch Rows() {
  core::RecordBatch b(Row());
  size_t r = b.AppendRow();
  b.SetInt64(r, 0, -42);
  b.SetDouble(r, 1, 1.5);
  b.SetString(r, 2, std::string_view("h\0llo", 5));
  b.SetBool(r, 3, true);
  b.SetInt64(r, 4, 1'700'000'000'123);
  b.SetInt32(r, 5, 19'000);
  b.SetInt32(r, 6, -7);
  b.SetString(r, 7, std::string_view("\x00\xff", 2));
  r = b.AppendRow();  // all null
  for (size_t c = 0; c < 8; ++c) b.SetNull(r, c);
  return b;
}

RecordFormatOptions Opts(RecordFormat f, std::string url = "", std::string subject = "") {
  RecordFormatOptions o;
  o.format = f;
  o.schema_registry_url = std::move(url);
  o.schema_registry_subject = std::move(subject);
  return o;
}

// Encodes every row of `in` with `encoder`, decodes with `decoder`, and returns the batch.
core::RecordBatch RoundTrip(RecordEncoder& encoder, RecordDecoder& decoder,
                            const core::RecordBatch& in) {
  core::RecordBatch out(Row());
  std::string bytes;
  for (size_t r = 0; r < in.num_rows(); ++r) {
    EXPECT_TRUE(encoder.EncodeValue(in, r, &bytes).ok());
    absl::Status st = decoder.Decode(bytes, &out);
    EXPECT_TRUE(st.ok()) << st;
  }
  return out;
}

void ExpectSameRows(const core::RecordBatch& a, const core::RecordBatch& b) {
  ASSERT_EQ(a.num_rows(), b.num_rows());
  for (size_t r = 0; r < a.num_rows(); ++r) EXPECT_EQ(a.RowToString(r), b.RowToString(r)) << r;
  EXPECT_EQ(b.GetString(0, 2), std::string_view("h\0llo", 5));
}

TEST(AvroSchemaTest, WrittenSchemaIsFlinksAndReadsBackAsTheSameColumns) {
  const std::string json = AvroSchemaJson(*Row());
  EXPECT_THAT(json, HasSubstr(R"("name":"record","namespace":"org.apache.flink.avro.generated")"));
  EXPECT_THAT(json, HasSubstr(R"({"default":null,"name":"at","type":["null",{"logicalType":"timestamp-millis","type":"long"}]})"));
  auto parsed = ParseAvroRecordSchema(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto columns = AvroColumns(*parsed);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(core::Schema(*columns), *Row());
  EXPECT_TRUE(parsed->fields[0].nullable);
}

TEST(AvroSchemaTest, UnionsLogicalTypesAndUnsupportedTypes) {
  auto s = ParseAvroRecordSchema(R"({"type":"record","name":"r","fields":[
      {"name":"a","type":["long","null"]},
      {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},
      {"name":"m","type":{"type":"long","logicalType":"timestamp-micros"}},
      {"name":"u","type":["int","string"]},
      {"name":"l","type":{"type":"array","items":"int"}}]})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->fields[0].type, core::Type::kInt64);
  EXPECT_TRUE(s->fields[0].nullable);
  EXPECT_EQ(s->fields[1].type, core::Type::kString);
  EXPECT_FALSE(s->fields[2].type.has_value());
  EXPECT_FALSE(s->fields[3].type.has_value());
  auto columns = AvroColumns(*s);
  EXPECT_THAT(columns.status().message(), HasSubstr("field 'm': the Avro type"));
  // A column that does not read an unsupported field is fine; one that does is named.
  core::Schema reader({{"a", core::Type::kDouble}, {"e", core::Type::kString}});
  EXPECT_TRUE(CheckAvroReadable(*s, reader).ok());
  core::Schema bad({{"a", core::Type::kInt32}});
  EXPECT_THAT(CheckAvroReadable(*s, bad).message(),
              HasSubstr("field 'a': the schema's type \"long\" cannot be read as int32"));
  core::Schema missing({{"zz", core::Type::kInt32}});
  EXPECT_TRUE(CheckAvroReadable(*s, missing).ok());
  EXPECT_THAT(CheckAvroReadable(*s, missing, /*columns_must_exist=*/true).message(),
              HasSubstr("column 'zz' is not a field of the Avro schema (fields: a, e, m, u, l)"));
  EXPECT_THAT(ParseAvroRecordSchema("\"long\"").status().message(), HasSubstr("not a record"));
  EXPECT_THAT(ParseAvroRecordSchema("{").status().message(), HasSubstr("not valid JSON"));
}

TEST(AvroFormatTest, PlainAvroRoundTripsEveryTypeAndNulls) {
  auto enc = RecordEncoder::Create(Row(), Opts(RecordFormat::kAvro));
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto dec = RecordDecoder::Create(Row(), Opts(RecordFormat::kAvro));
  ASSERT_TRUE(dec.ok()) << dec.status();
  core::RecordBatch in = Rows();
  std::string bytes;
  ASSERT_TRUE((*enc)->EncodeValue(in, 1, &bytes).ok());
  EXPECT_EQ(bytes, std::string(8, '\0'));  // eight union branch 0 (null)
  ExpectSameRows(in, RoundTrip(**enc, **dec, in));
}

TEST(AvroFormatTest, ConfluentSinkRegistersUnderItsSubjectAndWritesTheHeader) {
  testing::RegistryStandIn registry;
  registry.Register("other-value", R"({"type":"record","name":"o","fields":[{"name":"x","type":"int"}]})");
  auto enc = RecordEncoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, registry.url(), "t-value"));
  ASSERT_TRUE(enc.ok()) << enc.status();
  core::RecordBatch in = Rows();
  std::string bytes;
  ASSERT_TRUE((*enc)->EncodeValue(in, 0, &bytes).ok());
  EXPECT_EQ(bytes.substr(0, 5), std::string("\0\0\0\0\2", 5));  // magic 0, id 2
  auto client = SchemaRegistryClient::Create(registry.url());
  ASSERT_TRUE(client.ok());
  auto latest = (*client)->Latest("t-value");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->id, 2);
  EXPECT_EQ(latest->schema, AvroSchemaJson(*Row()));
  auto dec = RecordDecoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, registry.url()));
  ASSERT_TRUE(dec.ok()) << dec.status();
  ExpectSameRows(in, RoundTrip(**enc, **dec, in));
}

// A record written by another producer with its own schema: fields in another order, an int
// where the row has int64, a float where it has double, an enum for a string, a field the row
// does not have, and no `day` at all.
std::string ForeignRecord(int id) {
  const char* schema_json = R"({"type":"record","name":"Bid","namespace":"x.y","fields":[
      {"name":"extra","type":{"type":"array","items":"int"}},
      {"name":"name","type":{"type":"enum","name":"Who","symbols":["ann","bob"]}},
      {"name":"price","type":"float"},
      {"name":"id","type":["int","null"]},
      {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]})";
  avro_schema_t schema = nullptr;
  EXPECT_EQ(avro_schema_from_json_length(schema_json, strlen(schema_json), &schema), 0)
      << avro_strerror();
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t rec, f, branch;
  avro_generic_value_new(iface, &rec);
  avro_value_get_by_index(&rec, 0, &f, nullptr);
  avro_value_append(&f, &branch, nullptr);
  avro_value_set_int(&branch, 5);
  avro_value_get_by_index(&rec, 1, &f, nullptr);
  avro_value_set_enum(&f, 1);
  avro_value_get_by_index(&rec, 2, &f, nullptr);
  avro_value_set_float(&f, 2.5f);
  avro_value_get_by_index(&rec, 3, &f, nullptr);
  avro_value_set_branch(&f, 0, &branch);
  avro_value_set_int(&branch, 77);
  avro_value_get_by_index(&rec, 4, &f, nullptr);
  avro_value_set_long(&f, 1000);
  size_t size = 0;
  avro_value_sizeof(&rec, &size);
  std::string out(5 + size, '\0');
  out[4] = static_cast<char>(id);
  avro_writer_t w = avro_writer_memory(out.data() + 5, static_cast<int64_t>(size));
  EXPECT_EQ(avro_value_write(w, &rec), 0);
  avro_writer_free(w);
  avro_value_decref(&rec);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
  return out;
}

TEST(AvroFormatTest, ConfluentSourceResolvesAForeignWriterSchema) {
  testing::RegistryStandIn registry;
  const int id = registry.Register("bids-value", R"({"type":"record","name":"Bid","namespace":"x.y","fields":[
      {"name":"extra","type":{"type":"array","items":"int"}},
      {"name":"name","type":{"type":"enum","name":"Who","symbols":["ann","bob"]}},
      {"name":"price","type":"float"},
      {"name":"id","type":["int","null"]},
      {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]})");
  auto dec = RecordDecoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, registry.url()));
  ASSERT_TRUE(dec.ok()) << dec.status();
  core::RecordBatch out(Row());
  absl::Status st = (*dec)->Decode(ForeignRecord(id), &out);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(out.GetInt64(0, 0), 77);
  EXPECT_EQ(out.GetDouble(0, 1), 2.5);
  EXPECT_EQ(out.GetString(0, 2), "bob");
  EXPECT_TRUE(out.IsNull(0, 3));
  EXPECT_EQ(out.GetInt64(0, 4), 1000);
  EXPECT_TRUE(out.IsNull(0, 5));  // the writer has no `day`
}

TEST(AvroFormatTest, ConfluentSourceErrors) {
  testing::RegistryStandIn registry;
  const int bad_id = registry.Register(
      "x", R"({"type":"record","name":"r","fields":[{"name":"price","type":"string"}]})");
  auto dec = RecordDecoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, registry.url()));
  ASSERT_TRUE(dec.ok()) << dec.status();
  core::RecordBatch out(Row());
  absl::Status st = (*dec)->Decode("\x01\0\0\0\1abc", &out);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("not in the Confluent wire format"));
  EXPECT_THAT(st.message(), HasSubstr("first byte 0x01"));
  st = (*dec)->Decode(std::string("\0\0\0\0\x09xyz", 8), &out);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("schema id 9"));
  std::string record("\0\0\0\0", 4);
  record.push_back(static_cast<char>(bad_id));
  st = (*dec)->Decode(record + "\x02x", &out);
  EXPECT_THAT(st.message(), HasSubstr("cannot be read as double"));
  EXPECT_EQ(out.num_rows(), 0u);

  // Truncated data of a known schema.
  auto enc = RecordEncoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, registry.url(), "t"));
  ASSERT_TRUE(enc.ok());
  std::string bytes;
  ASSERT_TRUE((*enc)->EncodeValue(Rows(), 0, &bytes).ok());
  st = (*dec)->Decode(bytes.substr(0, bytes.size() - 3), &out);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("invalid Avro data"));
  EXPECT_EQ(out.num_rows(), 0u);
}

TEST(AvroFormatTest, UnreachableRegistryIsUnavailableNotABadRecord) {
  std::string url;
  {
    testing::RegistryStandIn gone;
    url = gone.url();
  }
  auto dec = RecordDecoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, url));
  ASSERT_TRUE(dec.ok());
  core::RecordBatch out(Row());
  absl::Status st = (*dec)->Decode(std::string("\0\0\0\0\1", 5), &out);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr(url));
  auto enc = RecordEncoder::Create(Row(), Opts(RecordFormat::kAvroConfluent, url, "t-value"));
  EXPECT_TRUE(absl::IsUnavailable(enc.status())) << enc.status();
  EXPECT_THAT(RecordDecoder::Create(Row(), Opts(RecordFormat::kAvroConfluent)).status().message(),
              HasSubstr("needs the schema registry's URL"));
}

TEST(SchemaRegistryClientTest, EndpointsAndErrors) {
  testing::RegistryStandIn registry;
  auto client = SchemaRegistryClient::Create(registry.url() + "/");
  ASSERT_TRUE(client.ok()) << client.status();
  auto id = (*client)->Register("a b-value", R"({"type":"record","name":"r","fields":[{"name":"x","type":"int"}]})");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 1);
  EXPECT_EQ(*(*client)->Subjects(), std::vector<std::string>{"a b-value"});
  EXPECT_EQ(*(*client)->Versions("a b-value"), std::vector<int32_t>{1});
  EXPECT_THAT(*(*client)->SchemaById(1), HasSubstr("\"name\":\"x\""));
  absl::Status st = (*client)->Latest("nope").status();
  EXPECT_TRUE(absl::IsNotFound(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("Subject not found."));
  EXPECT_TRUE(absl::IsNotFound((*client)->SchemaById(5).status()));
  EXPECT_THAT(SchemaRegistryClient::Create("localhost:8081").status().message(),
              HasSubstr("must start with http:// or https://"));
  EXPECT_THAT(SchemaRegistryClient::Create("http://h", "nocolon").status().message(),
              HasSubstr("user:password"));
}

}  // namespace
}  // namespace sluice::formats
