"""nbval (lax) on the check cells of the notebooks the workbook run executed."""

import pytest

from tests.notebooks.check_outputs import check_cell_differences
from tests.notebooks.references import CHECKED, REFERENCE_DIR


@pytest.mark.parametrize("name", CHECKED)
def test_check_cells_reproduce_the_reference_outputs(executed_workbook, name):
    runs = {r.notebook: r for r in executed_workbook.runs}
    assert runs[name].status == "ok", executed_workbook.failed
    differences = check_cell_differences(REFERENCE_DIR / f"{name}.ipynb", runs[name].output_path)
    assert not differences, "\n".join(differences)
