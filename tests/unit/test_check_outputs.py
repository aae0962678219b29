"""The notebook tests' nbval-style comparison of check cells (tests/notebooks/check_outputs.py)."""

import nbformat
import pytest

from tests.notebooks.check_outputs import check_cell_differences, comparable, sanitize_patterns

CHECK = "# NBVAL_CHECK_OUTPUT\nprint(check(lab))"


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _notebook(path, *outputs, source=CHECK):
    cells = [nbformat.v4.new_code_cell("lab = connect()"), nbformat.v4.new_code_cell(source)]
    cells[1].outputs = list(outputs)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.fixture
def reference(tmp_path):
    return _notebook(
        tmp_path / "reference.ipynb",
        _stream("site http://127.0.0.1:40123 answered at 2024-05-01T10:00:00Z in 0.52 s\n"),
    )


def test_outputs_that_differ_only_in_sanitized_values_match(tmp_path, reference):
    executed = _notebook(
        tmp_path / "executed.ipynb",
        _stream("site http://127.0.0.1:51515 answered "),  # streams are merged first
        _stream("at 2025-01-02T03:04:05+00:00 in 1.25 s\n"),
    )
    assert check_cell_differences(reference, executed) == []


@pytest.mark.parametrize(
    "outputs",
    [
        [_stream("site http://127.0.0.1:40123 FAILED at 2024-05-01T10:00:00Z in 0.52 s\n")],
        [],
        [_stream("site http://127.0.0.1:40123 answered\n", name="stderr")],
        [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])],
    ],
    ids=["other text", "no output", "other stream", "an error"],
)
def test_a_check_cell_whose_output_differs_is_reported(tmp_path, reference, outputs):
    executed = _notebook(tmp_path / "executed.ipynb", *outputs)
    differences = check_cell_differences(reference, executed)
    assert len(differences) == 1 and "executed.ipynb, check cell 1" in differences[0]


def test_changed_check_cells_ask_for_fresh_references(tmp_path, reference):
    executed = _notebook(tmp_path / "executed.ipynb", source=CHECK + "\nprint('more')")
    assert "refresh the references" in check_cell_differences(reference, executed)[0]


def test_volatile_keys_and_pictures_are_not_compared():
    shown = nbformat.v4.new_output(
        "display_data", data={"text/plain": "arn:aws:s3:::bucket-1", "image/png": "AAAA"}
    )
    other = nbformat.v4.new_output(
        "display_data", data={"text/plain": "arn:aws:s3:::bucket-2", "image/png": "BBBB"}
    )
    patterns = sanitize_patterns()
    assert comparable([shown], patterns) == comparable([other], patterns) == {"text/plain": ["ARN"]}
