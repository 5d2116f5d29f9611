"""The production web process in a real browser: gunicorn (gunicorn.conf.py) with DEBUG off, after
`collectstatic`, serving the storefront's stylesheet and /api/docs/ with no internet."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.integration.processes import collect_static, production_env, start_gunicorn, stop

pytestmark = pytest.mark.browser

A_YEAR_IMMUTABLE = "max-age=315360000, public, immutable"


@pytest.fixture
def gunicorn_url(tmp_path: Path) -> Iterator[str]:
    env = production_env(tmp_path, STATIC_ROOT=str(tmp_path / "static"))
    collect_static(env)
    process, url = start_gunicorn(env, tmp_path / "gunicorn.log")
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
    offline_page: tuple[Page, list[str]], tmp_path: Path
) -> None:
    page, refused = offline_page
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["storefront/storefront.css"]
    assert hashed.startswith("storefront/storefront.")
    assert hashed != "storefront/storefront.css"

    response = page.goto(f"/static/{hashed}")

    assert response is not None
    assert response.status == 200
    assert response.headers["cache-control"] == A_YEAR_IMMUTABLE
    assert response.headers["content-type"].startswith("text/css")
    assert response.body() == (tmp_path / "static" / hashed).read_bytes()
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
