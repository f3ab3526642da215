#pragma once
// Shared plumbing of the REST handlers: Flink's JSON error body {"errors": [...]}, the mapping of
// backend errors to HTTP status codes, and typed reads of JSON request bodies whose errors name
// the field (Flink answers wrong types with 400, never 500).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/base/version.h"
#include "runtime/http/http_types.h"

namespace sluice::jobmanager::rest {

using Json = nlohmann::ordered_json;

// The version reported as Flink's "flink-version": "sluice-<version>".
inline const std::string kVersion = "sluice-" + std::string(kSluiceVersion);

// Serializes without throwing on invalid UTF-8 in user-provided names or messages.
std::string Dump(const Json& j);

void Reply(http::Response* res, int status, const Json& body);
// Flink's ErrorResponseBody: {"errors": [message]}.
void ReplyError(http::Response* res, int status, std::string_view message);
// The same with a status's message.
void ReplyError(http::Response* res, int status, const absl::Status& error);
// An error renderer for http::Router (404, 405, 413, 500 in Flink's shape).
void RenderError(int status, std::string_view message, http::Response* res);
// NotFound 404, InvalidArgument 400, FailedPrecondition 409, Unavailable 503, else 500.
void ReplyStatus(http::Response* res, const absl::Status& status);
// As ReplyStatus, but NotFound says "Job <id> not found" as Flink does.
void ReplyJobError(http::Response* res, const absl::Status& status, std::string_view job_id);

// The body as a JSON object; an empty body is {}. InvalidArgument for malformed JSON or a
// non-object, naming what was found.
absl::StatusOr<Json> ParseObjectBody(const http::Request& req);
// Optional typed fields: absent (or null) leaves *out unchanged; a value of another type is
// InvalidArgument "field 'x' must be a boolean, found a string".
absl::Status ReadBool(const Json& object, std::string_view field, bool* out);
absl::Status ReadString(const Json& object, std::string_view field, std::string* out);
absl::Status ReadInt(const Json& object, std::string_view field, int64_t min, int64_t max,
                     int64_t* out);

// Flink's duration rule: end - start once ended, now - start while running, -1 before start.
inline int64_t Duration(int64_t start_ms, int64_t end_ms, int64_t now_ms) {
  if (start_ms <= 0) return -1;
  return (end_ms >= 0 ? end_ms : now_ms) - start_ms;
}

}  // namespace sluice::jobmanager::rest
