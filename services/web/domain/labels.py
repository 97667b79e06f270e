"""Chinese words for the backends' English codes (statuses, kinds, checks, fields)."""

from __future__ import annotations

from typing import Any

from shared.contracts.vocabulary import LABELS

REVIEW_STATUS = {
    "submitted": "待学校审核", "school_approved": "待县级审核", "county_approved": "审核完成",
    "rejected": "已退回", None: "未进入审核",
}
REVIEW_KIND = {"new": "新录入", "update": "修改", "transfer": "省内调动",
               "return_to_post": "返岗"}
REVIEW_LEVEL = {"school": "学校审核", "county": "县级审核"}
CHECKS = {
    "same_person_elsewhere": "同一人员在他校任职", "required_fields": "必填项齐全",
    "id_number_shape": "身份证号格式与校验位", "gender_matches_id": "性别与身份证号一致",
    "hired_after_18": "参加工作时年满18岁", "proof_document": "证明材料",
    "age_limits": "年龄范围", "hire_date_not_future": "参加工作日期不晚于今日",
    "optional_core_fields": "其他核心信息",
}
SEVERITY = {"hard": "硬性", "warning": "提醒"}
FIELD_LABELS = {
    "name": "姓名", "id_number": "身份证号", "id_number_masked": "身份证号", "gender": "性别",
    "birth_date": "出生日期", "ethnicity": "民族", "post_status": "任职状态",
    "is_fulltime_teacher": "是否专任教师", "hire_date": "参加工作日期",
    "political_status": "政治面貌", "stage_taught": "任教学段", "highest_education": "最高学历",
    "professional_title": "专业技术职务", "teacher_qualification": "教师资格",
    "school_code": "学校代码",
}


def status_label(status: str | None) -> str:
    return REVIEW_STATUS.get(status, status or "")


def value_label(value: Any) -> str:
    """A record value as a reader wants it: 男 not male, 是 not true, blank for nothing."""
    if value is None or value == "":
        return ""
    if value is True:
        return "是"
    if value is False:
        return "否"
    text = str(value)
    return LABELS.get(text, text)


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)
