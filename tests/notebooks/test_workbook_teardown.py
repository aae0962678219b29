"""The last test of the notebooks' run: 99-teardown with ``remove = True`` deletes everything
the workbook made for the learner and proves it; a second run finds nothing to do."""

from __future__ import annotations

from mysfits_lab import Lab
from mysfits_lab.runner import run_notebooks
from mysfits_lab.steps import teardown
from tests.notebooks.test_workbook import _cell_text


def test_the_teardown_notebook_leaves_nothing_and_can_run_again(executed_workbook, clean_aws_env):
    assert executed_workbook.ok, executed_workbook.failed
    ran = {r.notebook: r for r in executed_workbook.runs}
    # In the workbook's own run it only listed (remove = False by default).
    listed = _cell_text(ran["99-teardown"].output_path, "NBVAL_CHECK_OUTPUT")
    assert "Dry run: nothing was removed." in listed
    lab = Lab.connect()
    assert len(teardown.inventory(lab)) > 20

    first = run_notebooks(only=["99"], extra={"remove": True})
    assert first.ok, first.failed
    assert "OK: nothing of learner mysfit is left." in _cell_text(
        first.runs[0].output_path, "NBVAL_CHECK_OUTPUT"
    )
    assert teardown.inventory(lab) == []
    assert lab.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert lab.client("lambda").list_functions()["Functions"] == []
    assert lab.client("apigateway").get_rest_apis()["items"] == []
    assert lab.outputs.values().keys() <= {"lab"}

    again = run_notebooks(only=["99"], extra={"remove": True})
    assert again.ok, again.failed
