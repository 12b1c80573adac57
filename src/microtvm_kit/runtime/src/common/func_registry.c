/*
 * Function registries: lookups in a names blob and a registry built at run time (the global
 * registry). Blob: uint16 count (little-endian), NUL-terminated names, then an empty name.
 */
#include <string.h>
#include <tvm/runtime/crt/func_registry.h>

uint16_t TVMFuncRegistry_GetNumFuncs(const TVMFuncRegistry* reg) {
  const uint8_t* p = (const uint8_t*)reg->names;
  return (uint16_t)(p[0] | (p[1] << 8));
}

/* First name: right after the two count bytes. */
static const char* FirstName(const TVMFuncRegistry* reg) { return reg->names + 2; }

tvm_crt_error_t TVMFuncRegistry_Lookup(const TVMFuncRegistry* reg, const char* name,
                                       tvm_function_index_t* function_index) {
  const char* cur = FirstName(reg);
  uint16_t count = TVMFuncRegistry_GetNumFuncs(reg);
  tvm_function_index_t idx = 0;
  /* Only names that are also callable (index < count) are reported as found, so a blob whose
   * count is smaller than its name list cannot hand out uncallable indices. */
  while (*cur != '\0' && idx < count) {
    if (strcmp(cur, name) == 0) {
      *function_index = idx;
      return kTvmErrorNoError;
    }
    cur += strlen(cur) + 1;
    idx++;
  }
  return kTvmErrorFunctionNameNotFound;
}

const char* TVMFuncRegistry_GetName(const TVMFuncRegistry* reg, tvm_function_index_t index) {
  const char* cur = FirstName(reg);
  tvm_function_index_t idx = 0;
  if (index >= TVMFuncRegistry_GetNumFuncs(reg)) return NULL;
  while (*cur != '\0') {
    if (idx == index) return cur;
    cur += strlen(cur) + 1;
    idx++;
  }
  return NULL;
}

tvm_crt_error_t TVMFuncRegistry_GetByIndex(const TVMFuncRegistry* reg,
                                           tvm_function_index_t index,
                                           TVMBackendPackedCFunc* out_func) {
  if (index >= TVMFuncRegistry_GetNumFuncs(reg)) return kTvmErrorFunctionIndexInvalid;
  *out_func = reg->funcs[index];
  return kTvmErrorNoError;
}

/* Bytes per entry used to size the pointer table: a pointer plus an average name budget. */
#define TVM_MUTABLE_REGISTRY_NAME_BUDGET 11

tvm_crt_error_t TVMMutableFuncRegistry_Create(TVMMutableFuncRegistry* reg, uint8_t* buffer,
                                              size_t buffer_size_bytes) {
  size_t max_funcs;
  size_t table_bytes;
  uintptr_t table_start;
  if (buffer_size_bytes < 3 + TVM_MUTABLE_REGISTRY_NAME_BUDGET + sizeof(void*)) {
    return kTvmErrorBufferTooSmall;
  }
  max_funcs = buffer_size_bytes / (TVM_MUTABLE_REGISTRY_NAME_BUDGET + sizeof(void*));
  table_bytes = max_funcs * sizeof(TVMBackendPackedCFunc);
  /* The pointer table sits at the end of the buffer, aligned down to pointer size. */
  table_start = ((uintptr_t)(buffer + buffer_size_bytes) - table_bytes) &
                ~(uintptr_t)(sizeof(void*) - 1);
  if (table_start < (uintptr_t)buffer + 3) return kTvmErrorBufferTooSmall;
  reg->registry.names = (const char*)buffer;
  reg->registry.funcs = (const TVMBackendPackedCFunc*)table_start;
  reg->max_functions = max_funcs;
  reg->names_capacity = (size_t)(table_start - (uintptr_t)buffer);
  buffer[0] = 0;
  buffer[1] = 0;
  buffer[2] = 0; /* the terminating empty name */
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMMutableFuncRegistry_Set(TVMMutableFuncRegistry* reg, const char* name,
                                           TVMBackendPackedCFunc func, int override) {
  tvm_function_index_t idx;
  uint16_t count = TVMFuncRegistry_GetNumFuncs(&reg->registry);
  char* names = (char*)reg->registry.names;
  TVMBackendPackedCFunc* funcs = (TVMBackendPackedCFunc*)reg->registry.funcs;
  size_t used;
  size_t name_len = strlen(name);
  const char* cur;

  if (name_len == 0) return kTvmErrorFunctionCallInvalidArg;
  if (TVMFuncRegistry_Lookup(&reg->registry, name, &idx) == kTvmErrorNoError) {
    if (!override) return kTvmErrorFunctionAlreadyDefined;
    funcs[idx] = func;
    return kTvmErrorNoError;
  }
  if (count >= reg->max_functions) return kTvmErrorFunctionRegistryFull;
  /* Find the end of the names (the position of the empty terminating name). */
  cur = names + 2;
  while (*cur != '\0') cur += strlen(cur) + 1;
  used = (size_t)(cur - names);
  /* Need room for the name, its NUL and the final empty name, strictly inside the blob area. */
  if (used + name_len + 2 > reg->names_capacity) return kTvmErrorFunctionRegistryFull;
  memcpy(names + used, name, name_len + 1);
  names[used + name_len + 1] = '\0';
  funcs[count] = func;
  count++;
  names[0] = (char)(count & 0xff);
  names[1] = (char)(count >> 8);
  return kTvmErrorNoError;
}
