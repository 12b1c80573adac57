// The sketch of a generated project: the Serial port is the transport; the main loop
// (PROJECTAPI_SERVE, chosen by the project type in src/projectapi_sketch.h) never returns.
#include "src/projectapi_sketch.h"

extern "C" size_t projectapi_port_read(uint8_t* buf, size_t cap) {
  while (Serial.available() <= 0) {
  }
  size_t n = 0;
  while (n < cap && Serial.available() > 0) {
    buf[n++] = (uint8_t)Serial.read();
  }
  return n;
}

extern "C" int projectapi_port_write(const uint8_t* data, size_t len) {
  return Serial.write(data, len) == len ? 0 : 1;
}

extern "C" double projectapi_port_seconds(void) { return (double)micros() / 1e6; }

void setup() {
  Serial.begin(PROJECTAPI_BAUD_RATE);
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    return;
  }
  PROJECTAPI_SERVE();
}

void loop() {}
