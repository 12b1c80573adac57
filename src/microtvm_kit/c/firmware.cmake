# What every firmware CMake project shares: C standard and flags, include directories, one static
# library per runtime component, the generated model code, and projectapi_add_firmware(NAME).
# Included by a template's CMakeLists.txt after config.cmake (written by generate_project).
# PROJECTAPI_CRT_DEFINITIONS apply to everything, PROJECTAPI_DEFINITIONS to the model and the
# firmware's own sources only, so the runtime libraries depend on as little as possible. With
# PROJECTAPI_CRT_PREBUILT_DIR (the runtime libraries) or PROJECTAPI_KIT_PREBUILT_DIR (the objects
# of the firmware's own sources, all but the model glue) set by microtvm_kit.runtime_cache, those
# are not compiled but taken from there.
set(CMAKE_C_STANDARD 99)
set(CMAKE_C_EXTENSIONS ON)  # generated code uses GNU attributes and zero-length arrays
set(CMAKE_C_FLAGS_RELEASE "-O2")
set(CMAKE_C_FLAGS_DEBUG "-O0 -g")
string(APPEND CMAKE_C_FLAGS " ${PROJECTAPI_C_FLAGS}")
add_compile_definitions(${PROJECTAPI_CRT_DEFINITIONS})
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
  if(PROJECTAPI_CRT_PREBUILT_DIR)
    add_library(crt_${component} STATIC IMPORTED)
    set_target_properties(crt_${component} PROPERTIES
                          IMPORTED_LOCATION ${PROJECTAPI_CRT_PREBUILT_DIR}/libcrt_${component}.a)
  else()
    add_library(crt_${component} STATIC ${PROJECTAPI_CRT_SOURCES_${component}})
    target_compile_options(crt_${component} PRIVATE -Wall)
  endif()
  list(APPEND crt_libraries crt_${component})
endforeach()

# Generated model code: the diagnostics TVM's code generator is known to trigger are not errors
# (docs/generated-code.md), nor the assembler's note on the writable .rodata.tvm pool.
add_library(model_code OBJECT ${PROJECTAPI_MODEL_SOURCES})
target_include_directories(model_code PRIVATE ${PROJECTAPI_MODEL_INCLUDE_DIR})
target_compile_definitions(model_code PRIVATE ${PROJECTAPI_DEFINITIONS})
target_compile_options(model_code PRIVATE -Wall -Wno-incompatible-pointer-types
                       -Wno-strict-aliasing -Wno-unused-variable
                       -Wno-unused-but-set-variable -Wa,-W)

# The firmware NAME: our sources (-Wall -Wextra; all but the glue compiled once as the
# projectapi_kit objects, or taken prebuilt), the glue, the model, and the runtime libraries,
# linked as a group because components depend on each other in no fixed order.
# Bare-metal firmware (PROJECTAPI_BARE_METAL) links a C++ runtime with the C driver and
# c/cxx_support.c instead of a C++ library.
function(projectapi_add_firmware name)
  if(PROJECTAPI_KIT_PREBUILT_DIR)
    file(GLOB kit_objects ${PROJECTAPI_KIT_PREBUILT_DIR}/*${CMAKE_C_OUTPUT_EXTENSION})
  else()
    add_library(projectapi_kit OBJECT ${PROJECTAPI_KIT_SOURCES})
    target_compile_definitions(projectapi_kit PRIVATE ${PROJECTAPI_DEFINITIONS})
    target_compile_options(projectapi_kit PRIVATE -Wall -Wextra)
    set(kit_objects $<TARGET_OBJECTS:projectapi_kit>)
  endif()
  add_executable(${name} ${kit_objects} ${PROJECTAPI_GLUE_SOURCES} $<TARGET_OBJECTS:model_code>)
  if(PROJECTAPI_CRT_CXX AND PROJECTAPI_BARE_METAL)
    target_sources(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/c/cxx_support.c)
    set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C)
  endif()
  target_include_directories(${name} PRIVATE ${PROJECTAPI_MODEL_INCLUDE_DIR})
  target_compile_definitions(${name} PRIVATE ${PROJECTAPI_DEFINITIONS})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_link_libraries(${name} PRIVATE -Wl,--start-group ${crt_libraries} -Wl,--end-group m)
endfunction()
