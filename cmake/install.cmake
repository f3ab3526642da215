# `cmake --install build --prefix P`: the deployment files beside the binaries (installed by
# cmake/daemons.cmake and client/CMakeLists.txt) and the C++ API (include/CMakeLists.txt).
#
#   P/etc/sluice/config.yaml          the example configuration (deploy/config/config.yaml)
#   P/share/doc/sluice/               README.md and docs/*.md
#   P/share/sluice/examples/          example job specs, SQL, and the sample data
#   P/lib/systemd/system/             sluice-jobmanager.service, sluice-taskmanager.service
#
# Included at the end of the top-level CMakeLists.txt. Checked by
# tests/integration/deploy_test.py.
include(GNUInstallDirs)

# systemd's unit directory below the prefix (Debian: /lib/systemd/system for packages,
# /usr/local/lib/systemd/system for local installs); not a GNUInstallDirs variable.
set(SLUICE_INSTALL_SYSTEMDUNITDIR "lib/systemd/system" CACHE STRING
    "Directory of the systemd units, relative to the install prefix")

install(FILES ${PROJECT_SOURCE_DIR}/deploy/config/config.yaml
        DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/sluice)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")

# Examples keep their relative layout: the specs read data/..., the SQL ../data/....
set(_sluice_examples ${PROJECT_SOURCE_DIR}/examples)
file(GLOB _sluice_example_specs CONFIGURE_DEPENDS ${_sluice_examples}/*.yaml)
install(FILES ${_sluice_example_specs} DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/examples)
install(DIRECTORY ${_sluice_examples}/sql DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/examples)
install(FILES ${_sluice_examples}/data/README.md ${_sluice_examples}/data/flights-2001-01.csv.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sluice/examples/data)

install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/sluice-jobmanager.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/sluice-taskmanager.service
        DESTINATION ${SLUICE_INSTALL_SYSTEMDUNITDIR})

# bash completion of the sluice CLI (bash-completion's directory below the prefix).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/completion/sluice.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sluice)
