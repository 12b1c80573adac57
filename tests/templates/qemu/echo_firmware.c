/* Bring-up firmware for the board layer alone: greets, then echoes every byte it receives. */
#include "board.h"

int main(void) {
  static const uint8_t greeting[] = "hello\n";
  uint8_t buf[64];
  board_uart_write(greeting, sizeof(greeting) - 1);
  for (;;) {
    size_t n = board_uart_read(buf, sizeof(buf));
    if (n == 0) {
      board_wait_for_rx();
      continue;
    }
    board_uart_write(buf, n);
  }
}
