#include "jobmanager/rest/sql_routes.h"

#include <filesystem>

#include "jobmanager/rest/rest_json.h"
#include "nlohmann/json.hpp"
#include "runtime/sql/sql_compiler.h"

namespace sluice::jobmanager {
namespace {

using rest::Json;
using rest::Reply;

}  // namespace

void AddSqlRoutes(http::Router& router) {
  router.Post("/sql/validate", [](const http::Request& req, http::Response* res) {
    if (req.body.size() > kMaxSqlScriptBytes) {
      return rest::ReplyError(res, 413, "a SQL script is at most 1 MiB");
    }
    std::string script = req.body;
    std::string name = "script.sql";
    const bool json = req.Header("content-type").find("json") != std::string::npos;
    if (json) {
      Json body = Json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("script") ||
          !body["script"].is_string()) {
        return rest::ReplyError(res, 400,
                                "expected a JSON object with a string field 'script' (or the "
                                "script as a plain-text body)");
      }
      script = body["script"].get<std::string>();
      if (body.contains("name")) {
        if (!body["name"].is_string()) {
          return rest::ReplyError(res, 400, "field 'name' must be a string");
        }
        name = body["name"].get<std::string>();
      }
    }
    sql::SourceText source(name, std::move(script));
    std::error_code ec;
    const sql::CompiledSql c = sql::CompileSql(source, std::filesystem::current_path(ec).string());
    Json errors = Json::array();
    for (const sql::SqlProblem& p : c.problems) {
      errors.push_back(Json{{"line", p.line}, {"column", p.column}, {"message", p.message}});
    }
    Json out{{"valid", c.ok()}, {"errors", errors}, {"statements", c.statements},
             {"inserts", c.inserts}, {"explains", c.explains}};
    if (c.ok()) {
      out["logical-plan"] = c.logical_plan;
      out["job-plan"] = c.job_plan;
      out["spec"] = c.spec_yaml;
    }
    Reply(res, 200, out);
  });
}

}  // namespace sluice::jobmanager
