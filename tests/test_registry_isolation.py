"""Broken plugins are reported and skipped; the rest keep working. Strict, disable, trace."""
from __future__ import annotations

import json

import pytest

import galaxyzoo
from galaxyzoo import registry

HEADER = "from galaxyzoo import MetricSpec, ModelSpec, hookimpl\n"


def model(name: str) -> str:
    return f"ModelSpec(name={name!r}, summary='s', builder='x:y')"


GOOD = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    return [{model("good_model")}, {model("shared_name")}]
"""
BROKEN_IMPORT = HEADER + "raise RuntimeError('boom at import')\n"
CLASH = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    return [{model("shared_name")}, {model("clash_own")}]
"""
UNKNOWN_HOOK = HEADER + """
@hookimpl
def galaxyzoo_model():  # a typo of galaxyzoo_models, or a hook from a newer galaxyzoo
    return []

@hookimpl(optionalhook=True)
def galaxyzoo_future_thing():  # declared optional: silently ignored
    return []

@hookimpl
def galaxyzoo_metrics():
    return [MetricSpec(name="unknown_hook_metric", summary="s", fn="x:y")]
"""
NON_SPEC = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    return [{model("non_spec_ok")}, "not a spec", MetricSpec(name="wrong_kind", summary="s", fn="x:y")]

@hookimpl
def galaxyzoo_metrics():
    return {{"not": "a list"}}
"""
RAISES = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    raise ValueError("hook failed")

@hookimpl
def galaxyzoo_metrics():
    return [MetricSpec(name="raises_metric", summary="s", fn="x:y")]
"""
BAD_SIGNATURE = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    return [{model("half_registered")}]

@hookimpl
def galaxyzoo_metrics(config):  # hooks take no arguments
    return []
"""
NO_HOOKS = "def galaxyzoo_models():  # forgot @hookimpl\n    return []\n"
EXITS = "import sys\nsys.exit(3)\n"
USES_REGISTRY = "import galaxyzoo\ngalaxyzoo.list_models()\n"
SELF_DUPLICATE = HEADER + f"""
@hookimpl
def galaxyzoo_models():
    return [{model("twice")}, {model("twice")}]
"""


@pytest.fixture
def zoo(fake_site):
    fake_site.add("fake-good", {"fake_good": GOOD})
    fake_site.add("fake-broken", {"fake_broken": BROKEN_IMPORT})
    fake_site.add("fake-clash", {"fake_clash": CLASH})
    fake_site.add("fake-unknown", {"fake_unknown": UNKNOWN_HOOK})
    fake_site.add("fake-nonspec", {"fake_nonspec": NON_SPEC})
    fake_site.add("fake-raises", {"fake_raises": RAISES})
    fake_site.add("fake-signature", {"fake_signature": BAD_SIGNATURE})
    fake_site.add("fake-nohooks", {"fake_nohooks": NO_HOOKS})
    fake_site.add("fake-exits", {"fake_exits": EXITS})
    fake_site.add("fake-reentrant", {"fake_reentrant": USES_REGISTRY})
    fake_site.add("fake-selfdup", {"fake_selfdup": SELF_DUPLICATE})
    return fake_site


def record(dist: str):
    (found,) = [r for r in galaxyzoo.plugins() if r.dist == dist]
    return found


def only_problem(dist: str):
    (problem,) = record(dist).problems
    assert problem.dist == dist and problem.entry_point == dist.replace("-", "_")
    return problem


def test_each_broken_plugin_is_isolated_and_attributed(zoo):
    assert record("fake-good").contributions == {"model": ("good_model", "shared_name")}
    assert galaxyzoo.get_spec("model", "good_model").name == "good_model"

    failed = record("fake-broken")
    assert failed.status == "failed" and failed.contributions == {}
    problem = only_problem("fake-broken")
    assert problem.what == "import failed" and problem.error == "RuntimeError: boom at import"
    assert isinstance(problem.exception, RuntimeError)

    assert record("fake-exits").status == "failed"
    assert "SystemExit" in only_problem("fake-exits").error
    assert "while plugins were loading" in only_problem("fake-reentrant").error

    assert record("fake-nohooks").status == "problems"
    assert "no @galaxyzoo.hookimpl" in only_problem("fake-nohooks").error


def test_name_clash_first_wins_later_is_qualified(zoo):
    # fake-clash sorts before fake-good, so it wins "shared_name" whatever the path order.
    assert galaxyzoo.list_entries("model", "shared_name")[0].dist == "fake-clash"
    assert galaxyzoo.get_spec("model", "fake-good:shared_name") is not galaxyzoo.get_spec("model", "shared_name")
    assert "fake-good:shared_name" in galaxyzoo.list_models()
    problem = only_problem("fake-good")
    assert problem.what == "duplicate model 'shared_name'"
    assert "already provided by fake-clash" in problem.error and "'fake-good:shared_name'" in problem.error
    assert record("fake-good").status == "problems"
    # The same distribution offering a name twice: the second is dropped.
    assert record("fake-selfdup").contributions == {"model": ("twice",)}
    assert "already provides it" in only_problem("fake-selfdup").error


def test_builtin_wins_a_clash(fake_site):
    builtin = galaxyzoo.list_entries("metric")
    builtin = [e.name for e in builtin if e.dist == "galaxyzoo"]
    if not builtin:
        pytest.skip("no built-in metric registered yet")
    fake_site.add("aaa-first-by-name", {"fake_aaa": HEADER + f"""
@hookimpl
def galaxyzoo_metrics():
    return [MetricSpec(name={builtin[0]!r}, summary="impostor", fn="x:y")]
"""})
    assert galaxyzoo.list_entries("metric", builtin[0])[0].dist == "galaxyzoo"
    assert galaxyzoo.get_spec("metric", f"aaa-first-by-name:{builtin[0]}").summary == "impostor"


def test_unknown_hook_quarantined_known_hooks_kept(zoo):
    problem = only_problem("fake-unknown")
    assert problem.what == "unknown hook galaxyzoo_model"
    assert "did you mean galaxyzoo_models?" in problem.error
    assert "upgrade galaxyzoo or pin the plugin" in problem.error.lower()
    assert record("fake-unknown").contributions == {"metric": ("unknown_hook_metric",)}


def test_non_specs_and_raising_hooks_are_reported(zoo):
    nonspec = record("fake-nonspec")
    assert nonspec.contributions == {"model": ("non_spec_ok",)}
    whats = sorted(p.what for p in nonspec.problems)
    assert whats == [
        "hook galaxyzoo_metrics returned dict",
        "hook galaxyzoo_models returned a MetricSpec",
        "hook galaxyzoo_models returned a str",
    ]
    assert "wrong_kind" not in galaxyzoo.list_metrics()
    raises = record("fake-raises")
    assert raises.contributions == {"metric": ("raises_metric",)}
    (problem,) = raises.problems
    assert problem.what == "hook galaxyzoo_models raised" and problem.error == "ValueError: hook failed"


def test_contract_violation_leaves_nothing_half_registered(zoo):
    assert record("fake-signature").status == "failed"
    assert only_problem("fake-signature").what == "rejected by the hook contract"
    assert "half_registered" not in galaxyzoo.list_models()


def test_strict_mode_raises_with_every_problem(zoo, monkeypatch):
    lenient = [p for r in galaxyzoo.plugins() for p in r.problems]
    registry.reset()
    monkeypatch.setenv("GALAXYZOO_STRICT_PLUGINS", "1")
    with pytest.raises(galaxyzoo.PluginError) as info:
        galaxyzoo.list_models()
    assert info.value.problems == tuple(lenient)
    message = str(info.value)
    assert f"{len(lenient)} plugin problem(s) (GALAXYZOO_STRICT_PLUGINS=1)" in message
    assert "fake-broken [fake_broken]: import failed: RuntimeError: boom at import" in message
    # The first failure's own exception is chained, for its traceback.
    assert isinstance(info.value.__cause__, RuntimeError) and str(info.value.__cause__) == "boom at import"
    with pytest.raises(galaxyzoo.PluginError):  # a failed load is not cached
        galaxyzoo.plugins()


def test_strict_mode_passes_without_problems(fake_site, monkeypatch):
    fake_site.add("fake-good", {"fake_good": GOOD})
    if any(r.problems for r in galaxyzoo.plugins()):
        pytest.skip("an installed plugin has problems of its own")
    registry.reset()
    monkeypatch.setenv("GALAXYZOO_STRICT_PLUGINS", "1")
    assert "good_model" in galaxyzoo.list_models()


@pytest.mark.parametrize("value, disabled", [
    ("fake_broken", {"fake-broken"}),  # an entry-point name
    ("FAKE_Good, fake-exits", {"fake-good", "fake-exits"}),  # distributions, normalised
    ("all", "third-party"),
    ("1", "third-party"),
    ("all,builtin_metrics", "third-party+builtin_metrics"),
])
def test_disable_switch(zoo, monkeypatch, value, disabled):
    monkeypatch.setenv("GALAXYZOO_DISABLE_PLUGINS", value)
    records = galaxyzoo.plugins()
    off = {r.dist for r in records if r.status == "disabled"}
    if isinstance(disabled, str):  # every third-party plugin, maybe plus a built-in
        assert off - {"galaxyzoo"} == {r.dist for r in records if r.dist != "galaxyzoo"}
        core = {r.entry_point: r.status for r in records if r.dist == "galaxyzoo"}
        assert core.pop("builtin_metrics") == ("disabled" if "builtin_metrics" in disabled else "ok")
        assert set(core.values()) == {"ok"}
    else:
        assert off == disabled
    for r in records:
        if r.status == "disabled":
            assert not r.problems and not r.contributions


def test_trace_logs_loading_and_tracebacks(zoo, monkeypatch, capsys):
    monkeypatch.setenv("GALAXYZOO_TRACE_PLUGINS", "1")
    galaxyzoo.plugins()
    err = capsys.readouterr().err
    assert "galaxyzoo plugins: loading fake-good [fake_good] = fake_good" in err
    assert "fake-broken [fake_broken] failed" in err
    assert "Traceback" in err and "boom at import" in err


def test_cli_reports_problems_on_stderr_and_keeps_going(zoo, run_cli):
    done = run_cli("list", "models", pythonpath=[zoo.path])
    assert done.returncode == 0, done.stderr
    assert "good_model" in done.stdout and "fake-good:shared_name" in done.stdout
    assert "fake-broken" not in done.stdout
    assert "galaxyzoo: plugin problem: fake-broken [fake_broken]: import failed: RuntimeError: boom at import" in done.stderr

    done = run_cli("plugins", "--json", pythonpath=[zoo.path])
    status = {r["dist"]: r["status"] for r in json.loads(done.stdout)}
    assert status["fake-broken"] == "failed" and status["fake-good"] == "problems"
    assert status["fake-exits"] == "failed" and status.get("galaxyzoo") == "ok"

    done = run_cli("list", pythonpath=[zoo.path], env={"GALAXYZOO_STRICT_PLUGINS": "1"})
    assert done.returncode == 1
    assert "plugin problem(s) (GALAXYZOO_STRICT_PLUGINS=1)" in done.stderr and "Traceback" not in done.stderr


def test_two_entry_points_for_one_module(fake_site):
    fake_site.add("fake-twice", {"fake_twice": GOOD}, entry_points={"first": "fake_twice", "second": "fake_twice"})
    first, second = [r for r in galaxyzoo.plugins() if r.dist == "fake-twice"]
    assert (first.entry_point, first.status) == ("first", "ok")
    assert (second.entry_point, second.status) == ("second", "failed")
    (problem,) = second.problems
    assert problem.what == "duplicate entry point" and "already registered as fake-twice:first" in problem.error
    assert galaxyzoo.list_entries("model", "good_model")[0].entry_point == "first"


def test_unknown_name_mentions_failed_plugins(zoo):
    failed = sum(r.status == "failed" for r in galaxyzoo.plugins())
    with pytest.raises(galaxyzoo.UnknownNameError, match=f"note: {failed} plugin\\(s\\) failed to load"):
        galaxyzoo.create_model("model_from_a_broken_plugin", 2)
