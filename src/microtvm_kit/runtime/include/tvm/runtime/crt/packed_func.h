/* Helpers for calling packed functions with a fixed-capacity argument list. */
#ifndef TVM_RUNTIME_CRT_PACKED_FUNC_H_
#define TVM_RUNTIME_CRT_PACKED_FUNC_H_

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/crt/error_codes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capacity of TVMArgs; matches the default TVM_CRT_MAX_ARGS. */
#define TVM_CRT_PACKED_FUNC_MAX_ARGS 10

typedef struct {
  TVMValue values[TVM_CRT_PACKED_FUNC_MAX_ARGS];
  int tcodes[TVM_CRT_PACKED_FUNC_MAX_ARGS];
  int num_args;
} TVMArgs;

/* Builds TVMArgs; fails with kTvmErrorFunctionCallNumArguments when too many. Unused type
 * codes are filled with kTVMNullptr so callees may read all entries. */
tvm_crt_error_t TVMArgs_Create(TVMArgs* out, const TVMValue* values, const int* tcodes,
                               int num_args);

#ifdef __cplusplus
}
#endif
#endif /* TVM_RUNTIME_CRT_PACKED_FUNC_H_ */
