#pragma once
// A minimal Confluent Schema Registry stand-in for unit tests (a registry cannot be installed
// here): cpp-httplib serving the endpoints SchemaRegistryClient uses, on 127.0.0.1 and a free
// port, from memory. Registering an identical schema under a subject returns its id again.
// The e2e tests use the Python stand-in tests/testing/schema_registry.py instead.

#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace sluice::formats::testing {

class RegistryStandIn {
 public:
  RegistryStandIn() {
    server_.Get("/schemas/ids/(\\d+)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      const int id = std::stoi(req.matches[1]);
      if (id < 1 || id > static_cast<int>(schemas_.size())) return NotFound(res, 40403, "Schema not found");
      res.set_content(nlohmann::json{{"schema", schemas_[id - 1]}}.dump(), "application/json");
    });
    server_.Get("/subjects", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      nlohmann::json names = nlohmann::json::array();
      for (const auto& [s, ids] : subjects_) names.push_back(s);
      res.set_content(names.dump(), "application/json");
    });
    server_.Get("/subjects/([^/]+)/versions", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = subjects_.find(req.matches[1]);
      if (it == subjects_.end()) return NotFound(res, 40401, "Subject not found.");
      nlohmann::json versions = nlohmann::json::array();
      for (size_t v = 1; v <= it->second.size(); ++v) versions.push_back(v);
      res.set_content(versions.dump(), "application/json");
    });
    server_.Get("/subjects/([^/]+)/versions/latest", [this](const httplib::Request& req,
                                                             httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = subjects_.find(req.matches[1]);
      if (it == subjects_.end()) return NotFound(res, 40401, "Subject not found.");
      const int id = it->second.back();
      res.set_content(nlohmann::json{{"subject", it->first}, {"version", it->second.size()},
                                     {"id", id}, {"schema", schemas_[id - 1]}}.dump(),
                      "application/json");
    });
    server_.Post("/subjects/([^/]+)/versions", [this](const httplib::Request& req,
                                                       httplib::Response& res) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("schema") || !body["schema"].is_string()) {
        res.status = 422;
        res.set_content(R"({"error_code":42201,"message":"Invalid schema"})", "application/json");
        return;
      }
      res.set_content(nlohmann::json{{"id", Register(req.matches[1], body["schema"])}}.dump(),
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before listening began would leave the thread listening: wait for it (5 s deadline).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~RegistryStandIn() {
    server_.stop();
    thread_.join();
  }

  // Registers directly (as another producer would); returns the id.
  int Register(const std::string& subject, const std::string& schema) {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < schemas_.size(); ++i) {
      if (schemas_[i] == schema) {
        auto& ids = subjects_[subject];
        if (ids.empty() || ids.back() != static_cast<int>(i + 1)) ids.push_back(static_cast<int>(i + 1));
        return static_cast<int>(i + 1);
      }
    }
    schemas_.push_back(schema);
    subjects_[subject].push_back(static_cast<int>(schemas_.size()));
    return static_cast<int>(schemas_.size());
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  static void NotFound(httplib::Response& res, int code, const char* message) {
    res.status = 404;
    res.set_content(nlohmann::json{{"error_code", code}, {"message", message}}.dump(),
                    "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> schemas_;            // id - 1 -> schema
  std::map<std::string, std::vector<int>> subjects_;  // subject -> ids by version
};

}  // namespace sluice::formats::testing
