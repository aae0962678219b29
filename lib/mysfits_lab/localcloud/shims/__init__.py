"""Command shims that CodeBuild puts first on PATH: ``docker`` and ``aws``.

The executables in this folder are small sh wrappers that run the Python modules next to them
with the local cloud's interpreter (``$MYSFITS_LOCALCLOUD_PYTHON``), so one buildspec works on
AWS and on the local cloud. They reach the running cloud at ``$MYSFITS_LOCALCLOUD_URL``. A build
starts one process per command, so they import the standard library only: no SDK, and none of
the cloud's own modules but where a rare command needs them.
"""

from pathlib import Path

SHIMS_DIR = Path(__file__).resolve().parent
