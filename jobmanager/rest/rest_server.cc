#include "jobmanager/rest/rest_server.h"

#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/routes.h"
#include "jobmanager/rest/sql_routes.h"
#include "jobmanager/rest/web_assets.h"

namespace sluice::jobmanager {

RestServer::RestServer(RestBackend* backend, http::HttpServerOptions options,
                       std::string jobmanager_log_dir, rest::TaskManagerLogs* taskmanager_logs)
    : jobmanager_log_dir_(std::move(jobmanager_log_dir)), server_(&router_, options) {
  router_.set_error_renderer(&rest::RenderError);
  rest::AddClusterRoutes(router_, backend, &jobmanager_config_);
  rest::AddJobRoutes(router_, backend);
  rest::AddVertexRoutes(router_, backend);
  rest::AddMetricsRoutes(router_, backend);
  rest::AddControlRoutes(router_, backend);
  rest::AddLogRoutes(router_, &jobmanager_log_dir_, taskmanager_logs);
  rest::AddWebRoutes(router_);
  AddSqlRoutes(router_);
}

RestServer::~RestServer() { Stop(); }

absl::Status RestServer::Start(const std::string& host, int port) {
  return server_.Start(host, port);
}

}  // namespace sluice::jobmanager
