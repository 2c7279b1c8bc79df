"""The eligible areas page: upload a CSV (bad rows listed with line numbers), close a ward."""
import io
from html import unescape

import sqlalchemy as sa

from app.eligibility.models import Ward, WardPostcode


def text(response):
    return " ".join(unescape(response.get_data(as_text=True)).split())


def upload(client, content: bytes, name="areas.csv"):
    return client.post("/areas", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_upload_imports_and_reports_bad_rows(client, login_as, db, clock):
    login_as("admin")
    response = upload(client, "ward,postcode\nStockwell,sw9 7qd\nStockwell,nonsense\nKnight's Hill,SE27 0AA\n"
                              .encode("utf-8"))
    page = text(response)
    assert response.status_code == 200
    assert "3 rows: 2 new wards, 2 postcodes added" in page and "Line 3: nonsense is not a UK postcode" in page
    assert "Knight's Hill" in page
    assert db.session.get(WardPostcode, "SW9 7QD").ward.name == "Stockwell"


def test_upload_without_a_file_or_header_is_a_field_error(client, login_as, db, clock):
    login_as("admin")
    response = client.post("/areas", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file to import" in text(response)
    response = upload(client, b"name,code\nx,y\n")
    assert response.status_code == 400 and "The first line must be the header" in text(response)
    response = upload(client, "ward,postcode\nSt\xe9phane,SW9 7QD\n".encode("latin-1"))
    assert response.status_code == 400 and "not UTF-8" in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ward)) == 0


def test_a_ward_can_stop_taking_new_families(client, login_as, db, clock):
    ward = Ward(name="Vassall")
    db.session.add(ward)
    db.session.commit()
    login_as("admin")
    response = client.post(f"/areas/{ward.id}/eligible", data={"eligible": "no"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ward, ward.id).is_eligible is False
    assert "Take new families" in text(client.get("/areas"))
    assert client.post("/areas/999/eligible", data={"eligible": "no"}).status_code == 404
    client.post("/logout")
    login_as("worker")
    assert client.post(f"/areas/{ward.id}/eligible", data={"eligible": "yes"}).status_code == 403
