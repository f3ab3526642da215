#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "jobmanager/rest/rest_json.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/rest_views.h"
#include "jobmanager/rest/routes.h"

namespace sluice::jobmanager::rest {

void AddClusterRoutes(http::Router& router, RestBackend* backend,
                      const std::vector<std::pair<std::string, std::string>>* jobmanager_config) {
  router.Get("/overview", [backend](const http::Request&, http::Response* res) {
    auto jobs = backend->ListJobs();
    auto tms = backend->ListTaskManagers();
    int slots_total = 0, slots_free = 0;
    for (const auto& tm : tms.taskmanagers()) {
      slots_total += tm.slots_total();
      slots_free += tm.slots_free();
    }
    int running = 0, finished = 0, cancelled = 0, failed = 0;
    for (const auto& job : jobs.jobs()) {
      if (job.state() == "FINISHED") {
        ++finished;
      } else if (job.state() == "CANCELED") {
        ++cancelled;
      } else if (job.state() == "FAILED") {
        ++failed;
      } else {
        ++running;
      }
    }
    Reply(res, 200,
          Json{{"taskmanagers", tms.taskmanagers_size()},
               {"slots-total", slots_total},
               {"slots-available", slots_free},
               {"jobs-running", running},
               {"jobs-finished", finished},
               {"jobs-cancelled", cancelled},
               {"jobs-failed", failed},
               {"flink-version", kVersion},
               {"flink-commit", ""}});
  });

  router.Get("/config", [](const http::Request&, http::Response* res) {
    Reply(res, 200,
          Json{{"refresh-interval", 3000},
               {"timezone-name", "UTC"},
               {"timezone-offset", 0},
               {"flink-version", kVersion},
               {"flink-revision", ""},
               {"features", Json{{"web-submit", false},
                                 {"web-cancel", false},
                                 {"web-rescale", false},
                                 {"web-history", false}}}});
  });

  router.Get("/taskmanagers", [backend](const http::Request&, http::Response* res) {
    Json tms = Json::array();
    const v1::ListTaskManagersResponse list = backend->ListTaskManagers();
    for (const auto& tm : list.taskmanagers()) tms.push_back(TaskManagerJson(tm));
    Reply(res, 200, Json{{"taskmanagers", std::move(tms)}});
  });

  router.Get("/taskmanagers/:taskmanagerid", [backend](const http::Request& req,
                                                       http::Response* res) {
    const v1::ListTaskManagersResponse tms = backend->ListTaskManagers();
    for (const auto& tm : tms.taskmanagers()) {
      if (tm.resource_id() == req.PathParam("taskmanagerid")) {
        return Reply(res, 200, TaskManagerDetailsJson(tm));
      }
    }
    ReplyError(res, 404, fmt::format("TaskManager {} not found", req.PathParam("taskmanagerid")));
  });

  // Flink's ClusterConfigurationInfo: the JobManager's effective configuration as key/value.
  router.Get("/jobmanager/config", [jobmanager_config](const http::Request&, http::Response* res) {
    Json entries = Json::array();
    for (const auto& [key, value] : *jobmanager_config) {
      entries.push_back(Json{{"key", key}, {"value", value}});
    }
    Reply(res, 200, entries);
  });
}

}  // namespace sluice::jobmanager::rest
