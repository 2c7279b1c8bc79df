"""Importing wards and postcodes from CSV: the service, the CLI command with a real 10,000-row file."""
import csv
import itertools
import time

import pytest
import sqlalchemy as sa

from app.eligibility.cli import import_areas_command
from app.eligibility.models import Ward, WardPostcode
from app.eligibility.services import AreaFileError, import_areas, read_area_csv

WARDS = ["Stockwell", "Coldharbour", "Tulse Hill", "Vassall", "Brixton Hill", "Herne Hill", "Clapham Town",
         "Oval", "Larkhall", "Knight's Hill"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def real_postcodes(n):
    """n distinct, valid postcodes in real London districts."""
    districts = ["SW9", "SE24", "SE5", "SW2", "SE11", "SW4", "SE27", "SW8"]
    out = []
    for district, sector, a, b in itertools.product(districts, range(10), INWARD_LETTERS, INWARD_LETTERS):
        out.append(f"{district} {sector}{a}{b}")
        if len(out) == n:
            return out
    raise AssertionError("not enough combinations")


def write_csv(path, rows, header=("ward", "postcode")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def big_file(tmp_path):
    postcodes = real_postcodes(10_000)
    rows = [(WARDS[i % len(WARDS)], pc.lower().replace(" ", "") if i % 7 == 0 else pc)
            for i, pc in enumerate(postcodes)]
    rows[100] = ("Stockwell", "NOT A POSTCODE")       # line 102
    rows[200] = ("", "SW9 7QD")                       # line 202
    return write_csv(tmp_path / "lambeth.csv", rows), postcodes


def test_cli_imports_ten_thousand_postcodes_and_is_idempotent(app, db, big_file):
    path, postcodes = big_file
    runner = app.test_cli_runner()
    started = time.perf_counter()
    result = runner.invoke(import_areas_command, [str(path)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "line 102: NOT A POSTCODE is not a UK postcode" in result.output
    assert "line 202: the ward is blank" in result.output
    assert "10000 rows: 10 new wards, 9998 postcodes added" in result.output
    assert "Importing postcodes" in result.output  # the progress bar
    assert elapsed < 20, f"import took {elapsed:.1f}s"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WardPostcode)) == 9998
    assert db.session.scalar(sa.select(Ward.name).join(WardPostcode).where(WardPostcode.postcode == postcodes[7])) \
        == WARDS[7]  # stored normalised, "sw9..." without a space became "SW9 ..."
    again = runner.invoke(import_areas_command, [str(path)])
    assert again.exit_code == 0 and "0 new wards, 0 postcodes added, 0 moved to another ward, 9998 unchanged" \
        in again.output


def test_a_postcode_moves_ward_and_clashes_in_one_file_are_reported(db, now, tmp_path):
    first = write_csv(tmp_path / "a.csv", [("Stockwell", "SW9 7QD"), ("Stockwell", "SW9 7QE")])
    with open(first, encoding="utf-8", newline="") as h:
        import_areas(db.session, read_area_csv(h), now=now)
    second = write_csv(tmp_path / "b.csv", [("SW9 7QD", "Vassall"), ("SW9 7QD", "Oval"), ("SW9 7QD", "vassall")],
                       header=("postcode", "ward"))
    with open(second, encoding="utf-8", newline="") as h:
        result = import_areas(db.session, read_area_csv(h), now=now)
    assert result.postcodes_moved == 1 and result.wards_created == 1
    assert result.errors == [(3, "SW9 7QD is already listed under Vassall on line 2")]
    assert db.session.get(WardPostcode, "SW9 7QD").ward.name == "Vassall"


@pytest.mark.parametrize("content, message", [
    ("", "The file is empty"),
    ("name,code\nStockwell,SW9 7QD\n", "The first line must be the header"),
])
def test_files_without_the_header_are_refused(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_text(content, encoding="utf-8")
    with open(path, encoding="utf-8", newline="") as h, pytest.raises(AreaFileError) as err:
        read_area_csv(h)
    assert message in err.value.message


def test_cli_refuses_a_file_that_is_not_utf8(app, db, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("ward,postcode\nSt\xe9phane,SW9 7QD\n".encode("latin-1"))
    result = app.test_cli_runner().invoke(import_areas_command, [str(path)])
    assert result.exit_code != 0 and "not UTF-8" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ward)) == 0


def test_ward_names_keep_apostrophes_and_an_excel_bom_is_ignored(db, now, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffWard,Postcode,Notes\nKnight's Hill,se27 0aa,x\n\n".encode("utf-8"))
    with open(path, encoding="utf-8-sig", newline="") as h:
        result = import_areas(db.session, read_area_csv(h), now=now)
    assert result.rows == 1 and not result.errors
    assert db.session.get(WardPostcode, "SE27 0AA").ward.name == "Knight's Hill"
