/* Zephyr main: the console UART (zephyr,console, with the console itself switched off in
 * prj.conf) is the transport; received bytes arrive by interrupt into a ring buffer. Then the
 * project type's main loop (PROJECTAPI_SERVE) runs forever. */
#include <zephyr/device.h>
#include <zephyr/drivers/uart.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/reboot.h>
#include <zephyr/sys/ring_buffer.h>

#include <tvm/runtime/crt/platform.h>

#include "projectapi_loops.h"
#include "projectapi_port.h"

#ifndef PROJECTAPI_SERVE
#error "define PROJECTAPI_SERVE as the main loop to run"
#endif

static const struct device* const uart = DEVICE_DT_GET(DT_CHOSEN(zephyr_console));
RING_BUF_DECLARE(rx_ring, 4096);
static K_SEM_DEFINE(rx_ready, 0, 1);
static int64_t timer_start_ticks;
static int timer_running;

static void uart_isr(const struct device* dev, void* user_data) {
  uint8_t buf[32];
  ARG_UNUSED(user_data);
  while (uart_irq_update(dev) && uart_irq_rx_ready(dev)) {
    int n = uart_fifo_read(dev, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    ring_buf_put(&rx_ring, buf, (uint32_t)n);
    k_sem_give(&rx_ready);
  }
}

size_t projectapi_port_read(uint8_t* buf, size_t cap) {
  for (;;) {
    unsigned int key = irq_lock();
    uint32_t n = ring_buf_get(&rx_ring, buf, (uint32_t)cap);
    irq_unlock(key);
    if (n > 0) {
      return n;
    }
    k_sem_take(&rx_ready, K_FOREVER);
  }
}

int projectapi_port_write(const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    uart_poll_out(uart, data[i]);
  }
  return 0;
}

double projectapi_port_seconds(void) {
  return (double)k_ticks_to_ns_floor64(k_uptime_ticks()) / 1e9;
}

/* The platform layer's timer and abort; the rest is platform_static.c (weak definitions). */
tvm_crt_error_t TVMPlatformTimerStart(void) {
  if (timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = 1;
  timer_start_ticks = k_uptime_ticks();
  return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double* elapsed_time_seconds) {
  if (!timer_running) {
    return kTvmErrorPlatformTimerBadState;
  }
  timer_running = 0;
  *elapsed_time_seconds =
      (double)k_ticks_to_ns_floor64(k_uptime_ticks() - timer_start_ticks) / 1e9;
  return kTvmErrorNoError;
}

void TVMPlatformAbort(tvm_crt_error_t code) {
  ARG_UNUSED(code);
  sys_reboot(SYS_REBOOT_COLD);
  for (;;) {
  }
}

int main(void) {
  if (!device_is_ready(uart)) {
    return 1;
  }
  uart_irq_callback_user_data_set(uart, uart_isr, NULL);
  uart_irq_rx_enable(uart);
  if (TVMPlatformInitialize() != kTvmErrorNoError) {
    return 1;
  }
  return PROJECTAPI_SERVE();
}
