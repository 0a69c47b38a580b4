"""Dockerfile, docker-compose.yml and env.example agree with the code they deploy."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from edutrack.app import create_app
from edutrack.cli import COMMANDS, build_parser
from edutrack.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
OUR_IMAGE = "edutrack"
# Fields that are not configuration: computed at load time, or pinned on purpose (HS256 only).
NOT_ENV = {"jwt_secret_generated", "jwt_algorithm"}
SETTING_NAMES = {f.name.upper() for f in dataclasses.fields(Settings) if f.name not in NOT_ENV}


def _parses(argv: list[str]) -> argparse.Namespace:
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`edutrack {' '.join(argv)}` is not a valid command line") from exc


# --- Dockerfile ----------------------------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _one(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [rest for kw, rest in instructions if kw == keyword]
    assert found, f"Dockerfile has no {keyword}"
    return found[-1]  # the last one wins, as in docker


def test_dockerfile_entrypoint_and_cmd_are_real_commands():
    instructions = _dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert json.loads(_one(instructions, "ENTRYPOINT")) == ["edutrack"]
    cmd = json.loads(_one(instructions, "CMD"))
    assert cmd[0] == "api"
    args = _parses(cmd)
    assert args.command == "api"
    assert args.host == "0.0.0.0"  # noqa: S104 - a container listens on all interfaces


def test_dockerfile_runs_as_non_root_from_app():
    instructions = _dockerfile()
    assert _one(instructions, "WORKDIR") == "/app"
    user = _one(instructions, "USER")
    assert user not in ("root", "0")
    assert not user.startswith("0:")
    # The USER switch comes after the last RUN (which still needs root to install).
    keywords = [kw for kw, _ in instructions]
    assert max(i for i, kw in enumerate(keywords) if kw == "RUN") < keywords.index("USER")
    # Editable install keeps /app/migrations and /app/static next to the package, where the code looks.
    assert any(kw == "RUN" and "pip install" in rest and " -e ." in rest for kw, rest in instructions)
    healthcheck = _one(instructions, "HEALTHCHECK")
    assert "/health" in healthcheck
    assert "8000" in _one(instructions, "EXPOSE")


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".env"} <= ignored
    # ...but never what the image needs.
    assert not ignored & {"migrations", "static", "edutrack", "setup.cfg", "pyproject.toml", "alembic.ini"}


# --- docker-compose.yml --------------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: str, env: dict[str, str]) -> str:
    """What docker compose does to ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise KeyError(f"{name}: {arg}")
        return ""

    return _VAR.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items()
            if "build" in svc or str(svc.get("image", "")).split(":")[0] == OUR_IMAGE}


def _in_profile(compose: dict[str, Any], profile: str | None) -> dict[str, dict[str, Any]]:
    """Services of a profile; None: the default ones (no profile), which `docker compose up` starts."""
    return {name: svc for name, svc in compose["services"].items()
            if (profile in svc.get("profiles", []) if profile else not svc.get("profiles"))}


def test_compose_has_every_service(compose):
    services = compose["services"]
    assert {"postgres", "redis", "rabbitmq", "migrate", "api", "relay", "notifier"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3")
    catchers = [name for name, svc in services.items() if "mailpit" in str(svc.get("image", ""))
                or "mailhog" in str(svc.get("image", ""))]
    assert catchers, "no local SMTP catcher"
    default = _in_profile(compose, None)
    assert set(default) == {"postgres", "redis", "rabbitmq", "mailpit", "migrate", "api", "relay", "notifier"}
    assert set(_ours(compose)) & set(default) == {"migrate", "api", "relay", "notifier"}
    assert set(_ours(compose)) - set(default) == {"cluster-api-1", "cluster-api-2", "cluster-relay",
                                                  "cluster-notifier"}
    assert {svc.get("profiles", [None])[0] for svc in services.values()} == {None, "cluster"}


def test_compose_commands_are_real_subcommands(compose):
    seen = set()
    for name, svc in _ours(compose).items():
        assert svc.get("entrypoint") in (None, ["edutrack"]), name
        command = svc["command"]
        assert isinstance(command, list), f"{name}: use the exec form (a list) for command"
        assert command[0] in COMMANDS, (name, command)
        args = _parses(command)
        seen.add(args.command)
    assert {"migrate", "api", "relay", "notifier"} <= seen


def test_compose_order_of_start(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "relay", "notifier"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == deps["rabbitmq"]["condition"] == "service_healthy", name
    for name in ("postgres", "redis", "rabbitmq"):
        assert "healthcheck" in services[name], name
    # The image's HTTP health check only makes sense for the API.
    assert "healthcheck" not in services["api"] or not services["api"]["healthcheck"].get("disable")
    for name in ("migrate", "relay", "notifier"):
        assert services[name]["healthcheck"]["disable"] is True, name
    assert "8000:8000" in services["api"]["ports"]


def test_compose_environment_is_valid_configuration(compose):
    services = compose["services"]
    for name, svc in _ours(compose).items():
        env = svc["environment"]
        assert set(env) <= SETTING_NAMES, f"{name}: unknown settings {set(env) - SETTING_NAMES}"
        assert env["JWT_SECRET"].startswith("${JWT_SECRET:?"), "JWT_SECRET must be required, never defaulted"
        with pytest.raises(KeyError, match="JWT_SECRET"):
            _interpolate(env["JWT_SECRET"], {})
        values = {k: _interpolate(str(v), {"JWT_SECRET": "s" * 48}) for k, v in env.items()}
        settings = load_settings(values, env_file=None)
        assert settings.is_production
        assert not settings.dev_mail_catcher
        # Every URL points at a service of this compose file, not at the container's own localhost.
        for url in (settings.database_url, settings.redis_url, settings.rabbitmq_url):
            assert urlsplit(url).hostname in services, (name, url)
        assert settings.smtp_host in services
        # The built-in RabbitMQ guest user only works over loopback.
        assert urlsplit(settings.rabbitmq_url).username != "guest"
    rabbit_env = services["rabbitmq"]["environment"]
    mq_url = _interpolate(_ours(compose)["api"]["environment"]["RABBITMQ_URL"], {})
    assert urlsplit(mq_url).username == rabbit_env["RABBITMQ_DEFAULT_USER"]
    assert urlsplit(mq_url).password == _interpolate(rabbit_env["RABBITMQ_DEFAULT_PASS"], {})
    pg_env = services["postgres"]["environment"]
    db_url = urlsplit(_interpolate(_ours(compose)["api"]["environment"]["DATABASE_URL"], {}))
    assert db_url.username == pg_env["POSTGRES_USER"]
    assert db_url.password == _interpolate(pg_env["POSTGRES_PASSWORD"], {})
    assert db_url.path == "/" + pg_env["POSTGRES_DB"]


# --- env.example ---------------------------------------------------------------------------------------------

_ASSIGN = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def _env_example() -> list[str]:
    return (ROOT / "env.example").read_text().splitlines()


def _mentioned() -> dict[str, bool]:
    """Setting name -> whether it is set (True) or only shown commented out (False)."""
    found = {}
    for line in _env_example():
        match = _ASSIGN.match(line.strip())
        if match:
            found[match.group(2)] = match.group(1) is None
    return found


def test_env_example_mentions_every_setting_and_only_settings():
    mentioned = _mentioned()
    assert set(mentioned) == SETTING_NAMES, {
        "missing from env.example": SETTING_NAMES - set(mentioned),
        "not settings": set(mentioned) - SETTING_NAMES,
    }
    assert mentioned["JWT_SECRET"] is False  # development generates one; production must set its own


def test_readme_configuration_table_names_every_setting():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("## Architecture")]
    # Names in the first column only: the defaults column holds values such as `INFO`.
    named = {n for row in table.splitlines() if row.startswith("| `")
             for n in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}
    assert named >= SETTING_NAMES, {"missing from the README's table": SETTING_NAMES - named}
    assert named <= SETTING_NAMES, {"in the README but not settings": named - SETTING_NAMES}


def test_env_example_explains_every_setting():
    block: list[str] = []
    for line in [*_env_example(), ""]:
        if line.strip():
            block.append(line.strip())
            continue
        explained = any(b.startswith("#") and not _ASSIGN.match(b) for b in block)
        names = [m.group(2) for b in block if (m := _ASSIGN.match(b))]
        assert not names or explained, f"no comment explains {names}"
        block = []


def test_every_name_in_env_example_is_read_by_the_loader():
    defaults = Settings()
    for name in _mentioned():
        attr = name.lower()
        try:
            loaded = load_settings({name: "zz-not-a-valid-value"}, env_file=None)
        except SettingsError as exc:
            assert any(name in p for p in exc.problems), (name, exc.problems)
            continue
        assert getattr(loaded, attr) != getattr(defaults, attr), f"{name} is ignored by load_settings"


def test_env_example_values_are_the_defaults():
    settings = load_settings({}, env_file=ROOT / "env.example")
    assert settings.jwt_secret_generated
    for field in dataclasses.fields(Settings):
        if field.name in NOT_ENV | {"jwt_secret"}:
            continue
        assert getattr(settings, field.name) == getattr(Settings(), field.name), field.name


async def test_app_starts_with_env_example(aiohttp_client, settings):
    from_example = load_settings({}, env_file=ROOT / "env.example")
    assert create_app(from_example) is not None
    # Started for real: the example's Redis and RabbitMQ, with the test database and a private namespace
    # (an environment variable wins over the file, as in production).
    started = load_settings({"DATABASE_URL": settings.database_url, "NAMESPACE": settings.namespace},
                            env_file=ROOT / "env.example")
    client = await aiohttp_client(create_app(started))
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ok", body


# --- setup.cfg -----------------------------------------------------------------------------------------------


def test_every_directory_with_package_data_is_a_package():
    """setuptools warns "Package 'edutrack.x' is absent from the `packages` configuration" for every directory
    whose files it ships without it being a listed package; each of them must be one, and its files listed."""
    from setuptools.config.setupcfg import read_configuration

    options = read_configuration(ROOT / "setup.cfg")["options"]
    packages = set(options["packages"])
    # configparser lower-cases option names: edutrack.locale.ru.LC_MESSAGES is read as ...lc_messages.
    shipped = {name.lower(): patterns for name, patterns in options.get("package_data", {}).items()}
    for directory in sorted((ROOT / "edutrack").rglob("*")):
        if not directory.is_dir() or directory.name == "__pycache__":
            continue
        data = [f for f in directory.iterdir() if f.is_file() and f.suffix not in (".py", ".pyc")]
        if not data:
            continue
        name = ".".join(directory.relative_to(ROOT).parts)
        assert name in packages, f"{name} holds data files but is not a package"
        for file in data:
            assert any(file.match(pattern) for pattern in shipped.get(name.lower(), [])), f"{file} is not shipped"


# --- Makefile ------------------------------------------------------------------------------------------------


def test_make_test_installs_chromium_before_the_suite():
    """The README's test command runs the end-to-end tests, which need Chromium: `make test` installs it when it
    is missing (as CI does) rather than failing in the middle of the suite."""
    import shutil
    import subprocess

    make = shutil.which("make")
    assert make is not None
    dry = subprocess.run([make, "-n", "test", "CHROMIUM=/nonexistent/chromium"], cwd=ROOT, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    install = dry.find("apt-get install -y chromium")
    assert install >= 0, dry
    assert install < dry.index("pytest"), dry
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("make test "))
    assert "Chromium" in line


# --- docker-compose.yml: the single-node default and the `cluster` profile --------------------------------


def test_single_node_default_keeps_the_single_node_settings(compose):
    """`docker compose up` (and `make run`) stay what they were: classic queues, PostgreSQL directly."""
    for name in ("api", "relay", "notifier", "migrate"):
        env = compose["services"][name]["environment"]
        settings = load_settings({k: _interpolate(str(v), {"JWT_SECRET": "s" * 48}) for k, v in env.items()},
                                 env_file=None)
        assert settings.rabbitmq_queue_type == "classic", name
        assert settings.database_pool_mode == "session", name
        assert urlsplit(settings.database_url).hostname == "postgres"
        assert urlsplit(settings.rabbitmq_url).hostname == "rabbitmq"
        assert "networks" not in compose["services"][name]


def _cluster_settings(compose: dict[str, Any], name: str) -> Settings:
    env = compose["services"][name]["environment"]
    return load_settings({k: _interpolate(str(v), {"JWT_SECRET": "s" * 48}) for k, v in env.items()},
                         env_file=None)


def _cluster_apps(compose: dict[str, Any]) -> dict[str, Settings]:
    """The settings of each EduTrack service of the cluster profile."""
    return {name: _cluster_settings(compose, name) for name in _ours(compose)
            if "cluster" in compose["services"][name].get("profiles", [])}


def _mounted(svc: dict[str, Any], target: str) -> Path:
    for volume in svc.get("volumes", []):
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            path = (ROOT / source).resolve()
            assert path.is_file(), volume
            assert ROOT in path.parents, volume
            return path
    raise AssertionError(f"nothing mounted at {target}")


def _haproxy() -> dict[str, list[str]]:
    """deploy/haproxy/haproxy.cfg as {"frontend http": [lines], "backend api": [...], ...}."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (ROOT / "deploy/haproxy/haproxy.cfg").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            current = sections.setdefault(" ".join(line.split()), [])
        else:
            current.append(" ".join(line.split()))
    return sections


def _servers(lines: list[str]) -> dict[str, str]:
    return {parts[1]: parts[2] for parts in (line.split() for line in lines) if parts[0] == "server"}


def _bind_port(lines: list[str]) -> int:
    [bind] = [line for line in lines if line.startswith("bind ")]
    return int(bind.split()[1].rsplit(":", 1)[1])


def test_cluster_api_nodes_sit_behind_a_balancer_that_carries_websockets(compose):
    services = compose["services"]
    cfg = _haproxy()
    lb = services["cluster-lb"]
    assert _mounted(lb, "/usr/local/etc/haproxy/haproxy.cfg") == ROOT / "deploy/haproxy/haproxy.cfg"
    api_nodes = {name: svc for name, svc in _in_profile(compose, "cluster").items()
                 if svc.get("command", [None])[0] == "api"}
    assert len(api_nodes) >= 2
    expected = {f"{name}:{_parses(svc['command']).port}" for name, svc in api_nodes.items()}
    # REST and websockets go to every API node of the profile, and to nothing else.
    for backend in ("backend api", "backend api_ws"):
        assert set(_servers(cfg[backend]).values()) == expected, backend
        assert "mode http" in cfg[backend]
        assert "option httpchk GET /health" in cfg[backend]
    http = cfg["frontend http"]
    assert "mode http" in http
    assert "option forwardfor" in http
    assert f"{_bind_port(http)}:{_bind_port(http)}" in lb["ports"]
    # /ws with Upgrade: websocket and Connection: upgrade goes to the websocket backend, headers untouched.
    acls = {parts[1]: " ".join(parts[2:]) for parts in (line.split() for line in http) if parts[0] == "acl"}
    [route] = [line for line in http if line.startswith("use_backend api_ws if ")]
    conditions = route.split(" if ", 1)[1].split()
    assert {acls[c] for c in conditions} == {"path /ws", "hdr(Upgrade) -i websocket", "hdr_sub(Connection) -i upgrade"}
    assert "balance leastconn" in cfg["backend api_ws"]
    # Upgraded sockets are tunnels: idle between pings longer than any HTTP timeout would allow.
    tunnel = next(line for line in cfg["defaults"] if line.startswith("timeout tunnel"))
    assert tunnel.split()[-1] in ("1h", "3600s")
    # The nodes believe the balancer's X-Forwarded-For: it reaches them from its fixed address only.
    assert set(lb["networks"]) == {"cluster"}
    lb_address = ipaddress.ip_address(lb["networks"]["cluster"]["ipv4_address"])
    subnet = compose["networks"]["cluster"]["ipam"]["config"][0]["subnet"]
    assert lb_address in ipaddress.ip_network(subnet)
    for name in api_nodes:
        trusted = _cluster_settings(compose, name).trusted_proxies
        assert any(lb_address in ipaddress.ip_network(n) for n in trusted), name
        assert "cluster" in services[name]["networks"]


def test_cluster_rabbitmq_is_three_nodes_with_quorum_queues(compose):
    nodes = {name: svc for name, svc in _in_profile(compose, "cluster").items()
             if str(svc.get("image", "")).startswith("rabbitmq:")}
    assert len(nodes) == 3
    conf = {}
    for name, svc in nodes.items():
        # 3.10+: quorum queues with message TTL and at-least-once dead-lettering.
        version = tuple(int(p) for p in svc["image"].split(":")[1].split("-")[0].split("."))
        assert version >= (3, 10), svc["image"]
        assert svc["hostname"] == name
        assert "healthcheck" in svc
        path = _mounted(svc, "/etc/rabbitmq/conf.d/20-edutrack-cluster.conf")
        conf = dict(line.split(" = ", 1) for line in path.read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    cookies = {svc["environment"]["RABBITMQ_ERLANG_COOKIE"] for svc in nodes.values()}
    assert len(cookies) == 1
    assert conf["cluster_formation.peer_discovery_backend"] == "classic_config"
    listed = {v for k, v in conf.items() if k.startswith("cluster_formation.classic_config.nodes.")}
    assert listed == {f"rabbit@{name}" for name in nodes}
    # EduTrack reaches the nodes through the balancer's AMQP port, with quorum queues and a real user.
    cfg = _haproxy()
    assert set(_servers(cfg["backend rabbitmq"]).values()) == {f"{name}:5672" for name in nodes}
    assert "mode tcp" in cfg["frontend amqp"]
    assert "mode tcp" in cfg["backend rabbitmq"]
    for name, settings in _cluster_apps(compose).items():
        assert settings.rabbitmq_queue_type == "quorum", name
        url = urlsplit(settings.rabbitmq_url)
        assert (url.hostname, url.port) == ("cluster-lb", _bind_port(cfg["frontend amqp"])), name
        node_env = next(iter(nodes.values()))["environment"]
        assert url.username == node_env["RABBITMQ_DEFAULT_USER"]
        assert url.password == _interpolate(node_env["RABBITMQ_DEFAULT_PASS"], {})


def test_cluster_goes_through_pgbouncer_in_transaction_mode(compose):
    import configparser

    services = compose["services"]
    bouncer = services["cluster-pgbouncer"]
    ini = configparser.ConfigParser(delimiters=("=",), comment_prefixes=(";", "#"), interpolation=None)
    ini.read_string(_mounted(bouncer, "/etc/pgbouncer/pgbouncer.ini").read_text())
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    pg = services["postgres"]["environment"]
    for name, settings in _cluster_apps(compose).items():
        assert settings.database_pool_mode == "transaction", name
        url = urlsplit(settings.database_url)
        assert (url.hostname, url.port) == ("cluster-pgbouncer", int(ini["pgbouncer"]["listen_port"])), name
        # The database the URL names is PgBouncer's entry for the compose file's PostgreSQL database.
        target = dict(item.split("=", 1) for item in ini["databases"][url.path.lstrip("/")].split())
        assert (target["host"], target["port"], target["dbname"]) == ("postgres", "5432", pg["POSTGRES_DB"])
        assert url.username == bouncer["environment"]["DB_USER"] == pg["POSTGRES_USER"]
        assert url.password == _interpolate(bouncer["environment"]["DB_PASSWORD"], {})
        deps = services[name]["depends_on"]
        assert deps["cluster-pgbouncer"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    # Migrations (DDL) go to PostgreSQL directly.
    assert urlsplit(_cluster_settings(compose, "migrate").database_url).hostname == "postgres"


def test_cluster_has_a_relay_and_a_notifier(compose):
    commands = [svc["command"][0] for svc in _in_profile(compose, "cluster").values() if "command" in svc]
    assert commands.count("relay") >= 1
    assert commands.count("notifier") >= 1
    assert "mailpit" in compose["services"]["cluster-notifier"]["depends_on"]


def test_cluster_redis_is_a_three_master_redis_cluster(compose):
    services = compose["services"]
    nodes = {name: svc for name, svc in _in_profile(compose, "cluster").items()
             if str(svc.get("image", "")).startswith("redis:") and "--cluster-enabled" in svc.get("command", [])}
    for svc in nodes.values():
        command = svc["command"]
        assert svc["image"] == "redis:7"  # 7.0+: sharded pub/sub
        assert command[command.index("--cluster-enabled") + 1] == "yes"
        assert "healthcheck" in svc
    # The job joins exactly those nodes, with one replica each: 6 nodes, 3 masters.
    init = services["redis-cluster-init"]
    script = init["command"][0]
    replicas = int(script.split("--cluster-replicas ")[1].split()[0])
    joined = {f"redis-cluster-{n}" for n in script.split("for n in ")[1].split(";")[0].split()}
    assert joined == set(nodes)
    assert len(nodes) // (1 + replicas) == 3
    assert set(init["depends_on"]) == set(nodes)
    # Every EduTrack service of the profile uses the cluster, once it exists; its nodes are nodes of it.
    for name, settings in _cluster_apps(compose).items():
        listed = [entry.rpartition(":") for entry in settings.redis_cluster_nodes.split(",")]
        assert {host for host, _, _ in listed} <= set(nodes), name
        assert {port for _, _, port in listed} == {"6379"}, name
        assert services[name]["depends_on"]["redis-cluster-init"]["condition"] == "service_completed_successfully"
        assert "redis" not in services[name]["depends_on"], name
