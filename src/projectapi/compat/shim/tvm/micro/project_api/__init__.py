"""Stand-in for ``tvm.micro.project_api``: only ``server`` is here."""
