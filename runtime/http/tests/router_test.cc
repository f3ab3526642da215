#include "runtime/http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace sluice::http {
namespace {

Response Call(const Router& router, Method method, std::string path) {
  Request req;
  req.method = method;
  req.path = std::move(path);
  Response res;
  router.Dispatch(&req, &res);
  return res;
}

TEST(Router, LiteralSegmentBeatsParameterWhateverTheOrder) {
  Router router;
  router.Get("/jobs/:jobid", [](const Request& req, Response* res) {
    res->body = "job " + std::string(req.PathParam("jobid"));
  });
  router.Get("/jobs/overview", [](const Request&, Response* res) { res->body = "overview"; });
  EXPECT_EQ(Call(router, Method::kGet, "/jobs/overview").body, "overview");
  EXPECT_EQ(Call(router, Method::kGet, "/jobs/abc").body, "job abc");
  EXPECT_EQ(Call(router, Method::kGet, "/jobs/abc/").body, "job abc");
}

TEST(Router, NamedSegmentsAreCaptured) {
  Router router;
  router.Get("/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex",
             [](const Request& req, Response* res) {
               res->body = std::string(req.PathParam("jobid")) + "|" +
                           std::string(req.PathParam("vertexid")) + "|" +
                           std::string(req.PathParam("subtaskindex"));
             });
  EXPECT_EQ(Call(router, Method::kGet, "/jobs/j/vertices/v/subtasks/3").body, "j|v|3");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Router router;
  router.Get("/overview", [](const Request&, Response* res) { res->body = "ok"; });
  router.Post("/overview", [](const Request&, Response* res) { res->body = "posted"; });
  Response missing = Call(router, Method::kGet, "/nothing/here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/nothing/here"), std::string::npos);
  Response wrong = Call(router, Method::kDelete, "/overview");
  EXPECT_EQ(wrong.status, 405);
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0].first, "Allow");
  EXPECT_EQ(wrong.headers[0].second, "GET, POST");
  EXPECT_NE(wrong.body.find("DELETE"), std::string::npos);
  EXPECT_EQ(Call(router, Method::kPost, "/overview").body, "posted");
  EXPECT_EQ(Call(router, Method::kHead, "/overview").body, "ok");  // HEAD served by GET
}

TEST(Router, ThrowingHandlerAnswers500WithTheMessage) {
  Router router;
  router.set_error_renderer([](int status, std::string_view message, Response* res) {
    res->Set(status, "E:" + std::string(message), "text/plain");
  });
  router.Get("/boom", [](const Request&, Response* res) {
    res->body = "partial";
    throw std::runtime_error("kaput");
  });
  Response res = Call(router, Method::kGet, "/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.rfind("E:", 0), 0u);
  EXPECT_NE(res.body.find("kaput"), std::string::npos);
  EXPECT_EQ(res.body.find("partial"), std::string::npos);
}

TEST(Router, ParsesMethodNames) {
  EXPECT_EQ(ParseMethod("PATCH"), Method::kPatch);
  EXPECT_EQ(ParseMethod("patch"), Method::kOther);
  EXPECT_EQ(MethodName(Method::kPut), "PUT");
}

}  // namespace
}  // namespace sluice::http
