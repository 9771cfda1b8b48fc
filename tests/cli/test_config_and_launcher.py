import subprocess
import sys

import pytest

from dgm.config import RunConfig, dump_config, parse_config
from dgm.errors import ConfigError


def test_config_round_trips_through_toml():
    config = RunConfig(name='odd "name"')
    config.loop.selection = "novelty"
    config.budget.usd_total = 2.5
    assert parse_config(dump_config(config)) == config


def test_jobs_in_flight_are_a_setting_of_their_own():
    config = parse_config("[loop]\nchildren_in_flight = 3")
    assert config.executor.kind == "local" and config.jobs_in_flight == 3, "children_in_flight keeps working"
    config = parse_config("[loop]\nchildren_in_flight = 3\n[executor]\njobs_in_flight = 32")
    assert config.jobs_in_flight == 32


def test_the_ray_executor_and_the_scripted_latency_are_settings():
    from dgm.llm.factory import make_model

    config = parse_config('[executor]\nkind = "ray"\naddress = "ray://head:10001"\n[model]\nname = "scripted:dry-run"\nscripted_latency = 2.5')
    assert (config.executor.kind, config.executor.address) == ("ray", "ray://head:10001")
    assert make_model(config.model).latency == 2.5, "the scripted model waits as configured"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[loop]\nselection = 'magic'", "loop.selection must be one of"),
        ("[loop]\nchildren_in_flight = 'two'", "loop.children_in_flight must be of type int"),
        ("[eval]\nstages = []", "at least one stage"),
        ("[bogus]\nx = 1", "unknown key(s) in config: bogus"),
        ("[model]\ntemprature = 1", "unknown key(s) in model: temprature"),
        ("name = ", "not valid TOML"),
        ("[executor]\nkind = 'slurm'", "executor.kind must be one of local, ray"),
        ("[executor]\njobs_in_flight = -1", "executor.jobs_in_flight must be 0"),
        ("[executor]\nlocal_slots = -2", "executor.local_slots must be 0 or more"),
        ("[model]\nscripted_latency = -1.0", "model.scripted_latency must be 0 or more"),
    ],
)
def test_bad_config_names_the_problem(text, message):
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(text)
    assert message in str(info.value)


def dgm(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "dgm.cli", *args], capture_output=True, text=True, env=env, **kwargs)


def test_help_lists_every_command_without_heavy_imports():
    code = (
        "import sys; from dgm.cli import main; main(['--help']); "
        "print(sorted(m for m in ('litellm', 'docker', 'sklearn', 'sqlmodel', 'typer', 'git') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("init", "run", "status", "archive", "review", "eval", "sandbox", "report"):
        assert f"\n  {command} " in out
    assert out.strip().endswith("[]")


def test_unknown_command_is_one_line_and_exit_2():
    result = dgm("frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["dgm: error: no such command 'frobnicate' (see 'dgm --help')"]


def test_init_refuses_a_bad_config_without_creating_anything(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[loop]\nselection = 'magic'\n")
    target = tmp_path / "runs" / "x"
    result = dgm("init", str(target), "--config", str(bad))
    assert result.returncode == 2
    assert "loop.selection must be one of" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()


def test_commands_outside_a_run_say_so(tmp_path):
    result = dgm("status", cwd=tmp_path)
    assert result.returncode == 2
    assert "no run found under ./runs/" in result.stderr
    result = dgm("status", "--run", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "is not a run directory" in result.stderr


def test_usage_errors_are_typers_message_not_an_internal_error():
    result = dgm("archive", "no-such-subcommand")
    assert result.returncode == 2
    assert "No such command 'no-such-subcommand'" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content, message", [(b"", "is empty"), (b"\xc2\xff\x00", "is not a text (UTF-8) TOML file")])
def test_an_empty_or_binary_config_is_refused(tmp_path, content, message):
    config = tmp_path / "c.toml"
    config.write_bytes(content)
    result = dgm("init", str(tmp_path / "r"), "--config", str(config))
    assert result.returncode == 2 and message in result.stderr and "internal error" not in result.stderr


def test_paths_the_user_cannot_use_are_one_line_errors(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = dgm("init", str(a_file))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"dgm: error: Not a directory: {a_file}"]


def test_a_run_directory_is_found_from_inside_it(tmp_path):
    (tmp_path / "run.toml").write_text('name = "x"\n')
    from dgm.cli.common import resolve_run
    import os

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert resolve_run(None) == tmp_path
    finally:
        os.chdir(old)


def test_a_missing_provider_key_stops_the_run_before_any_work(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    run_dir = tmp_path / "r"
    made = dgm("init", str(run_dir), "--model", "openai/gpt-4.1", env=env)
    assert made.returncode == 0 and "needs OPENAI_API_KEY" in made.stderr  # a warning: the key may come later
    result = dgm("run", "--run", str(run_dir), env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dgm: error: model openai/gpt-4.1 needs OPENAI_API_KEY in the environment "
        "(read by the gateway on the host only; it never enters a sandbox)"
    ]


def test_an_unknown_suite_is_refused_at_init(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[eval]\nsuites = ["humaneval", "bogus"]\n')
    result = dgm("init", str(tmp_path / "r"), "--config", str(config))
    assert result.returncode == 2 and "unknown suite 'bogus'" in result.stderr
    assert not (tmp_path / "r").exists()
