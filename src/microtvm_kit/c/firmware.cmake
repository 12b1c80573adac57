# What every firmware CMake project shares: C standard and flags, include directories, one static
# library per runtime component, the generated model code, and projectapi_add_firmware(NAME).
# Included by a template's CMakeLists.txt after config.cmake (written by generate_project).
set(CMAKE_C_STANDARD 99)
set(CMAKE_C_EXTENSIONS ON)  # generated code uses GNU attributes and zero-length arrays
set(CMAKE_C_FLAGS_RELEASE "-O2")
set(CMAKE_C_FLAGS_DEBUG "-O0 -g")
string(APPEND CMAKE_C_FLAGS " ${PROJECTAPI_C_FLAGS}")
add_compile_definitions(${PROJECTAPI_DEFINITIONS})
include_directories(
  ${CMAKE_CURRENT_SOURCE_DIR}/crt_config
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/include
  ${CMAKE_CURRENT_SOURCE_DIR}/glue
  ${CMAKE_CURRENT_SOURCE_DIR}/c)
# A runtime with C++ sources (TVM's RPC server is C++): C++17 without exceptions, RTTI or
# thread-safe statics (none is available on bare metal), with the target flags of the C sources.
if(PROJECTAPI_CRT_CXX)
  enable_language(CXX)
  set(CMAKE_CXX_STANDARD 17)
  set(CMAKE_CXX_FLAGS_RELEASE "-O2")
  set(CMAKE_CXX_FLAGS_DEBUG "-O0 -g")
  string(APPEND CMAKE_CXX_FLAGS
         " ${PROJECTAPI_C_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics")
endif()
if(PROJECTAPI_WERROR)
  add_compile_options(-Werror)
endif()
set(PROJECTAPI_MODEL_INCLUDE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/include)

# One static library per runtime component (named crt_<component>, which memory reports rely
# on), so only what the firmware uses is linked.
set(crt_libraries "")
foreach(component IN LISTS PROJECTAPI_CRT_COMPONENTS)
  add_library(crt_${component} STATIC ${PROJECTAPI_CRT_SOURCES_${component}})
  target_compile_options(crt_${component} PRIVATE -Wall)
  list(APPEND crt_libraries crt_${component})
endforeach()

# Generated model code: the diagnostics TVM's code generator is known to trigger are not errors
# (docs/generated-code.md), nor the assembler's note on the writable .rodata.tvm pool.
add_library(model_code OBJECT ${PROJECTAPI_MODEL_SOURCES})
target_include_directories(model_code PRIVATE ${PROJECTAPI_MODEL_INCLUDE_DIR})
target_compile_options(model_code PRIVATE -Wall -Wno-incompatible-pointer-types
                       -Wno-strict-aliasing -Wno-unused-variable
                       -Wno-unused-but-set-variable -Wa,-W)

# The firmware NAME: our sources (-Wall -Wextra), the model, and the runtime libraries, linked
# as a group because components depend on each other in no fixed order.
# Bare-metal firmware (PROJECTAPI_BARE_METAL) links a C++ runtime with the C driver and
# c/cxx_support.c instead of a C++ library.
function(projectapi_add_firmware name)
  add_executable(${name} ${PROJECTAPI_MAIN_SOURCES} $<TARGET_OBJECTS:model_code>)
  if(PROJECTAPI_CRT_CXX AND PROJECTAPI_BARE_METAL)
    target_sources(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/c/cxx_support.c)
    set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C)
  endif()
  target_include_directories(${name} PRIVATE ${PROJECTAPI_MODEL_INCLUDE_DIR})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_link_libraries(${name} PRIVATE -Wl,--start-group ${crt_libraries} -Wl,--end-group m)
endfunction()
