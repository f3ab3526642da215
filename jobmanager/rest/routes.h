#pragma once
// The REST API's route groups, each registering Flink REST API v1 paths on the router.

#include <string>
#include <utility>
#include <vector>

#include "runtime/http/router.h"

namespace sluice::jobmanager {

class RestBackend;

namespace rest {

// /overview, /config, /taskmanagers, /taskmanagers/:id, /jobmanager/config (the entries
// `jobmanager_config` points to, read at each request).
void AddClusterRoutes(http::Router& router, RestBackend* backend,
                      const std::vector<std::pair<std::string, std::string>>* jobmanager_config);
// GET /jobs..., job and vertex details, checkpoints, exceptions, metrics.
void AddJobRoutes(http::Router& router, RestBackend* backend);
// /jobmanager/metrics, /jobs/metrics, /taskmanagers/:id/metrics, GET /metrics (Prometheus).
void AddMetricsRoutes(http::Router& router, RestBackend* backend);
// /jobs/:jobid/vertices/:vertexid and below.
void AddVertexRoutes(http::Router& router, RestBackend* backend);
// Cancel, savepoints, stop, manual checkpoints, savepoint disposal.
void AddControlRoutes(http::Router& router, RestBackend* backend);

}  // namespace rest
}  // namespace sluice::jobmanager
