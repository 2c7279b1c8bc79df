"""``flask --app wsgi import-areas FILE.csv``: load eligible wards and their postcodes."""
from __future__ import annotations

import click

from app.errors import DomainError
from app.extensions import db
from app.timeutil import now

#: errors shown on the terminal; the rest are counted
SHOW_ERRORS = 50


@click.command("import-areas")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_areas_command(path: str) -> None:
    """Import wards and postcodes from a CSV file with the header "ward,postcode" (safe to run again)."""
    from app.eligibility.services import import_areas, read_area_csv

    with open(path, "rb") as raw:
        lines = max(sum(1 for _ in raw) - 1, 0)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = read_area_csv(handle)
            with click.progressbar(rows, length=lines, label="Importing postcodes") as bar:
                result = import_areas(db.session, bar, now=now(), actor=None)
            db.session.commit()
    except UnicodeDecodeError:
        db.session.rollback()
        raise click.ClickException("The file is not UTF-8 text: save it as \"CSV UTF-8\" and try again.") from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    for line, message in result.errors[:SHOW_ERRORS]:
        click.echo(f"line {line}: {message}", err=True)
    if len(result.errors) > SHOW_ERRORS:
        click.echo(f"... and {len(result.errors) - SHOW_ERRORS} more rows with problems", err=True)
    click.echo(result.summary())


COMMANDS = [import_areas_command]
