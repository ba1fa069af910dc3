"""A real OpenID Connect provider for the tests: panva's oidc-provider from npm (certified),
run by tests/oidc/provider.mjs on 127.0.0.1 with the clients and accounts given here.

``start_provider(...)`` starts one and waits for its discovery document; the test modules hold
one for the whole session (a fixture), since starting Node takes a few hundred milliseconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.settings import PROJECT_ROOT

SCRIPT = Path(__file__).with_name("provider.mjs")
CLIENT_SECRET = "civic-secret-for-the-test-provider"
# The paths the README tells IT to register (with the host and port the app runs on).
CALLBACK_PATHS = ("/builder/sso/{name}/callback", "/casework/sso/{name}/callback", "/sso/{name}/callback")
SIGN_IN_PATHS = (
    "/builder/sign-in?status=signed-out",
    "/casework/sign-in?status=signed-out",
    "/sign-in?status=signed-out",
)

# The provider's people: the account id is the subject (sub).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "dana": {"email": "dana@example.gov.uk", "email_verified": True, "name": "Dana Designer"},
    "dana-again": {"email": "dana@example.gov.uk", "email_verified": True},
    "cas": {"email": "caseworker@westbridge.example", "email_verified": True},
    "des": {"email": "designer@westbridge.example", "email_verified": True},
    "stranger": {"email": "stranger@example.gov.uk", "email_verified": True},
    "unverified": {"email": "dana@example.gov.uk", "email_verified": False},
    "unverified-string": {"email": "dana@example.gov.uk", "email_verified": "false"},
    "verified-string": {"email": "dana@example.gov.uk", "email_verified": "true"},
    "no-email": {},
    "mfa": {"email": "dana@example.gov.uk", "email_verified": True, "amr": ["pwd", "mfa"], "acr": "urn:test:mfa"},
    "tenant": {"email": "dana@example.gov.uk", "email_verified": True, "tid": "council-tenant", "hd": "example.gov.uk"},
    "other-tenant": {
        "email": "dana@example.gov.uk",
        "email_verified": True,
        "tid": "another-tenant",
        "hd": "evil.example",
    },
    "tenant-no-verified": {"email": "dana@example.gov.uk", "tid": "council-tenant"},
    # As Microsoft Entra ID sends them: never email_verified; xms_edov (optional claim) when the
    # email's domain is verified by the user's tenant; preferred_username (the UPN) always; idp
    # for a guest from another directory.
    "entra-member": {
        "email": "dana@example.gov.uk",
        "tid": "council-tenant",
        "preferred_username": "dana@example.gov.uk",
    },
    "entra-no-mail": {"tid": "council-tenant", "preferred_username": "dana@example.gov.uk"},
    "entra-upn-only": {"tid": "council-tenant", "upn": "dana@example.gov.uk"},
    "entra-edov": {"email": "dana@example.gov.uk", "xms_edov": True, "tid": "another-tenant"},
    "entra-edov-string": {"email": "dana@example.gov.uk", "xms_edov": "true", "tid": "council-tenant"},
    "entra-edov-false": {"email": "dana@example.gov.uk", "xms_edov": False, "tid": "another-tenant"},
    "entra-other-tenant": {"email": "dana@example.gov.uk", "tid": "another-tenant"},
    "entra-other-tenant-no-mail": {"tid": "another-tenant", "preferred_username": "dana@example.gov.uk"},
    "entra-guest": {
        "email": "dana@example.gov.uk",
        "tid": "council-tenant",
        "idp": "https://sts.windows.net/another-tenant/",
        "preferred_username": "dana@example.gov.uk",
    },
    "entra-guest-upn": {
        "tid": "council-tenant",
        "preferred_username": "dana_example.gov.uk#EXT#@council.onmicrosoft.com",
    },
    "entra-says-unverified": {"email": "dana@example.gov.uk", "email_verified": False, "tid": "council-tenant"},
    "entra-says-true-string": {"email": "dana@example.gov.uk", "email_verified": "true", "tid": "council-tenant"},
    "entra-not-an-email": {"tid": "council-tenant", "preferred_username": "dana", "email": "dana at example.gov.uk"},
}
TAMPERING = ("audience", "expired", "signature", "wrong-key", "alg-none")


def _uris(template: tuple[str, ...], name: str) -> list[str]:
    return [f"http://{host}{path.format(name=name)}" for host in ("127.0.0.1", "localhost") for path in template]


def client(client_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """A client registered for the provider name ``name`` in the app (its callback URLs)."""
    return {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": _uris(CALLBACK_PATHS, name),
        "post_logout_redirect_uris": _uris(SIGN_IN_PATHS, name),
        **extra,
    }


@dataclass
class OidcServer:
    issuer: str
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def metadata(self) -> dict[str, Any]:
        return requests.get(self.issuer + "/.well-known/openid-configuration", timeout=5).json()  # type: ignore[no-any-return]


def _require_node() -> str:
    node = shutil.which("node")
    if node is None or not (PROJECT_ROOT / "node_modules" / "oidc-provider").is_dir():
        reason = "node and node_modules/oidc-provider are needed for the single sign-on tests: run `npm ci`"
        if os.environ.get("CIVICFORMS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return node


@contextmanager
def start_provider(*, clients: list[dict[str, Any]], conform: bool = True) -> Iterator[OidcServer]:
    """oidc-provider on 127.0.0.1 (issuer http://localhost:<port>) until the block ends."""
    node = _require_node()
    config = {"port": 0, "host": "localhost", "conform": conform, "clients": clients, "accounts": ACCOUNTS}
    process = subprocess.Popen(
        [node, str(SCRIPT)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config), "NODE_ENV": "test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"the test OpenID provider did not start (exit {process.poll()}): {line!r}")
        provider = OidcServer(line.split()[1], process)
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the test OpenID provider never served its discovery document")
            time.sleep(0.05)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
