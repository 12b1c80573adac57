/* Driver for the USART of STM32F2/F4 parts: polled transmit, interrupt receive. Register layout
 * from ST's reference manual RM0090. Real parts also need the USART's clock and its pins: when
 * the board gives BOARD_UART_TX_PIN, the RCC enable bits and the GPIO alternate function are set
 * (on QEMU those blocks are unimplemented and ignore the writes). */
#include "../board.h"
#include "../arm/cortex_m.h"

#define USART_SR REG32(BOARD_UART_BASE + 0x00u)
#define USART_DR REG32(BOARD_UART_BASE + 0x04u)
#define USART_BRR REG32(BOARD_UART_BASE + 0x08u)
#define USART_CR1 REG32(BOARD_UART_BASE + 0x0Cu)

#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define CR1_UE (1u << 13)

#define RCC_BASE 0x40023800u
#define GPIO_MODER(port) REG32((port) + 0x00u)
#define GPIO_AFR(port, pin) REG32((port) + 0x20u + 4u * ((pin) / 8u))
#define GPIO_MODE_ALTERNATE 2u

#ifdef BOARD_UART_TX_PIN
static void pin_alternate(uint32_t port, uint32_t pin) {
  GPIO_MODER(port) = (GPIO_MODER(port) & ~(3u << (2u * pin))) | (GPIO_MODE_ALTERNATE << (2u * pin));
  GPIO_AFR(port, pin) =
      (GPIO_AFR(port, pin) & ~(0xFu << (4u * (pin % 8u)))) | (BOARD_UART_AF << (4u * (pin % 8u)));
}
#endif

void board_uart_init(void) {
#ifdef BOARD_UART_TX_PIN
  REG32(RCC_BASE + BOARD_GPIO_RCC_REG) |= BOARD_GPIO_RCC_BIT;
  REG32(RCC_BASE + BOARD_UART_RCC_REG) |= BOARD_UART_RCC_BIT;
  /* Read back: ST's errata sheets ask for a delay between enabling a peripheral's clock and
   * its first access; the read completes once the write has reached the RCC. */
  (void)REG32(RCC_BASE + BOARD_UART_RCC_REG);
  pin_alternate(BOARD_UART_GPIO_BASE, BOARD_UART_TX_PIN);
  pin_alternate(BOARD_UART_GPIO_BASE, BOARD_UART_RX_PIN);
#endif
  USART_BRR = BOARD_UART_BRR; /* 16x oversampling, computed by microtvm_kit/stm32_usart.py */
  USART_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
  nvic_enable_irq(BOARD_UART_RX_IRQ);
}

void board_uart_putc(uint8_t byte) {
  while (!(USART_SR & SR_TXE)) {
  }
  USART_DR = byte;
}

void board_uart_isr(void) {
  while (USART_SR & SR_RXNE) {
    if (board_rx_pause_if_full()) {
      return; /* the byte waits in DR; re-enabling runs this handler again */
    }
    board_rx_push((uint8_t)USART_DR); /* reading DR clears RXNE */
  }
}
