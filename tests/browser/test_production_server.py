"""The production web process in a real browser: gunicorn (gunicorn.conf.py) with DEBUG off, after
`collectstatic`, serving the storefront's stylesheet, /api/docs/ and /api/redoc/ offline."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.integration.processes import collect_static, production_env, start_gunicorn, stop

pytestmark = pytest.mark.browser

A_YEAR_IMMUTABLE = "max-age=315360000, public, immutable"


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("production")


@pytest.fixture(scope="module")
def gunicorn_url(state_dir: Path) -> Iterator[str]:
    env = production_env(state_dir, STATIC_ROOT=str(state_dir / "static"))
    collect_static(env)
    process, url = start_gunicorn(env, state_dir / "gunicorn.log")
    yield url
    stop(process)


@pytest.fixture
def offline_page(browser: Browser, gunicorn_url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page that reaches only the gunicorn under test; returns it and the URLs it was refused."""
    context = browser.new_context(base_url=gunicorn_url)
    refused: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(gunicorn_url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    yield context.new_page(), refused
    context.close()


def test_static_file_under_gunicorn_has_a_hashed_name_and_a_year_of_cache(
    offline_page: tuple[Page, list[str]], state_dir: Path
) -> None:
    page, refused = offline_page
    manifest = json.loads((state_dir / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["storefront/storefront.css"]
    assert hashed.startswith("storefront/storefront.")
    assert hashed != "storefront/storefront.css"

    response = page.goto(f"/static/{hashed}")

    assert response is not None
    assert response.status == 200
    assert response.headers["cache-control"] == A_YEAR_IMMUTABLE
    assert response.headers["content-type"].startswith("text/css")
    assert response.body() == (state_dir / "static" / hashed).read_bytes()
    assert refused == []


def test_api_docs_render_swagger_ui_from_our_static_files(
    offline_page: tuple[Page, list[str]],
) -> None:
    page, refused = offline_page
    assets: list[str] = []
    page.on("response", lambda response: assets.append(response.url))

    response = page.goto("/api/docs/")

    assert response is not None
    assert response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Marketplace invoicing API")
    expect(page.locator("#operations-catalog-catalog_products_list")).to_be_visible()
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in assets)
    assert refused == []


def test_api_redoc_renders_from_our_static_files(offline_page: tuple[Page, list[str]]) -> None:
    page, refused = offline_page
    assets: list[str] = []
    page.on("response", lambda response: assets.append(response.url))

    response = page.goto("/api/redoc/")

    assert response is not None
    assert response.status == 200
    expect(page.locator(".api-info h1")).to_contain_text("Marketplace invoicing API")
    assert any("/static/drf_spectacular_sidecar/redoc/" in url for url in assets)
    # Redoc's own script may link its "API docs by Redocly" badge; refused, the page is whole.
    assert set(refused) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
