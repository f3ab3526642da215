# The daemon binaries (their main.cc live beside their libraries). Included by the top-level
# CMakeLists.txt after the daemons' libraries; the daemons depend on runtime/config, never on
# client/ (checked in cmake/module_graph.cmake).
sluice_cc_binary(NAME sluice-jobmanager
  SRCS ${PROJECT_SOURCE_DIR}/jobmanager/main.cc
  DEPS sluice::jobmanager sluice::config sluice::base CLI11::CLI11 yaml-cpp)

sluice_cc_binary(NAME sluice-taskmanager
  SRCS ${PROJECT_SOURCE_DIR}/taskmanager/main.cc
  DEPS sluice::taskmanager sluice::config sluice::base CLI11::CLI11 yaml-cpp)

install(TARGETS sluice-jobmanager sluice-taskmanager RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
