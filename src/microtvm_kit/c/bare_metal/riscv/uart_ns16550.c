/* Driver for a 16550-compatible UART (QEMU virt's serial port): polled transmit, interrupt
 * receive. Register layout of the National Semiconductor PC16550D data sheet, byte-spaced. */
#include "../board.h"

#define REG8(addr) (*(volatile uint8_t*)(uintptr_t)(addr))
#define UART_RBR_THR REG8(BOARD_UART_BASE + 0u)
#define UART_IER REG8(BOARD_UART_BASE + 1u)
#define UART_FCR REG8(BOARD_UART_BASE + 2u)
#define UART_LCR REG8(BOARD_UART_BASE + 3u)
#define UART_MCR REG8(BOARD_UART_BASE + 4u)
#define UART_LSR REG8(BOARD_UART_BASE + 5u)

#define IER_RX_AVAILABLE 0x01u
/* FIFOs off: the UART holds one received byte and the sender waits until it is read. With the
 * 16-byte FIFO on, QEMU 7.2 was measured to drop bytes of long bursts. */
#define FCR_FIFO_DISABLE 0x00u
#define LCR_8N1 0x03u
#define MCR_OUT2 0x08u /* routes the interrupt line on PC-style wiring */
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

void board_uart_init(void) {
  UART_LCR = LCR_8N1;
  UART_FCR = FCR_FIFO_DISABLE;
  UART_MCR = MCR_OUT2;
  UART_IER = IER_RX_AVAILABLE;
}

void board_uart_putc(uint8_t byte) {
  while (!(UART_LSR & LSR_THR_EMPTY)) {
  }
  UART_RBR_THR = byte;
}

void board_uart_isr(void) {
  while (UART_LSR & LSR_DATA_READY) {
    if (board_rx_pause_if_full()) {
      return; /* the byte waits in the UART; re-enabling raises the interrupt again */
    }
    board_rx_push(UART_RBR_THR);
  }
}

void board_uart_rx_irq_enable(int enable) { UART_IER = enable ? IER_RX_AVAILABLE : 0u; }
