/* Runtime-internal interfaces shared between components (not for application code). */
#ifndef TVM_RUNTIME_CRT_INTERNAL_COMMON_H_
#define TVM_RUNTIME_CRT_INTERNAL_COMMON_H_

#include <stdint.h>
#include <tvm/runtime/c_backend_api.h>
#include <tvm/runtime/crt/module.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Module slot used for time-evaluator function handles. */
#define TVM_CRT_TIME_EVALUATOR_SLOT 0x7fff

/* Handle encodings (16-bit parts with bit 15 set). */
#define TVM_CRT_MODULE_HANDLE(slot) ((uintptr_t)(0x8000u | (unsigned)(slot)))
#define TVM_CRT_FUNC_HANDLE(slot, idx) \
  ((uintptr_t)((((uint32_t)0x8000u | (uint32_t)(slot)) << 16) | (0x8000u | (uint32_t)(idx))))

/* Registers a module with a callback run when the host frees it (NULL: none). */
int TVMModCreateFromCModuleEx(const TVMModule* mod, void (*on_free)(const TVMModule* mod),
                              TVMModuleHandle* out_handle);
/* The module behind a handle, or NULL (sets the last error) if it is not registered. */
const TVMModule* TVMModuleFromHandle(TVMModuleHandle handle);

/* Time evaluator (src/common/time_evaluator.c). */
int TVMTimeEvaluatorCreate(TVMValue* args, int* type_codes, int num_args, TVMValue* ret_val,
                           int* ret_type_code, void* resource_handle);
int TVMTimeEvaluatorCall(uint16_t counter, TVMValue* args, int* type_codes, int num_args,
                         TVMValue* ret_val, int* ret_type_code);

/* Marks the parameters of a packed function that does not use them (parameters named args,
 * codes, num_args, ret, ret_code, res). */
#define TVM_CRT_UNUSED_PACKED_ARGS() \
  (void)args;                        \
  (void)codes;                       \
  (void)num_args;                    \
  (void)ret;                         \
  (void)ret_code;                    \
  (void)res

/* Copies `src` into `dst` limited to dst_size (always terminated). */
void TVMStrCopy(char* dst, size_t dst_size, const char* src);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_INTERNAL_COMMON_H_ */
