#include "jobmanager/rest/rest_json.h"

#include "fmt/format.h"
#include "runtime/base/status.h"

namespace sluice::jobmanager::rest {
namespace {

std::string_view TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "a value";
  }
}

const Json* Field(const Json& object, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void Reply(http::Response* res, int status, const Json& body) {
  res->Set(status, Dump(body), "application/json");
}

void ReplyError(http::Response* res, int status, std::string_view message) {
  Reply(res, status, Json{{"errors", Json::array({std::string(message)})}});
}

void ReplyError(http::Response* res, int status, const absl::Status& error) {
  ReplyError(res, status, std::string_view(error.message().data(), error.message().size()));
}

void RenderError(int status, std::string_view message, http::Response* res) {
  ReplyError(res, status, message);
}

void ReplyStatus(http::Response* res, const absl::Status& status) {
  int code = 500;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      code = 404;
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      code = 400;
      break;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      code = 409;
      break;
    case absl::StatusCode::kUnavailable:
      code = 503;
      break;
    default:
      break;
  }
  ReplyError(res, code, std::string_view(status.message().data(), status.message().size()));
}

void ReplyJobError(http::Response* res, const absl::Status& status, std::string_view job_id) {
  if (status.code() == absl::StatusCode::kNotFound) {
    return ReplyError(res, 404, fmt::format("Job {} not found", job_id));
  }
  ReplyStatus(res, status);
}

absl::StatusOr<Json> ParseObjectBody(const http::Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgumentF("request body is not valid JSON");
  if (!body.is_object()) {
    return InvalidArgumentF("request body must be a JSON object, found {}", TypeName(body));
  }
  return body;
}

absl::Status ReadBool(const Json& object, std::string_view field, bool* out) {
  const Json* v = Field(object, field);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_boolean()) {
    return InvalidArgumentF("field '{}' must be a boolean, found {}", field, TypeName(*v));
  }
  *out = v->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadString(const Json& object, std::string_view field, std::string* out) {
  const Json* v = Field(object, field);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) {
    return InvalidArgumentF("field '{}' must be a string, found {}", field, TypeName(*v));
  }
  *out = v->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadInt(const Json& object, std::string_view field, int64_t min, int64_t max,
                     int64_t* out) {
  const Json* v = Field(object, field);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_number_integer()) {
    return InvalidArgumentF("field '{}' must be an integer, found {}", field, TypeName(*v));
  }
  int64_t value = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT64_MAX}
                      ? INT64_MAX
                      : v->get<int64_t>();
  if (value < min || value > max) {
    return InvalidArgumentF("field '{}' must be between {} and {}, found {}", field, min, max,
                            value);
  }
  *out = value;
  return absl::OkStatus();
}

}  // namespace sluice::jobmanager::rest
