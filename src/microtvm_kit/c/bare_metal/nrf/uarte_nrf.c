/* Driver for the UARTE of nRF52 parts (the UART with EasyDMA): transmit and receive through
 * one-byte DMA buffers in RAM, receive on the ENDRX interrupt. Register layout from Nordic's
 * nRF52840 product specification. 8N1, no flow control (the DK's J-Link VCOM needs none). The
 * board's crystal runs HFCLK by then (nrf/clock_nrf.c). */
#include "../board.h"
#include "../arm/cortex_m.h"

#define UARTE_TASKS_STARTRX REG32(BOARD_UART_BASE + 0x000u)
#define UARTE_TASKS_STARTTX REG32(BOARD_UART_BASE + 0x008u)
#define UARTE_EVENTS_ENDRX REG32(BOARD_UART_BASE + 0x110u)
#define UARTE_EVENTS_ENDTX REG32(BOARD_UART_BASE + 0x120u)
#define UARTE_EVENTS_ERROR REG32(BOARD_UART_BASE + 0x124u)
#define UARTE_INTENSET REG32(BOARD_UART_BASE + 0x304u)
#define UARTE_ERRORSRC REG32(BOARD_UART_BASE + 0x480u)
#define UARTE_ENABLE REG32(BOARD_UART_BASE + 0x500u)
#define UARTE_PSEL_TXD REG32(BOARD_UART_BASE + 0x50Cu)
#define UARTE_PSEL_RXD REG32(BOARD_UART_BASE + 0x514u)
#define UARTE_BAUDRATE REG32(BOARD_UART_BASE + 0x524u)
#define UARTE_RXD_PTR REG32(BOARD_UART_BASE + 0x534u)
#define UARTE_RXD_MAXCNT REG32(BOARD_UART_BASE + 0x538u)
#define UARTE_TXD_PTR REG32(BOARD_UART_BASE + 0x544u)
#define UARTE_TXD_MAXCNT REG32(BOARD_UART_BASE + 0x548u)
#define UARTE_CONFIG REG32(BOARD_UART_BASE + 0x56Cu)

#define ENABLE_UARTE 8u
#define INT_ENDRX (1u << 4)
#define BAUDRATE_115200 0x01D60000u /* the UARTE's value; the legacy UART's differs */

/* EasyDMA reads and writes RAM only: the bytes in flight live here. */
static volatile uint8_t rx_byte;
static volatile uint8_t tx_byte;

static void start_receiving(void) {
  UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
  UARTE_RXD_MAXCNT = 1u;
  UARTE_TASKS_STARTRX = 1u;
}

void board_uart_init(void) {
  UARTE_PSEL_TXD = BOARD_UART_TX_PIN; /* port 0, connected (bit 31 clear) */
  UARTE_PSEL_RXD = BOARD_UART_RX_PIN;
  UARTE_BAUDRATE = BAUDRATE_115200;
  UARTE_CONFIG = 0u; /* no parity, one stop bit, no flow control */
  UARTE_ENABLE = ENABLE_UARTE;
  UARTE_INTENSET = INT_ENDRX;
  start_receiving();
  nvic_enable_irq(BOARD_UART_RX_IRQ);
}

void board_uart_putc(uint8_t byte) {
  tx_byte = byte;
  UARTE_TXD_PTR = (uint32_t)(uintptr_t)&tx_byte;
  UARTE_TXD_MAXCNT = 1u;
  UARTE_EVENTS_ENDTX = 0u;
  UARTE_TASKS_STARTTX = 1u;
  while (!UARTE_EVENTS_ENDTX) {
  }
}

void board_uart_isr(void) {
  if (UARTE_EVENTS_ERROR) { /* a framing or overrun error: clear it, keep receiving */
    UARTE_EVENTS_ERROR = 0u;
    UARTE_ERRORSRC = UARTE_ERRORSRC; /* write 1 to clear */
  }
  if (!UARTE_EVENTS_ENDRX || board_rx_pause_if_full()) {
    return; /* when paused the byte waits in rx_byte; re-enabling runs this handler again */
  }
  UARTE_EVENTS_ENDRX = 0u;
  board_rx_push(rx_byte);
  start_receiving();
}
