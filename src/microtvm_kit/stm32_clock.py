"""STM32F4 clock trees as data: a board's PLL settings, the rates they give, the chip's limits,
and the register values the firmware's clock set-up (``stm32/rcc_stm32.c``) writes. Pure.

SYSCLK = source / M * N / P; the 48 MHz domain (USB, SDIO) = source / M * N / Q; HCLK = SYSCLK
(AHB not divided); APB1 and APB2 = HCLK over their prescalers. Register layouts (RCC_PLLCFGR,
RCC_CFGR, PWR_CR, FLASH_ACR) and limits are ST's: the reference manuals RM0368 (F401), RM0383
(F411), RM0090 (F405/F407) and RM0390 (F446), and the limits ST's CMSIS device headers state
(PLL input and output ranges, PLLN's range, the SYSCLK limit of each regulator voltage scale,
the flash wait states for a 2.7-3.6 V supply). The over-drive mode of the F446 is never used.
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

HSI_HZ = 16000000  # every STM32F4's internal RC oscillator
HSE_RANGE_HZ = (4000000, 26000000)  # what the HSE oscillator accepts
_MHZ = 1000000


@dataclasses.dataclass(frozen=True)
class ChipLimits:
    """What one STM32F4 line allows (reference manual, RCC, PWR and flash chapters)."""

    apb1_max_hz: int
    apb2_max_hz: int
    vco_out_hz: Tuple[int, int]  # PLL VCO output range
    pll_n: Tuple[int, int]  # PLLN's range
    wait_state_max_mhz: Tuple[int, ...]  # HCLK limit of 0, 1, 2, ... flash wait states
    # The regulator's voltage scales: scale -> (SYSCLK limit in MHz, PWR_CR VOS field value).
    voltage_scales: Dict[int, Tuple[int, int]]
    reset_scale: int  # the scale PWR_CR selects out of reset
    vco_in_hz: Tuple[int, int] = (950000, 2100000)
    pll48_max_hz: int = 48 * _MHZ


_SCALES_123 = {1: 3, 2: 2, 3: 1}  # VOS[1:0] of scales 1, 2, 3 (F401, F411, F446)
CHIPS = {
    # The F401 has scales 2 and 3 only, scale 2 out of reset.
    "stm32f401": ChipLimits(
        42 * _MHZ, 84 * _MHZ, (192 * _MHZ, 432 * _MHZ), (192, 432), (30, 60, 84),
        {2: (84, 2), 3: (60, 1)}, reset_scale=2,
    ),
    # The F411's reset scale is taken as scale 2 (84 MHz), the safe reading: faster boards must
    # ask for scale 1.
    "stm32f411": ChipLimits(
        50 * _MHZ, 100 * _MHZ, (100 * _MHZ, 432 * _MHZ), (50, 432), (30, 64, 90, 100),
        {scale: (mhz, _SCALES_123[scale]) for scale, mhz in ((1, 100), (2, 84), (3, 64))},
        reset_scale=2,
    ),
    # F405/F407: one VOS bit, set (scale 1, 168 MHz) out of reset; clear is scale 2 (144 MHz).
    "stm32f405": ChipLimits(
        42 * _MHZ, 84 * _MHZ, (100 * _MHZ, 432 * _MHZ), (50, 432), (30, 60, 90, 120, 150, 168),
        {1: (168, 1), 2: (144, 0)}, reset_scale=1,
    ),
    # F446 without the over-drive mode: 168 / 144 / 120 MHz in scales 1 / 2 / 3.
    "stm32f446": ChipLimits(
        45 * _MHZ, 90 * _MHZ, (100 * _MHZ, 432 * _MHZ), (50, 432), (30, 60, 90, 120, 150, 180),
        {scale: (mhz, _SCALES_123[scale]) for scale, mhz in ((1, 168), (2, 144), (3, 120))},
        reset_scale=1,
    ),
}
CHIPS["stm32f407"] = CHIPS["stm32f405"]

# RCC_PLLCFGR fields, RCC_CFGR APB prescaler codes (bits 12:10 and 15:13), FLASH_ACR caches.
_PLLSRC_HSE = 1 << 22
_APB_CODES = {1: 0, 2: 4, 4: 5, 8: 6, 16: 7}
_PPRE1_SHIFT = 10
_PPRE2_SHIFT = 13


@dataclasses.dataclass(frozen=True)
class Stm32Clock:
    """One board's clock set-up (the ``clock`` entry of boards.json)."""

    chip: str  # a key of CHIPS
    source: str  # "hsi" (16 MHz internal) or "hse" (the board's crystal or clock input)
    source_hz: int
    pll_m: int
    pll_n: int
    pll_p: int
    pll_q: int
    apb1_div: int
    apb2_div: int
    flash_wait_states: int
    voltage_scale: Optional[int] = None  # the regulator's scale (1 is the fastest); None: keep

    @property
    def vco_in_hz(self) -> int:
        """The PLL's input: the source over M."""
        return self.source_hz // self.pll_m

    @property
    def vco_out_hz(self) -> int:
        """The VCO: its input times N."""
        return self.vco_in_hz * self.pll_n

    @property
    def sysclk_hz(self) -> int:
        """SYSCLK (= HCLK): the VCO over P."""
        return self.vco_out_hz // self.pll_p

    @property
    def pll48_hz(self) -> int:
        """The 48 MHz domain (USB, SDIO): the VCO over Q."""
        return self.vco_out_hz // self.pll_q

    @property
    def apb1_hz(self) -> int:
        """The APB1 bus clock."""
        return self.sysclk_hz // self.apb1_div

    @property
    def apb2_hz(self) -> int:
        """The APB2 bus clock."""
        return self.sysclk_hz // self.apb2_div

    def bus_hz(self, bus: str) -> int:
        """The clock of the peripheral bus ``apb1`` or ``apb2``."""
        return {"apb1": self.apb1_hz, "apb2": self.apb2_hz}[bus]

    def problems(self) -> List[str]:
        """Every way these settings break the chip's limits (empty: they are valid)."""
        limits = CHIPS[self.chip]
        found = self._source_problems() + self._voltage_problems()
        checks = [
            ("PLLM", self.pll_m, 2, 63),
            ("PLLN", self.pll_n, *limits.pll_n),
            ("PLLQ", self.pll_q, 2, 15),
            ("VCO input", self.vco_in_hz, *limits.vco_in_hz),
            ("VCO output", self.vco_out_hz, *limits.vco_out_hz),
            ("APB1", self.apb1_hz, 1, limits.apb1_max_hz),
            ("APB2", self.apb2_hz, 1, limits.apb2_max_hz),
            ("48 MHz domain (PLLQ output)", self.pll48_hz, 1, limits.pll48_max_hz),
        ]
        for name, value, low, high in checks:
            if not low <= value <= high:
                found.append("{} is {}, outside {}..{}".format(name, value, low, high))
        if self.pll_p not in (2, 4, 6, 8):
            found.append("PLLP must be 2, 4, 6 or 8, got {}".format(self.pll_p))
        for bus, div in (("APB1", self.apb1_div), ("APB2", self.apb2_div)):
            if div not in _APB_CODES:
                found.append("{} prescaler must be one of {}, got {}".format(bus, sorted(_APB_CODES), div))
        if self.flash_wait_states != self.wait_states_needed():
            found.append(
                "{} flash wait states at {} Hz; the chip needs {}".format(
                    self.flash_wait_states, self.sysclk_hz, self.wait_states_needed()
                )
            )
        return found

    def _source_problems(self) -> List[str]:
        if self.source == "hsi" and self.source_hz != HSI_HZ:
            return ["HSI runs at {} Hz, not {}".format(HSI_HZ, self.source_hz)]
        if self.source == "hse" and not HSE_RANGE_HZ[0] <= self.source_hz <= HSE_RANGE_HZ[1]:
            return ["HSE at {} Hz is outside {}..{}".format(self.source_hz, *HSE_RANGE_HZ)]
        return []

    def _voltage_problems(self) -> List[str]:
        """The voltage scale must exist on the chip and allow SYSCLK (the reset scale when the
        board keeps it)."""
        scales = CHIPS[self.chip].voltage_scales
        scale = self.scale
        if scale not in scales:
            return ["{} has voltage scales {}, not {}".format(self.chip, sorted(scales), scale)]
        limit_hz = scales[scale][0] * _MHZ
        if self.sysclk_hz > limit_hz:
            return [
                "SYSCLK is {} but voltage scale {}{} allows {}: set voltage_scale".format(
                    self.sysclk_hz, scale, "" if self.voltage_scale else " (reset)", limit_hz
                )
            ]
        return []

    @property
    def scale(self) -> int:
        """The regulator's voltage scale the chip runs in: the board's, else the reset one."""
        return self.voltage_scale or CHIPS[self.chip].reset_scale

    def wait_states_needed(self) -> int:
        """The fewest flash wait states the chip allows at this SYSCLK."""
        for states, max_mhz in enumerate(CHIPS[self.chip].wait_state_max_mhz):
            if self.sysclk_hz <= max_mhz * _MHZ:
                return states
        return len(CHIPS[self.chip].wait_state_max_mhz)  # too fast for any: problems() says so

    def pllcfgr(self) -> int:
        """RCC_PLLCFGR bits 27:0 (M, N, P, source, Q); the firmware keeps bits 31:28."""
        source = _PLLSRC_HSE if self.source == "hse" else 0
        return (
            self.pll_m
            | self.pll_n << 6
            | (self.pll_p // 2 - 1) << 16
            | source
            | self.pll_q << 24
        )

    def cfgr_prescalers(self) -> int:
        """RCC_CFGR's APB1 and APB2 prescaler fields (AHB undivided)."""
        return _APB_CODES[self.apb1_div] << _PPRE1_SHIFT | _APB_CODES[self.apb2_div] << _PPRE2_SHIFT

    def definitions(self) -> List[Tuple[str, int]]:
        """The preprocessor definitions of ``stm32/rcc_stm32.c``."""
        values = [
            ("BOARD_RCC_PLLCFGR", self.pllcfgr()),
            ("BOARD_RCC_CFGR_PPRE", self.cfgr_prescalers()),
            ("BOARD_FLASH_LATENCY", self.flash_wait_states),
        ]
        if self.source == "hse":
            values.append(("BOARD_CLOCK_HSE", 1))
        if self.voltage_scale is not None:
            values.append(("BOARD_PWR_VOS", CHIPS[self.chip].voltage_scales[self.voltage_scale][1]))
        return values


def parse(entry: Dict) -> Stm32Clock:
    """A boards.json ``clock`` entry."""
    pll = entry["pll"]
    return Stm32Clock(
        chip=entry["chip"],
        source=entry["source"],
        source_hz=int(entry["source_hz"]),
        pll_m=int(pll["m"]),
        pll_n=int(pll["n"]),
        pll_p=int(pll["p"]),
        pll_q=int(pll["q"]),
        apb1_div=int(entry["apb1_div"]),
        apb2_div=int(entry["apb2_div"]),
        flash_wait_states=int(entry["flash_wait_states"]),
        voltage_scale=entry.get("voltage_scale"),
    )
