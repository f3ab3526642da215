#include "runtime/formats/avro_format.h"

#include <avro.h>

#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "runtime/base/status.h"
#include "runtime/formats/avro_schema.h"
#include "runtime/formats/schema_registry.h"

namespace sluice::formats {
namespace {

using nlohmann::json;

constexpr size_t kConfluentHeader = 5;  // magic byte 0x00 + schema id (int32, big-endian)

// ---- avro-c handles -------------------------------------------------------------------------

struct SchemaDeleter {
  void operator()(avro_obj_t* s) const { avro_schema_decref(s); }
};
using SchemaHandle = std::unique_ptr<avro_obj_t, SchemaDeleter>;
struct IfaceDeleter {
  void operator()(avro_value_iface_t* i) const { avro_value_iface_decref(i); }
};
using IfaceHandle = std::unique_ptr<avro_value_iface_t, IfaceDeleter>;

// An avro_value_t that owns its reference.
class OwnedValue {
 public:
  OwnedValue() = default;
  OwnedValue(const OwnedValue&) = delete;
  OwnedValue& operator=(const OwnedValue&) = delete;
  ~OwnedValue() {
    if (value_.self != nullptr) avro_value_decref(&value_);
  }
  avro_value_t* get() { return &value_; }

 private:
  avro_value_t value_{nullptr, nullptr};
};

absl::Status AvroError(std::string_view what) {
  return InvalidArgumentF("{}: {}", what, avro_strerror());
}

absl::StatusOr<SchemaHandle> ParseSchema(const std::string& text) {
  avro_schema_t s = nullptr;
  if (avro_schema_from_json_length(text.data(), text.size(), &s) != 0) {
    return AvroError("invalid Avro schema");
  }
  return SchemaHandle(s);
}

// ---- decoding -------------------------------------------------------------------------------

// How records of one writer schema become rows: the reader schema (the row's columns the writer
// has, in the writer's record name), a reused reader value, and the resolver in between.
class ReadPlan {
 public:
  static absl::StatusOr<std::unique_ptr<ReadPlan>> Create(const core::Schema& row,
                                                          const std::string& writer_json,
                                                          bool same_schema) {
    ASSIGN_OR_RETURN(AvroRecordSchema writer, ParseAvroRecordSchema(writer_json));
    RETURN_IF_ERROR(CheckAvroReadable(writer, row));
    auto plan = std::unique_ptr<ReadPlan>(new ReadPlan());
    json fields = json::array();
    for (size_t c = 0; c < row.num_fields(); ++c) {
      const core::Field& col = row.field(c);
      const AvroField* w = nullptr;
      for (const AvroField& f : writer.fields) {
        if (f.name == col.name) w = &f;
      }
      if (w == nullptr) continue;  // the writer lacks it: null
      // The reader's type: the column's written type, or the writer's own enum/fixed type (read
      // back as its symbol / bytes).
      json type = (w->avro_kind == "enum" || w->avro_kind == "fixed")
                      ? json::parse(w->type_json)
                      : json::parse(AvroSchemaJson(core::Schema({col})))["fields"][0]["type"][1];
      fields.push_back(json{{"name", col.name}, {"type", json::array({"null", type})},
                            {"default", nullptr}});
      plan->column_of_.push_back(c);
    }
    json reader{{"type", "record"}, {"name", writer.name}, {"fields", fields}};
    if (!writer.namespace_.empty()) reader["namespace"] = writer.namespace_;
    ASSIGN_OR_RETURN(plan->writer_, ParseSchema(writer_json));
    ASSIGN_OR_RETURN(plan->reader_, ParseSchema(reader.dump()));
    plan->reader_iface_.reset(avro_generic_class_from_schema(plan->reader_.get()));
    if (!plan->reader_iface_ || avro_generic_value_new(plan->reader_iface_.get(),
                                                       plan->reader_value_.get()) != 0) {
      return AvroError("cannot build the Avro reader");
    }
    plan->present_.assign(row.num_fields(), 0);
    for (size_t c : plan->column_of_) plan->present_[c] = 1;
    if (same_schema) return plan;  // `avro`: the row's own schema on both sides
    plan->resolver_.reset(avro_resolved_writer_new(plan->writer_.get(), plan->reader_.get()));
    if (!plan->resolver_ ||
        avro_resolved_writer_new_value(plan->resolver_.get(), plan->resolved_.get()) != 0) {
      return AvroError("the writer schema cannot be resolved against the row's schema");
    }
    avro_resolved_writer_set_dest(plan->resolved_.get(), plan->reader_value_.get());
    return plan;
  }

  // Reads one record from `reader` and appends it to *batch.
  absl::Status Read(avro_reader_t reader, core::RecordBatch* batch) {
    avro_value_t* target = resolver_ ? resolved_.get() : reader_value_.get();
    if (avro_value_read(reader, target) != 0) return AvroError("invalid Avro data");
    const size_t row = batch->AppendRow();
    for (size_t i = 0; i < column_of_.size(); ++i) {
      absl::Status st = SetColumn(i, batch, row);
      if (!st.ok()) {
        batch->PopRow();
        return st;
      }
    }
    for (size_t c = 0; c < present_.size(); ++c) {
      if (!present_[c]) batch->SetNull(row, c);
    }
    return absl::OkStatus();
  }

 private:
  ReadPlan() = default;

  absl::Status SetColumn(size_t i, core::RecordBatch* batch, size_t row) {
    const size_t col = column_of_[i];
    avro_value_t field;
    avro_value_t branch;
    int disc = 0;
    if (avro_value_get_by_index(reader_value_.get(), i, &field, nullptr) != 0 ||
        avro_value_get_discriminant(&field, &disc) != 0) {
      return AvroError("invalid Avro data");
    }
    if (disc == 0) {
      batch->SetNull(row, col);
      return absl::OkStatus();
    }
    avro_value_get_current_branch(&field, &branch);
    switch (avro_value_get_type(&branch)) {
      case AVRO_INT32: {
        int32_t v = 0;
        avro_value_get_int(&branch, &v);
        batch->SetInt32(row, col, v);
        return absl::OkStatus();
      }
      case AVRO_INT64: {
        int64_t v = 0;
        avro_value_get_long(&branch, &v);
        batch->SetInt64(row, col, v);
        return absl::OkStatus();
      }
      case AVRO_DOUBLE: {
        double v = 0;
        avro_value_get_double(&branch, &v);
        batch->SetDouble(row, col, v);
        return absl::OkStatus();
      }
      case AVRO_BOOLEAN: {
        int v = 0;
        avro_value_get_boolean(&branch, &v);
        batch->SetBool(row, col, v != 0);
        return absl::OkStatus();
      }
      case AVRO_STRING: {
        const char* p = nullptr;
        size_t size = 0;  // includes the terminating NUL
        avro_value_get_string(&branch, &p, &size);
        batch->SetString(row, col, std::string_view(p, size == 0 ? 0 : size - 1));
        return absl::OkStatus();
      }
      case AVRO_BYTES: {
        const void* p = nullptr;
        size_t size = 0;
        avro_value_get_bytes(&branch, &p, &size);
        batch->SetString(row, col, std::string_view(static_cast<const char*>(p), size));
        return absl::OkStatus();
      }
      case AVRO_FIXED: {
        const void* p = nullptr;
        size_t size = 0;
        avro_value_get_fixed(&branch, &p, &size);
        batch->SetString(row, col, std::string_view(static_cast<const char*>(p), size));
        return absl::OkStatus();
      }
      case AVRO_ENUM: {
        int symbol = 0;
        avro_value_get_enum(&branch, &symbol);
        const char* name = avro_schema_enum_get(avro_value_get_schema(&branch), symbol);
        if (name == nullptr) return InvalidArgumentF("invalid Avro data: enum symbol {}", symbol);
        batch->SetString(row, col, name);
        return absl::OkStatus();
      }
      default:
        return InternalF("avro: unexpected value type {} in column {}",
                         static_cast<int>(avro_value_get_type(&branch)), col);
    }
  }

  SchemaHandle writer_;
  SchemaHandle reader_;
  IfaceHandle reader_iface_;
  OwnedValue reader_value_;
  IfaceHandle resolver_;  // null when reader and writer schema are the same
  OwnedValue resolved_;
  std::vector<size_t> column_of_;  // reader field i -> row column
  std::vector<uint8_t> present_;   // row column -> the reader has it
};

class AvroDecoder final : public RecordDecoder {
 public:
  AvroDecoder(RecordFormat format, core::SchemaPtr schema,
              std::unique_ptr<SchemaRegistryClient> registry)
      : RecordDecoder(format), schema_(std::move(schema)), registry_(std::move(registry)),
        reader_(avro_reader_memory(nullptr, 0)) {}
  ~AvroDecoder() override { avro_reader_free(reader_); }

  absl::Status Init() {
    if (registry_ != nullptr) return absl::OkStatus();
    ASSIGN_OR_RETURN(plain_, ReadPlan::Create(*schema_, AvroSchemaJson(*schema_), true));
    return absl::OkStatus();
  }

  absl::Status Decode(std::string_view value, core::RecordBatch* batch) override {
    ReadPlan* plan = plain_.get();
    if (registry_ != nullptr) {
      if (value.size() < kConfluentHeader || value[0] != 0) {
        return InvalidArgumentF("not in the Confluent wire format (5-byte header, magic byte "
                                "0x00): {} bytes{}",
                                value.size(),
                                value.empty() ? "" : fmt::format(", first byte 0x{:02x}",
                                                                 static_cast<uint8_t>(value[0])));
      }
      const auto* b = reinterpret_cast<const uint8_t*>(value.data());
      const auto id = static_cast<int32_t>((uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) |
                                           (uint32_t{b[3]} << 8) | uint32_t{b[4]});
      ASSIGN_OR_RETURN(plan, PlanFor(id));
      value.remove_prefix(kConfluentHeader);
    }
    avro_reader_memory_set_source(reader_, value.data(), static_cast<int64_t>(value.size()));
    return plan->Read(reader_, batch);
  }

 private:
  absl::StatusOr<ReadPlan*> PlanFor(int32_t id) {
    if (auto it = plans_.find(id); it != plans_.end()) return it->second.get();
    absl::StatusOr<std::string> writer = registry_->SchemaById(id);
    if (!writer.ok()) {
      if (absl::IsUnavailable(writer.status())) return writer.status();
      return InvalidArgumentF("schema id {}: {}", id, writer.status().message());
    }
    absl::StatusOr<std::unique_ptr<ReadPlan>> plan = ReadPlan::Create(*schema_, *writer, false);
    if (!plan.ok()) return InvalidArgumentF("schema id {}: {}", id, plan.status().message());
    if (plans_.size() >= SchemaRegistryClient::kMaxCachedSchemas) plans_.clear();
    return plans_.emplace(id, std::move(*plan)).first->second.get();
  }

  core::SchemaPtr schema_;
  std::unique_ptr<SchemaRegistryClient> registry_;  // avro-confluent only
  std::unique_ptr<ReadPlan> plain_;                 // avro only
  std::unordered_map<int32_t, std::unique_ptr<ReadPlan>> plans_;  // by writer schema id
  avro_reader_t reader_;
};

// ---- encoding -------------------------------------------------------------------------------

class AvroWriterImpl final : public AvroRowWriter {
 public:
  AvroWriterImpl(core::SchemaPtr schema, int32_t id)
      : schema_(std::move(schema)), id_(id), writer_(avro_writer_memory(nullptr, 0)) {}
  ~AvroWriterImpl() override { avro_writer_free(writer_); }

  absl::Status Init(const std::string& schema_json) {
    ASSIGN_OR_RETURN(avro_schema_, ParseSchema(schema_json));
    iface_.reset(avro_generic_class_from_schema(avro_schema_.get()));
    if (!iface_ || avro_generic_value_new(iface_.get(), value_.get()) != 0) {
      return AvroError("cannot build the Avro writer");
    }
    return absl::OkStatus();
  }

  absl::Status Encode(const core::RecordBatch& batch, size_t row, std::string* out) override {
    for (size_t c = 0; c < schema_->num_fields(); ++c) RETURN_IF_ERROR(SetField(batch, row, c));
    size_t size = 0;
    if (avro_value_sizeof(value_.get(), &size) != 0) return AvroError("avro sink");
    const size_t header = id_ >= 0 ? kConfluentHeader : 0;
    out->resize(header + size);
    if (header > 0) {
      const auto id = static_cast<uint32_t>(id_);
      (*out)[0] = 0;
      (*out)[1] = static_cast<char>(id >> 24);
      (*out)[2] = static_cast<char>(id >> 16);
      (*out)[3] = static_cast<char>(id >> 8);
      (*out)[4] = static_cast<char>(id);
    }
    avro_writer_memory_set_dest(writer_, out->data() + header, static_cast<int64_t>(size));
    if (avro_value_write(writer_, value_.get()) != 0) return AvroError("avro sink");
    return absl::OkStatus();
  }

  int32_t schema_id() const override { return id_; }

 private:
  absl::Status SetField(const core::RecordBatch& batch, size_t row, size_t c) {
    avro_value_t field;
    avro_value_t branch;
    avro_value_get_by_index(value_.get(), c, &field, nullptr);
    if (batch.IsNull(row, c)) {
      avro_value_set_branch(&field, 0, &branch);
      avro_value_set_null(&branch);
      return absl::OkStatus();
    }
    avro_value_set_branch(&field, 1, &branch);
    int rc = 0;
    switch (schema_->field(c).type) {
      case core::Type::kInt32:
      case core::Type::kDate: rc = avro_value_set_int(&branch, batch.GetInt32(row, c)); break;
      case core::Type::kInt64:
      case core::Type::kTimestamp: rc = avro_value_set_long(&branch, batch.GetInt64(row, c)); break;
      case core::Type::kDouble: rc = avro_value_set_double(&branch, batch.GetDouble(row, c)); break;
      case core::Type::kBool: rc = avro_value_set_boolean(&branch, batch.GetBool(row, c)); break;
      case core::Type::kString: {
        // avro-c's strings are NUL-terminated: copy into a reused buffer that has the NUL.
        std::string_view s = batch.GetString(row, c);
        scratch_.assign(s.data(), s.size());
        rc = avro_value_set_string_len(&branch, scratch_.c_str(), scratch_.size() + 1);
        break;
      }
      case core::Type::kBytes: {
        std::string_view s = batch.GetString(row, c);
        rc = avro_value_set_bytes(&branch, const_cast<char*>(s.data()), s.size());
        break;
      }
    }
    if (rc != 0) return AvroError(fmt::format("field '{}'", schema_->field(c).name));
    return absl::OkStatus();
  }

  core::SchemaPtr schema_;
  int32_t id_;
  avro_writer_t writer_;
  SchemaHandle avro_schema_;
  IfaceHandle iface_;
  OwnedValue value_;
  std::string scratch_;
};

absl::StatusOr<std::unique_ptr<SchemaRegistryClient>> RegistryFor(const RecordFormatOptions& o) {
  if (o.schema_registry_url.empty()) {
    return InvalidArgumentF("format avro-confluent needs the schema registry's URL");
  }
  return SchemaRegistryClient::Create(o.schema_registry_url, o.schema_registry_user_info);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordDecoder>> CreateAvroDecoder(core::SchemaPtr schema,
                                                                 const RecordFormatOptions& opts) {
  std::unique_ptr<SchemaRegistryClient> registry;
  if (opts.format == RecordFormat::kAvroConfluent) {
    ASSIGN_OR_RETURN(registry, RegistryFor(opts));
  }
  auto d = std::make_unique<AvroDecoder>(opts.format, std::move(schema), std::move(registry));
  RETURN_IF_ERROR(d->Init());
  return std::unique_ptr<RecordDecoder>(std::move(d));
}

absl::StatusOr<std::unique_ptr<AvroRowWriter>> AvroRowWriter::Create(
    core::SchemaPtr schema, const RecordFormatOptions& opts) {
  const std::string schema_json = AvroSchemaJson(*schema);
  int32_t id = -1;
  if (opts.format == RecordFormat::kAvroConfluent) {
    if (opts.schema_registry_subject.empty()) {
      return InvalidArgumentF("format avro-confluent needs the subject to register the schema");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<SchemaRegistryClient> registry, RegistryFor(opts));
    ASSIGN_OR_RETURN(id, registry->Register(opts.schema_registry_subject, schema_json));
  }
  auto w = std::make_unique<AvroWriterImpl>(std::move(schema), id);
  RETURN_IF_ERROR(w->Init(schema_json));
  return std::unique_ptr<AvroRowWriter>(std::move(w));
}

}  // namespace sluice::formats
