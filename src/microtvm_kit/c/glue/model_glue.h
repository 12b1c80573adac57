/* Model glue: tensor tables and one entry point (docs/architecture.md, "Firmware glue contract"). */
#ifndef PROJECTAPI_MODEL_GLUE_H_
#define PROJECTAPI_MODEL_GLUE_H_

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

typedef struct {
  const char* name;
  DLDataType dtype;
  int32_t ndim;
  const int64_t* shape;
  size_t nbytes;
} projectapi_tensor_desc_t;

extern const projectapi_tensor_desc_t projectapi_model_inputs[];
extern const size_t projectapi_model_num_inputs;
extern const projectapi_tensor_desc_t projectapi_model_outputs[];
extern const size_t projectapi_model_num_outputs;
extern void* const projectapi_model_input_data[];
extern void* const projectapi_model_output_data[];

/* Prepares the model (graph models: creates the executor and loads the parameters); cheap
 * after the first call. 0 on success. */
int32_t projectapi_model_init(void);

/* Runs the model once on the static buffers above; 0 on success. */
int32_t projectapi_model_run(void);

#endif /* PROJECTAPI_MODEL_GLUE_H_ */
