#pragma once
// Plain request/response values of Sluice's embedded HTTP servers (the JobManager's REST API and
// the daemons' Prometheus endpoints), independent of the server library (HttpServer is built on
// GNU libmicrohttpd). Handlers get a fully read Request and fill a Response.
//
// Thread safety: values; a handler owns the ones it is given for the duration of the call.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// "GET" -> kGet; anything unknown -> kOther. Method names are case-sensitive (RFC 9110 9.1).
Method ParseMethod(std::string_view name);
std::string_view MethodName(Method m);

struct Request {
  Method method = Method::kGet;
  std::string path;  // decoded path without the query string, e.g. "/jobs/overview"
  // Query arguments, decoded; a repeated name keeps the last value.
  std::map<std::string, std::string, std::less<>> query;
  // Named segments of the matched route ("/jobs/:jobid" -> {"jobid", "..."}); set by Router.
  std::map<std::string, std::string, std::less<>> path_params;
  // Header names lowercased.
  std::map<std::string, std::string, std::less<>> headers;
  std::string body;            // at most the server's max_body_bytes
  std::string client_address;  // numeric IP of the peer

  // Empty when absent.
  std::string_view PathParam(std::string_view name) const;
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const { return query.count(name) > 0; }
  std::string_view Header(std::string_view lowercase_name) const;
};

// An open file descriptor, closed on destruction (move-only).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When open, the body is this file from its start instead of `body`: the server sends it from
  // the descriptor (sendfile) without reading it into memory, and closes it.
  UniqueFd body_file;

  void Set(int s, std::string b, std::string type) {
    status = s;
    body = std::move(b);
    content_type = std::move(type);
  }
};

using Handler = std::function<void(const Request&, Response*)>;

}  // namespace sluice::http
