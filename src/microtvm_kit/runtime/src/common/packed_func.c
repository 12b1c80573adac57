/* Fixed-capacity argument lists for packed calls. */
#include <string.h>
#include <tvm/runtime/crt/packed_func.h>

tvm_crt_error_t TVMArgs_Create(TVMArgs* out, const TVMValue* values, const int* tcodes,
                               int num_args) {
  int i;
  if (num_args < 0 || num_args > TVM_CRT_PACKED_FUNC_MAX_ARGS) {
    return kTvmErrorFunctionCallNumArguments;
  }
  for (i = 0; i < TVM_CRT_PACKED_FUNC_MAX_ARGS; i++) {
    out->values[i].v_int64 = 0;
    out->tcodes[i] = kTVMNullptr;
  }
  if (num_args > 0) {
    memcpy(out->values, values, sizeof(TVMValue) * (size_t)num_args);
    memcpy(out->tcodes, tcodes, sizeof(int) * (size_t)num_args);
  }
  out->num_args = num_args;
  return kTvmErrorNoError;
}
