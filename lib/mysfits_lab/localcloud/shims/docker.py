"""``docker`` on the local cloud: build/tag/push/login against the cloud's image store.

Supported: ``build``, ``tag``, ``push``, ``login``, ``logout``, ``images``, ``image ls|inspect|
tag|push|build``, ``inspect``, ``version``, ``--version``. Credentials from ``docker login`` are
kept in ``$DOCKER_CONFIG/config.json`` (default ``~/.docker``) as docker keeps them, and a push
to ECR without them fails with docker's "no basic auth credentials".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from ._cloud import call, die

VERSION = "27.3.1-mysfits-lab"
SUPPORTED = "build, tag, push, login, logout, images, image ls/inspect, inspect, version"


def _config_dir(override: str | None) -> Path:
    return Path(override or os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def _load_config(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / "config.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _save_config(directory: Path, config: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent="\t"))
    path.chmod(0o600)


def _daemon() -> str:
    """The docker daemon this command talks to: each CodeBuild build has its own."""
    return os.environ.get("CODEBUILD_BUILD_ID", "")


def _fail(body: dict[str, Any]) -> None:
    for line in body.get("lines", []):
        print(line)
    die(body.get("message", "the local cloud refused the request"))


# ----------------------------------------------------------------------------- commands


def build(args: argparse.Namespace) -> None:
    if args.context == "-":
        die(
            '"docker build -" (context from stdin) is not supported by the local cloud\'s docker '
            "shim; pass a folder"
        )
    context = Path(args.context).resolve()
    dockerfile = str(Path(args.file).resolve()) if args.file else "Dockerfile"
    build_args = {}
    for item in args.build_arg:
        name, has_value, value = item.partition("=")
        if has_value:
            build_args[name] = value
        elif name in os.environ:  # "--build-arg NAME" takes the value from the environment
            build_args[name] = os.environ[name]
    if not args.quiet:
        print(f"Sending build context to the local cloud: {context}")
    status, body = call(
        "POST",
        "images/build",
        {
            "context": str(context),
            "dockerfile": dockerfile,
            "tags": args.tag,
            "build_args": build_args,
            "daemon": _daemon(),
        },
    )
    if status != 200:
        _fail(body)
    if args.quiet:
        print(body["image"]["digest"])
    else:
        for line in body["lines"]:
            print(line)


def tag(args: argparse.Namespace) -> None:
    status, body = call(
        "POST", "images/tag", {"source": args.source, "target": args.target, "daemon": _daemon()}
    )
    if status != 200:
        _fail(body)


def push(args: argparse.Namespace) -> None:
    ref = args.name
    first, _, rest = ref.partition("/")
    host = first if rest and ("." in first or ":" in first) else "docker.io"
    auth = _load_config(_config_dir(args.config)).get("auths", {}).get(host, {}).get("auth")
    username = password = ""
    if auth:
        username, _, password = base64.b64decode(auth).decode().partition(":")
    status, body = call(
        "POST",
        "images/push",
        {"ref": ref, "username": username, "password": password, "daemon": _daemon()},
    )
    for line in body.get("lines", []):
        print(line)
    if status != 200:
        die(body.get("message", "push failed"))


def login(args: argparse.Namespace) -> None:
    if args.password_stdin:
        if args.password:
            die("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\r\n")
    else:
        password = args.password or ""
        if password:
            print(
                "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
                file=sys.stderr,
            )
    if not args.username:
        die(
            "Error: Cannot perform an interactive login from a non TTY device "
            "(pass --username and --password-stdin)"
        )
    if not password:
        die("Error: Password Required")
    server = args.server or "https://index.docker.io/v1/"
    status, body = call(
        "POST",
        "images/login",
        {"registry": server, "username": args.username, "password": password},
    )
    if status != 200:
        _fail(body)
    directory = _config_dir(args.config)
    config = _load_config(directory)
    token = base64.b64encode(f"{args.username}:{password}".encode()).decode()
    config.setdefault("auths", {})[body["registry"]] = {"auth": token}
    _save_config(directory, config)
    print(
        f"WARNING! Your password will be stored unencrypted in {directory / 'config.json'}.",
        file=sys.stderr,
    )
    print("Login Succeeded")


def logout(args: argparse.Namespace) -> None:
    from ..images import registry_host  # the image store's modules: too slow for every command

    host = registry_host(args.server or "https://index.docker.io/v1/")
    directory = _config_dir(args.config)
    config = _load_config(directory)
    if config.get("auths", {}).pop(host, None) is not None:
        _save_config(directory, config)
        print(f"Removing login credentials for {host}")
    else:
        print(f"Not logged in to {host}")


def images(args: argparse.Namespace) -> None:
    status, body = call("GET", f"images?daemon={_quote(_daemon())}")
    if status != 200:
        _fail(body)
    rows = []
    for image in body["images"]:
        for ref in image["refs"] or ["<none>:<none>"]:
            repository, _, tag_ = ref.rpartition(":")
            if args.repository and repository != args.repository and ref != args.repository:
                continue
            rows.append(
                (repository, tag_, image["id"], image["created"], f"{image['size'] / 1000:.1f}kB")
            )
    if args.quiet:
        for image_id in dict.fromkeys(r[2] for r in rows):
            print(image_id)
        return
    header = ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print(
            "   ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def inspect(args: argparse.Namespace) -> None:
    found = []
    for name in args.names:
        status, body = call("GET", f"images/resolve?ref={_quote(name)}&daemon={_quote(_daemon())}")
        if status != 200:
            print("[]")
            die(f"Error: No such object: {name}")
        found.append(
            {
                "Id": body["digest"],
                "RepoTags": [name],
                "Config": {
                    "Env": [f"{k}={v}" for k, v in body["env"].items()],
                    "Cmd": body["cmd"] or None,
                    "Entrypoint": body["entrypoint"] or None,
                    "WorkingDir": body["workdir"],
                    "User": body["user"] or "",
                    "ExposedPorts": {f"{p}/tcp": {} for p in body["exposed_ports"]},
                    "Healthcheck": {"Test": ["CMD", *body["healthcheck"]]}
                    if body["healthcheck"]
                    else None,
                    "Labels": body["labels"] or None,
                },
                "Size": body["size"],
                "Created": body["created"],
                "GraphDriver": {"Name": "local-cloud-snapshot", "Data": {"Dir": body["root"]}},
            }
        )
    print(json.dumps(found, indent=4))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def version(_args: argparse.Namespace) -> None:
    print(
        f"Client:\n Version:           {VERSION}\n\nServer: mysfits-lab local cloud (no "
        "container engine: images are snapshots of their build context)"
    )


# ----------------------------------------------------------------------------- parsing


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docker", add_help=True)
    parser.add_argument("--config", help="location of client config files")
    parser.add_argument("-v", "--version", action="store_true")
    parser.add_argument("-D", "--debug", action="store_true")
    commands = parser.add_subparsers(dest="command")

    def build_parser(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("context")
        sub.add_argument("-t", "--tag", action="append", default=[])
        sub.add_argument("-f", "--file")
        sub.add_argument("--build-arg", action="append", default=[])
        sub.add_argument("-q", "--quiet", action="store_true")
        for flag in ("--pull", "--no-cache", "--rm", "--force-rm", "--load"):
            sub.add_argument(flag, action="store_true", help="accepted, no effect")
        for option in (
            "--platform",
            "--progress",
            "--network",
            "--label",
            "--target",
            "--cache-from",
        ):
            sub.add_argument(option, action="append", help="accepted, no effect")
        sub.set_defaults(handler=build)

    def push_parser(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("name")
        sub.add_argument("-q", "--quiet", action="store_true")
        sub.set_defaults(handler=push)

    def tag_parser(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("source")
        sub.add_argument("target")
        sub.set_defaults(handler=tag)

    def images_parser(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("repository", nargs="?")
        sub.add_argument("-q", "--quiet", action="store_true")
        sub.add_argument("-a", "--all", action="store_true")
        sub.set_defaults(handler=images)

    def inspect_parser(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("names", nargs="+")
        sub.add_argument("--type")
        sub.set_defaults(handler=inspect)

    build_parser(commands.add_parser("build"))
    push_parser(commands.add_parser("push"))
    tag_parser(commands.add_parser("tag"))
    images_parser(commands.add_parser("images"))
    inspect_parser(commands.add_parser("inspect"))
    image = commands.add_parser("image").add_subparsers(dest="image_command")
    build_parser(image.add_parser("build"))
    push_parser(image.add_parser("push"))
    tag_parser(image.add_parser("tag"))
    images_parser(image.add_parser("ls"))
    images_parser(image.add_parser("list"))
    inspect_parser(image.add_parser("inspect"))

    login_cmd = commands.add_parser("login")
    login_cmd.add_argument("server", nargs="?")
    login_cmd.add_argument("-u", "--username")
    login_cmd.add_argument("-p", "--password")
    login_cmd.add_argument("--password-stdin", action="store_true")
    login_cmd.set_defaults(handler=login)
    logout_cmd = commands.add_parser("logout")
    logout_cmd.add_argument("server", nargs="?")
    logout_cmd.set_defaults(handler=logout)
    commands.add_parser("version").set_defaults(handler=version)
    return parser


_KNOWN = {"build", "push", "tag", "images", "inspect", "image", "login", "logout", "version"}
_IMAGE_KNOWN = {"build", "push", "tag", "ls", "list", "inspect"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and command not in _KNOWN:
        die(
            f"docker {command}: not supported by the local cloud's docker shim "
            f"(supported: {SUPPORTED}); the local cloud has no container engine"
        )
    if command == "image":
        rest = argv[argv.index("image") + 1 :]
        sub = next((a for a in rest if not a.startswith("-")), None)
        if sub not in _IMAGE_KNOWN:
            die(
                f"docker image {sub or ''}: not supported by the local cloud's docker shim "
                f"(supported: {SUPPORTED})"
            )
    args = _parser().parse_args(argv)
    if args.version:
        print(f"Docker version {VERSION}, build localcloud")
        return
    handler = getattr(args, "handler", None)
    if handler is None:
        die(f"Usage: docker COMMAND (the local cloud's docker shim supports: {SUPPORTED})")
    handler(args)


if __name__ == "__main__":
    main()
