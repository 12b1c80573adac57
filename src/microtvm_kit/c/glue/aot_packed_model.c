/* projectapi_model_init/run for an AOT model with the packed interface: one DLTensor per input
 * then output over the glue's static buffers and tensor tables (model_glue.h), passed to the
 * generated entry point named in aot_packed_entry.h (generated per model). */
#include <stddef.h>

#include <tvm/runtime/c_runtime_api.h>

#include "aot_packed_entry.h"
#include "model_glue.h"

/* The generated main reads one type code per argument and one per memory pool, so the caller
 * keeps more type codes than it passes arguments (docs/generated-code.md). */
#define SPARE_TYPE_CODES 16
#define NUM_TENSORS (PROJECTAPI_AOT_NUM_INPUTS + PROJECTAPI_AOT_NUM_OUTPUTS)

int32_t PROJECTAPI_AOT_RUN(TVMValue* args, int* type_codes, int num_args, TVMValue* out_value,
                           int* out_type_code, void* resource_handle);

static DLTensor tensors[NUM_TENSORS];
static int ready;

/* A dense CPU tensor over a glue buffer, shaped and typed as its table entry says. */
static void describe(DLTensor* tensor, const projectapi_tensor_desc_t* desc, void* data) {
  tensor->data = data;
  tensor->device.device_type = kDLCPU;
  tensor->device.device_id = 0;
  tensor->ndim = desc->ndim;
  tensor->dtype = desc->dtype;
  tensor->shape = (int64_t*)desc->shape; /* generated code only reads it */
  tensor->strides = NULL;
  tensor->byte_offset = 0;
}

int32_t projectapi_model_init(void) {
  size_t n = 0;
  if (ready) return 0;
  for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {
    describe(&tensors[n++], &projectapi_model_inputs[i], projectapi_model_input_data[i]);
  }
  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {
    describe(&tensors[n++], &projectapi_model_outputs[i], projectapi_model_output_data[i]);
  }
  ready = 1;
  return 0;
}

int32_t projectapi_model_run(void) {
  TVMValue args[NUM_TENSORS];
  int type_codes[NUM_TENSORS + SPARE_TYPE_CODES];
  TVMValue ret_value;
  int ret_code = kTVMNullptr;
  projectapi_model_init();
  for (int i = 0; i < NUM_TENSORS + SPARE_TYPE_CODES; ++i) type_codes[i] = kTVMDLTensorHandle;
  for (int i = 0; i < NUM_TENSORS; ++i) args[i].v_handle = &tensors[i];
  ret_value.v_handle = NULL;
  return PROJECTAPI_AOT_RUN(args, type_codes, NUM_TENSORS, &ret_value, &ret_code, NULL);
}
