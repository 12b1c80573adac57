"""Real boards on the host's USB: serial ports recognised as boards and debug probes
(``discovery``), and flashing through well-kept tools, one runner per tool (``pyocd_runner``,
``openocd_runner``)."""
