/* Clock set-up of STM32F4 parts: the main PLL from the HSI or the board's HSE, flash wait states
 * and bus prescalers, then SYSCLK switched to the PLL. The values are the board's data, computed
 * and checked against the chip's limits by microtvm_kit/stm32_clock.py; register layout from ST's
 * reference manuals (RM0090, RM0368, RM0383, RM0390). Only boards with a `clock` entry build this
 * file: QEMU's STM32 machines do not model the RCC (the PLL would never report ready there). */
#include "../board.h"
#include "../arm/cortex_m.h"

#define RCC_CR REG32(0x40023800u)
#define RCC_PLLCFGR REG32(0x40023804u)
#define RCC_CFGR REG32(0x40023808u)
#define RCC_APB1ENR REG32(0x40023840u)
#define PWR_CR REG32(0x40007000u)
#define FLASH_ACR REG32(0x40023C00u)

#define CR_HSEON (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
#define PLLCFGR_KEPT 0xF0000000u /* reserved bits, and PLLR on the F446 */
#define CFGR_SW_MASK 0x3u
#define CFGR_SW_PLL 0x2u
#define CFGR_SWS_MASK 0xCu
#define CFGR_SWS_PLL 0x8u
#define CFGR_PRESCALERS_MASK 0xFCF0u /* HPRE, PPRE1, PPRE2 */
#define APB1ENR_PWREN (1u << 28)
#define PWR_CR_VOS_SHIFT 14u
#define ACR_LATENCY_MASK 0xFu
#define ACR_PRFTEN_ICEN_DCEN (7u << 8)

void board_clock_init(void) {
#ifdef BOARD_PWR_VOS
  RCC_APB1ENR |= APB1ENR_PWREN;
  (void)RCC_APB1ENR; /* read back: the PWR's clock runs before its first access (ST errata) */
  PWR_CR = (PWR_CR & ~(3u << PWR_CR_VOS_SHIFT)) | (BOARD_PWR_VOS << PWR_CR_VOS_SHIFT);
#endif
#ifdef BOARD_CLOCK_HSE
  RCC_CR |= CR_HSEON;
  while (!(RCC_CR & CR_HSERDY)) {
  }
#endif
  RCC_PLLCFGR = (RCC_PLLCFGR & PLLCFGR_KEPT) | BOARD_RCC_PLLCFGR;
  RCC_CR |= CR_PLLON;
  while (!(RCC_CR & CR_PLLRDY)) {
  }
  /* Slower flash first, then the faster clock. */
  FLASH_ACR = ACR_PRFTEN_ICEN_DCEN | BOARD_FLASH_LATENCY;
  while ((FLASH_ACR & ACR_LATENCY_MASK) != BOARD_FLASH_LATENCY) {
  }
  RCC_CFGR = (RCC_CFGR & ~CFGR_PRESCALERS_MASK) | BOARD_RCC_CFGR_PPRE;
  RCC_CFGR = (RCC_CFGR & ~CFGR_SW_MASK) | CFGR_SW_PLL;
  while ((RCC_CFGR & CFGR_SWS_MASK) != CFGR_SWS_PLL) {
  }
}
