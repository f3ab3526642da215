#include "runtime/formats/schema_registry.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "runtime/base/status.h"

namespace sluice::formats {
namespace {

using nlohmann::json;

constexpr char kContentType[] = "application/vnd.schemaregistry.v1+json";

// Percent-encodes a path segment (a subject name may hold any character).
std::string EncodeSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// The registry's own error text: {"error_code": 40401, "message": "Subject not found."}.
std::string RegistryMessage(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

SchemaRegistryClient::SchemaRegistryClient(std::string url, std::string prefix,
                                           std::unique_ptr<httplib::Client> http)
    : url_(std::move(url)), prefix_(std::move(prefix)), http_(std::move(http)) {}

SchemaRegistryClient::~SchemaRegistryClient() = default;

absl::StatusOr<std::unique_ptr<SchemaRegistryClient>> SchemaRegistryClient::Create(
    std::string_view url, std::string_view user_info) {
  std::string u(url);
  while (!u.empty() && u.back() == '/') u.pop_back();
  const bool http = absl::StartsWith(u, "http://");
  if (!http && !absl::StartsWith(u, "https://")) {
    return InvalidArgumentF("schema registry URL '{}' must start with http:// or https://", url);
  }
  const size_t host_start = http ? 7 : 8;
  const size_t slash = u.find('/', host_start);
  std::string origin = slash == std::string::npos ? u : u.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : u.substr(slash);
  if (origin.size() == host_start) {
    return InvalidArgumentF("schema registry URL '{}' has no host", url);
  }
  auto client = std::make_unique<httplib::Client>(origin);
  if (!client->is_valid()) return InvalidArgumentF("schema registry URL '{}' is not valid", url);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(10, 0);
  client->set_write_timeout(10, 0);
  client->set_default_headers({{"Accept", kContentType}});
  if (!user_info.empty()) {
    const size_t colon = user_info.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentF("schema registry basic-auth user-info must be 'user:password'");
    }
    client->set_basic_auth(std::string(user_info.substr(0, colon)),
                           std::string(user_info.substr(colon + 1)));
  }
  return std::unique_ptr<SchemaRegistryClient>(
      new SchemaRegistryClient(std::move(u), std::move(prefix), std::move(client)));
}

absl::StatusOr<std::string> SchemaRegistryClient::Call(const std::string& path,
                                                       const std::string* body) {
  const std::string full = prefix_ + path;
  httplib::Result r = body == nullptr ? http_->Get(full)
                                      : http_->Post(full, *body, kContentType);
  const char* method = body == nullptr ? "GET" : "POST";
  if (!r) {
    const httplib::Error e = r.error();
    const std::string why = e == httplib::Error::Connection ? "cannot connect"
                            : e == httplib::Error::Read     ? "no answer (read failed or timed out)"
                                                            : httplib::to_string(e);
    return UnavailableF("schema registry {}: {} {} failed: {}", url_, method, path, why);
  }
  const int status = r->status;
  if (status == 200) return r->body;
  const std::string why = RegistryMessage(r->body);
  if (status == 404) {
    return NotFoundF("schema registry {}: {} {}: {}", url_, method, path, why);
  }
  if (status == 409 || status == 422) {
    return InvalidArgumentF("schema registry {}: {} {} refused the schema (HTTP {}): {}", url_,
                            method, path, status, why);
  }
  if (status >= 500) {
    return UnavailableF("schema registry {}: {} {}: HTTP {}: {}", url_, method, path, status, why);
  }
  return InternalF("schema registry {}: {} {}: HTTP {}: {}", url_, method, path, status, why);
}

absl::StatusOr<std::string> SchemaRegistryClient::SchemaById(int32_t id) {
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  const std::string path = "/schemas/ids/" + std::to_string(id);
  ASSIGN_OR_RETURN(std::string body, Call(path, nullptr));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string()) {
    return InternalF("schema registry {}: GET {}: the answer has no \"schema\" string", url_, path);
  }
  if (j.contains("schemaType") && j["schemaType"] != "AVRO") {
    return InvalidArgumentF("schema registry {}: schema id {} is {}, not Avro", url_, id,
                            j["schemaType"].dump());
  }
  if (by_id_.size() >= kMaxCachedSchemas) by_id_.clear();
  return by_id_.emplace(id, j["schema"].get<std::string>()).first->second;
}

absl::StatusOr<std::vector<std::string>> SchemaRegistryClient::Subjects() {
  ASSIGN_OR_RETURN(std::string body, Call("/subjects", nullptr));
  json j = json::parse(body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const json& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
    if (out.size() == j.size()) return out;
  }
  return InternalF("schema registry {}: GET /subjects: expected a list of names", url_);
}

absl::StatusOr<std::vector<int32_t>> SchemaRegistryClient::Versions(std::string_view subject) {
  const std::string path = "/subjects/" + EncodeSegment(subject) + "/versions";
  ASSIGN_OR_RETURN(std::string body, Call(path, nullptr));
  json j = json::parse(body, nullptr, false);
  std::vector<int32_t> out;
  if (j.is_array()) {
    for (const json& v : j) {
      if (v.is_number_integer()) out.push_back(v.get<int32_t>());
    }
    if (out.size() == j.size()) return out;
  }
  return InternalF("schema registry {}: GET {}: expected a list of version numbers", url_, path);
}

absl::StatusOr<RegisteredSchema> SchemaRegistryClient::Latest(std::string_view subject) {
  const std::string path = "/subjects/" + EncodeSegment(subject) + "/versions/latest";
  ASSIGN_OR_RETURN(std::string body, Call(path, nullptr));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string() ||
      !j.contains("id") || !j["id"].is_number_integer()) {
    return InternalF("schema registry {}: GET {}: expected {{\"id\", \"schema\", ...}}", url_, path);
  }
  if (j.contains("schemaType") && j["schemaType"] != "AVRO") {
    return InvalidArgumentF("schema registry {}: subject '{}' holds a {} schema, not Avro", url_,
                            subject, j["schemaType"].dump());
  }
  RegisteredSchema out;
  out.subject = std::string(subject);
  out.version = j.value("version", 0);
  out.id = j["id"].get<int32_t>();
  out.schema = j["schema"].get<std::string>();
  return out;
}

absl::StatusOr<int32_t> SchemaRegistryClient::Register(std::string_view subject,
                                                       std::string_view schema) {
  const std::string path = "/subjects/" + EncodeSegment(subject) + "/versions";
  const std::string request = json{{"schema", schema}}.dump();
  ASSIGN_OR_RETURN(std::string body, Call(path, &request));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) {
    return InternalF("schema registry {}: POST {}: expected {{\"id\": n}}", url_, path);
  }
  return j["id"].get<int32_t>();
}

}  // namespace sluice::formats
