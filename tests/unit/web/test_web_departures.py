"""离岗登记 on the web: the school records why a teacher left, with the document where the
page asks for one."""

from __future__ import annotations

from tests.unit.web.fakes import FakeBackends
from tests.unit.web.test_web_pages import SignIn, csrf_of


def test_a_school_records_a_retirement_with_its_note_and_no_document(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("李华")
    client = sign_in("school1")
    assert f"/school/teachers/{teacher_id}/leave" in client.get(
        f"/school/teachers/{teacher_id}").text
    form = client.get(f"/school/teachers/{teacher_id}/leave")
    assert form.status_code == 200 and "李华" in form.text
    done = client.post(f"/school/teachers/{teacher_id}/leave", data={
        "csrf_token": csrf_of(form.text), "reason": "retired", "note": "2026 年 12 月退休"})
    assert done.status_code == 303
    assert backends.transfers[-1] == {"teacher_id": teacher_id, "kind": "leave",
                                      "reason": "retired", "note": "2026 年 12 月退休"}


def test_a_move_out_of_the_province_without_a_document_is_refused_at_the_field(
        sign_in: SignIn, backends: FakeBackends) -> None:
    teacher_id = backends.add_teacher("赵敏")
    client = sign_in("school1")
    form = client.get(f"/school/teachers/{teacher_id}/leave")
    refused = client.post(f"/school/teachers/{teacher_id}/leave", data={
        "csrf_token": csrf_of(form.text), "reason": "left_province"})
    assert refused.status_code == 422 and "须上传证明材料" in refused.text
    assert backends.transfers == []

    with_proof = client.post(f"/school/teachers/{teacher_id}/leave", data={
        "csrf_token": csrf_of(form.text), "reason": "left_province", "note": "调往四川省"},
        files={"proof": ("调出证明.pdf", b"%PDF-1.4 proof", "application/pdf")})
    assert with_proof.status_code == 303
    assert backends.transfers[-1]["proof_sha256"] == "b" * 64
