#include "runtime/http/router.h"

#include <unistd.h>

#include <exception>
#include <utility>

#include "fmt/format.h"

namespace sluice::http {
namespace {

constexpr std::pair<std::string_view, Method> kMethods[] = {
    {"GET", Method::kGet},        {"HEAD", Method::kHead},   {"POST", Method::kPost},
    {"PUT", Method::kPut},        {"PATCH", Method::kPatch}, {"DELETE", Method::kDelete},
    {"OPTIONS", Method::kOptions}};

// True when route `a` is preferred over `b`: the first segment where one is literal and the
// other a parameter decides.
template <typename Segments>
bool MoreSpecific(const Segments& a, const Segments& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].param != b[i].param) return !a[i].param;
  }
  return false;
}

}  // namespace

Method ParseMethod(std::string_view name) {
  for (const auto& [text, method] : kMethods) {
    if (text == name) return method;
  }
  return Method::kOther;
}

std::string_view MethodName(Method m) {
  for (const auto& [text, method] : kMethods) {
    if (method == m) return text;
  }
  return "OTHER";
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string_view Request::PathParam(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Request::Query(std::string_view name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Request::Header(std::string_view lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

Router::Router()
    : render_error_([](int status, std::string_view message, Response* res) {
        res->Set(status, std::string(message) + "\n", "text/plain; charset=utf-8");
      }) {}

std::vector<std::string_view> Router::SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

void Router::Add(Method method, std::string_view path_template, Handler handler) {
  for (Route& r : routes_) {
    if (r.path_template == path_template) {
      r.handlers.emplace_back(method, std::move(handler));
      return;
    }
  }
  Route route;
  route.path_template = std::string(path_template);
  for (std::string_view part : SplitPath(path_template)) {
    if (part.front() == ':') {
      route.segments.push_back(Segment{std::string(part.substr(1)), true});
    } else {
      route.segments.push_back(Segment{std::string(part), false});
    }
  }
  route.handlers.emplace_back(method, std::move(handler));
  routes_.push_back(std::move(route));
}

const Router::Route* Router::Match(const std::vector<std::string_view>& parts) const {
  const Route* best = nullptr;
  for (const Route& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      ok = r.segments[i].param || r.segments[i].text == parts[i];
    }
    if (ok && (best == nullptr || MoreSpecific(r.segments, best->segments))) best = &r;
  }
  return best;
}

void Router::Dispatch(Request* request, Response* response) const {
  const std::vector<std::string_view> parts = SplitPath(request->path);
  const Route* route = Match(parts);
  if (route == nullptr) {
    return render_error_(404, fmt::format("Not found: {}", request->path), response);
  }
  const Method wanted = request->method == Method::kHead ? Method::kGet : request->method;
  const Handler* handler = nullptr;
  std::string allow;
  for (const auto& [method, h] : route->handlers) {
    if (method == wanted) handler = &h;
    if (!allow.empty()) allow += ", ";
    allow += MethodName(method);
  }
  if (handler == nullptr) {
    render_error_(405,
                  fmt::format("Method {} is not allowed on {} (allowed: {})",
                              MethodName(request->method), request->path, allow),
                  response);
    response->headers.emplace_back("Allow", allow);
    return;
  }
  request->path_params.clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (route->segments[i].param) {
      request->path_params.emplace(route->segments[i].text, std::string(parts[i]));
    }
  }
  try {
    (*handler)(*request, response);
  } catch (const std::exception& e) {
    *response = Response();
    render_error_(500,
                  fmt::format("Internal error serving {} {}: {}", MethodName(request->method),
                              request->path, e.what()),
                  response);
  }
}

}  // namespace sluice::http
