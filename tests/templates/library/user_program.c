/* A user's own program linking a generated library: runs the model once on the reference input
 * (reference_input.h, written by the test) and emits "OUT1", the status (i32, little-endian on
 * every target tested) and the output bytes through user_emit (stdout or a UART). */
#include <stdint.h>
#include <string.h>

#include "reference_input.h"
#include "tvm_model.h"

void user_emit(const void* data, size_t len);
void user_done(void);

static uint8_t output[TVM_MODEL_OUTPUT0_BYTES];

int main(void) {
  const void* inputs[TVM_MODEL_NUM_INPUTS] = {reference_input};
  void* outputs[TVM_MODEL_NUM_OUTPUTS] = {output};
  int32_t status = tvm_model_init();
  if (status == 0) {
    status = tvm_model_run(inputs, outputs);
  }
  user_emit("OUT1", 4);
  user_emit(&status, sizeof(status));
  if (status == 0) {
    user_emit(output, sizeof(output));
  }
  user_done();
  return status == 0 ? 0 : 1;
}
