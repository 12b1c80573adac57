"""The Project API server helper, under its public name.

Templates import it as ``microtvm_kit.server`` (the project-side package copied into every
generated project); ``projectapi.server`` is the same module, for code that imports it from the
installed package as TVM users imported ``tvm.micro.project_api.server``.
"""

import sys

from microtvm_kit import server as _server

sys.modules[__name__] = _server
