"""`run_kubeflow.py schedule` against a KFP API that asks who you are (the stand-in of test_kubeflow.py, here
requiring a bearer token or a session cookie): each source of a credential is sent on every request, a missing,
unknown or unreadable one is refused with one line naming it, and nothing is created."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kubeflow_runner import command_line, credentials
from tests.code.test_kubeflow import FakeKfp, kfp_server, posts  # noqa: F401 - kfp_server is a fixture
from tests.helpers import REPO

TOKEN = "eyJhbGciOiJSUzI1NiJ9.stand-in-token"
COOKIE = "authservice_session=MTcz-stand-in"


@pytest.fixture
def spec_file(tmp_path):
    """A compiled job as `compile` writes it, as small as the scheduling reads."""
    job = {
        "pipelineSpec": {"pipelineInfo": {"name": "text-classifier-imdb"}, "root": {}},
        "runtimeConfig": {"gcsOutputDirectory": "s3://bucket/text-classifier/imdb"},
    }
    path = tmp_path / "imdb.json"
    path.write_text(json.dumps(job))
    return path


@pytest.fixture(autouse=True)
def no_credential_in_the_environment(monkeypatch):
    monkeypatch.delenv(credentials.TOKEN_ENV, raising=False)
    monkeypatch.delenv(credentials.SA_TOKEN_PATH_ENV, raising=False)


def schedule(host, spec, *extra):
    return command_line.main(["schedule", "--spec", str(spec), "--host", host, "--cron", "0 3 * * *", *extra])


def sent_everywhere(header_value, kind=0):
    seen = [pair[kind] for pair in FakeKfp.credentials_seen]
    return seen and all(value == header_value for value in seen)


def test_a_token_file_is_sent_as_the_bearer_token_of_every_request(kfp_server, spec_file, tmp_path, capsys):  # noqa: F811
    FakeKfp.required_token = TOKEN
    (tmp_path / "token").write_text(TOKEN + "\n")
    assert schedule(kfp_server, spec_file, "--token-file", str(tmp_path / "token")) == 0, capsys.readouterr().err
    assert len(posts("/apis/v2beta1/recurringruns")) == 1
    assert sent_everywhere(f"Bearer {TOKEN}")


@pytest.mark.parametrize("variable", [credentials.TOKEN_ENV, credentials.SA_TOKEN_PATH_ENV])
def test_the_token_from_the_environment(kfp_server, spec_file, tmp_path, monkeypatch, variable):  # noqa: F811
    """$KF_PIPELINES_TOKEN holds the token; $KF_PIPELINES_SA_TOKEN_PATH names a pod's token file (kfp's variable)."""
    FakeKfp.required_token = TOKEN
    (tmp_path / "sa-token").write_text(TOKEN)
    monkeypatch.setenv(variable, TOKEN if variable == credentials.TOKEN_ENV else str(tmp_path / "sa-token"))
    assert schedule(kfp_server, spec_file) == 0
    assert len(posts("/apis/v2beta1/recurringruns")) == 1 and sent_everywhere(f"Bearer {TOKEN}")


def test_a_session_cookie_from_a_file(kfp_server, spec_file, tmp_path):  # noqa: F811
    FakeKfp.required_cookie = COOKIE
    (tmp_path / "cookie").write_text(COOKIE)
    assert schedule(kfp_server, spec_file, "--cookie-file", str(tmp_path / "cookie")) == 0
    assert len(posts("/apis/v2beta1/recurringruns")) == 1 and sent_everywhere(COOKIE, kind=1)


def test_no_credential_is_refused_saying_what_to_pass_and_creates_nothing(kfp_server, spec_file, capsys):  # noqa: F811
    FakeKfp.required_token = TOKEN
    assert schedule(kfp_server, spec_file) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert f"Kubeflow Pipelines at {kfp_server} asks who you are (HTTP 401" in err
    assert "--token-file FILE" in err and credentials.TOKEN_ENV in err
    assert FakeKfp.requests == []


def test_a_redirect_to_a_login_page_is_refused_saying_what_to_pass(kfp_server, spec_file, capsys):  # noqa: F811
    FakeKfp.required_token, FakeKfp.login_redirect = TOKEN, True
    assert schedule(kfp_server, spec_file) == 2
    err = capsys.readouterr().err
    assert f"asks who you are (redirected to {kfp_server}/dex/auth" in err and "--token-file FILE" in err
    assert FakeKfp.requests == []


def test_an_unknown_token_and_a_forbidden_one_name_their_source(kfp_server, spec_file, tmp_path, capsys):  # noqa: F811
    FakeKfp.required_token = TOKEN
    (tmp_path / "old").write_text("an-expired-token")
    assert schedule(kfp_server, spec_file, "--token-file", str(tmp_path / "old")) == 2
    err = capsys.readouterr().err
    assert f"did not accept the credential from --token-file {tmp_path / 'old'} (HTTP 401" in err
    assert "an-expired-token" not in err  # the secret itself is never printed
    FakeKfp.forbidden = True
    (tmp_path / "token").write_text(TOKEN)
    assert schedule(kfp_server, spec_file, "--token-file", str(tmp_path / "token"), "--namespace", "team-a") == 2
    err = capsys.readouterr().err
    assert f"refused the credential from --token-file {tmp_path / 'token'} (HTTP 403" in err
    assert "may not use namespace team-a" in err and TOKEN not in err
    assert not posts("/apis/v2beta1/recurringruns")


@pytest.mark.parametrize(
    "flag, content, message",
    [
        ("--token-file", None, "--token-file {path}: no such file"),
        ("--token-file", "  \n", "--token-file {path} is empty"),
        ("--cookie-file", None, "--cookie-file {path}: no such file"),
        ("--ca-bundle", None, "--ca-bundle {path}: no such file"),
    ],
)
def test_an_unreadable_credential_is_refused_before_any_request(
    kfp_server,  # noqa: F811
    spec_file,
    tmp_path,
    capsys,
    flag,
    content,
    message,
):
    path = tmp_path / "credential"
    if content is not None:
        path.write_text(content)
    assert schedule(kfp_server, spec_file, flag, str(path)) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {message.format(path=path)}" or err.startswith(f"error: {message.format(path=path)};")
    assert FakeKfp.credentials_seen == []


def test_the_dry_run_names_the_credential_and_never_prints_it(kfp_server, spec_file, tmp_path, capsys):  # noqa: F811
    (tmp_path / "token").write_text(TOKEN)
    assert schedule(kfp_server, spec_file, "--token-file", str(tmp_path / "token"), "--dry-run") == 0
    out = capsys.readouterr().out
    assert json.loads(out)["credential"] == f"--token-file {tmp_path / 'token'}" and TOKEN not in out
    assert FakeKfp.credentials_seen == []


def test_as_a_user_runs_it_a_missing_credential_is_one_line(kfp_server, spec_file):  # noqa: F811
    """`run_kubeflow.py schedule` in its own process, no -v: exit 2 and the one error line, nothing else."""
    FakeKfp.required_token = TOKEN
    env = {k: v for k, v in os.environ.items() if k not in (credentials.TOKEN_ENV, credentials.SA_TOKEN_PATH_ENV)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run(
        [sys.executable, "run_kubeflow.py", "schedule", "--spec", str(spec_file), "--host", kfp_server]
        + ["--cron", "0 3 * * *"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "asks who you are (HTTP 401" in done.stderr, done.stderr
