"""Scenario files: defaults from the base file, validation errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.drive.servers import command
from lab.errors import LabError
from lab.scenario import loading
from lab.scenario.plan import expand
from tests.conftest import write_scenario


def test_every_shipped_scenario_loads() -> None:
    names = loading.known()
    assert "loop-blocking" in names
    for name in names:
        loaded = loading.load(name)
        assert {"quick", "default"} <= set(loaded.profiles)
        assert loaded.claims, f"{name} states no claims"


def test_base_defaults_fill_what_a_scenario_leaves_out(tmp_path: Path) -> None:
    loaded = loading.load(str(write_scenario(tmp_path)))
    assert loaded.server.kind == "uvicorn"  # from lab/scenario/defaults.toml
    assert loaded.server.env == {"BLOCK_MS": "1"}  # from the file
    assert loaded.profiles["quick"].budget_s == 45  # merged key by key with the base profile


def test_verify_checks_and_load_settings_merge_from_the_base(tmp_path: Path) -> None:
    loaded = loading.load(str(write_scenario(tmp_path, extra="[load]\nusers = 7\n")))
    assert [c.path for c in loaded.verify] == ["/health", "/work"]  # /health comes from the defaults
    assert loaded.profiles["default"].users == 4  # a profile's own keys win over [load]
    path = write_scenario(tmp_path, name="shared")
    path.write_text(path.read_text().replace("[profiles.default]\nusers = 4\nspawn_rate = 4\n", "[profiles.default]\n"))
    assert loading.load(str(path)).profiles["default"].users == 20  # the base's [load]
    path.write_text(path.read_text() + "[load]\nusers = 7\n")
    shared = loading.load(str(path))
    assert shared.profiles["default"].users == 7 and shared.profiles["quick"].users == 4


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('title = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(LabError) as err:
        loading.load(str(path))
    assert str(err.value) == f"{path}: not UTF-8 text (byte 0xe9 at offset 12); save the file as UTF-8"


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(LabError, match=r"unknown scenario 'nope'; known: .*loop-blocking"):
        loading.load("nope")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("title = \n")
    with pytest.raises(LabError, match=r"broken.toml: not valid TOML"):
        loading.load(str(path))


@pytest.mark.parametrize(
    ("extra", "field", "hint"),
    [
        (
            "[profiles.extra]\nusers = 0\nspawn_rate = 1\nwarmup_s = 0\nduration_s = 1\n",
            "profiles.extra.users",
            "greater than or equal to 1",
        ),
        ("[matrix]\nthreads = [1, 2]\n", "matrix", "unknown server setting 'threads'"),
        ("[matrix]\nworkers = [1, 0]\n", "matrix.workers", "value 0 is not a valid server setting"),
        ("surprise = 1\n", "surprise", "Extra inputs are not permitted"),
        (
            '[[claims]]\ntext = "t"\nmetric = "p99"\nvariant = "good"\nbaseline = "ghost"\nthreshold = 2\n',
            "claims[0].baseline",
            "unknown variant 'ghost'; one of good",
        ),
        (
            '[variant_flags]\nghost = ["--limit-concurrency", "30"]\n',
            "variant_flags.ghost",
            "unknown variant 'ghost'; one of good",
        ),
        (
            '[[claims]]\ntext = "t"\nmetric = "p42"\nvariant = "good"\nthreshold = 2\n',
            "claims.0.metric",
            "unknown metric 'p42'; one of p50, p90",
        ),
    ],
)
def test_validation_errors_name_file_and_field(tmp_path: Path, extra: str, field: str, hint: str) -> None:
    path = write_scenario(tmp_path, extra=extra)
    with pytest.raises(LabError) as err:
        loading.load(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert field in message and hint in message


def test_non_loopback_host_is_refused(tmp_path: Path) -> None:
    path = write_scenario(tmp_path)
    path.write_text(path.read_text().replace("[server]\n", '[server]\nhost = "10.1.2.3"\n'))
    with pytest.raises(LabError, match=r"server.host.*not a loopback address"):
        loading.load(str(path))


def test_missing_locustfile_and_bad_app_reference(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"'locustfile': no such file 'locustfiles/none.py'"):
        loading.load(str(write_scenario(tmp_path, locustfile="locustfiles/none.py")))
    with pytest.raises(LabError, match=r"variants.good.*should match pattern"):
        loading.load(str(write_scenario(tmp_path, variants='good = "not an app ref"')))


def test_plan_interleaves_variants_within_each_repeat_and_expands_the_matrix(tmp_path: Path) -> None:
    variants = 'bad = "apps.loop_blocking.bad:app"\nfix = "apps.loop_blocking.fix_await:app"'
    path = write_scenario(tmp_path, variants=variants, extra="[matrix]\nworkers = [1, 2]\n")
    cells = expand(loading.load(str(path)), "quick", repeats=2)
    assert [(c.repeat, c.variant, c.server.workers) for c in cells] == [
        (r, v, w) for r in (1, 2) for w in (1, 2) for v in ("bad", "fix")
    ]
    assert len({c.id for c in cells}) == len(cells)
    assert cells[1].group == "fix[workers=1]"


def test_a_profile_may_run_some_variants_only_and_claims_on_the_others_are_not_judged(tmp_path: Path) -> None:
    variants = 'bad = "apps.loop_blocking.bad:app"\nfix = "apps.loop_blocking.fix_await:app"'
    extra = '[profiles.check]\nvariants = ["bad"]\nwarmup_s = 1\nduration_s = 2\n'
    cells = expand(loading.load(str(write_scenario(tmp_path, variants=variants, extra=extra))), "check")
    assert [c.variant for c in cells] == ["bad"]
    typo = write_scenario(tmp_path, variants=variants, extra=extra.replace('["bad"]', '["bda"]'))
    with pytest.raises(LabError, match=r"profiles.check.variants: unknown variant 'bda'; one of bad, fix"):
        loading.load(str(typo))


def test_variant_flags_change_only_that_variants_command_and_null_mode_runs_the_references(
    tmp_path: Path,
) -> None:
    variants = 'bad = "apps.loop_blocking.bad:app"\nfix = "apps.loop_blocking.bad:app"'
    extra = '[variant_flags]\nfix = ["--limit-concurrency", "30"]\n'
    loaded = loading.load(str(write_scenario(tmp_path, variants=variants, extra=extra)))
    cells = expand(loaded, "quick")
    assert [(c.variant, c.server.flags) for c in cells] == [("bad", []), ("fix", ["--limit-concurrency", "30"])]
    assert command(cells[1].app, cells[1].server, 8000)[-2:] == ["--limit-concurrency", "30"]
    # A/A: both run the reference (the first fix), flags included: no claim may tell them apart.
    null = expand(loaded, "quick", null=loaded.reference_variant)
    assert [(c.variant, c.server.flags) for c in null] == [(v, ["--limit-concurrency", "30"]) for v in ("bad", "fix")]


def test_the_default_server_is_what_uvicorn_standard_runs_and_a_compound_key_varies_two_settings(
    tmp_path: Path,
) -> None:
    path = write_scenario(tmp_path, extra='[matrix]\n"loop+http" = ["uvloop+httptools", "asyncio+h11"]\n')
    loaded = loading.load(str(path))
    assert (loaded.server.loop, loaded.server.http) == ("uvloop", "httptools")
    cells = expand(loaded, "quick")
    assert [(c.server.loop, c.server.http) for c in cells] == [("uvloop", "httptools"), ("asyncio", "h11")]
    assert cells[-1].id.endswith("-asyncio-h11")
    # Both parts are validated like settings written in [server].
    bad = write_scenario(tmp_path, extra='[matrix]\n"loop+http" = ["uvloop"]\n')
    with pytest.raises(LabError, match=r"matrix.loop\+http: value 'uvloop' needs 2 parts"):
        loading.load(str(bad))


def test_gunicorn_refuses_a_loop_and_parser_its_worker_classes_cannot_run(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, extra='[matrix]\n"loop+http" = ["asyncio+httptools"]\n')
    path.write_text(path.read_text().replace("[server]\n", '[server]\nkind = "gunicorn"\n'))
    with pytest.raises(LabError, match=r"gunicorn runs loop/http as uvloop\+httptools .* not asyncio\+httptools"):
        loading.load(str(path))


@pytest.mark.parametrize(
    ("profile", "hint"),
    [
        ('model = "open"\nrate = -5', "field 'profiles.p.rate': Input should be greater than 0 (got -5)"),
        ('model = "open"', "needs exactly one of rate = R, rates = [R, ...] or search"),
        ('model = "open"\nrates = [40, 10]', "rates must be ascending and distinct, got [40.0, 10.0]"),
        ("rate = 10", 'rate, rates, search and bisect need model = "open"'),
        ('model = "open"\nrates = [10, 20]', "profiles.p: a sweep needs an slo"),
    ],
)
def test_bad_open_model_settings_are_one_line_errors(tmp_path: Path, profile: str, hint: str) -> None:
    extra = f"[profiles.p]\nusers = 1\nspawn_rate = 1\nwarmup_s = 1\nduration_s = 1\n{profile}\n"
    path = write_scenario(tmp_path, extra=extra)
    with pytest.raises(LabError) as err:
        loading.load(str(path))
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
    assert hint in str(err.value)


def test_bad_slo_and_claim_rates_are_one_line_errors(tmp_path: Path) -> None:
    sweep = '[profiles.p]\nusers = 1\nspawn_rate = 1\nwarmup_s = 1\nduration_s = 1\nmodel = "open"\nrates = [10, 20]\n'
    path = write_scenario(tmp_path, extra=sweep)
    path.write_text("slo = { p99_ms = -1 }\n" + path.read_text())
    with pytest.raises(LabError, match=r"slo.p99_ms.: Input should be greater than 0"):
        loading.load(str(path))
    claim = '[[claims]]\ntext = "t"\nmetric = "p99"\nvariant = "good"\nat_rps = 15\nthreshold = 1\n'
    path = write_scenario(tmp_path, extra=sweep + claim)
    path.write_text("slo = { p99_ms = 100 }\n" + path.read_text())
    with pytest.raises(LabError, match=r"claims\[0\].at_rps: 15 req/s is not a rate profile 'p' runs \(10, 20\)"):
        loading.load(str(path))


def test_a_fraction_of_a_capacity_names_the_first_variant(tmp_path: Path) -> None:
    variants = 'a = "apps.loop_blocking.bad:app"\nb = "apps.loop_blocking.fix_await:app"'
    base = '[[claims]]\ntext = "t"\nmetric = "p50"\nvariant = "a"\nthreshold = 1\nat_rate = 0.8\n'
    with pytest.raises(LabError, match=r"at_rate needs `of`"):
        loading.load(str(write_scenario(tmp_path, variants=variants, extra=base)))
    with pytest.raises(LabError, match=r"claims\[0\].of: 'b' must be the first variant \('a'\)"):
        loading.load(str(write_scenario(tmp_path, variants=variants, extra=base + 'of = "b"\n')))
    loaded = loading.load(str(write_scenario(tmp_path, variants=variants, extra=base + 'of = "a"\n')))
    assert loaded.claims[0].at_tag == "0.8 x capacity of a" and loaded.claims[0].needs_model == "open"
