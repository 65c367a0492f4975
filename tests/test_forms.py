"""Tests of app.core.forms: the shipped questionnaires and refusal of malformed form files."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.forms import FormError, ProfileField, load_form_file, load_forms, parse_form

REPO = Path(__file__).resolve().parents[1]
FORMS_DIR = REPO / "survey_forms"
FORM_2017 = "permenpan-rb-14-2017"


def _form_data(code: str = FORM_2017) -> dict[str, Any]:
    data = yaml.safe_load((FORMS_DIR / f"{code}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_load_forms_gives_three_shipped_forms() -> None:
    forms = load_forms(FORMS_DIR)
    assert sorted(forms) == ["kepmenpan-25-2004", "permenpan-rb-14-2017", "permenpan-rb-16-2014"]
    assert len(forms["permenpan-rb-14-2017"].elements) == 9
    assert len(forms["permenpan-rb-16-2014"].elements) == 9
    assert len(forms["kepmenpan-25-2004"].elements) == 14
    assert forms["permenpan-rb-14-2017"].interval_table == "2017"
    assert forms["kepmenpan-25-2004"].interval_table == "2004"


def test_load_forms_relative_to_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert len(load_forms(Path("survey_forms"))) == 3


def test_form_2017_elements_in_regulation_order() -> None:
    form = load_forms(FORMS_DIR)[FORM_2017]
    assert form.element_codes == (
        "persyaratan",
        "prosedur",
        "waktu",
        "biaya",
        "produk",
        "kompetensi",
        "perilaku",
        "pengaduan",
        "sarana",
    )


def test_form_2017_biaya_answer_labels() -> None:
    form = load_forms(FORMS_DIR)[FORM_2017]
    biaya = next(e for e in form.elements if e.code == "biaya")
    assert [a.id for a in biaya.answers] == ["Sangat mahal", "Cukup mahal", "Murah", "Gratis"]
    assert biaya.name.id == "Biaya/Tarif"


def test_content_hash_is_stable_sha256() -> None:
    first = load_form_file(FORMS_DIR / f"{FORM_2017}.yaml")
    second = load_form_file(FORMS_DIR / f"{FORM_2017}.yaml")
    digest = first.content_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert second.content_hash() == digest
    assert parse_form(_form_data(), "again").content_hash() == digest


def test_content_hash_changes_with_content() -> None:
    data = _form_data()
    original = parse_form(data, "a").content_hash()
    changed = copy.deepcopy(data)
    changed["elements"][0]["name"]["en"] = "Conditions"
    assert parse_form(changed, "b").content_hash() != original


def test_content_hashes_differ_between_forms() -> None:
    hashes = {form.content_hash() for form in load_forms(FORMS_DIR).values()}
    assert len(hashes) == 3


def test_load_form_file_not_yaml_raises(tmp_path: Path) -> None:
    path = tmp_path / f"{FORM_2017}.yaml"
    path.write_text("code: [unclosed\n  title: {\n", encoding="utf-8")
    with pytest.raises(FormError, match="cannot be read as YAML") as info:
        load_form_file(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_load_form_file_not_utf8_raises(tmp_path: Path) -> None:
    path = tmp_path / f"{FORM_2017}.yaml"
    path.write_bytes(b"code: \xff\xfe\n")
    with pytest.raises(FormError, match="cannot be read as YAML") as info:
        load_form_file(path)
    assert str(path) in str(info.value)


def test_load_form_file_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(FormError, match="cannot be read as YAML") as info:
        load_form_file(path)
    assert str(path) in str(info.value)


def test_load_form_file_three_answer_labels_raises(tmp_path: Path) -> None:
    data = _form_data()
    data["elements"][0]["answers"] = data["elements"][0]["answers"][:3]
    path = _write(tmp_path / f"{FORM_2017}.yaml", data)
    with pytest.raises(FormError) as info:
        load_form_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "elements.0.answers" in message


def test_load_form_file_unknown_key_raises(tmp_path: Path) -> None:
    data = _form_data()
    data["colour"] = "blue"
    path = _write(tmp_path / f"{FORM_2017}.yaml", data)
    with pytest.raises(FormError) as info:
        load_form_file(path)
    assert str(info.value) == f"{path}: colour: Extra inputs are not permitted"


def test_load_form_file_unknown_nested_key_raises(tmp_path: Path) -> None:
    data = _form_data()
    data["elements"][2]["hint"] = "x"
    path = _write(tmp_path / f"{FORM_2017}.yaml", data)
    with pytest.raises(FormError) as info:
        load_form_file(path)
    assert str(info.value) == f"{path}: elements.2.hint: Extra inputs are not permitted"


def test_load_form_file_code_must_match_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "another-name.yaml", _form_data())
    with pytest.raises(FormError) as info:
        load_form_file(path)
    assert str(info.value) == (
        f"{path}: code: '{FORM_2017}' must equal the file name 'another-name'"
    )


def test_load_form_file_duplicate_element_codes_raises(tmp_path: Path) -> None:
    data = _form_data()
    data["elements"][1]["code"] = "persyaratan"
    path = _write(tmp_path / f"{FORM_2017}.yaml", data)
    with pytest.raises(FormError, match="element codes must be distinct") as info:
        load_form_file(path)
    assert str(info.value).startswith(f"{path}: elements: ")


def test_load_form_file_duplicate_profile_fields_raises(tmp_path: Path) -> None:
    data = _form_data()
    data["profile"] = [data["profile"][0], data["profile"][0]]
    path = _write(tmp_path / f"{FORM_2017}.yaml", data)
    with pytest.raises(FormError, match="profile fields must be distinct") as info:
        load_form_file(path)
    assert str(info.value).startswith(f"{path}: profile: ")


def test_load_form_file_empty_document_raises_top_level(tmp_path: Path) -> None:
    path = tmp_path / f"{FORM_2017}.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(FormError) as info:
        load_form_file(path)
    assert str(info.value).startswith(f"{path}: (top level): ")


def test_parse_form_counts_further_errors() -> None:
    data = _form_data()
    del data["title"]
    del data["regulation"]
    with pytest.raises(FormError) as info:
        parse_form(data, "src.yaml")
    assert str(info.value) == "src.yaml: title: Field required (and 1 more)"


def test_parse_form_too_many_elements_raises() -> None:
    data = _form_data("kepmenpan-25-2004")
    extra = copy.deepcopy(data["elements"][0])
    extra["code"] = "tambahan"
    data["elements"].append(extra)
    with pytest.raises(FormError, match=r"^src: elements: "):
        parse_form(data, "src")


def test_load_forms_empty_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a form", encoding="utf-8")
    with pytest.raises(FormError) as info:
        load_forms(tmp_path)
    assert str(info.value) == f"{tmp_path}: no form files (*.yaml) found"


def test_load_forms_reads_json_files(tmp_path: Path) -> None:
    data = _form_data()
    (tmp_path / f"{FORM_2017}.json").write_text(json.dumps(data), encoding="utf-8")
    forms = load_forms(tmp_path)
    assert list(forms) == [FORM_2017]
    assert forms[FORM_2017].content_hash() == parse_form(data, "x").content_hash()


def test_load_forms_names_bad_file(tmp_path: Path) -> None:
    _write(tmp_path / f"{FORM_2017}.yaml", _form_data())
    bad = _form_data("permenpan-rb-16-2014")
    bad["elements"][0]["answers"] = bad["elements"][0]["answers"][:3]
    bad_path = _write(tmp_path / "permenpan-rb-16-2014.yaml", bad)
    with pytest.raises(FormError) as info:
        load_forms(tmp_path)
    assert str(info.value).startswith(f"{bad_path}: elements.0.answers")


def test_profile_field_accepts_choice_values() -> None:
    form = load_forms(FORMS_DIR)[FORM_2017]
    sex = form.profile_field("sex")
    assert sex is not None
    assert sex.accepts("L")
    assert sex.accepts("P")
    assert not sex.accepts("X")
    assert not sex.accepts("l")
    assert not sex.accepts(1)


def test_profile_field_accepts_integer_in_range() -> None:
    form = load_forms(FORMS_DIR)[FORM_2017]
    age = form.profile_field("age")
    assert age is not None
    assert (age.min, age.max) == (10, 110)
    assert age.accepts(10)
    assert age.accepts(110)
    assert not age.accepts(9)
    assert not age.accepts(111)
    assert not age.accepts("30")


def test_profile_field_unknown_code_is_none() -> None:
    form = load_forms(FORMS_DIR)[FORM_2017]
    assert form.profile_field("hobby") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"code": "sex", "label": {"id": "a", "en": "b"}, "type": "choice"},
            "a choice field needs options",
        ),
        (
            {"code": "age", "label": {"id": "a", "en": "b"}, "type": "integer", "min": 1},
            "an integer field needs min and max and no options",
        ),
        (
            {
                "code": "sex",
                "label": {"id": "a", "en": "b"},
                "type": "choice",
                "options": [
                    {"value": "L", "label": {"id": "a", "en": "b"}},
                    {"value": "L", "label": {"id": "c", "en": "d"}},
                ],
            },
            "option values must be distinct",
        ),
    ],
)
def test_profile_field_invalid_definition_raises(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProfileField.model_validate(data)
