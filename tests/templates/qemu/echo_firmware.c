/* Bring-up firmware for the board layer alone: greets; once the first byte arrives, busies
 * itself for half a second by the board timer (received bytes pile up meanwhile, beyond the
 * receive buffer); then echoes every byte it receives. */
#include "board.h"

int main(void) {
  static const uint8_t greeting[] = "hello\n";
  uint8_t buf[64];
  uint64_t busy_until;
  board_uart_write(greeting, sizeof(greeting) - 1);
  while (!board_rx_pending()) {
    board_wait_for_rx();
  }
  busy_until = board_timer_ticks() + BOARD_TIMER_HZ / 2u;
  while (board_timer_ticks() < busy_until) {
  }
  for (;;) {
    size_t n = board_uart_read(buf, sizeof(buf));
    if (n == 0) {
      board_wait_for_rx();
      continue;
    }
    board_uart_write(buf, n);
  }
}
