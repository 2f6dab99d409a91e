"""Source authentication (Bearer token, Standard Webhooks) and the admin token."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from groundcontrol import keys
from groundcontrol.api.auth import authenticate_source, bearer_token, require_admin
from groundcontrol.api.problems import ProblemError
from groundcontrol.settings import AdminSettings, Settings, SourceSettings
from groundcontrol.signatures import decode_secret, signed_headers

NOW = datetime(2026, 11, 22, 10, tzinfo=UTC)
BODY = b'{"id": "evt-1"}'
SECRET = "whsec_" + base64.b64encode(b"crm-signing-key-0123456789").decode()
SOURCES = {
    "crm": SourceSettings(secret=SecretStr(SECRET)),
    "erp": SourceSettings(token=SecretStr("erp-token")),
    "both": SourceSettings(token=SecretStr("both-token"), secret=SecretStr("raw-secret")),
}


def signed(secret: str = SECRET, at: datetime = NOW, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(decode_secret(secret), "msg-1", at, body)


def authenticate(headers: dict[str, str], body: bytes = BODY) -> str:
    return authenticate_source(SOURCES, headers, body, NOW)


def assert_401(headers: dict[str, str], body: bytes = BODY) -> None:
    with pytest.raises(ProblemError) as info:
        authenticate(headers, body)
    assert info.value.status == 401
    assert info.value.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("", None),
    ],
)
def test_bearer_token_is_read_from_authorization(header: str, token: str | None) -> None:
    assert bearer_token({"Authorization": header}) == token


def test_the_source_is_the_one_whose_token_matches() -> None:
    assert authenticate({"Authorization": "Bearer erp-token"}) == "erp"
    assert authenticate({"Authorization": "Bearer both-token"}) == "both"


@pytest.mark.parametrize("token", ["erp-token-", "erp-toke", "ERP-TOKEN", "whsec_x"])
def test_a_wrong_token_is_401(token: str) -> None:
    assert_401({"Authorization": f"Bearer {token}"})


def test_no_credentials_is_401() -> None:
    assert_401({})


def test_the_source_is_the_one_whose_secret_signed_the_body() -> None:
    assert authenticate(signed()) == "crm"
    assert authenticate(signed("raw-secret")) == "both"


def test_a_signature_over_another_body_is_401() -> None:
    assert_401(signed(), body=BODY + b" ")


def test_a_signature_with_an_unknown_secret_is_401() -> None:
    assert_401(signed("whsec_" + base64.b64encode(b"someone else").decode()))


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_timestamp_outside_five_minutes_is_401(skew: timedelta) -> None:
    assert_401(signed(at=NOW + skew))


def test_a_timestamp_inside_five_minutes_is_accepted() -> None:
    assert authenticate(signed(at=NOW - timedelta(minutes=4))) == "crm"


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-timestamp": "soon"},
        {"webhook-timestamp": "-1"},
        {"webhook-signature": "v1,%%%"},
        {"webhook-signature": "garbage"},
        {"webhook-id": ""},
    ],
)
def test_malformed_signature_headers_are_401(change: dict[str, str]) -> None:
    assert_401({**signed(), **change})


def test_one_matching_signature_among_several_is_enough() -> None:
    headers = signed()
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert authenticate(headers) == "crm"


def test_a_misconfigured_secret_is_skipped_not_a_crash() -> None:
    sources = {"bad": SourceSettings(secret=SecretStr("whsec_!!!")), **SOURCES}
    assert authenticate_source(sources, signed(), BODY, NOW) == "crm"


def admin_request(token: str | None, header: str | None) -> web.Request:
    app = web.Application()
    secret = SecretStr(token) if token is not None else None
    app[keys.SETTINGS] = Settings(admin=AdminSettings(token=secret))
    headers = {"Authorization": header} if header is not None else {}
    return make_mocked_request("GET", "/v1/notifications", headers=headers, app=app)


def test_the_admin_token_lets_the_admin_in() -> None:
    require_admin(admin_request("admin-secret", "Bearer admin-secret"))


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer erp-token", "admin-secret"])
def test_anything_else_is_401(header: str | None) -> None:
    with pytest.raises(ProblemError) as info:
        require_admin(admin_request("admin-secret", header))
    assert info.value.status == 401


@pytest.mark.parametrize("token", [None, ""])
def test_without_an_admin_token_the_admin_api_is_disabled(token: str | None) -> None:
    with pytest.raises(ProblemError) as info:
        require_admin(admin_request(token, "Bearer "))
    assert info.value.status == 403
    assert info.value.detail == "admin API disabled: set admin.token"
