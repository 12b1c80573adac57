/*
 * Function registries: a names blob (uint16 count, NUL-terminated names, an empty name at the
 * end) and a parallel array of packed functions. Generated system libraries emit one statically.
 */
#ifndef TVM_RUNTIME_CRT_FUNC_REGISTRY_H_
#define TVM_RUNTIME_CRT_FUNC_REGISTRY_H_

#include <stddef.h>
#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tvm_function_index_t;
typedef uint16_t tvm_module_index_t;

typedef struct TVMFuncRegistry {
  const char* names;
  const TVMBackendPackedCFunc* funcs;
} TVMFuncRegistry;

/* Number of callable functions (the count in the blob). */
uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg);
/* Index of `name` (scans the names blob). */
tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index);
/* Function at `index`, bounded by the count. */
tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg,
                                           tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func);
/* Name at `index`, or NULL. */
const char* TVMFuncRegistry_GetName(const TVMFuncRegistry* reg, tvm_function_index_t index);

/* A registry built at run time inside a caller-supplied buffer. */
typedef struct TVMMutableFuncRegistry {
  TVMFuncRegistry registry;
  size_t max_functions; /* capacity of the function-pointer table */
  size_t names_capacity; /* bytes available for the names blob */
} TVMMutableFuncRegistry;

tvm_crt_error_t TVMMutableFuncRegistry_Create(TVMMutableFuncRegistry* reg, uint8_t* buffer,
                                              size_t buffer_size_bytes);
tvm_crt_error_t TVMMutableFuncRegistry_Set(TVMMutableFuncRegistry* reg, const char* name,
                                           TVMBackendPackedCFunc func, int override);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_FUNC_REGISTRY_H_ */
