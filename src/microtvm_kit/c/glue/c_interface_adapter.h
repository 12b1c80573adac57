/* The packed face of an AOT model with the C interface, so the runtime's AOT executor can drive
 * it (docs/generated-code.md). The generated model_registry.c defines the model's parts and
 * registers the two packed functions of c_interface_adapter.c. */
#ifndef PROJECTAPI_C_INTERFACE_ADAPTER_H_
#define PROJECTAPI_C_INTERFACE_ADAPTER_H_

#include <stdint.h>

#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/metadata_types.h>

/* Generated per model: the tensor tables, and a call of tvmgen_<m>_run with the data of the
 * DLTensor arguments (inputs then outputs) placed in the interface structs. */
extern const struct TVMMetadata projectapi_model_metadata;
int32_t projectapi_call_model(const TVMValue* args);

/* Packed `tvmgen_<M>_run`: checks the argument count, then projectapi_call_model. */
int32_t projectapi_packed_run(TVMValue* args, int* type_codes, int num_args, TVMValue* out_value,
                              int* out_type_code, void* resource_handle);

/* Packed `tvmgen_<M>_get_c_metadata`: returns &projectapi_model_metadata. */
int32_t projectapi_get_c_metadata(TVMValue* args, int* type_codes, int num_args,
                                  TVMValue* ret_value, int* ret_code, void* resource_handle);

#endif /* PROJECTAPI_C_INTERFACE_ADAPTER_H_ */
