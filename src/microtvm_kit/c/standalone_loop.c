/* The device side of the standalone link protocol: "PAR1" requests in, "PAO1" replies out. */
#include <string.h>

#include "model_glue.h"
#include "projectapi_loops.h"
#include "projectapi_port.h"

#define REPLY_HEADER_BYTES 28 /* "PAO1", i32 status, u32 repeat, f64 total, f64 fastest */
/* A clock read costs tens of nanoseconds on a host, a few microseconds on slow boards' timers;
 * groups of at least 20 us keep it well under 1 % of the measured time where it matters. */
#define MIN_GROUP_SECONDS 20e-6
#define MAX_GROUP_RUNS 65536u

int32_t projectapi_run_timed(uint32_t repeat, double* total_seconds, double* fastest_seconds) {
  /* Runs are timed in groups, each group ending where the next begins (one clock read per
   * group, so the total is exact). A group that took less than MIN_GROUP_SECONDS doubles the
   * next group's size, which keeps clock reads a negligible part of sub-microsecond models;
   * "fastest" is then the fastest group's time per run. */
  double fastest = 0.0;
  int32_t ready = projectapi_model_init(); /* once, and never inside the timed runs */
  if (ready != 0) return ready;
  double first = projectapi_port_seconds();
  double last = first;
  uint32_t group = 1;
  for (uint32_t done = 0; done < repeat;) {
    uint32_t count = repeat - done < group ? repeat - done : group;
    for (uint32_t i = 0; i < count; ++i) {
      int32_t status = projectapi_model_run();
      if (status != 0) return status;
    }
    double now = projectapi_port_seconds();
    double per_run = (now - last) / (double)count;
    if (done == 0 || per_run < fastest) fastest = per_run;
    if (now - last < MIN_GROUP_SECONDS && group < MAX_GROUP_RUNS) group *= 2;
    done += count;
    last = now;
  }
  *total_seconds = last - first;
  *fastest_seconds = fastest;
  return 0;
}

/* Reads exactly len bytes; returns 0, or -1 at the end of input. */
static int read_exact(uint8_t* buf, size_t len) {
  while (len > 0) {
    size_t got = projectapi_port_read(buf, len);
    if (got == 0) return -1;
    buf += got;
    len -= got;
  }
  return 0;
}

/* Skips bytes until the request magic "PAR1" has been read; -1 at the end of input. */
static int sync_request(void) {
  static const uint8_t kMagic[4] = {'P', 'A', 'R', '1'};
  uint8_t window[4] = {0, 0, 0, 0};
  while (memcmp(window, kMagic, sizeof(window)) != 0) {
    memmove(window, window + 1, 3);
    if (read_exact(&window[3], 1) != 0) return -1;
  }
  return 0;
}

static void put_u32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = (uint8_t)(value >> (8 * i));
}

/* value as IEEE-754 binary64 bits, also where double is binary32 (avr-gcc): widened exactly
 * (a subnormal float, far below any time measured here, becomes 0). */
static uint64_t f64_bits(double value) {
  uint64_t bits;
#if defined(__SIZEOF_DOUBLE__) && __SIZEOF_DOUBLE__ == 4
  uint32_t narrow;
  uint32_t exponent;
  memcpy(&narrow, &value, sizeof(narrow));
  exponent = (narrow >> 23) & 0xFFu;
  bits = (uint64_t)(narrow >> 31) << 63;
  if (exponent == 0xFFu) {
    bits |= (0x7FFull << 52) | ((uint64_t)(narrow & 0x7FFFFFu) << 29);
  } else if (exponent != 0) {
    bits |= ((uint64_t)(exponent - 127u + 1023u) << 52) | ((uint64_t)(narrow & 0x7FFFFFu) << 29);
  }
#else
  memcpy(&bits, &value, sizeof(bits));
#endif
  return bits;
}

static void put_f64(uint8_t* out, double value) {
  uint64_t bits = f64_bits(value);
  for (int i = 0; i < 8; ++i) out[i] = (uint8_t)(bits >> (8 * i));
}

static int send_reply(int32_t status, uint32_t repeat, double total, double fastest) {
  uint8_t header[REPLY_HEADER_BYTES] = {'P', 'A', 'O', '1'};
  put_u32(header + 4, (uint32_t)status);
  put_u32(header + 8, repeat);
  put_f64(header + 12, total);
  put_f64(header + 20, fastest);
  if (projectapi_port_write(header, sizeof(header)) != 0) return -1;
  if (status != PROJECTAPI_STATUS_OK) return 0;
  for (size_t i = 0; i < projectapi_model_num_outputs; ++i) {
    if (projectapi_port_write((const uint8_t*)projectapi_model_output_data[i],
                              projectapi_model_outputs[i].nbytes) != 0) {
      return -1;
    }
  }
  return 0;
}

int projectapi_standalone_serve(void) {
  for (;;) {
    uint8_t raw_repeat[4];
    if (sync_request() != 0 || read_exact(raw_repeat, sizeof(raw_repeat)) != 0) return 0;
    uint32_t repeat = (uint32_t)raw_repeat[0] | (uint32_t)raw_repeat[1] << 8 |
                      (uint32_t)raw_repeat[2] << 16 | (uint32_t)raw_repeat[3] << 24;
    for (size_t i = 0; i < projectapi_model_num_inputs; ++i) {
      if (read_exact((uint8_t*)projectapi_model_input_data[i], projectapi_model_inputs[i].nbytes)) {
        return 0;
      }
    }
    double total = 0.0;
    double fastest = 0.0;
    int32_t status = repeat == 0 ? PROJECTAPI_STATUS_BAD_REPEAT
                                 : projectapi_run_timed(repeat, &total, &fastest);
    if (send_reply(status, repeat, total, fastest) != 0) return 1;
  }
}
