"""Uploading anomalies in the browser: preview, column mapping (remembered per topic), the row check before anything
is created, sending, progress and the batch report; refusals, limits and who may upload."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook  # type: ignore[import-untyped]

from engine.bootstrap import Engine, build_engine
from engine.config import Settings
from engine.domain import anomaly_uploads as upload_rules
from engine.services import anomalies, cases, users
from tests.conftest import FakeClock
from tests.helpers import build_org, deploy_processes, publish_topic
from tests.web.test_pages import csrf_token, signed_in

START = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
TOPIC = "DATA-03"  # no thresholds: every valid item raises a case (or merges into one)
HEADER = "工单编号,户号,供电单位,异常值,发现时间,异常描述,台区\n"


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("intake-seed") / "seed.db"
    seed = build_engine(
        Settings(database_url=f"sqlite:///{path}", scheduler_enabled=False, secret_key="seed"),
        clock=FakeClock(START),
    )
    seed.create_schema()
    deploy_processes(seed)
    people = build_org(seed)
    publish_topic(seed, people, TOPIC)
    seed.dispose()
    return path


@pytest.fixture
def engine(seeded_database: Path, tmp_path: Path) -> Iterator[Engine]:
    database = tmp_path / "auditloop.db"
    shutil.copyfile(seeded_database, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key="test-secret",
        scheduler_enabled=False,
        documents_dir=str(tmp_path / "documents"),
    )
    built = build_engine(settings, clock=FakeClock(START))
    yield built
    built.dispose()


def csv_rows(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode("utf-8")


GOOD = [
    "A-001,C0001,JC-DONG-1,,2026-11-22 08:30,用户联系电话缺失,T1",
    "A-002,C0002,JC-XI-1,,2026-11-22,合同容量与档案容量不一致,T2",
    "A-003,C0001,JC-DONG-1,,2026-11-22T09:00:00+08:00,同一用户再次发现,T1",
]
BAD = [
    "A-004,C0004,NOWHERE,,2026-11-22,单位不存在,T3",
    ",C0005,JC-DONG-2,,not a date,,T4",
]


def token(client: FlaskClient) -> str:
    return csrf_token(client.get("/intake").text)


def upload(client: FlaskClient, content: bytes, filename: str = "anomalies.csv", topic: str = TOPIC) -> Any:
    data = {"csrf_token": token(client), "topic": topic, "file": (io.BytesIO(content), filename)}
    return client.post("/intake/uploads", data=data, content_type="multipart/form-data")


def upload_id(response: Any) -> int:
    assert response.status_code == 303, response.text
    found = re.search(r"/intake/uploads/(\d+)$", response.headers["Location"])
    assert found
    return int(found.group(1))


def selected(html: str, field: str) -> str | None:
    """The column a mapping select has chosen."""
    select = re.search(rf'<select id="map-{field}" name="map_{field}".*?</select>', html, re.S)
    assert select, f"no select for {field}"
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else None


def mapping_form(html: str) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf_token": csrf_token(html)}
    for field in upload_rules.FIELDS[:-1]:
        data[f"map_{field}"] = selected(html, field) or ""
    return data


def batch_count(engine: Engine) -> int:
    admin = users.get_actor(engine.uow(), username="admin")
    return anomalies.list_batches(engine.uow(), actor=admin, topic_code=None, limit=1, offset=0).total


def case_count(engine: Engine) -> int:
    admin = users.get_actor(engine.uow(), username="admin")
    return cases.list_cases(engine.uow(), actor=admin, topic_code=TOPIC, limit=1).total


def test_an_auditor_uploads_previews_maps_checks_and_sends_a_csv(app, engine):
    client = signed_in(app, "auditor")
    form = client.get("/intake")
    assert form.status_code == 200 and TOPIC in form.text
    uid = upload_id(upload(client, "\ufeff".encode() + csv_rows(*GOOD, *BAD)))

    page = client.get(f"/intake/uploads/{uid}")
    assert page.status_code == 200
    assert "C0001" in page.text and "用户联系电话缺失" in page.text  # the preview
    # Chinese headers are recognised without a remembered mapping.
    guessed = {f: selected(page.text, f) for f in upload_rules.FIELDS[:-1]}
    assert guessed == {
        "external_id": "工单编号",
        "target": "户号",
        "unit": "供电单位",
        "value": "异常值",
        "observed_at": "发现时间",
        "description": "异常描述",
    }

    data = mapping_form(page.text) | {"map_data": ["台区"]}
    checked = client.post(f"/intake/uploads/{uid}/check", data=data)
    assert checked.status_code == 200
    html = checked.text
    counts = dict(re.findall(r'<dd data-count="(\w+)">(\d+)</dd>', html))
    assert counts == {"rows": "5", "valid": "3", "rejected": "2", "unchanged": "0"}
    report = re.search(r'<table class="board-items" id="row-report">.*?</table>', html, re.S)
    assert report is not None
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", report.group(0))
    rows = sorted({(int(r), f) for r, _x, f in cells})
    # File rows: the header is row 1, so the 4th and 5th data rows are rows 5 and 6.
    assert (5, "Unit code") in rows or (5, "单位编码") in rows
    assert {r for r, _f in rows} == {5, 6}
    assert len([1 for r, _f in rows if r == 6]) == 3  # external id, observed_at and description
    assert batch_count(engine) == 0 and case_count(engine) == 0  # nothing created by the check

    send_data = {k: v for k, v in data.items()} | {"csrf_token": csrf_token(html)}
    sent = client.post(f"/intake/uploads/{uid}/send", data=send_data)
    assert sent.status_code == 303
    batch_url = sent.headers["Location"]
    batch_id = int(batch_url.rsplit("/", 1)[1])
    progress = client.get(batch_url)
    assert progress.status_code == 200 and 'id="batch-progress"' in progress.text and "<progress" in progress.text

    step = client.post(
        f"/intake/batches/{batch_id}/progress", headers={"HX-Request": "true", "X-CSRFToken": csrf_token(progress.text)}
    )
    assert step.status_code == 200 and 'id="batch-report"' in step.text
    final = client.get(batch_url).text
    counts = dict(re.findall(r'<td data-count="(\w+)">(\d+)</td>', final))
    assert counts["received"] == "5" and counts["rejected"] == "2"
    assert counts["raised"] == "2" and counts["merged"] == "1"
    case_links = re.findall(r'href="/intake/cases/(\d+)">(JC-\d{4}-\d{6})</a>', final)
    assert len({c for c, _n in case_links}) == 2
    assert case_count(engine) == 2
    # The refused rows keep their row in the file in the batch report too.
    assert re.search(r"<tr><td>5</td><td>A-004</td>", final)
    # A case page lists its occurrences.
    case_page = client.get(f"/intake/cases/{case_links[0][0]}")
    assert case_page.status_code == 200 and "A-00" in case_page.text

    # Sending again changes nothing: the same batch.
    again = client.post(f"/intake/uploads/{uid}/send", data=send_data)
    assert again.headers["Location"] == batch_url and batch_count(engine) == 1


def test_the_mapping_is_remembered_per_topic(app, engine):
    client = signed_in(app, "auditor")
    header = "id_col,cust,org,when,what,extra\n"
    content = csv_rows("B-1,C9,JC-DONG-1,2026-11-22,缺失,x", header=header)
    uid = upload_id(upload(client, content))
    page = client.get(f"/intake/uploads/{uid}").text
    assert selected(page, "external_id") is None and selected(page, "target") is None  # nothing to guess from
    mapping = {
        "csrf_token": csrf_token(page),
        "map_external_id": "id_col",
        "map_target": "cust",
        "map_unit": "org",
        "map_observed_at": "when",
        "map_description": "what",
        "map_data": ["extra"],
    }
    assert client.post(f"/intake/uploads/{uid}/check", data=mapping).status_code == 200

    second = upload_id(upload(client, csv_rows("B-2,C8,JC-XI-1,2026-11-22,缺失,y", header=header)))
    page = client.get(f"/intake/uploads/{second}").text
    assert selected(page, "external_id") == "id_col" and selected(page, "unit") == "org"
    assert re.search(r'value="extra" checked', page)
    # The admin, with the same topic, is offered the same mapping.
    admin = signed_in(app, "admin")
    third = upload_id(upload(admin, csv_rows("B-3,C7,JC-XI-1,2026-11-22,缺失,z", header=header)))
    assert selected(admin.get(f"/intake/uploads/{third}").text, "description") == "what"


def test_a_mapping_without_required_fields_is_refused_and_creates_nothing(app, engine):
    client = signed_in(app, "auditor")
    uid = upload_id(upload(client, csv_rows(*GOOD)))
    page = client.get(f"/intake/uploads/{uid}").text
    data = mapping_form(page) | {"map_unit": "", "map_target": "异常描述"}
    refused = client.post(f"/intake/uploads/{uid}/check", data=data)
    assert refused.status_code == 422 and 'class="error-summary"' in refused.text
    sent = client.post(f"/intake/uploads/{uid}/send", data=data | {"csrf_token": csrf_token(refused.text)})
    assert sent.status_code == 422
    assert batch_count(engine) == 0 and case_count(engine) == 0


def test_an_xlsx_upload_reads_values_not_formulas_and_dates_as_dates(app, engine):
    book = Workbook()
    sheet = book.active
    sheet.append(["external_id", "target", "unit", "observed_at", "description", "note"])
    sheet.append(["X-1", 10001, "JC-DONG-1", dt.datetime(2026, 11, 22, 8, 30), "电价异常", "=1+1"])
    sheet.append([None, None, None, None, None, None])  # an empty row is left out
    sheet.append(["X-2", "C2", "JC-BEI-1", dt.date(2026, 11, 21), "倍率异常", '=HYPERLINK("x")'])
    out = io.BytesIO()
    book.save(out)
    client = signed_in(app, "auditor")
    uid = upload_id(upload(client, out.getvalue(), filename="checks.xlsx"))
    page = client.get(f"/intake/uploads/{uid}").text
    assert "10001" in page and "2026-11-22T08:30:00" in page and "2026-11-21" in page
    assert "=1+1" not in page  # a formula without a saved value is an empty cell, never computed
    checked = client.post(f"/intake/uploads/{uid}/check", data=mapping_form(page)).text
    assert dict(re.findall(r'<dd data-count="(\w+)">(\d+)</dd>', checked))["valid"] == "2"


def test_gbk_csv_with_semicolons_is_read(app, engine):
    client = signed_in(app, "auditor")
    text = "工单编号;户号;供电单位;发现时间;异常描述\nG-1;C1;JC-DONG-1;2026-11-22;用户联系电话缺失\n"
    uid = upload_id(upload(client, text.encode("gbk")))
    page = client.get(f"/intake/uploads/{uid}").text
    assert "用户联系电话缺失" in page and selected(page, "description") == "异常描述"


@pytest.mark.parametrize(
    ("content", "filename", "status", "words"),
    [
        (b"", "empty.csv", 422, ["empty", "空"]),
        (b"\n\n  \n", "blank.csv", 422, ["empty", "空"]),
        (HEADER.encode(), "header-only.csv", 422, ["no data rows", "没有数据行"]),
        (b"1,2,3\n4,5,6\n", "numbers.csv", 422, ["header", "标题"]),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "picture.png", 422, [".xlsx"]),
        (b"\xd0\xcf\x11\xe0old", "old.xls", 422, [".xls"]),
        (b"PK\x03\x04broken", "broken.xlsx", 422, [".xlsx"]),
        (b"a,b\n\xff\xfe\xfa\xfb\xfc,1\n", "mixed.csv", 422, ["UTF-8", "GBK"]),
        (b"a,a\n1,2\n", "dup.csv", 422, ["a"]),
    ],
)
def test_bad_files_are_refused_with_a_message_and_create_nothing(app, engine, content, filename, status, words):
    client = signed_in(app, "auditor")
    refused = upload(client, content, filename=filename)
    assert refused.status_code == status, refused.text[:500]
    assert 'class="error-summary"' in refused.text
    assert any(w in refused.text for w in words)
    assert "/intake/uploads/" not in refused.headers.get("Location", "")


def test_too_many_rows_is_413_and_says_the_limit(app, engine, monkeypatch):
    monkeypatch.setattr(upload_rules, "MAX_UPLOAD_ROWS", 3)
    client = signed_in(app, "auditor")
    refused = upload(client, csv_rows(*GOOD, *BAD))
    assert refused.status_code == 413 and "3" in refused.text


def test_too_large_a_file_is_413(app, engine, monkeypatch):
    monkeypatch.setattr(upload_rules, "MAX_UPLOAD_BYTES", 100)
    client = signed_in(app, "auditor")
    refused = upload(client, csv_rows(*GOOD, *BAD))
    assert refused.status_code == 413 and 'class="error-summary"' in refused.text


@pytest.mark.parametrize("who", ["h_dong1", "supervisor", "dispatcher"])
def test_only_auditors_and_admins_upload(app, engine, who):
    client = signed_in(app, who)
    assert client.get("/intake").status_code == 403
    assert upload(client, csv_rows(*GOOD)).status_code in (400, 403)  # no token from a refused page, or 403
    html = client.get("/inbox").text
    assert 'href="/intake"' not in html
    data = {"csrf_token": csrf_token(html), "topic": TOPIC, "file": (io.BytesIO(csv_rows(*GOOD)), "a.csv")}
    assert client.post("/intake/uploads", data=data, content_type="multipart/form-data").status_code == 403
    assert batch_count(engine) == 0


def test_another_persons_upload_is_not_found(app, engine):
    mine = upload_id(upload(signed_in(app, "auditor"), csv_rows(*GOOD)))
    users.add_user(
        engine.uow(),
        username="auditor2",
        roles=["auditor"],
        unit_code="JC",
        password="pw-auditor2-long",
        now=engine.now(),
    )
    other = signed_in_as(app, "auditor2", "pw-auditor2-long")
    assert other.get(f"/intake/uploads/{mine}").status_code == 404


def signed_in_as(app: Any, username: str, password: str) -> FlaskClient:
    client: FlaskClient = app.test_client()
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_token(page.text)}
    assert client.post("/login", data=data).status_code == 302
    return client
