/* projectapi_port.h over the process's stdin and stdout, with a monotonic clock. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "projectapi_port.h"

size_t projectapi_port_read(uint8_t* buf, size_t cap) {
  for (;;) {
    ssize_t got = read(STDIN_FILENO, buf, cap);
    if (got >= 0) return (size_t)got;
    if (errno != EINTR) return 0;
  }
}

int projectapi_port_write(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t put = write(STDOUT_FILENO, data, len);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return -1;
    data += put;
    len -= (size_t)put;
  }
  return 0;
}

double projectapi_port_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}
