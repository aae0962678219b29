"""nbval on the check cells, in workbook order on a fresh local cloud."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebooks.references import CHECKED, REFERENCE_DIR


@pytest.mark.notebook
def test_nbval_check_cells_reproduce(cloud):
    references = [str(REFERENCE_DIR / f"{name}.ipynb") for name in CHECKED]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-sanitize-with",
            str(Path(__file__).with_name("sanitize.cfg")),
            *references,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REFERENCE_DIR,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    passed = json.dumps(result.stdout)
    assert " passed" in passed
