"""Who `run_kubeflow.py schedule` is to a Kubeflow Pipelines API that asks (multi-user installations).

Most installations put the API behind an identity proxy: it wants a bearer token (a service account's, or one
an identity provider issued) or, from a laptop, the browser's session cookie. Where each comes from, first
found wins:

  --token-file FILE             a file holding the bearer token
  $KF_PIPELINES_TOKEN           the bearer token itself (CI secrets are handed over as variables)
  $KF_PIPELINES_SA_TOKEN_PATH   kfp's own variable: the path of the pod's projected service-account token
  --cookie-file FILE            a file holding the cookie header, e.g. `authservice_session=...`

A token is never a flag's value: `ps` shows every process's arguments to every user of the machine.
`--ca-bundle FILE` is the CA certificates a private endpoint's TLS is checked against.

`probe` asks the API's healthz once with the credential before anything else (kfp.Client would retry it five
times, 25 s, and then report a timeout). What it answers is mapped to one line by `refusal`: 401 (no or unknown
credential) says what to pass, 403 which credential was refused, a redirect (an identity proxy sending an
anonymous request to its login page) what to pass. Tested against the stand-in in tests/code/test_kubeflow_auth.py.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path

TOKEN_ENV = "KF_PIPELINES_TOKEN"
SA_TOKEN_PATH_ENV = "KF_PIPELINES_SA_TOKEN_PATH"  # kfp.client.KF_PIPELINES_SA_TOKEN_PATH_ENV's name
HOW_TO_AUTHENTICATE = (
    f"pass --token-file FILE (a bearer token), set {TOKEN_ENV}, or pass --cookie-file FILE "
    "(your browser's session cookie for the Kubeflow dashboard, e.g. authservice_session=...)"
)


class CredentialError(ValueError):
    """A credential named by a flag or variable that cannot be read; the message names it."""


@dataclasses.dataclass(frozen=True)
class Credential:
    """kfp.Client's keyword arguments, and where they came from (for messages: never the secret itself)."""

    client_kwargs: dict
    source: str  # e.g. "--token-file /run/secrets/kfp" or "" (none)


def _read(path: Path, what: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise CredentialError(f"{what}: no such file; {HOW_TO_AUTHENTICATE}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CredentialError(f"{what}: cannot be read ({err})") from None
    if not text:
        raise CredentialError(f"{what} is empty; {HOW_TO_AUTHENTICATE}")
    return text


def credential(
    token_file: Path | None = None,
    cookie_file: Path | None = None,
    ca_bundle: Path | None = None,
    environ=os.environ,
) -> Credential:
    """The credential to present, read now so that a missing one is refused before any request."""
    kwargs: dict = {}
    if ca_bundle is not None:
        if not Path(ca_bundle).is_file():
            raise CredentialError(f"--ca-bundle {ca_bundle}: no such file; give the PEM file of your CA certificates")
        kwargs["ssl_ca_cert"] = str(ca_bundle)
    if token_file is not None:
        kwargs["existing_token"] = _read(token_file, f"--token-file {token_file}")
        return Credential(kwargs, f"--token-file {token_file}")
    if environ.get(TOKEN_ENV, "").strip():
        kwargs["existing_token"] = environ[TOKEN_ENV].strip()
        return Credential(kwargs, f"${TOKEN_ENV}")
    if environ.get(SA_TOKEN_PATH_ENV):
        path = environ[SA_TOKEN_PATH_ENV]
        kwargs["existing_token"] = _read(Path(path), f"${SA_TOKEN_PATH_ENV} ({path})")
        return Credential(kwargs, f"${SA_TOKEN_PATH_ENV} ({path})")
    if cookie_file is not None:
        kwargs["cookies"] = _read(cookie_file, f"--cookie-file {cookie_file}")
        return Credential(kwargs, f"--cookie-file {cookie_file}")
    return Credential(kwargs, "")


def refusal(status: int, endpoint: str, what: str, source: str, namespace: str | None) -> str | None:
    """The one line for a 401 or 403 answer; None for other statuses."""
    if status == 401:
        if not source:
            return f"Kubeflow Pipelines at {endpoint} asks who you are (HTTP 401 on '{what}'): {HOW_TO_AUTHENTICATE}"
        return (
            f"Kubeflow Pipelines at {endpoint} did not accept the credential from {source} (HTTP 401 on '{what}'): "
            "it is wrong or has expired; get a new one"
        )
    if status == 403:
        who = f"the credential from {source}" if source else "an anonymous request"
        where = f"namespace {namespace}" if namespace else "the default namespace (pass --namespace for yours)"
        return f"Kubeflow Pipelines at {endpoint} refused {who} (HTTP 403 on '{what}'): its account may not use {where}"
    return None


def probe(host: str, credential: Credential, namespace: str | None) -> str | None:
    """One GET of the API's healthz with the credential: the one line of a refusal (None when let in).

    Raises OSError (urllib's URLError) when the host cannot be reached; any other answer is left to the
    client's own requests, which name it.
    """
    url = host.rstrip("/") + "/apis/v2beta1/healthz"
    headers = {}
    if "existing_token" in credential.client_kwargs:
        headers["Authorization"] = f"Bearer {credential.client_kwargs['existing_token']}"
    if "cookies" in credential.client_kwargs:
        headers["Cookie"] = credential.client_kwargs["cookies"]
    context = ssl.create_default_context(cafile=credential.client_kwargs.get("ssl_ca_cert"))
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30, context=context) as r:
            if r.geturl() != url:  # an identity proxy sent the request to its login page
                return (
                    f"Kubeflow Pipelines at {host} asks who you are (redirected to {r.geturl()}): {HOW_TO_AUTHENTICATE}"
                )
    except urllib.error.HTTPError as err:
        return refusal(err.code, host, "healthz", credential.source, namespace)
    return None
