"""core.store image list filtered by grade: a value, graded, ungraded, suggested."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ProjectError
from core.store import NewImage, Project
from core.store.images import GRADED, SUGGESTED, UNGRADED
from tests.core.conftest import open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


@pytest.fixture
def ids(project: Project) -> list[int]:
    """Six images: 0 and 1 acne4 = 2, 2 acne4 = 0, 3 a model grade only, 4 a model and a
    human grade, 5 nothing; image 1 also graded on hyperpig."""
    ids = project.add_images(
        NewImage(str(project.folder / f"face_{i}.jpg"), 40, 40) for i in range(6)
    )
    project.grading.set_grade(ids[0], "acne4", 2)
    project.grading.set_grade(ids[1], "acne4", 2)
    project.grading.set_grade(ids[1], "hyperpig", 4.5)
    project.grading.set_grade(ids[2], "acne4", 0)
    project.grading.set_grade(ids[3], "acne4", 3, source="model", confidence=0.8)
    project.grading.set_grade(ids[4], "acne4", 1, source="model")
    project.grading.set_grade(ids[4], "acne4", 1)
    return ids


def _listed(project: Project, **filters: object) -> list[int]:
    return [r.id for r in project.images(**filters)]  # type: ignore[arg-type]


def test_grade_value_lists_images_whose_human_grade_is_that_value(
    project: Project, ids: list[int]
) -> None:
    assert _listed(project, grade=("acne4", 2)) == [ids[0], ids[1]]
    assert project.image_count(grade=("acne4", 2)) == 2
    assert _listed(project, grade=("acne4", 0.0)) == [ids[2]]
    # A model grade of 3 is a suggestion, not the expert's grade.
    assert project.image_count(grade=("acne4", 3)) == 0
    assert _listed(project, grade=("hyperpig", 4.5)) == [ids[1]]


def test_graded_ungraded_and_suggested_are_per_scale(project: Project, ids: list[int]) -> None:
    assert _listed(project, grade=("acne4", GRADED)) == [ids[0], ids[1], ids[2], ids[4]]
    assert _listed(project, grade=("acne4", UNGRADED)) == [ids[3], ids[5]]
    assert _listed(project, grade=("acne4", SUGGESTED)) == [ids[3]]
    assert project.image_count(grade=("hyperpig", UNGRADED)) == 5
    assert project.image_count(grade=("hyperpig", GRADED)) == 1


def test_grade_filter_combines_with_status_search_and_paging(
    project: Project, ids: list[int]
) -> None:
    project.grading.set_review_status(ids[1], "done")
    assert _listed(project, grade=("acne4", 2), status="new") == [ids[0]]
    assert _listed(project, grade=("acne4", UNGRADED), search="face_5") == [ids[5]]
    assert _listed(project, grade=("acne4", GRADED), offset=1, limit=2) == [ids[1], ids[2]]
    assert project.image_count(grade=("acne4", GRADED), status="done") == 1


def test_clearing_a_grade_moves_the_image_to_ungraded(project: Project, ids: list[int]) -> None:
    project.grading.clear_grade(ids[0], "acne4")
    assert ids[0] in _listed(project, grade=("acne4", UNGRADED))
    assert ids[0] not in _listed(project, grade=("acne4", 2))


def test_unknown_scale_matches_nothing_and_a_bad_value_is_refused(
    project: Project, ids: list[int]
) -> None:
    assert project.image_count(grade=("no such scale", 1)) == 0
    assert project.images(grade=("no such scale", 1)) == []
    with pytest.raises(ProjectError, match=r"not a grade on the .*allowed: 0, 1, 2, 3"):
        project.images(grade=("acne4", 7))
    with pytest.raises(ProjectError, match="not a grade"):
        project.image_count(grade=("acne4", "moderate"))
    with pytest.raises(ProjectError, match="a grade filter is"):
        project.images(grade="acne4")  # type: ignore[arg-type]


def test_grade_filters_read_the_grades_index(project: Project) -> None:
    conn = project._connection()
    for grade in (("acne4", 1), ("acne4", GRADED), ("acne4", UNGRADED), ("acne4", SUGGESTED)):
        where, params = project._filters(conn, None, None, None, grade)
        plan = " ".join(
            r[-1]
            for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT id FROM images{where} ORDER BY id LIMIT 256", params
            )
        )
        assert "grades_scale" in plan, (grade, plan)
        assert "SCAN grades" not in plan


@pytest.mark.slow
def test_grade_filter_pages_are_exact_at_20k_images(tmp_path: Path) -> None:
    # Behaviour at scale (many pages of 256); paging figures for large projects are
    # in benchmarks/store_edits.py. That each filter is one index range is asserted from the query
    # plan above (test_grade_filters_read_the_grades_index), not with a stopwatch.
    with Project.create(
        tmp_path / "big", label_set=_labels(), scales=[_acne()], author="dr.a"
    ) as project:
        ids = project.add_images(
            NewImage(f"/scans/scan_{i:06d}.png", 64, 64) for i in range(20_000)
        )
        # 10,000 grades straight into the table (set_grade's checks and audit would make
        # this set-up, not the queries under test, take most of the time).
        with project._write() as conn:
            conn.executemany(
                "INSERT INTO grades (image_id, scale, value, author, source, created_at, "
                "updated_at) VALUES (?, 'acne4', ?, 'dr.a', 'human', '', '')",
                ((image_id, float(n % 4)) for n, image_id in enumerate(ids[::2])),
            )
        graded = ids[::2]  # graded[n] has acne4 = n % 4
        expected = {
            ("acne4", 2): graded[2::4],
            ("acne4", GRADED): graded,
            ("acne4", UNGRADED): ids[1::2],
        }
        for grade, want in expected.items():
            n = project.image_count(grade=grade)
            page = project.images(grade=grade, offset=max(0, n - 256), limit=256)
            assert n == len(want) and n in (2_500, 10_000), grade
            assert [r.id for r in page] == want[-256:], grade  # the last page, in id order


def _labels():  # type: ignore[no-untyped-def]
    from core.annotations import builtin_label_set

    return builtin_label_set("xray")


def _acne():  # type: ignore[no-untyped-def]
    from core.annotations import builtin_scale

    return builtin_scale("acne4")
