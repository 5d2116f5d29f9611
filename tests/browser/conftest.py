"""Real-browser tests: headless Chromium, driven by Playwright, against pytest-django's live server.

The live server is a thread of this process, so the `sandbox` fixture's patch of the Space
Invoices gateway and the eager Celery set in tests/conftest.py hold for requests it serves.
Screenshots go to `.local/screenshots/` (`BROWSER_SCREENSHOT_DIR` overrides it); a failing test
leaves `<test name>--failure.png` there. `make browser` installs Chromium.
"""

import io
import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from invoicing.sandbox import sandbox_transport
from tests.conftest import Sandbox
from tests.factories import operator_user

CHROMIUM = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")
SCREENSHOT_DIR = Path(
    os.environ.get("BROWSER_SCREENSHOT_DIR", settings.BASE_DIR / ".local" / "screenshots")
)
PASSWORD = "correct-horse-battery"  # what UserFactory sets
TIMEOUT_MS = 15_000
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps each phase's report on the item, so `page` knows at teardown that the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for the browser tests; package scope stops it before other tests run.

    While Playwright's sync API is started, its asyncio loop counts as running in this thread,
    and Django refuses ORM calls from such a thread. The tests' ORM calls are plain synchronous
    ones, so they are allowed for exactly as long as the browser runs.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: run `make browser` or set BROWSER_EXECUTABLE.")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        expect.set_options(timeout=TIMEOUT_MS)
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_url(live_server: LiveServer) -> Callable[[str], str]:
    """The live server's absolute URL of a path (`live_url("/admin/")`)."""
    return lambda path: f"{live_server.url}{path}"


@pytest.fixture
def page(
    browser: Browser, live_server: LiveServer, sandbox: Sandbox, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test; Space Invoices calls go to the sandbox."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if call is not None and call.failed:
        _save(tab, _screenshot_path(request.node.name, "failure"))
    context.close()


@pytest.fixture
def sandbox_pages(page: Page, sandbox: Sandbox, settings: Settings) -> str:
    """Lets the browser open the sandbox's own pages (embedded dashboard, share pages).

    The sandbox lives in this process, not on a port, so the page's requests to
    `http://sandbox/` are answered by it through Playwright routing. Returns that base URL.
    """
    base_url = "http://sandbox"
    settings.SPACE_INVOICES_DASHBOARD_URL = f"{base_url}/embed/dashboard"

    def answer(route: Route) -> None:
        request = route.request
        with httpx.Client(transport=sandbox_transport(sandbox.app), base_url=base_url) as http:
            response = http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.post_data_buffer,
            )
        route.fulfill(
            status=response.status_code, headers=dict(response.headers), body=response.content
        )

    page.context.route(f"{base_url}/**", answer)
    return base_url


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Saves the whole page as `<test name>[--<label>].png`; returns the file's path."""

    def take(label: str = "") -> Path:
        return _save(page, _screenshot_path(request.node.name, label))

    return take


@pytest.fixture
def log_in(page: Page, live_url: Callable[[str], str]) -> Callable[..., None]:
    """Signs `user` in through the login form at `path`, as a person types it."""

    def submit(user: User, *, path: str) -> None:
        page.goto(live_url(path))
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

    return submit


@pytest.fixture
def admin_login(page: Page, log_in: Callable[..., None]) -> Callable[[User], None]:
    """Signs a staff user in to /admin/ and waits for the admin index."""

    def submit(user: User) -> None:
        log_in(user, path="/admin/login/?next=/admin/")
        expect(page.locator("#user-tools")).to_contain_text(user.get_username())

    return submit


@pytest.fixture
def user_login(page: Page, log_in: Callable[..., None]) -> Callable[[User], None]:
    """Signs a buyer or seller user in through the storefront's login form."""

    def submit(user: User) -> None:
        log_in(user, path=reverse("storefront:login"))
        expect(page.get_by_test_id("logout")).to_contain_text(user.get_username())

    return submit


def _screenshot_path(test_name: str, label: str) -> Path:
    name = re.sub(r"[^\w.-]+", "_", test_name)
    return SCREENSHOT_DIR / (f"{name}--{label}.png" if label else f"{name}.png")


def _save(tab: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (11, 61, 145)).save(buffer, "PNG")
    path = tmp_path / "logo.png"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def operator_page(browser: Browser, live_server: LiveServer) -> Page:
    """A second browser (its own cookies) where an operator is logged in to admin."""
    operator: User = operator_user(
        "sellers.view_seller", "sellers.change_seller", username="operator"
    )
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.goto("/admin/login/?next=/admin/")
    tab.get_by_label("Username").fill(operator.get_username())
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.locator("#user-tools")).to_contain_text("operator")
    return tab
