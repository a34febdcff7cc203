"""Role assignment: the teacher zone, the no-zone heuristic, and who may take over the role."""

from __future__ import annotations

import numpy as np
from scenegen import SEATED, TEACHER

from edge.config import ZonesConfig
from edge.tracking.people import TrackedPerson
from edge.tracking.roles import RoleAssigner

ZONE = ZonesConfig(teacher=[[0, 900], [1920, 900], [1920, 1080], [0, 1080]])


def person(track: int, template: np.ndarray, anchor, scale: float) -> TrackedPerson:
    kp = template.copy()
    kp[:, :2] = kp[:, :2] * scale + np.asarray(anchor)
    return TrackedPerson(track=track, kp=kp)


def front_student(track: int) -> TrackedPerson:
    """A seated student whose hips show and fall inside the teacher zone."""
    p = person(track, SEATED, (400.0, 820.0), 70.0)
    p.kp[11:13, 2] = 0.9  # hips visible above the desk: floor point at y ~ 940
    return p


def teacher(track: int, x: float = 1000.0) -> TrackedPerson:
    return person(track, TEACHER, (x, 1050.0), 80.0)


def roles(people: list[TrackedPerson]) -> dict[int, str]:
    return {p.track: p.role for p in people}


def test_standing_teacher_replaces_a_seated_student_chosen_before_they_appeared():
    assigner = RoleAssigner(ZONE)
    assert roles(assigner.assign(0.0, [front_student(1)])) == {1: "teacher"}  # weak evidence
    assert roles(assigner.assign(0.5, [front_student(1), teacher(2)])) == {
        1: "student",
        2: "teacher",
    }
    assert roles(assigner.assign(1.0, [front_student(1), teacher(2)]))[2] == "teacher"


def test_students_present_all_along_never_take_over_a_briefly_missed_teacher():
    assigner = RoleAssigner(ZONE, lost_after_s=3.0)
    assigner.assign(0.0, [front_student(1), teacher(2)])
    assert roles(assigner.assign(0.5, [front_student(1)])) == {1: "student"}
    assert roles(assigner.assign(1.0, [front_student(1), teacher(2)]))[2] == "teacher"


def test_teacher_under_a_new_track_id_takes_the_role_at_once():
    assigner = RoleAssigner(ZONE, lost_after_s=3.0)
    assigner.assign(0.0, [front_student(1), teacher(2)])
    assert roles(assigner.assign(0.5, [front_student(1), teacher(7, x=1100)])) == {
        1: "student",
        7: "teacher",
    }


def test_teacher_keeps_the_role_outside_the_zone():
    assigner = RoleAssigner(ZONE)
    assigner.assign(0.0, [teacher(2)])
    among = person(2, TEACHER, (900.0, 700.0), 60.0)  # walked up the aisle, out of the zone
    assert roles(assigner.assign(0.5, [front_student(1), among])) == {1: "student", 2: "teacher"}


def test_without_zone_the_lowest_standing_person_teaches():
    assigner = RoleAssigner(None)
    back = person(3, TEACHER, (500.0, 700.0), 40.0)  # a standing person further back
    got = roles(assigner.assign(0.0, [front_student(1), back, teacher(2)]))
    assert got == {1: "student", 3: "student", 2: "teacher"}
    assert roles(assigner.assign(0.5, [front_student(1)])) == {1: "student"}


def test_without_the_front_heuristic_only_a_zone_makes_a_teacher():
    """PE lessons: everyone stands with legs in view, so only a calibrated zone picks a teacher."""
    everyone = [front_student(1), person(3, TEACHER, (500.0, 700.0), 40.0), teacher(2)]
    no_zone = RoleAssigner(None, front_heuristic=False)
    assert set(roles(no_zone.assign(0.0, everyone)).values()) == {"student"}
    zoned = RoleAssigner(ZONE, front_heuristic=False)
    assert roles(zoned.assign(0.0, everyone)) == {1: "student", 3: "student", 2: "teacher"}
