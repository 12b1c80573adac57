// A user's own sketch using a generated Arduino library: runs the model once on the reference
// input (reference_input.h, written by the test), prints "OUT1 <status> <output as hex>" on
// Serial, then sleeps with interrupts off (which ends a simavr run).
#include <avr/sleep.h>
#include <tvm_model.h>

#include "reference_input.h"

static uint8_t output[TVM_MODEL_OUTPUT0_BYTES];

void setup() {
  const void* inputs[TVM_MODEL_NUM_INPUTS] = {reference_input};
  void* outputs[TVM_MODEL_NUM_OUTPUTS] = {output};
  Serial.begin(115200);
  int32_t status = tvm_model_init();
  if (status == 0) {
    status = tvm_model_run(inputs, outputs);
  }
  Serial.print("OUT1 ");
  Serial.print(status);
  Serial.print(' ');
  for (size_t i = 0; i < sizeof(output); ++i) {
    if (output[i] < 16) {
      Serial.print('0');
    }
    Serial.print(output[i], HEX);
  }
  Serial.println();
  Serial.flush();
  sleep_enable();
  cli();
  sleep_cpu();
}

void loop() {}
