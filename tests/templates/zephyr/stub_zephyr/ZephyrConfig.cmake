# A stand-in for Zephyr's CMake package (ZEPHYR_BASE points here in the tests): enough for a
# Zephyr application to configure. It checks what Zephyr would need (BOARD, prj.conf), creates
# the `app` target, and writes what the application gave it to stub_app.txt.
if(NOT BOARD)
  message(FATAL_ERROR "stub Zephyr: BOARD is not set")
endif()
if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/prj.conf)
  message(FATAL_ERROR "stub Zephyr: the application has no prj.conf")
endif()
set(Zephyr_FOUND TRUE)
add_library(app STATIC)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/stub_app.txt CONTENT
"board=${BOARD}
sources=$<JOIN:$<TARGET_PROPERTY:app,SOURCES>,;>
include_dirs=$<JOIN:$<TARGET_PROPERTY:app,INCLUDE_DIRECTORIES>,;>
definitions=$<JOIN:$<TARGET_PROPERTY:app,COMPILE_DEFINITIONS>,;>
")
