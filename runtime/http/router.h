#pragma once
// Routes requests by method and path template to handlers, Flink's RestServerEndpoint style:
// templates are "/"-separated segments where ":name" matches any one non-empty segment
// ("/jobs/:jobid/vertices/:vertexid"). Where several templates match, the one with a literal
// segment earliest wins, so "/jobs/overview" beats "/jobs/:jobid" whatever the order of Add.
// A path that matches a template but not its methods answers 405 with an Allow header; a path
// that matches none answers 404. HEAD is served by the GET handler (the server drops the body).
// A handler that throws answers 500 with the exception's message; it never reaches the server.
//
// Thread safety: Add* before the server starts; Dispatch is then const and concurrent.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/http/http_types.h"

namespace sluice::http {

// Fills an error response: status plus a message naming what went wrong. The JobManager's REST
// API renders Flink's {"errors": [message]}.
using ErrorRenderer = std::function<void(int status, std::string_view message, Response*)>;

class Router {
 public:
  // Plain-text error bodies until set_error_renderer.
  Router();

  void Add(Method method, std::string_view path_template, Handler handler);
  void Get(std::string_view t, Handler h) { Add(Method::kGet, t, std::move(h)); }
  void Post(std::string_view t, Handler h) { Add(Method::kPost, t, std::move(h)); }
  void Put(std::string_view t, Handler h) { Add(Method::kPut, t, std::move(h)); }
  void Patch(std::string_view t, Handler h) { Add(Method::kPatch, t, std::move(h)); }
  void Delete(std::string_view t, Handler h) { Add(Method::kDelete, t, std::move(h)); }

  void set_error_renderer(ErrorRenderer renderer) { render_error_ = std::move(renderer); }
  const ErrorRenderer& error_renderer() const { return render_error_; }

  // Sets request->path_params and runs the matching handler, or renders 404/405.
  void Dispatch(Request* request, Response* response) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
  };
  struct Route {
    std::string path_template;
    std::vector<Segment> segments;
    std::vector<std::pair<Method, Handler>> handlers;
  };

  static std::vector<std::string_view> SplitPath(std::string_view path);
  // The best route matching `parts`, or nullptr.
  const Route* Match(const std::vector<std::string_view>& parts) const;

  std::vector<Route> routes_;
  ErrorRenderer render_error_;
};

}  // namespace sluice::http
