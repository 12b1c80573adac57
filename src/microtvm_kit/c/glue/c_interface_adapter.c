/* Packed run and metadata getter over a C-interface AOT model (c_interface_adapter.h). */
#include "c_interface_adapter.h"

#include <tvm/runtime/c_backend_api.h>

int32_t projectapi_packed_run(TVMValue* args, int* type_codes, int num_args, TVMValue* out_value,
                              int* out_type_code, void* resource_handle) {
  (void)type_codes;
  (void)out_value;
  (void)out_type_code;
  (void)resource_handle;
  if (num_args < projectapi_model_metadata.num_inputs + projectapi_model_metadata.num_outputs) {
    TVMAPISetLastError("run: fewer tensor arguments than the model's inputs and outputs");
    return -1;
  }
  return projectapi_call_model(args);
}

int32_t projectapi_get_c_metadata(TVMValue* args, int* type_codes, int num_args,
                                  TVMValue* ret_value, int* ret_code, void* resource_handle) {
  (void)args;
  (void)type_codes;
  (void)num_args;
  (void)resource_handle;
  ret_value[0].v_handle = (void*)&projectapi_model_metadata;
  ret_code[0] = kTVMOpaqueHandle;
  return 0;
}
