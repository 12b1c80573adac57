"""One strict reader of Model Library Format archives, standard library only (docs/mlf.md).

Both the host (``projectapi.mlf``, which adds numpy views and reports) and the templates
(``microtvm_kit.model_glue``/``graph_glue``) read archives through these modules:

- ``files``: the members of a tar or extracted directory, within size and count limits;
- ``metadata``: ``metadata.json`` versions 5, 6 and 7 into one entry per model;
- ``dtypes``: dtype names, their DLPack codes and sizes;
- ``graph``: graph-executor JSON, every reference checked;
- ``params``: the ``.params`` NDArray list, indexed without copying;
- ``names``: which tensor names are plain, and safe file names for any of them.

Every problem is an ``ArchiveFormatError`` (a ``ValueError``) naming the member.
"""

from .errors import ArchiveFormatError
from .names import file_stems, is_plain_name, safe_file_stem

__all__ = ["ArchiveFormatError", "file_stems", "is_plain_name", "safe_file_stem"]
