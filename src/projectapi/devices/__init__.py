"""Real boards on the host's USB: serial ports recognised as boards and debug probes
(``discovery``). Flashing goes through well-kept tools, one runner per tool
(``microtvm_kit.pyocd_runner``, ``microtvm_kit.openocd_runner``), on the project side because the
boards template's ``flash`` runs them inside a generated project too."""
