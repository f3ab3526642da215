#include "runtime/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::http {
namespace {

// Per-request state between libmicrohttpd's calls of the access handler.
struct Exchange {
  Request request;
  bool responded = false;   // a response (413) was queued before the body was read
  bool too_large = false;   // a chunked body passed the limit: 413 once it ended
  uint64_t discarded = 0;   // bytes of such a body
};

MHD_Result CollectValue(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* map = static_cast<std::map<std::string, std::string, std::less<>>*>(cls);
  if (key != nullptr) (*map)[key] = value == nullptr ? "" : value;
  return MHD_YES;
}

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* map = static_cast<std::map<std::string, std::string, std::less<>>*>(cls);
  if (key == nullptr) return MHD_YES;
  std::string name(key);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  (*map)[name] = value == nullptr ? "" : value;
  return MHD_YES;
}

std::string ClientAddress(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof(text));
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

MHD_Response* CreateResponse(Response& res) {
  if (res.body_file.get() >= 0) {
    struct stat st {};
    if (::fstat(res.body_file.get(), &st) != 0) return nullptr;
    // Takes the descriptor: libmicrohttpd closes it with the response.
    return MHD_create_response_from_fd64(static_cast<uint64_t>(st.st_size), res.body_file.release());
  }
  return MHD_create_response_from_buffer(res.body.size(), const_cast<char*>(res.body.data()),
                                         MHD_RESPMEM_MUST_COPY);
}

MHD_Result Send(MHD_Connection* connection, Response& res) {
  MHD_Response* response = CreateResponse(res);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type.c_str());
  for (const auto& [name, value] : res.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(res.status), response);
  MHD_destroy_response(response);
  return queued;
}

MHD_Result SendError(const HttpServer& server, MHD_Connection* connection, int status,
                     std::string_view message) {
  Response res;
  server.router().error_renderer()(status, message, &res);
  if (status == 413) res.headers.emplace_back("Connection", "close");  // the body is unread
  return Send(connection, res);
}

std::string TooLarge(const HttpServer& server) {
  return fmt::format("request body larger than {} bytes (rest.server.max-content-length)",
                     server.options().max_body_bytes);
}

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                     const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                     void** request_state) {
  auto* server = static_cast<HttpServer*>(cls);
  auto* exchange = static_cast<Exchange*>(*request_state);
  const int64_t limit = server->options().max_body_bytes;
  if (exchange == nullptr) {
    // First call: headers are complete, no body has been read.
    auto fresh = std::make_unique<Exchange>();
    fresh->request.method = ParseMethod(method);
    fresh->request.path = url == nullptr ? "/" : url;
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectValue,
                              &fresh->request.query);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &fresh->request.headers);
    fresh->request.client_address = ClientAddress(connection);
    *request_state = fresh.get();
    exchange = fresh.release();
    std::string_view length = exchange->request.Header("content-length");
    if (!length.empty()) {
      errno = 0;
      char* end = nullptr;
      unsigned long long declared = std::strtoull(std::string(length).c_str(), &end, 10);
      if (errno != 0 || declared > static_cast<unsigned long long>(limit)) {
        exchange->responded = true;
        return SendError(*server, connection, 413, TooLarge(*server));
      }
      exchange->request.body.reserve(declared);
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    const size_t size = *upload_data_size;
    *upload_data_size = 0;
    if (exchange->too_large) {
      // libmicrohttpd answers only once the body is in; the rest is discarded unread, and a
      // body that goes on far beyond the limit closes the connection.
      exchange->discarded += size;
      return exchange->discarded > 4 * static_cast<uint64_t>(limit) ? MHD_NO : MHD_YES;
    }
    if (exchange->request.body.size() + size > static_cast<size_t>(limit)) {
      // A chunked body that grew past the limit: drop what was read.
      exchange->too_large = true;
      exchange->discarded = exchange->request.body.size() + size;
      exchange->request.body = std::string();
      return MHD_YES;
    }
    exchange->request.body.append(upload_data, size);
    return MHD_YES;
  }
  if (exchange->too_large) return SendError(*server, connection, 413, TooLarge(*server));
  if (exchange->responded) return MHD_YES;
  Response response;
  server->router().Dispatch(&exchange->request, &response);
  return Send(connection, response);
}

void OnCompleted(void*, MHD_Connection*, void** request_state, MHD_RequestTerminationCode) {
  delete static_cast<Exchange*>(*request_state);
  *request_state = nullptr;
}

void LogFromLibrary(void*, const char* format, va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof(line), format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  spdlog::debug("http: {}", text);
}

// A listening socket bound to host:port, without SO_REUSEPORT (a second daemon on the same port
// must fail, not share it). Returns the fd or an error.
absl::StatusOr<int> Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) return InvalidArgumentF("cannot resolve '{}': {}", host, gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) return fd;
    last_error = std::strerror(errno);
    close(fd);
  }
  return UnavailableF("cannot bind {}:{} ({})", host, port, last_error);
}

int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

}  // namespace

HttpServer::HttpServer(const Router* router, HttpServerOptions options)
    : router_(router), options_(options) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start(const std::string& host, int port) {
  if (daemon_ != nullptr) return FailedPreconditionF("HTTP server already serves port {}", port_);
  ASSIGN_OR_RETURN(int fd, Listen(host, port));
  const unsigned idle_s =
      static_cast<unsigned>(std::max<int64_t>(1, (options_.idle_timeout_ms + 999) / 1000));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &OnRequest, this,                                       //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),                              //
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(std::max(1, options_.threads)),  //
      MHD_OPTION_CONNECTION_TIMEOUT, idle_s,                                              //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      static_cast<unsigned>(std::max(0, options_.connections_per_address)),  //
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(std::max(1, options_.max_connections)),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<size_t>(std::max<int64_t>(8 << 10, options_.connection_memory_bytes)),  //
      MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr,                                 //
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromLibrary, nullptr,                               //
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    close(fd);
    return UnavailableF("cannot start the HTTP server on {}:{}", host, port);
  }
  port_ = BoundPort(fd);
  spdlog::debug("HTTP server bound to {}:{}", host, port_);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (daemon_ == nullptr) return;
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace sluice::http
