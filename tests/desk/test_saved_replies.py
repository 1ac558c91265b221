"""saved_replies.yml: loaded, filled in per customer language, and checked by `aftercare flows check`."""
from __future__ import annotations

import textwrap

from click.testing import CliRunner

from bot.cli import main
from bot.desk.saved_replies import check_saved_replies, load_saved_replies, render
from tests.support.harness import ROOT, write_config


def test_the_shipped_file_is_valid_and_has_spanish():
    replies = load_saved_replies(ROOT / "saved_replies.yml", ["en", "es", "pt", "de"])
    reply = replies.get("replacement")
    assert reply is not None and reply.in_language("es-MX")[1] == "es"
    assert reply.in_language("ja") == (reply.text, "")


def test_render_fills_what_it_knows_and_keeps_the_goodwill_code_for_sending():
    text = render("Hi {first_name}, {order_id}: {tracking_url} {goodwill_code}",
                  {"first_name": "Ana", "order_id": "A-1", "tracking_url": None})
    assert text == "Hi Ana, A-1: [tracking_url] {goodwill_code}"


def test_problems_name_the_line(tmp_path):
    path = tmp_path / "saved_replies.yml"
    path.write_text(textwrap.dedent("""\
        replies:
          - id: a
            title: One
            text: "Hi {first_name}, {coupon}"
          - id: a
            title: Two
            text: "ok"
            translations: {xx: "hm"}
          - title: Three
            text: "x"
            colour: red
        """), encoding="utf-8")
    problems = [str(p) for p in check_saved_replies(path, ["en", "es"])]
    assert problems == [
        f"{path}:4: unknown variable {{coupon}} (known: {{first_name}}, {{product}}, {{order_id}}, "
        "{tracking_url}, {goodwill_code})",
        f"{path}:5: id 'a' is used twice",
        f"{path}:8: 'xx' is not an enabled language (en, es)",
        f"{path}:11: unknown key 'colour' (id, title, text, translations)",
        f"{path}:9: id is required (text)",
    ]


def test_flows_check_reports_a_bad_saved_replies_file(tmp_path):
    config = write_config(tmp_path, tmp_path / "store.db")
    (tmp_path / "saved_replies.yml").write_text('replies:\n  - {id: x, title: X, text: "{nope}"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "flows", "check"])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'saved_replies.yml'}:2: unknown variable {{nope}}" in result.output
    (tmp_path / "saved_replies.yml").write_text((ROOT / "saved_replies.yml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "flows", "check"])
    assert result.exit_code == 0 and "4 saved replies" in result.output
