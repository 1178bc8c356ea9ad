"""The deployment files (Procfile, render.yaml, docker/) name commands and modules that exist.

Docker is not run here; instead every command these files start is checked against the real
code: the gunicorn config file exists, the WSGI app factory imports, and each ``python -m
generator ...`` command line is accepted by the generator's own argument parser.
"""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
import yaml

from generator.cli import build_parser as generator_parser
from server.cli import build_parser as server_parser

ROOT = Path(__file__).resolve().parents[1]
FAKE_ENV = {"$REDIS_URL": "redis://127.0.0.1:6379/0", "${REDIS_URL}": "redis://127.0.0.1:6379/0"}


def _argv(command: str | list[str]) -> list[str]:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    return [FAKE_ENV.get(a, a) for a in argv]


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, command = line.partition(":")
            assert sep, f"Procfile line {line!r} is not 'name: command'"
            entries[name.strip()] = command.strip()
    return entries


def check_gunicorn(command: str | list[str]) -> None:
    """``gunicorn -c CONFIG 'module:factory()'``: the config exists and the factory imports."""
    argv = _argv(command)
    assert argv[0] == "gunicorn", argv
    config = argv[argv.index("-c") + 1]
    assert (ROOT / config).is_file(), f"gunicorn config {config} does not exist"
    app_spec = argv[-1]
    module_name, _, factory = app_spec.partition(":")
    assert factory.endswith("()"), f"{app_spec!r} should call an app factory"
    module = importlib.import_module(module_name)
    assert callable(getattr(module, factory[:-2])), f"{app_spec!r}: no such factory"


def check_generator(command: str | list[str], subcommand: str) -> None:
    """``python -m generator SUB ...`` is accepted by the generator's parser."""
    argv = _argv(command)
    assert argv[:3] == ["python", "-m", "generator"], argv
    args = generator_parser().parse_args(argv[3:])
    assert args.command == subcommand
    assert callable(args.func)


def check_command(command: str | list[str]) -> None:
    """Any process command: gunicorn, or a ``python -m generator|server`` sub-command."""
    argv = _argv(command)
    if argv[0] == "gunicorn":
        check_gunicorn(argv)
        return
    assert argv[:2] == ["python", "-m"] and argv[2] in {"generator", "server"}, argv
    parser = generator_parser() if argv[2] == "generator" else server_parser()
    args = parser.parse_args(argv[3:])
    assert callable(args.func)


def test_procfile_runs_gunicorn_with_the_app_factory_and_one_replay() -> None:
    entries = procfile()
    assert {"web", "replay"} <= set(entries)
    check_gunicorn(entries["web"])
    check_generator(entries["replay"], "replay")
    assert "$REDIS_URL" in entries["replay"]
    for command in entries.values():
        check_command(command)


def test_compose_has_web_replay_redis_and_mosquitto() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "replay", "redis", "mosquitto"} <= set(services)
    # every Procfile process runs in compose too (web by the image's CMD)
    assert set(procfile()) - {"web"} <= set(services)
    for name in set(procfile()) - {"web"}:
        assert services[name]["image"] == services["web"]["image"]
        check_command(services[name]["command"])

    web = services["web"]
    assert (
        ROOT / web["build"]["context"].replace("..", ".") / web["build"]["dockerfile"]
    ).is_file()
    assert web["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert web["environment"]["MQTT_URL"].startswith("mqtt://mosquitto:")
    assert web["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in web["environment"]["DATABASE_URL"]
    assert {"redis", "mosquitto", "postgres"} <= set(web["depends_on"])
    # one database for every process that stores something
    for name in ("replay", "ingest"):
        assert services[name]["environment"]["DATABASE_URL"] == web["environment"]["DATABASE_URL"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]

    replay = services["replay"]
    assert replay["image"] == web["image"], "replay runs the web image"
    check_generator(replay["command"], "replay")
    assert "redis://redis:6379/0" in replay["command"]

    mosquitto_conf = services["mosquitto"]["volumes"][0].split(":")[0]
    conf = (ROOT / "docker" / mosquitto_conf).resolve()
    assert conf.is_file(), f"{conf} is missing"
    assert "listener 1883" in conf.read_text()


def test_dockerfile_runs_the_procfile_web_command_as_a_non_root_user() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "docker" / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is missing"
    demo = next(line for line in lines if "generator demo" in line)
    check_generator(demo.removeprefix("RUN "), "demo")
    cmd = next(line for line in lines if line.startswith("CMD "))
    argv = yaml.safe_load(cmd.removeprefix("CMD "))  # JSON array form
    assert shlex.join(argv) == shlex.join(_argv(procfile()["web"]))
    check_gunicorn(argv)


def test_render_blueprint_wires_web_replay_and_key_value() -> None:
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    by_type = {s["type"]: s for s in blueprint["services"]}
    assert set(by_type) == {"web", "worker", "keyvalue"}
    web, worker, kv = by_type["web"], by_type["worker"], by_type["keyvalue"]
    entries = procfile()
    assert web["startCommand"] == entries["web"]
    assert worker["startCommand"] == entries["replay"]
    check_gunicorn(web["startCommand"])
    check_generator(worker["startCommand"], "replay")
    for service in (web, worker):
        install, _, generate = service["buildCommand"].partition(" && ")
        assert install == "pip install ."
        check_generator(generate, "demo")
        redis_url = next(e for e in service["envVars"] if e["key"] == "REDIS_URL")
        assert redis_url["fromService"] == {
            "type": "keyvalue",
            "name": kv["name"],
            "property": "connectionString",
        }
    assert kv["maxmemoryPolicy"] == "noeviction"
    (database,) = blueprint["databases"]
    for service in (web, worker):
        url = next(e for e in service["envVars"] if e["key"] == "DATABASE_URL")
        assert url["fromDatabase"] == {"name": database["name"], "property": "connectionString"}


@pytest.mark.parametrize("path", ["Procfile", "render.yaml", "docker/compose.yaml"])
def test_deploy_files_use_the_demo_dataset_path_the_makefile_generates(path: str) -> None:
    text = (ROOT / path).read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "generator demo --out $(GRIDLIGHT_DATA_DIR)/demo" in makefile
    assert "data/demo" in text
