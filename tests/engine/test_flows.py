"""Loading and validating flows: every problem is reported as `file:line: reason` before the bot
starts; the shipped flows pass; Mermaid diagrams come from the YAML."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.engine.flows import REQUIRED_FLOWS, FlowError, mermaid
from bot.flowfiles import load_flows
from tests.support.harness import DIALOGS


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the shipped dialogs/."""
    target = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, target)
    return target


def problem(folder: Path, body: str, name: str = "extra.yml") -> FlowError:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(folder)
    error = caught.value
    assert error.path == str(path)
    assert str(error).startswith(f"{path}:{error.line}: "), str(error)
    return error


def test_shipped_flows_load():
    flow_set = load_flows(DIALOGS)
    assert set(REQUIRED_FLOWS) <= set(flow_set.flows)
    assert {"checkin", "nps", "ces", "inbox", "replenishment", "thank_you", "delay_notice", "anniversary",
            "order_milestone", "loyalty_milestone", "tip", "help"} == set(flow_set.flows)
    assert flow_set.texts["opt_out"].startswith("Done")


def test_unknown_step(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            ask: "Q?"
            free_text: true
            on:
              - when: {intent: thanks}
                goto: nowhere
              - default: true
                goto: end
        """)
    assert error.line == 7
    assert "unknown step 'nowhere'" in error.reason


def test_unknown_next_step(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            say: "hi"
            next: second
        """)
    assert error.line == 3 and "unknown step 'second'" in error.reason


def test_unknown_action(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            say: "hi"
            action: send_coupon
            end: true
        """)
    assert error.line == 5
    assert "unknown action 'send_coupon'" in error.reason


def test_unreachable_step(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            say: "hi"
            end: true
          orphan:
            say: "nobody comes here"
            end: true
        """)
    assert error.line == 6
    assert "'orphan' is unreachable" in error.reason


def test_unknown_template_variable(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            say: "Your {product.colour} item"
            end: true
        """)
    assert error.line == 4
    assert "unknown template variable {product.colour}" in error.reason


def test_unknown_template_variable_in_a_branch_say(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            ask: "Q?"
            free_text: true
            on:
              - default: true
                say: "bye {customer.surname}"
                goto: end
        """)
    assert error.line == 8 and "{customer.surname}" in error.reason


def test_unknown_template_variable_in_global_texts(folder):
    path = folder / "_global.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("{customer.first_name}", "{customer.nick}"),
                    encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(folder)
    assert caught.value.path == str(path) and caught.value.line == 12
    assert "{customer.nick}" in caught.value.reason


def test_branch_with_no_default(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            ask: "Q?"
            score: csat
            on:
              - when: {score: ">= 4"}
                goto: end
        """)
    assert error.line == 6
    assert "branch with no default" in error.reason


def test_default_branch_must_be_last(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            ask: "Q?"
            score: csat
            on:
              - default: true
                goto: end
              - when: {score: 5}
                goto: end
        """)
    assert error.line == 7 and "default branch must come last" in error.reason


def test_bad_yaml(folder):
    error = problem(folder, """\
        flow: extra
        steps:
          first:
            say: "unterminated
            end: true
          second: [
        """)
    assert error.line is not None and error.line >= 4
    assert "invalid YAML" in error.reason


def test_bad_yaml_indentation(folder):
    error = problem(folder, "flow: extra\nsteps:\n  first:\n    say: hi\n   end: true\n")
    assert error.line == 5 and "invalid YAML" in error.reason


@pytest.mark.parametrize("body,line,reason", [
    ("flow: extra\nsteps:\n  first:\n    guard: is_vip\n    else: first\n    end: true\n", 4, "unknown guard 'is_vip'"),
    ("flow: extra\nsteps:\n  first:\n    guard: has_faq\n    end: true\n", 4, "a guard needs an `else:` step"),
    ("flow: extra\nsteps:\n  first:\n    say: hi\n    colour: red\n    end: true\n", 5, "unknown key 'colour'"),
    ("flow: extra\nsteps:\n  first:\n    say: hi\n", 3, "needs exactly one of `next: <step>` or `end: true`"),
    ("flow: extra\nsteps:\n  first:\n    say: hi\n    next: first\n    end: true\n", 5, "needs exactly one"),
    ("flow: extra\nsteps:\n  end:\n    say: hi\n    end: true\n", 3, "'end' is reserved"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    on:\n      - default: true\n        goto: end\n", 4,
     "a question needs `score:`, `choices:` or `free_text: true`"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    score: stars\n    on:\n      - default: true\n        goto: end\n",
     5, "unknown score 'stars'"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    score: csat\n    choices: [a]\n    on:\n      - default: true\n"
     "        goto: end\n", 6, "gets its buttons from the scale"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    next: end\n", 6, "not `next`/`end`"),
    ("flow: extra\nsteps:\n  first:\n    say: hi\n    on:\n      - default: true\n        goto: end\n", 5,
     "answers can only be handled by a step with `ask:`"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n", 3, "a question needs `on:` branches"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - when: {intent: praise}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "unknown intent 'praise'"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    choices: [a, b]\n    on:\n      - when: {choice: c}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "choice 'c' is not one of"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    score: csat\n    on:\n      - when: {score: high}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "must look like 3, '<= 2' or '>= 4'"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - when: {score: 3}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "a `score` condition needs a `score:` question"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - when: {mood: happy}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "unknown condition 'mood'"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - when: {entity: {problem_type: "
     "sad}}\n        goto: end\n      - default: true\n        goto: end\n", 7, "unknown problem_type 'sad'"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - goto: end\n", 7,
     "a branch needs `when:` conditions or `default: true`"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - default: true\n", 7,
     "every branch needs `goto:`"),
    ("flow: extra\nsteps:\n  first:\n    action: escalate\n    args: {reason: angry}\n", 5,
     "unknown escalation reason 'angry'"),
    ("flow: extra\nsteps:\n  first:\n    action: escalate\n    next: first\n", 5, "the conversation waits"),
    ("flow: extra\nsteps:\n  first:\n    action: reschedule\n", 3, "`reschedule` needs `args: {resume: <step>}`"),
    ("flow: extra\nsteps:\n  first:\n    say: a\n    next: second\n  second:\n    say: b\n    next: first\n", 3,
     "loop without ever waiting"),
    ("flow: extra\nsteps:\n  a:\n    guard: has_faq\n    else: b\n    say: faq\n    end: true\n  b:\n    say: none\n"
     "    next: a\n", 3, "loop without ever waiting"),
    ("flow: extra\nsteps:\n  q:\n    guard: has_faq\n    else: r\n    ask: Q?\n    free_text: true\n    on:\n"
     "      - default: true\n        goto: end\n  r:\n    say: none\n    next: q\n", 3, "loop without ever waiting"),
    ("flow: extra\nstart: begin\nsteps:\n  first:\n    say: a\n    end: true\n", 2, "start step 'begin' does not exist"),
    ("flow: extra\nsteps: {}\n", 2, "missing or empty `steps:`"),
    ("flow: extra\nversion: 2\nsteps:\n  first:\n    say: a\n    end: true\n", 2, "unknown key 'version'"),
    ("steps:\n  first:\n    say: a\n    end: true\n", 1, "missing `flow:` name"),
    ("- just a list\n", 1, "must be a mapping"),
    ("flow: checkin\nsteps:\n  first:\n    say: a\n    end: true\n", 1, "flow 'checkin' is defined twice"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    choices:\n      - {label: x, value: '" + "v" * 65 + "'}\n"
     "    on:\n      - default: true\n        goto: end\n", 6, "over 64 bytes"),
    # mistakes that used to load and then crash at run time
    ("flow: extra\nsteps:\n  first:\n    set: [a]\n    say: hi\n    end: true\n", 4, "`set` must map slot names"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    choices: abc\n    on:\n      - default: true\n"
     "        goto: end\n", 5, "`choices` must be a list"),
    ("flow: extra\nsteps:\n  first:\n    action: reschedule\n    args: {after: 3 dayz, resume: first}\n", 5,
     '"3 dayz" is not a duration'),
    ("flow: extra\nsteps:\n  first:\n    action: record_score\n    args: {metric: stars, score: 3}\n    end: true\n",
     5, "unknown score metric 'stars'"),
    ("flow: extra\nsteps:\n  first:\n    action: record_score\n    args: {metric: nps, score: 11}\n    end: true\n",
     5, "a whole number from 0 to 10"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - when: {slot: [a]}\n"
     "        goto: end\n      - default: true\n        goto: end\n", 7, "a `slot` condition maps slot names"),
    ("flow: extra\nsteps:\n  first:\n    listen: true\n    on:\n      - default: true\n        goto: again\n", 6,
     "`goto: again` repeats the question, but a `listen` step asks none"),
    ("flow: extra\nsteps:\n  first:\n    ask: Q?\n    free_text: true\n    on:\n      - default: true\n"
     "        say: 5\n        goto: end\n", 8, "a branch's `say` must be a non-empty text"),
])
def test_validation_errors_name_file_line_and_reason(folder, body, line, reason):
    error = problem(folder, body)
    assert reason in error.reason
    assert error.line == line


def test_unknown_global_text_key(folder):
    path = folder / "_global.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "  goodbye: \"bye\"\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(folder)
    assert caught.value.line == len(text.splitlines()) + 1 and "unknown global text 'goodbye'" in caught.value.reason


def test_missing_global_text(folder):
    path = folder / "_global.yml"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("  help:")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FlowError, match="global text 'help' is missing"):
        load_flows(folder)


def test_missing_required_flow(folder):
    (folder / "ces.yml").unlink()
    with pytest.raises(FlowError, match="required flow 'ces' is missing"):
        load_flows(folder)


def test_missing_global_file(folder):
    (folder / "_global.yml").unlink()
    with pytest.raises(FlowError, match="no global texts file"):
        load_flows(folder)


def test_empty_folder(tmp_path):
    with pytest.raises(FlowError, match="no flow files"):
        load_flows(tmp_path)


def test_broken_shipped_flow_reports_its_own_line(folder):
    path = folder / "checkin.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "goto: ask_better" in line)
    lines[at] = lines[at].replace("ask_better", "ask_beter")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(folder)
    # the branch item starts on the line above its `goto:`
    assert caught.value.path == str(path) and caught.value.line == at
    assert "unknown step 'ask_beter'" in caught.value.reason


# ---- diagrams ---------------------------------------------------------------------------------

def test_mermaid_is_generated_from_the_yaml(flows):
    diagram = mermaid(flows["checkin"])
    assert diagram.startswith("stateDiagram-v2\n    [*] --> greet")
    assert "greet --> recall" in diagram and "recall --> ask_csat: not resolved_here" in diagram
    assert "ask_csat --> triage: score <= 2" in diagram
    assert "ask_csat --> ask_csat: default" in diagram
    assert "review --> upsell: not review_eligible" in diagram
    assert "not_yet --> ask_csat: later" in diagram
    assert "escalate_problem --> [*]: escalated to an agent" in diagram
    for step in flows["checkin"].steps:
        assert step in diagram


def test_mermaid_follows_a_changed_flow(folder):
    path = folder / "nps.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('{score: ">= 7"}', '{score: ">= 8"}'), encoding="utf-8")
    assert "ask_nps --> thanks: score >= 8" in mermaid(load_flows(folder)["nps"])
