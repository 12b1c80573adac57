/* Driver for the CMSDK APB UART of Arm's MPS2/MPS3 boards: polled transmit, interrupt receive.
 * Register layout from Arm's Cortex-M System Design Kit technical reference manual. */
#include "../board.h"
#include "cortex_m.h"

#define UART_DATA REG32(BOARD_UART_BASE + 0x00u)
#define UART_STATE REG32(BOARD_UART_BASE + 0x04u)
#define UART_CTRL REG32(BOARD_UART_BASE + 0x08u)
#define UART_INTCLEAR REG32(BOARD_UART_BASE + 0x0Cu)
#define UART_BAUDDIV REG32(BOARD_UART_BASE + 0x10u)

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_ENABLE 0x1u
#define CTRL_RX_ENABLE 0x2u
#define CTRL_RX_INT_ENABLE 0x8u
#define INT_RX 0x2u
#define BAUDDIV_MIN 16u /* the smallest divider the UART accepts */

void board_uart_init(void) {
  UART_BAUDDIV = BAUDDIV_MIN; /* the emulated line runs at its own pace whatever the divider */
  UART_CTRL = CTRL_TX_ENABLE | CTRL_RX_ENABLE | CTRL_RX_INT_ENABLE;
  nvic_enable_irq(BOARD_UART_RX_IRQ);
}

void board_uart_putc(uint8_t byte) {
  while (UART_STATE & STATE_TX_FULL) {
  }
  UART_DATA = byte;
}

void board_uart_isr(void) {
  UART_INTCLEAR = INT_RX; /* before draining, so a byte arriving meanwhile raises it again */
  while (UART_STATE & STATE_RX_FULL) {
    if (board_rx_pause_if_full()) {
      return; /* the byte waits in the UART; re-enabling runs this handler again */
    }
    board_rx_push((uint8_t)UART_DATA);
  }
}
