import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from reporting.management.commands.export_report import progress_bar


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("export_report", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.mark.django_db
def test_writes_to_stdout_by_default(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    assert run("invoices") == (expected_csv([1, 2, 3, 4]), "wrote 4 rows to stdout\n")
    assert run("invoices", "--output", "-") == (
        expected_csv([1, 2, 3, 4]),
        "wrote 4 rows to stdout\n",
    )


@pytest.mark.django_db
def test_filters_by_seller_and_dates(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    stdout, stderr = run(
        "invoices", "--seller", str(ledger["acme"].pk), "--from", "2024-02-01", "--to", "2024-12-31"
    )

    assert stdout == expected_csv([3, 4])
    assert stderr == "wrote 2 rows to stdout\n"


@pytest.mark.django_db
def test_writes_a_file_with_progress_and_summary(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str], tmp_path: Path
) -> None:
    target = tmp_path / "invoices.csv"

    stdout, stderr = run("invoices", "--output", str(target))

    assert target.read_bytes() == expected_csv([1, 2, 3, 4]).encode("utf-8")
    assert stdout == ""
    assert stderr == f"[{'#' * 30}] 4/4 rows (100%)\nwrote 4 rows to {target}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoices.csv"]


@pytest.mark.django_db
def test_replaces_an_existing_file_whole(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str], tmp_path: Path
) -> None:
    target = tmp_path / "invoices.csv"
    target.write_text("old export that is longer than the new one\n" * 100)

    run("invoices", "--output", str(target), "--seller", str(ledger["bolt"].pk))

    assert target.read_bytes() == expected_csv([2]).encode("utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seller", "abc"], "--seller: Enter a seller id (a positive integer), not 'abc'."),
        (["--seller", "424242"], "--seller: There is no seller 424242."),
        (["--from", "2024-02-30"], "--from: Enter a valid date as YYYY-MM-DD, not '2024-02-30'."),
        (["--to", "31.12.2024"], "--to: Enter a valid date as YYYY-MM-DD, not '31.12.2024'."),
        (
            ["--from", "2024-03-01", "--to", "2024-02-01"],
            "--from: date_from must not be after date_to.",
        ),
    ],
)
def test_bad_options_are_a_command_error_naming_the_option(
    tmp_path: Path, args: list[str], message: str
) -> None:
    target = tmp_path / "out.csv"

    with pytest.raises(CommandError) as caught:
        run("invoices", *args, "--output", str(target))

    assert str(caught.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_output_into_a_missing_folder_or_onto_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        run("invoices", "--output", str(tmp_path / "nope" / "out.csv"))
    assert str(caught.value) == f"--output: the folder {str(tmp_path / 'nope')!r} does not exist."

    with pytest.raises(CommandError) as caught:
        run("invoices", "--output", str(tmp_path))
    assert str(caught.value) == f"--output: {str(tmp_path)!r} is a folder; give a file path."


@pytest.mark.django_db
def test_a_failure_midway_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"

    def explode(export: Any, filters: Any, stream: Any, progress: Any = None, **kwargs: Any) -> int:
        stream.write("seller_id,partial...\r\n")
        raise ConnectionError("database went away")

    with (
        mock.patch("reporting.management.commands.export_report.export_write", explode),
        pytest.raises(ConnectionError),
    ):
        run("invoices", "--output", str(target))

    assert list(tmp_path.iterdir()) == []


def test_progress_bar_fills_with_the_rows() -> None:
    assert progress_bar(0, 4) == f"[{'.' * 30}] 0/4 rows (0%)"
    assert progress_bar(2, 4) == f"[{'#' * 15}{'.' * 15}] 2/4 rows (50%)"
    assert progress_bar(0, 0) == f"[{'#' * 30}] 0/0 rows (100%)"


@pytest.mark.django_db
def test_export_report_writes_any_export_with_every_filter(ledger: dict[str, Any]) -> None:
    stdout, stderr = run(
        "documents", "--from", "2024-01-01", "--to", "2024-12-31", "--kind", "credit_note",
        "--seller-country", "SI", "--buyer-country", "SI", "--currency", "EUR",
    )  # fmt: skip

    assert [line.split(",")[2] for line in stdout.splitlines()] == ["document_number", "CN-1"]
    assert stderr == "wrote 1 rows to stdout\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["documents", "--from", "2024-01-01"],
         "--to: date_to is required: a report covers a bounded period."),
        (["vat", "--from", "2024-01-01", "--to", "2024-01-31", "--buyer-country", "Germany"],
         "--buyer-country: Enter an ISO 3166-1 alpha-2 country code such as SI, not 'Germany'."),
        (["statement", "--from", "2024-01-01", "--to", "2024-01-31"],
         "--seller: seller is required for the statement export."),
    ],
)  # fmt: skip
def test_export_report_bad_options_name_the_option(args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        run(*args)

    assert str(caught.value) == message
