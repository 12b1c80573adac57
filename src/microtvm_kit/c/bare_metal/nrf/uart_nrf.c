/* Driver for the UART of nRF51 / nRF52 parts (the legacy UART, not UARTE): polled transmit,
 * interrupt receive. Register layout from Nordic's nRF51 reference manual. */
#include "../board.h"
#include "../arm/cortex_m.h"

#define UART_TASKS_STARTRX REG32(BOARD_UART_BASE + 0x000u)
#define UART_TASKS_STARTTX REG32(BOARD_UART_BASE + 0x008u)
#define UART_EVENTS_RXDRDY REG32(BOARD_UART_BASE + 0x108u)
#define UART_EVENTS_TXDRDY REG32(BOARD_UART_BASE + 0x11Cu)
#define UART_INTENSET REG32(BOARD_UART_BASE + 0x304u)
#define UART_ENABLE REG32(BOARD_UART_BASE + 0x500u)
#define UART_PSELTXD REG32(BOARD_UART_BASE + 0x50Cu)
#define UART_PSELRXD REG32(BOARD_UART_BASE + 0x514u)
#define UART_RXD REG32(BOARD_UART_BASE + 0x518u)
#define UART_TXD REG32(BOARD_UART_BASE + 0x51Cu)
#define UART_BAUDRATE REG32(BOARD_UART_BASE + 0x524u)

#define ENABLE_UART 4u
#define INT_RXDRDY (1u << 2)
#define BAUDRATE_115200 0x01D7E000u

void board_uart_init(void) {
  UART_PSELTXD = BOARD_UART_TX_PIN;
  UART_PSELRXD = BOARD_UART_RX_PIN;
  UART_BAUDRATE = BAUDRATE_115200;
  UART_ENABLE = ENABLE_UART;
  UART_INTENSET = INT_RXDRDY;
  UART_TASKS_STARTTX = 1u;
  UART_TASKS_STARTRX = 1u;
  nvic_enable_irq(BOARD_UART_RX_IRQ);
}

void board_uart_putc(uint8_t byte) {
  UART_EVENTS_TXDRDY = 0u;
  UART_TXD = byte;
  while (!UART_EVENTS_TXDRDY) {
  }
}

void board_uart_isr(void) {
  while (UART_EVENTS_RXDRDY) {
    if (board_rx_pause_if_full()) {
      return; /* the byte waits in the receive FIFO; re-enabling runs this handler again */
    }
    UART_EVENTS_RXDRDY = 0u; /* before reading: the read raises it again if more bytes wait */
    board_rx_push((uint8_t)UART_RXD);
  }
}
