# Checks the module graph (ARCHITECTURE.md "Module layout and dependencies") on the targets'
# declared dependencies: configuring fails, naming the path, when a target reaches a target it
# must not, directly or through others. Every module is one target with explicit DEPS
# (cmake/sluice.cmake), so a forbidden include cannot link without showing up here.

# Appends to `out_var` the chain "a -> b -> c" from `target` to `forbidden`, or nothing.
function(_sluice_dependency_path target forbidden visited_var out_var)
  set(visited ${${visited_var}})
  if(target IN_LIST visited)
    return()
  endif()
  list(APPEND visited ${target})
  set(${visited_var} ${visited} PARENT_SCOPE)
  if(NOT TARGET ${target})
    return()
  endif()
  get_target_property(aliased ${target} ALIASED_TARGET)
  if(aliased)
    set(target ${aliased})
  endif()
  if(target STREQUAL forbidden)
    set(${out_var} ${target} PARENT_SCOPE)
    return()
  endif()
  get_target_property(type ${target} TYPE)
  set(deps)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(link ${target} LINK_LIBRARIES)
    if(link)
      list(APPEND deps ${link})
    endif()
  endif()
  get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
  if(interface)
    list(APPEND deps ${interface})
  endif()
  foreach(dep ${deps})
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" dep "${dep}")
    if(dep MATCHES "^\\$<" OR NOT TARGET ${dep})
      continue()
    endif()
    _sluice_dependency_path(${dep} ${forbidden} visited found)
    set(${visited_var} ${visited} PARENT_SCOPE)
    if(found)
      set(${out_var} "${target} -> ${found}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

# sluice_forbid_dependency(TARGET t NOT dep... REASON "why")
function(sluice_forbid_dependency)
  cmake_parse_arguments(ARG "" "TARGET;REASON" "NOT" ${ARGN})
  foreach(forbidden ${ARG_NOT})
    if(TARGET ${forbidden})
      get_target_property(aliased ${forbidden} ALIASED_TARGET)
      if(aliased)
        set(forbidden ${aliased})
      endif()
    endif()
    set(visited)
    set(path)
    _sluice_dependency_path(${ARG_TARGET} ${forbidden} visited path)
    if(path)
      message(FATAL_ERROR "module graph: ${ARG_TARGET} must not depend on ${forbidden} "
                          "(${ARG_REASON}), but it does: ${path}")
    endif()
  endforeach()
endfunction()

sluice_forbid_dependency(TARGET sluice_graph NOT sluice_operators sluice_state RocksDB::rocksdb
  REASON "the JobGraph knows operator interfaces (runtime/api), not implementations")
sluice_forbid_dependency(TARGET sluice_checkpoint_coordinator NOT sluice_state RocksDB::rocksdb
  REASON "the checkpoint coordinator is pure decision logic")
sluice_forbid_dependency(TARGET sluice_connectors_kafka NOT sluice_connectors_file
  REASON "connectors share formats through runtime/formats, not through each other")
sluice_forbid_dependency(TARGET sluice_connectors_file NOT sluice_connectors_kafka
  REASON "connectors share formats through runtime/formats, not through each other")
sluice_forbid_dependency(TARGET sluice_connectors_nexmark_generator NOT sluice_core sluice_api
  sluice_operators
  REASON "the Nexmark generator is standalone: the benchmark loop runs it without the engine")
sluice_forbid_dependency(TARGET sluice_api NOT sluice_operators sluice_state
  REASON "the operator API is interfaces only")
foreach(daemon sluice-jobmanager sluice-taskmanager)
  sluice_forbid_dependency(TARGET ${daemon} NOT sluice_client
    REASON "daemons do not depend on the CLI")
endforeach()
sluice_forbid_dependency(TARGET sluice_jobmanager NOT sluice_taskmanager sluice_taskmanager_core
  REASON "the JobManager and the TaskManager never include each other")
sluice_forbid_dependency(TARGET sluice_taskmanager NOT sluice_jobmanager sluice_jobmanager_core
  REASON "the JobManager and the TaskManager never include each other")
foreach(core sluice_jobmanager_core sluice_taskmanager_core)
  sluice_forbid_dependency(TARGET ${core} NOT sluice_proto
    REASON "protobuf types stay in the service/ adapters")
endforeach()
