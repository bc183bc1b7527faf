"""Logging in, sessions and tokens, in-process over the real app and a real database (issue 16, items 5-7).

Login links carry a one-time code, never a token; the login form is CSRF-protected; sessions live on the
server, expire, end at logout and when their token is revoked; every page names the organisation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import stat
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from tests.conftest import settings_for
from tests.web_helpers import login_csrf, open_session
from yolobatch.cli import _api_server, api_app
from yolobatch.engine.devserver import free_port
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.http.security import csrf_token
from yolobatch.store.access import Access

pytestmark = pytest.mark.security
ORIGIN = "http://yolobatch.test"


@pytest.fixture
async def app(dev_server, world, store, tmp_path) -> AsyncIterator[tuple]:
    """(client factory, store, the token of org "acme"), the app in-process against a real SQLite store."""
    client = await Client.connect(dev_server.address)
    store.ensure_org("acme", "Acme Eats Ltd")
    store.ensure_org("rival", "Rival Foods")
    token = store.create_token("acme", "alice")
    ctx = AppContext(settings_for(store, world, tmp_path), store, client, world.url)
    application = create_app(ctx)

    def http() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url=ORIGIN)

    yield http, store, token


def session_of(response: httpx.Response) -> str | None:
    match = re.search(r"yb_session=([^;]+)", response.headers.get("set-cookie", ""))
    return match.group(1) if match else None


async def test_the_login_form_needs_its_csrf_token_and_our_origin(app):
    http, _, token = app
    async with http() as browser:
        no_token = await browser.post("/login", data={"token": token})
        assert no_token.status_code == 403 and session_of(no_token) is None
        fields = {"token": token, **await login_csrf(browser)}
        cross_site = await browser.post("/login", data=fields, headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403 and session_of(cross_site) is None
        referred = await browser.post("/login", data=fields, headers={"Referer": "https://evil.example/x"})
        assert referred.status_code == 403 and session_of(referred) is None
        ours = await browser.post("/login", data=fields, headers={"Origin": ORIGIN})
        assert ours.status_code == 303, ours.text
    session = session_of(ours)
    assert session and session != token and token not in ours.headers["set-cookie"]
    async with http() as stranger:  # another site's form cannot know the pre-login cookie's token
        stranger.cookies.set("yb_login", "chosen-by-the-attacker")
        forged = await stranger.post("/login", data={"token": token, "csrf_token": "0" * 64})
        assert forged.status_code == 403 and session_of(forged) is None


async def test_login_links_carry_a_one_time_short_lived_code_and_never_log_in_on_a_get(app):
    http, store, token = app
    access = Access(store)
    token_id = access.token_caller(token).token_id
    async with http() as browser:
        old_style = await browser.get("/login", params={"token": token})
        assert old_style.status_code == 400 and session_of(old_style) is None
        assert "login-link" in old_style.text

        code = access.create_login_code(token_id)
        assert token not in code
        confirm = await browser.get("/login", params={"code": code})
        # A GET names the organisation and asks; another site can send a browser here, but not click.
        assert confirm.status_code == 200 and session_of(confirm) is None
        assert "Acme Eats Ltd" in confirm.text and "(acme)" in confirm.text
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', confirm.text).group(1)
        used = await browser.post("/login", data={"code": code, "csrf_token": csrf})
        assert used.status_code == 303 and session_of(used)
        again = await browser.post("/login", data={"code": code, **await login_csrf(browser)})
        assert again.status_code == 401 and session_of(again) is None
        assert (await browser.get("/login", params={"code": code})).status_code == 400

        expired = access.create_login_code(token_id, ttl=timedelta(seconds=-1))
        assert (await browser.get("/login", params={"code": expired})).status_code == 400
        late = await browser.post("/login", data={"code": expired, **await login_csrf(browser)})
        assert late.status_code == 401 and session_of(late) is None
    with store.engine.connect() as connection:
        stored = " ".join(str(row) for row in connection.execute(text("SELECT * FROM login_codes")))
    assert code not in stored and expired not in stored  # only hashes


async def test_every_page_names_the_organisation_logged_in(app):
    http, store, token = app
    batch_id = store.create_batch("acme", "mine", [])
    async with http() as browser:
        browser.cookies.set("yb_session", open_session(store, token))
        for path in ("/", "/inbox", "/batches/new", f"/batches/{batch_id}"):
            page = await browser.get(path)
            assert page.status_code == 200, path
            assert re.search(r'data-org="acme">Acme Eats Ltd<', page.text), path


async def test_sessions_are_server_side_and_end_at_logout_expiry_and_token_revocation(app):
    http, store, token = app
    access = Access(store)
    async with http() as browser:
        first = session_of(await browser.post("/login", data={"token": token, **await login_csrf(browser)}))
        login = await browser.post("/login", data={"token": token, **await login_csrf(browser)})
        session = session_of(login)
        assert session and first and session != first and (await browser.get("/")).status_code == 200
        assert access.session_caller(first) is None  # logging in again replaced the session
        with store.engine.connect() as connection:
            rows = " ".join(str(r) for r in connection.execute(text("SELECT * FROM sessions")))
        assert session not in rows and token not in rows  # the table holds a hash only
        logout = await browser.post("/logout", data={"csrf_token": csrf_token(session)})
        assert logout.status_code == 303
    async with http() as thief:  # a copy of the cookie taken before the logout
        thief.cookies.set("yb_session", session)
        assert (await thief.get("/")).headers.get("location") == "/login"

    caller = access.token_caller(token)
    stale = access.open_session(caller, timedelta(seconds=-1))
    async with http() as browser:
        browser.cookies.set("yb_session", stale)
        assert (await browser.get("/")).headers.get("location") == "/login"

    live = open_session(store, token)
    async with http() as browser:
        browser.cookies.set("yb_session", live)
        assert (await browser.get("/")).status_code == 200
        bearer = {"Authorization": f"Bearer {token}"}
        listed = (await browser.get("/api/tokens", headers=bearer)).json()
        assert [(t["id"], t["name"], t["revoked_at"]) for t in listed] == [(caller.token_id, "alice", None)]
        assert token not in str(listed)
        rival_token = store.create_token("rival", "bob")
        rival_id = access.token_caller(rival_token).token_id
        other = await browser.delete(f"/api/tokens/{rival_id}", headers=bearer)
        assert other.status_code == 404  # another organisation's token is not there
        assert access.token_caller(rival_token) is not None
        revoked = await browser.delete(f"/api/tokens/{caller.token_id}", headers=bearer)
        assert revoked.status_code == 200 and revoked.json() == {"id": caller.token_id, "revoked": True}
        assert (await browser.get("/")).headers.get("location") == "/login"  # its session ended
        assert (await browser.get("/api/batches", headers=bearer)).status_code == 401
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sessions")).scalar() == 0


async def test_a_cross_site_post_with_a_session_is_refused(app):
    http, store, token = app
    session = open_session(store, token)
    async with http() as browser:
        browser.cookies.set("yb_session", session)
        sent = await browser.post(
            "/logout", data={"csrf_token": csrf_token(session)}, headers={"Origin": "https://evil.example"}
        )
        assert sent.status_code == 403
        assert (await browser.get("/")).status_code == 200  # still logged in: the post did nothing


async def test_the_sandbox_mounted_by_up_closes_its_control_surface_to_all_but_the_admin_token(
    dev_server, world, store, tmp_path
):
    """`up --sandbox` serves the sandbox on the dashboard's port: its /_sandbox routes show every
    organisation's platform accounts and call logs and can reset it or inject faults."""
    client = await Client.connect(dev_server.address)
    application = api_app(settings_for(store, world, tmp_path), store, client, f"{ORIGIN}/sandbox")
    admin_file = tmp_path / "sandbox-admin-token"
    admin = admin_file.read_text().strip()
    assert stat.S_IMODE(admin_file.stat().st_mode) == 0o600 and len(admin) >= 32
    control = [
        ("GET", "/_sandbox/state"),
        ("GET", "/_sandbox/calls"),
        ("POST", "/_sandbox/reset"),
        ("GET", "/_sandbox/faults"),
        ("POST", "/_sandbox/faults"),
        ("DELETE", "/_sandbox/faults"),
    ]
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=f"{ORIGIN}/sandbox") as http:
        for method, path in control:
            for headers in ({}, {"Origin": "https://evil.example"}, {"X-Sandbox-Admin-Token": "x" * 43}):
                refused = await http.request(method, path, headers=headers, json={"endpoint": "x"})
                assert refused.status_code == 401, (method, path, headers, refused.text)
        allowed = await http.get("/_sandbox/state", headers={"X-Sandbox-Admin-Token": admin})
        assert allowed.status_code == 200 and "max_in_flight" in allowed.json()
        assert (await http.get("/_sandbox/health")).status_code == 200
        # What the worker needs (store pages, registries, the platform API) stays where it was.
        assert (await http.get("/stores/jax-burger-shack")).status_code == 200


async def test_every_answer_carries_security_headers_and_nothing_with_data_is_cached(app):
    http, store, token = app
    async with http() as browser:
        browser.cookies.set("yb_session", open_session(store, token))
        bearer = {"Authorization": f"Bearer {token}"}
        answers = {
            "page": await browser.get("/"),
            "login": await browser.get("/login"),
            "api": await browser.get("/api/batches", headers=bearer),
            "refused": await browser.get("/api/batches", headers={"Authorization": "Bearer yb_nope"}),
            "static": await browser.get("/static/htmx.min.js"),
        }
    for what, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["x-frame-options"] == "DENY", what
        assert headers["referrer-policy"] == "same-origin", what
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, (what, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
        assert (headers.get("cache-control") == "no-store") == (what != "static"), (what, headers)
    # The dashboard's pages have no inline script or handler for the policy to block.
    page = answers["page"].text
    assert not re.search(r"<script(?![^>]*\bsrc=)|\son[a-z]+=|hx-on|style=", page), page


async def test_the_api_docs_use_only_local_assets_and_allow_only_their_own_inline_script(app):
    http, _, _ = app
    async with http() as browser:
        for path in ("/docs", "/redoc"):
            page = await browser.get(path)
            assert page.status_code == 200
            references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert references and all(r.startswith("/") for r in references), references
            assert "cdn" not in page.text.lower() and "https://" not in page.text
            for reference in references:
                asset = await browser.get(reference)
                assert asset.status_code == 200 and len(asset.content) > 0, reference
            policy = page.headers["content-security-policy"]
            script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
            assert "unsafe-inline" not in script_src and "frame-ancestors 'none'" in policy
            for script in re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL):
                digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in script_src


@pytest.mark.parametrize("trusted", [True, False], ids=["behind-trusted-proxy", "untrusted-peer"])
async def test_failures_count_per_client_behind_a_trusted_proxy_only(
    dev_server, world, store, tmp_path, monkeypatch, trusted
):
    """Behind a load balancer every request comes from its address: with FORWARDED_ALLOW_IPS naming it,
    failures count per real client (X-Forwarded-For); from anyone else that header is ignored."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1" if trusted else "192.0.2.1")
    client = await Client.connect(dev_server.address)
    port = free_port()
    server = _api_server(settings_for(store, world, tmp_path), store, client, ("127.0.0.1", port), None)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def guess(client_ip: str) -> int:
                headers = {"Authorization": "Bearer yb_guess", "X-Forwarded-For": client_ip}
                return (await http.get("/api/batches", headers=headers)).status_code

            assert [await guess("203.0.113.7") for _ in range(20)] == [401] * 20
            assert await guess("203.0.113.7") == 429
            assert await guess("198.51.100.9") == (401 if trusted else 429)
    finally:
        server.should_exit = True
        await serving
