import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("export_invoices", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.mark.django_db
def test_writes_to_stdout_by_default(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    assert run() == (expected_csv([1, 2, 3, 4]), "wrote 4 invoices to stdout\n")
    assert run("--output", "-") == (expected_csv([1, 2, 3, 4]), "wrote 4 invoices to stdout\n")


@pytest.mark.django_db
def test_filters_by_seller_and_dates(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    stdout, stderr = run(
        "--seller", str(ledger["acme"].pk), "--from", "2024-02-01", "--to", "2024-12-31"
    )

    assert stdout == expected_csv([3, 4])
    assert stderr == "wrote 2 invoices to stdout\n"


@pytest.mark.django_db
def test_writes_a_file_with_progress_and_summary(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str], tmp_path: Path
) -> None:
    target = tmp_path / "invoices.csv"

    stdout, stderr = run("--output", str(target), "--progress-every", "3")

    assert target.read_bytes() == expected_csv([1, 2, 3, 4]).encode("utf-8")
    assert stdout == ""
    assert stderr == f"3 invoices written\nwrote 4 invoices to {target}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoices.csv"]


@pytest.mark.django_db
def test_replaces_an_existing_file_whole(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str], tmp_path: Path
) -> None:
    target = tmp_path / "invoices.csv"
    target.write_text("old export that is longer than the new one\n" * 100)

    run("--output", str(target), "--seller", str(ledger["bolt"].pk))

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
        (["--progress-every", "0"], "--progress-every: must be at least 1."),
    ],
)
def test_bad_options_are_a_command_error_naming_the_option(
    tmp_path: Path, args: list[str], message: str
) -> None:
    target = tmp_path / "out.csv"

    with pytest.raises(CommandError) as caught:
        run(*args, "--output", str(target))

    assert str(caught.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_output_into_a_missing_folder_or_onto_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        run("--output", str(tmp_path / "nope" / "out.csv"))
    assert str(caught.value) == f"--output: the folder {str(tmp_path / 'nope')!r} does not exist."

    with pytest.raises(CommandError) as caught:
        run("--output", str(tmp_path))
    assert str(caught.value) == f"--output: {str(tmp_path)!r} is a folder; give a file path."


@pytest.mark.django_db
def test_a_failure_midway_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"

    def explode(filters: Any, stream: Any, progress: Any = None, **kwargs: Any) -> int:
        stream.write("seller_id,partial...\r\n")
        raise ConnectionError("database went away")

    with (
        mock.patch("reporting.management.commands.export_invoices.invoice_export_write", explode),
        pytest.raises(ConnectionError),
    ):
        run("--output", str(target))

    assert list(tmp_path.iterdir()) == []
