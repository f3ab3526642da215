# The daemon binaries (their main.cc live beside their libraries). Included by
# jobmanager/CMakeLists.txt or client/CMakeLists.txt, whichever comes first; a second include
# is a no-op.
if(TARGET sluice-jobmanager)
  return()
endif()

sluice_cc_binary(NAME sluice-jobmanager
  SRCS ${PROJECT_SOURCE_DIR}/jobmanager/main.cc
  DEPS sluice::jobmanager sluice::config sluice::base CLI11::CLI11 yaml-cpp)

sluice_cc_binary(NAME sluice-taskmanager
  SRCS ${PROJECT_SOURCE_DIR}/taskmanager/main.cc
  DEPS sluice::taskmanager sluice::config sluice::base CLI11::CLI11 yaml-cpp)
