/* Runs an AVR image on simavr with the MCU's UART0 bridged to this process's stdin and stdout,
 * so a host can talk to the emulated board through a pipe as it would through a serial port.
 * Usage: simavr_bridge MCU FREQUENCY_HZ IMAGE.elf. Received bytes go into the UART only while
 * it signals room (XON), so none is lost; the bridge exits when stdin closes or the AVR stops. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_irq.h>

#define POLL_EVERY_CYCLES 2000 /* how often stdin is looked at, in avr_run calls */

static int uart_has_room;
static uint8_t out_buf[256];
static size_t out_len;

static void flush_output(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(STDOUT_FILENO, out_buf + done, out_len - done);
    if (n < 0 && errno != EINTR) {
      exit(0); /* the host is gone */
    }
    done += n > 0 ? (size_t)n : 0;
  }
  out_len = 0;
}

static void on_output(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)param;
  out_buf[out_len++] = (uint8_t)value;
  if (out_len == sizeof(out_buf)) {
    flush_output();
  }
}

static void on_xon(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)value;
  (void)param;
  uart_has_room = 1;
}

static void on_xoff(struct avr_irq_t* irq, uint32_t value, void* param) {
  (void)irq;
  (void)value;
  (void)param;
  uart_has_room = 0;
}

int main(int argc, char** argv) {
  elf_firmware_t firmware;
  uint8_t in_buf[256];
  size_t in_len = 0, in_pos = 0;
  uint32_t flags = 0;
  unsigned long calls = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: %s MCU FREQUENCY_HZ IMAGE.elf\n", argv[0]);
    return 2;
  }
  memset(&firmware, 0, sizeof(firmware));
  avr_t* avr = avr_make_mcu_by_name(argv[1]);
  if (avr == NULL) {
    fprintf(stderr, "simavr_bridge: simavr does not know the MCU %s\n", argv[1]);
    return 2;
  }
  if (elf_read_firmware(argv[3], &firmware) != 0) {
    fprintf(stderr, "simavr_bridge: cannot read %s\n", argv[3]);
    return 2;
  }
  avr_init(avr);
  firmware.frequency = (uint32_t)strtoul(argv[2], NULL, 10);
  avr_load_firmware(avr, &firmware);
  avr->frequency = firmware.frequency;
  /* No line printing on the console, and no real-time sleeping while the AVR polls the UART. */
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                          on_output, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON),
                          on_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF),
                          on_xoff, NULL);
  avr_irq_t* input = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  for (;;) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      flush_output();
      return state == cpu_Done ? 0 : 1;
    }
    if (++calls % POLL_EVERY_CYCLES != 0) {
      continue;
    }
    flush_output();
    if (in_pos == in_len) {
      struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0) {
        ssize_t n = read(STDIN_FILENO, in_buf, sizeof(in_buf));
        if (n == 0) {
          return 0; /* the host closed the transport */
        }
        in_len = n > 0 ? (size_t)n : 0;
        in_pos = 0;
      }
    }
    while (in_pos < in_len && uart_has_room) {
      avr_raise_irq(input, in_buf[in_pos++]);
    }
  }
}
