"""`aftercare browse`: the real Datasette, started as the command a shop runs, on an ephemeral
port of 127.0.0.1, queried over HTTP; the store is never written."""
from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.store.store import Store
from tests.store.shop_fixture import write_shop
from tests.support.harness import CONFIG, ROOT


@pytest.fixture(scope="module")
def browse(tmp_path_factory):
    yield from _browse(tmp_path_factory, "--personal")


@pytest.fixture(scope="module")
def browse_figures_only(tmp_path_factory):
    yield from _browse(tmp_path_factory)


def _browse(tmp_path_factory, *flags: str):
    path = tmp_path_factory.mktemp("browse") / "shop.db"
    write_shop(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    env = {**os.environ, "AFTERCARE_DB": str(path), "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "aftercare"), "--config", str(CONFIG), "browse",
                                "--port", "0", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = process.stdout.readline()
        match = re.search(r"Datasette on (http://127\.0\.0\.1:(\d+)/)", line)
        assert match, line + process.stderr.read() if process.poll() is not None else line
        url = match.group(1)
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            for _ in range(100):                   # the socket is bound; wait for the app to start
                try:
                    if client.get("/-/versions.json").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield client, path
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before     # nothing was written


def rows(client: httpx.Client, query: str, **params: str) -> list[dict]:
    response = client.get(f"/shop/{query}.json", params={"_shape": "array", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_it_listens_on_loopback_only_and_serves_the_store(browse):
    client, _ = browse
    assert client.base_url.host == "127.0.0.1"
    tables = {t["name"] for t in client.get("/shop.json").json()["tables"]}
    assert {"customers", "orders", "responses", "escalations"} <= tables


def test_tables_and_columns_carry_descriptions(browse):
    client, _ = browse
    page = client.get("/shop/escalations").text
    assert "Support cases handed to people in the support channel." in page
    metadata = client.get("/-/metadata.json").json()
    described = metadata["databases"]["shop"]["tables"]["responses"]["columns"]
    assert described["metric"] == "csat, nps, ces, text or testimonial"


def test_canned_queries_answer_the_shops_questions(browse):
    client, _ = browse
    assert [(r["case_id"], r["customer"], r["past_sla"]) for r in rows(client, "open_cases")] == [(2, "Lena Vogel", 1)]
    low = rows(client, "low_scores_this_week", since="2026-11-02")
    assert [(r["customer"], r["metric"], r["score"]) for r in low] == [
        ("C-DAN", "csat", 2), ("C-BEN", "nps", 6), ("forgotten-6", "csat", 1), ("C-LENA", "csat", 1),
        ("C-BEN", "csat", 2)]
    assert rows(client, "low_scores_this_week", since="2026-12-01") == []
    skus = rows(client, "skus_by_csat")
    assert [(r["sku"], r["mean_csat"]) for r in skus][:2] == [("LDC-QUEEN", 2.0), ("NCH-700", 2.0)]
    history = rows(client, "customer_history", ref="C-LENA")
    assert [r["what"] for r in history][:3] == ["consent", "order", "csat"]
    assert any(r["what"].startswith("case") and r["outcome"] == "open" for r in history)


def test_it_refuses_to_write(browse):
    client, _ = browse
    response = client.get("/shop.json", params={"sql": "delete from customers"})
    assert response.status_code >= 400
    assert rows(client, "customers", _size="max") and len(rows(client, "customers")) == 6


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    path = tmp_path / "shop.db"
    write_shop(path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["--config", str(CONFIG), "browse", "--port", str(port)],
                                    env={"AFTERCARE_DB": str(path)})
    assert result.exit_code == 1
    assert result.output.strip() == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"


# ---- issue #24, finding 7: DNS rebinding and arbitrary SQL -----------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8001", "127.0.0.1.evil.example", "10.0.0.1"])
def test_a_request_for_another_host_name_gets_nothing(browse, host):
    client, _ = browse
    for path in ("/shop/customers.json", "/shop.json?sql=select+*+from+customers", "/"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 421, (path, response.status_code)
        assert "@" not in response.text
    assert client.get("/shop/customers.json", headers={"Host": "localhost:1234"}).status_code == 200


def test_without_personal_only_the_figures_are_there(browse_figures_only):
    client, _ = browse_figures_only
    # every table but these figures is refused: a new table is personal until shown otherwise
    figures = {"orders", "line_items", "touchpoints", "contacts", "processed_events", "erasure_log", "_sqlite_migrations"}
    tables = set(Store.memory().db.table_names())
    assert {"customers", "messages", "desk_actions", "goodwill_codes"} <= tables
    for table in sorted(tables - figures):
        assert client.get(f"/shop/{table}.json").status_code == 403, table
    assert client.get("/shop.json", params={"sql": "select email from customers"}).status_code == 403
    assert client.get("/shop/open_cases.json").status_code == 403
    assert client.get("/shop/customer_history.json", params={"ref": "C-LENA"}).status_code == 403
    assert rows(client, "skus_by_csat")                             # figures still answer
    assert client.get("/shop/line_items.json").status_code == 200
