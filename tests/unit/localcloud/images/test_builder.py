"""The Dockerfile interpreter: COPY/ADD into the snapshot, the image config, RUN's pip checks
and the content digest."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.images.errors import BuildError
from mysfits_lab.localcloud.images.store import ImageStore

from .contexts import APP, files_in, make_context


def test_copy_of_a_folder_copies_its_contents_and_files_follow_the_trailing_slash(tmp_path, store):
    context = make_context(
        tmp_path / "ctx",
        """
        FROM python:3.12-slim
        WORKDIR /srv
        COPY app/ /opt/code/
        COPY app lib-copy
        COPY notes.txt /etc/notes
        COPY notes.txt /docs/
        COPY notes.txt .
        """,
        APP,
    )
    image = store.build(context)
    assert files_in(image) == [
        "docs/notes.txt",
        "etc/notes",
        "opt/code/lib/util.py",
        "opt/code/main.py",
        "srv/lib-copy/lib/util.py",
        "srv/lib-copy/main.py",
        "srv/notes.txt",
    ]
    assert image.workdir == "/srv"
    assert image.host_path("lib-copy/main.py").read_text() == "print('hi')\n"
    assert image.host_path("/etc/notes") == image.root / "etc" / "notes"


def test_several_sources_need_a_folder_destination(tmp_path, store):
    context = make_context(
        tmp_path / "ctx", "FROM scratch\nCOPY notes.txt app/main.py /dest\n", APP
    )
    with pytest.raises(BuildError, match=r"Dockerfile:2: .*destination must be a directory"):
        store.build(context)


def test_wildcards_dockerignore_and_paths_outside_the_context(tmp_path, store):
    files = {"a.py": "a", "b.py": "b", "c.txt": "c", "secret.py": "s", "keep/x.pyc": "x"}
    context = make_context(
        tmp_path / "ctx", "FROM scratch\nCOPY *.py /code/\nCOPY . /all/\n", files
    )
    (context / ".dockerignore").write_text("secret.py\n**/*.pyc\n")
    image = store.build(context)
    assert [f for f in files_in(image) if f.startswith("code/")] == ["code/a.py", "code/b.py"]
    assert "all/secret.py" not in files_in(image)
    assert "all/keep/x.pyc" not in files_in(image)
    assert "all/c.txt" in files_in(image)

    missing = make_context(tmp_path / "ctx2", "FROM scratch\nCOPY secret.py /x\n", files)
    (missing / ".dockerignore").write_text("secret.py\n")
    with pytest.raises(BuildError, match="file not found in build context or excluded"):
        store.build(missing)
    outside = make_context(tmp_path / "ctx3", "FROM scratch\nCOPY ../ctx/a.py /x\n")
    with pytest.raises(BuildError, match="outside the build context"):
        store.build(outside)


def test_env_forms_continuations_and_expansion(tmp_path, store):
    context = make_context(
        tmp_path / "ctx",
        """
        FROM python:3.12-slim
        ARG FLAVOUR=plain
        ENV A=1 B="two words" \\
            C='no $A expansion'
        # a comment between instructions
        ENV LEGACY value with  spaces
        ENV D=$A-${B} E=${MISSING:-fallback} F=${A:+set} G=$FLAVOUR \\
            PATH=/app/bin:$PATH
        WORKDIR /app/$FLAVOUR
        """,
    )
    image = store.build(context, build_args={"FLAVOUR": "spicy"})
    assert image.env == {
        "A": "1",
        "B": "two words",
        "C": "no $A expansion",
        "LEGACY": "value with  spaces",
        "D": "1-two words",
        "E": "fallback",
        "F": "set",
        "G": "spicy",
        "PATH": "/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    assert image.workdir == "/app/spicy"
    assert image.host_path(".").is_dir()


def test_cmd_entrypoint_shell_and_exec_forms(tmp_path, store):
    exec_form = store.build(
        make_context(
            tmp_path / "a",
            """
            FROM scratch
            ENTRYPOINT ["python", "-m"]
            CMD ["http.server", "8000"]
            EXPOSE 8000/tcp 9000-9001
            USER app:app
            HEALTHCHECK --interval=5s CMD curl -f http://localhost:8000/ || exit 1
            """,
        )
    )
    assert exec_form.command() == ["python", "-m", "http.server", "8000"]
    assert exec_form.exposed_ports == [8000, 9000, 9001]
    assert exec_form.user == "app:app"
    assert exec_form.healthcheck == ["/bin/sh", "-c", "curl -f http://localhost:8000/ || exit 1"]

    shell_form = store.build(make_context(tmp_path / "b", 'FROM scratch\nCMD echo "hello $NAME"\n'))
    assert shell_form.entrypoint == []
    assert shell_form.command() == ["/bin/sh", "-c", 'echo "hello $NAME"']

    custom_shell = store.build(
        make_context(tmp_path / "c", 'FROM scratch\nSHELL ["/bin/bash", "-lc"]\nCMD run.sh\n')
    )
    assert custom_shell.command() == ["/bin/bash", "-lc", "run.sh"]


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("FROM scratch\n\nONBUILD RUN make\n", r"Dockerfile:3: ONBUILD is not supported"),
        ("FROM scratch\nFROBNICATE now\n", r"Dockerfile:2: unknown instruction: FROBNICATE"),
        ("FROM a AS build\nFROM b\n", r"Dockerfile:2: multi-stage builds are not supported"),
        ("FROM scratch\nCOPY --from=build /x /y\n", r"Dockerfile:2: COPY --from is not supported"),
        ("WORKDIR /app\n", r"Dockerfile:1: no build stage"),
        ("FROM scratch\nADD https://example.com/x.tgz /x\n", r"ADD from a URL needs the network"),
    ],
)
def test_unsupported_instructions_fail_naming_the_line(tmp_path, store, dockerfile, message):
    with pytest.raises(BuildError, match=message):
        store.build(make_context(tmp_path / "ctx", dockerfile))


def test_pip_requirements_must_be_installed_in_the_local_python(tmp_path, store):
    ok = make_context(
        tmp_path / "ok",
        """
        FROM python:3.12-slim
        COPY requirements.txt /tmp/req.txt
        RUN pip install --no-cache-dir -r /tmp/req.txt && useradd app
        """,
        {
            "requirements.txt": "# runtime\nPyYAML>=5  # comment\n"
            'windows-only-thing==1.0; sys_platform == "win32"\n'
        },
    )
    lines: list[str] = []
    image = store.build(ok, progress=lines.append)
    assert image.run == ["pip install --no-cache-dir -r /tmp/req.txt && useradd app"]
    assert any(
        "requirements satisfied by the local python: pyyaml" in line.lower() for line in lines
    )

    missing = make_context(
        tmp_path / "missing",
        """
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN python -m pip install --requirement requirements.txt 2>&1
        """,
        {"requirements.txt": "pyyaml\nsurely-not-installed-mysfits-pkg==1.0\n"},
    )
    with pytest.raises(BuildError) as failure:
        store.build(missing)
    assert "Dockerfile:4" in str(failure.value)
    assert "surely-not-installed-mysfits-pkg==1.0" in str(failure.value)
    assert "pyyaml" not in str(failure.value).split("does not have", 1)[1].split("(")[0]

    absent_file = make_context(tmp_path / "nofile", "FROM x\nRUN pip install -r req.txt\n")
    with pytest.raises(BuildError, match="Could not open requirements file"):
        store.build(absent_file)


def test_digest_is_deterministic_and_follows_content_and_config(tmp_path):
    dockerfile = 'FROM python:3.12-slim\nWORKDIR /app\nCOPY app/ ./\nCMD ["python", "main.py"]\n'
    first = ImageStore(tmp_path / "store1").build(make_context(tmp_path / "one", dockerfile, APP))
    second = ImageStore(tmp_path / "store2").build(make_context(tmp_path / "two", dockerfile, APP))
    assert first.digest == second.digest
    assert first.digest.startswith("sha256:") and len(first.digest) == 71

    changed = dict(APP, **{"app/main.py": "print('bye')\n"})
    third = ImageStore(tmp_path / "store3").build(
        make_context(tmp_path / "three", dockerfile, changed)
    )
    assert third.digest != first.digest

    other_cmd = dockerfile.replace("main.py", "other.py")
    fourth = ImageStore(tmp_path / "store4").build(make_context(tmp_path / "four", other_cmd, APP))
    assert fourth.digest != first.digest
