"""Standard-library-only helpers shared by template servers and copied into generated projects.

Modules here run inside a template's ``microtvm_api_server.py`` on Python 3.8+. They import the
Project API helper as the top-level module ``server`` (see docs/architecture.md, "How a template
finds its helpers"), except ``safe_tar``, which imports nothing but the standard library.
"""
