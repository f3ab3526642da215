#pragma once
// A client of a Confluent Schema Registry's REST API (the endpoints the `avro-confluent` format
// and the SQL catalog need): schema by id, a subject's versions and latest schema, registering
// a schema under a subject. Flink's counterpart is the registry client inside
// flink-avro-confluent-registry (CachedSchemaCoderProvider); the wire format that carries the
// ids is in avro_format.h.
//
// Endpoints (https://docs.confluent.io/platform/current/schema-registry/develop/api.html):
//   GET  /schemas/ids/{id}                       -> {"schema": "..."}
//   GET  /subjects                               -> ["a-value", ...]
//   GET  /subjects/{subject}/versions            -> [1, 2, ...]
//   GET  /subjects/{subject}/versions/latest     -> {"subject","version","id","schema"}
//   POST /subjects/{subject}/versions {"schema"} -> {"id": n}
// Requests send `Accept`/`Content-Type: application/vnd.schemaregistry.v1+json`. A schema
// without "schemaType" is Avro; others ("PROTOBUF", "JSON") are refused by the callers.
//
// `url`: "http://host:port" or "https://host:port", optionally with a path prefix
// ("http://host:8081/registry"). `user_info`: "user:password" for HTTP basic auth (Flink's
// `avro-confluent.basic-auth.user-info`), empty for none. Timeouts: 5 s to connect, 10 s per
// read/write; no retries (the caller decides: a source fails its task, the SQL check reports).
//
// Errors (messages name the registry URL and the request):
//   InvalidArgument  a bad URL; the registry rejected a schema (HTTP 422) or found it
//                    incompatible with the subject (409)
//   NotFound         unknown subject, version or id (HTTP 404; the registry's message is kept)
//   Unavailable      no connection, a timeout, HTTP 5xx
//   Internal         any other status, or a response that is not the documented JSON
//
// Caching: SchemaById caches every schema it fetched (ids are immutable in a registry), bounded
// by kMaxCachedSchemas (then the cache starts over). Nothing else is cached.
// Thread safety: not thread-safe; one client per user (a source or sink subtask, a catalog).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace httplib {
class Client;
}

namespace sluice::formats {

struct RegisteredSchema {
  std::string subject;
  int32_t version = 0;
  int32_t id = 0;
  std::string schema;  // the schema's JSON text
};

class SchemaRegistryClient {
 public:
  static constexpr size_t kMaxCachedSchemas = 1000;

  static absl::StatusOr<std::unique_ptr<SchemaRegistryClient>> Create(
      std::string_view url, std::string_view user_info = "");
  ~SchemaRegistryClient();

  // The schema registered with `id`.
  absl::StatusOr<std::string> SchemaById(int32_t id);
  absl::StatusOr<std::vector<std::string>> Subjects();
  absl::StatusOr<std::vector<int32_t>> Versions(std::string_view subject);
  absl::StatusOr<RegisteredSchema> Latest(std::string_view subject);
  // Registers `schema` under `subject` (a no-op returning the existing id when the subject
  // already has an identical schema, as the registry defines it); returns its id.
  absl::StatusOr<int32_t> Register(std::string_view subject, std::string_view schema);

  const std::string& url() const { return url_; }

 private:
  SchemaRegistryClient(std::string url, std::string prefix, std::unique_ptr<httplib::Client> http);
  // GET or POST (`body` non-null) of `path`: the parsed JSON body of a 200 answer as text.
  absl::StatusOr<std::string> Call(const std::string& path, const std::string* body);

  std::string url_;
  std::string prefix_;  // the URL's path prefix, "" or "/registry"
  std::unique_ptr<httplib::Client> http_;
  std::unordered_map<int32_t, std::string> by_id_;
};

}  // namespace sluice::formats
