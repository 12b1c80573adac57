"""Stand-in for ``tvm.micro``: only ``project_api`` is here."""
