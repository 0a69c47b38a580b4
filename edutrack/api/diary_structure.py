"""Handlers of the diary's structure: schools, calendar, work types, classes, enrolment, parent links,
subjects, teaching assignments, the schedule and classmates (news: edutrack/api/news.py). They parse, call a
service, and dump; `setup(app)` registers the routes."""

from __future__ import annotations

import logging

from aiohttp import web

from edutrack.api import diary_schemas as s
from edutrack.api.http import ctx_of, json_body_response, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.services.diary import classes, classmates, enrolment, lessons, schools

log = logging.getLogger(__name__)

SCHOOLS = ("schools",)
CALENDAR = ("calendar",)
CLASSES = ("classes",)
SUBJECTS = ("subjects",)
SCHEDULE = ("schedule",)


def no_content() -> web.Response:
    return web.Response(status=204)


# Schools


@doc("Create a school (superusers); the usual work types are created with it", tags=SCHOOLS,
     body=s.SchoolCreateSchema, response=s.SchoolSchema, status=201, errors=(403, 409))
async def create_school(request: web.Request) -> web.Response:
    data = await load_json(request, s.SchoolCreateSchema())
    return json_response(await schools.create_school(ctx_of(request), principal(request), data), status=201)


@doc("List schools (superusers: all; everyone else: their own)", tags=SCHOOLS, query=s.SchoolListQuerySchema,
     response=s.SchoolPageSchema)
async def list_schools(request: web.Request) -> web.Response:
    p = load_query(request, s.SchoolListQuerySchema())
    return json_response(await schools.list_schools(ctx_of(request), principal(request), q_text=p.get("q"),
                                                    limit=p["limit"], offset=p["offset"]))


@doc("One school with its policy", tags=SCHOOLS, response=s.SchoolSchema, errors=(404,))
async def get_school(request: web.Request) -> web.Response:
    return json_response(await schools.get_school(ctx_of(request), principal(request),
                                                  path_int(request, "school_id")))


@doc("Edit a school and its policy (its admins, superusers)", tags=SCHOOLS, body=s.SchoolUpdateSchema,
     response=s.SchoolSchema, errors=(403, 404, 409))
async def update_school(request: web.Request) -> web.Response:
    data = await load_json(request, s.SchoolUpdateSchema())
    return json_response(await schools.update_school(ctx_of(request), principal(request),
                                                     path_int(request, "school_id"), data))


@doc("Delete a school (superusers)", tags=SCHOOLS, status=204, errors=(403, 404, 409))
async def delete_school(request: web.Request) -> web.Response:
    await schools.delete_school(ctx_of(request), principal(request), path_int(request, "school_id"))
    return no_content()


# Calendar


@doc("Add an academic year to a school (no overlap with other years)", tags=CALENDAR, body=s.YearCreateSchema,
     response=s.YearSchema, status=201, errors=(403, 404, 409))
async def create_year(request: web.Request) -> web.Response:
    data = await load_json(request, s.YearCreateSchema())
    return json_response(await schools.create_year(ctx_of(request), principal(request),
                                                   path_int(request, "school_id"), data), status=201)


@doc("Academic years of a school", tags=CALENDAR, response=s.YearSchema(many=True), errors=(404,))
async def list_years(request: web.Request) -> web.Response:
    return json_response(await schools.list_years(ctx_of(request), principal(request),
                                                  path_int(request, "school_id")))


@doc("Change an academic year (its terms must stay inside)", tags=CALENDAR, body=s.YearUpdateSchema,
     response=s.YearSchema, errors=(403, 404, 409))
async def update_year(request: web.Request) -> web.Response:
    data = await load_json(request, s.YearUpdateSchema())
    return json_response(await schools.update_year(ctx_of(request), principal(request),
                                                   path_int(request, "year_id"), data))


@doc("Delete an academic year without classes or term marks", tags=CALENDAR, status=204,
     errors=(403, 404, 409))
async def delete_year(request: web.Request) -> web.Response:
    await schools.delete_year(ctx_of(request), principal(request), path_int(request, "year_id"))
    return no_content()


@doc("Add a term (quarter, half) inside an academic year, not overlapping its other terms", tags=CALENDAR,
     body=s.TermCreateSchema, response=s.TermSchema, status=201, errors=(403, 404, 409))
async def create_term(request: web.Request) -> web.Response:
    data = await load_json(request, s.TermCreateSchema())
    return json_response(await schools.create_term(ctx_of(request), principal(request),
                                                   path_int(request, "year_id"), data), status=201)


@doc("Terms of a school (optionally of one year)", tags=CALENDAR, query=s.TermListQuerySchema,
     response=s.TermSchema(many=True), errors=(404,))
async def list_terms(request: web.Request) -> web.Response:
    p = load_query(request, s.TermListQuerySchema())
    return json_response(await schools.list_terms(ctx_of(request), principal(request),
                                                  path_int(request, "school_id"), p.get("year_id")))


@doc("Change a term", tags=CALENDAR, body=s.TermUpdateSchema, response=s.TermSchema, errors=(403, 404, 409))
async def update_term(request: web.Request) -> web.Response:
    data = await load_json(request, s.TermUpdateSchema())
    return json_response(await schools.update_term(ctx_of(request), principal(request),
                                                   path_int(request, "term_id"), data))


@doc("Delete a term without term marks", tags=CALENDAR, status=204, errors=(403, 404, 409))
async def delete_term(request: web.Request) -> web.Response:
    await schools.delete_term(ctx_of(request), principal(request), path_int(request, "term_id"))
    return no_content()


# Work types


@doc("Add a work type with its weight in the weighted average", tags=SUBJECTS, body=s.WorkTypeCreateSchema,
     response=s.WorkTypeSchema, status=201, errors=(403, 409))
async def create_work_type(request: web.Request) -> web.Response:
    data = await load_json(request, s.WorkTypeCreateSchema())
    return json_response(await schools.create_work_type(ctx_of(request), principal(request), data), status=201)


@doc("Work types of your school (superusers: ?school_id=)", tags=SUBJECTS, query=s.SchoolScopedQuerySchema,
     response=s.WorkTypeSchema(many=True), errors=(404,))
async def list_work_types(request: web.Request) -> web.Response:
    p = load_query(request, s.SchoolScopedQuerySchema())
    return json_response(await schools.list_work_types(ctx_of(request), principal(request), p.get("school_id")))


@doc("Rename a work type or change its weight", tags=SUBJECTS, body=s.WorkTypeUpdateSchema,
     response=s.WorkTypeSchema, errors=(403, 404, 409))
async def update_work_type(request: web.Request) -> web.Response:
    data = await load_json(request, s.WorkTypeUpdateSchema())
    return json_response(await schools.update_work_type(ctx_of(request), principal(request),
                                                        path_int(request, "work_type_id"), data))


@doc("Delete a work type no grade uses", tags=SUBJECTS, status=204, errors=(403, 404, 409))
async def delete_work_type(request: web.Request) -> web.Response:
    await schools.delete_work_type(ctx_of(request), principal(request), path_int(request, "work_type_id"))
    return no_content()


# Classes


@doc("Create a class (admins of the school)", tags=CLASSES, body=s.ClassCreateSchema, response=s.ClassSchema,
     status=201, errors=(403, 409))
async def create_class(request: web.Request) -> web.Response:
    data = await load_json(request, s.ClassCreateSchema())
    return json_response(await classes.create_class(ctx_of(request), principal(request), data), status=201)


@doc("Classes you can see (admins: the school's; teachers: taught; students and parents: their own)",
     tags=CLASSES, query=s.ClassListQuerySchema, response=s.ClassPageSchema)
async def list_classes(request: web.Request) -> web.Response:
    p = load_query(request, s.ClassListQuerySchema())
    return json_response(await classes.list_classes(
        ctx_of(request), principal(request), school_id=p.get("school_id"), grade_level=p.get("grade_level"),
        academic_year_id=p.get("academic_year_id"), q_text=p.get("q"), limit=p["limit"], offset=p["offset"]))


@doc("One class", tags=CLASSES, response=s.ClassSchema, errors=(404,))
async def get_class(request: web.Request) -> web.Response:
    return json_response(await classes.get_class(ctx_of(request), principal(request),
                                                 path_int(request, "class_id")))


@doc("Change a class (name, grade level, year, class teacher)", tags=CLASSES, body=s.ClassUpdateSchema,
     response=s.ClassSchema, errors=(403, 404, 409))
async def update_class(request: web.Request) -> web.Response:
    data = await load_json(request, s.ClassUpdateSchema())
    return json_response(await classes.update_class(ctx_of(request), principal(request),
                                                    path_int(request, "class_id"), data))


@doc("Delete a class without grades", tags=CLASSES, status=204, errors=(403, 404, 409))
async def delete_class(request: web.Request) -> web.Response:
    await classes.delete_class(ctx_of(request), principal(request), path_int(request, "class_id"))
    return no_content()


@doc("Students of a class", tags=CLASSES, response=s.ClassStudentSchema(many=True), errors=(404,))
async def list_class_students(request: web.Request) -> web.Response:
    return json_response(await enrolment.list_students(ctx_of(request), principal(request),
                                                     path_int(request, "class_id")))


@doc("Enrol students of the school in a class (idempotent)", tags=CLASSES, body=s.EnrolSchema,
     response=s.EnrolResultSchema, errors=(403, 404))
async def enrol(request: web.Request) -> web.Response:
    data = await load_json(request, s.EnrolSchema())
    return json_response(await enrolment.enrol(ctx_of(request), principal(request), path_int(request, "class_id"),
                                             data["student_ids"]))


@doc("Remove a student from a class", tags=CLASSES, status=204, errors=(403, 404))
async def unenrol(request: web.Request) -> web.Response:
    await enrolment.unenrol(ctx_of(request), principal(request), path_int(request, "class_id"),
                          path_int(request, "student_id"))
    return no_content()


@doc("Link a parent to a child (a parent may have several children, a child several parents)",
     tags=CLASSES, body=s.ParentLinkCreateSchema, response=s.ParentLinkResultSchema, status=201, errors=(403,))
async def link_parent(request: web.Request) -> web.Response:
    data = await load_json(request, s.ParentLinkCreateSchema())
    return json_response(await enrolment.link_parent(ctx_of(request), principal(request), data["parent_id"],
                                                   data["child_id"]), status=201)


@doc("Parent–child links (admins: their school; parents: their own children)", tags=CLASSES,
     query=s.ParentLinkQuerySchema, response=s.ParentLinkPageSchema, errors=(403,))
async def list_parent_links(request: web.Request) -> web.Response:
    p = load_query(request, s.ParentLinkQuerySchema())
    return json_response(await enrolment.list_parent_links(
        ctx_of(request), principal(request), parent_id=p.get("parent_id"), child_id=p.get("child_id"),
        limit=p["limit"], offset=p["offset"]))


@doc("Unlink a parent from a child", tags=CLASSES, status=204, errors=(403, 404))
async def unlink_parent(request: web.Request) -> web.Response:
    await enrolment.unlink_parent(ctx_of(request), principal(request), path_int(request, "parent_id"),
                                path_int(request, "child_id"))
    return no_content()


# Subjects and assignments


@doc("Create a subject", tags=SUBJECTS, body=s.SubjectCreateSchema, response=s.SubjectSchema, status=201,
     errors=(403, 409))
async def create_subject(request: web.Request) -> web.Response:
    data = await load_json(request, s.SubjectCreateSchema())
    return json_response(await classes.create_subject(ctx_of(request), principal(request), data), status=201)


@doc("Subjects of your school (superusers: ?school_id=)", tags=SUBJECTS, query=s.SubjectListQuerySchema,
     response=s.SubjectPageSchema, errors=(404,))
async def list_subjects(request: web.Request) -> web.Response:
    p = load_query(request, s.SubjectListQuerySchema())
    return json_response(await classes.list_subjects(ctx_of(request), principal(request),
                                                     school_id=p.get("school_id"), q_text=p.get("q"),
                                                     limit=p["limit"], offset=p["offset"]))


@doc("One subject", tags=SUBJECTS, response=s.SubjectSchema, errors=(404,))
async def get_subject(request: web.Request) -> web.Response:
    return json_response(await classes.get_subject(ctx_of(request), principal(request),
                                                   path_int(request, "subject_id")))


@doc("Rename a subject", tags=SUBJECTS, body=s.SubjectUpdateSchema, response=s.SubjectSchema,
     errors=(403, 404, 409))
async def update_subject(request: web.Request) -> web.Response:
    data = await load_json(request, s.SubjectUpdateSchema())
    return json_response(await classes.update_subject(ctx_of(request), principal(request),
                                                      path_int(request, "subject_id"), data))


@doc("Delete a subject without lessons or grades", tags=SUBJECTS, status=204, errors=(403, 404, 409))
async def delete_subject(request: web.Request) -> web.Response:
    await classes.delete_subject(ctx_of(request), principal(request), path_int(request, "subject_id"))
    return no_content()


@doc("Assign a teacher to teach a subject in a class", tags=SUBJECTS, body=s.AssignmentCreateSchema,
     response=s.AssignmentSchema, status=201, errors=(403, 409))
async def create_assignment(request: web.Request) -> web.Response:
    data = await load_json(request, s.AssignmentCreateSchema())
    return json_response(await classes.create_assignment(ctx_of(request), principal(request), data), status=201)


@doc("Teaching assignments you can see", tags=SUBJECTS, query=s.AssignmentListQuerySchema,
     response=s.AssignmentPageSchema)
async def list_assignments(request: web.Request) -> web.Response:
    p = load_query(request, s.AssignmentListQuerySchema())
    return json_response(await classes.list_assignments(
        ctx_of(request), principal(request), class_id=p.get("class_id"), teacher_id=p.get("teacher_id"),
        subject_id=p.get("subject_id"), limit=p["limit"], offset=p["offset"]))


@doc("Remove a teaching assignment", tags=SUBJECTS, status=204, errors=(403, 404))
async def delete_assignment(request: web.Request) -> web.Response:
    await classes.delete_assignment(ctx_of(request), principal(request), path_int(request, "assignment_id"))
    return no_content()


# Schedule


@doc("Schedule a lesson (admins). Double-booking of the class, the teacher or the room is a 409 naming "
     "the conflict", tags=SCHEDULE, body=s.LessonCreateSchema, response=s.LessonSchema, status=201,
     errors=(403, 409))
async def create_lesson(request: web.Request) -> web.Response:
    data = await load_json(request, s.LessonCreateSchema())
    return json_response(await lessons.create_lesson(ctx_of(request), principal(request), data), status=201)


_week_query = s.WeekQuerySchema()  # built once: hot path


@doc("Week view of a class: lessons from `from` to `to` (days, school time; at most 42 days)", tags=SCHEDULE,
     query=s.WeekQuerySchema, response=s.ScheduleSchema, errors=(404,))
async def class_week(request: web.Request) -> web.Response:
    p = load_query(request, _week_query)
    return json_body_response(await lessons.class_week_body(ctx_of(request), principal(request), p["class_id"],
                                                            p.get("from_"), p.get("to")))


@doc("Your own schedule: a student's, a teacher's, or (parents, ?child_id=) a child's", tags=SCHEDULE,
     query=s.MyScheduleQuerySchema, response=s.ScheduleSchema, errors=(403, 404))
async def my_schedule(request: web.Request) -> web.Response:
    p = load_query(request, s.MyScheduleQuerySchema())
    return json_response(await lessons.my_schedule(ctx_of(request), principal(request), p.get("from_"),
                                                   p.get("to"), p.get("child_id")))


@doc("One lesson", tags=SCHEDULE, response=s.LessonSchema, errors=(404,))
async def get_lesson(request: web.Request) -> web.Response:
    return json_response(await lessons.get_lesson(ctx_of(request), principal(request),
                                                  path_int(request, "lesson_id")))


@doc("Change a lesson: admins move or reassign it; its teacher sets topic and homework (homework notifies "
     "the class's students and parents)", tags=SCHEDULE, body=s.LessonUpdateSchema, response=s.LessonSchema,
     errors=(403, 404, 409))
async def update_lesson(request: web.Request) -> web.Response:
    data = await load_json(request, s.LessonUpdateSchema())
    return json_response(await lessons.update_lesson(ctx_of(request), principal(request),
                                                     path_int(request, "lesson_id"), data))


@doc("Delete a lesson (admins)", tags=SCHEDULE, status=204, errors=(403, 404))
async def delete_lesson(request: web.Request) -> web.Response:
    await lessons.delete_lesson(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return no_content()


# Classmates


@doc("Search your classmates by name (students); birthdays only where their owner shows them",
     tags=CLASSES, query=s.ClassmateQuerySchema, response=s.ClassmatePageSchema, errors=(403,))
async def search_classmates(request: web.Request) -> web.Response:
    p = load_query(request, s.ClassmateQuerySchema())
    return json_response(await classmates.classmates(ctx_of(request), principal(request), p.get("q"),
                                                     p["limit"], p["offset"]))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/schools", create_school)
    r.add_get("/api/v1/schools", list_schools)
    r.add_get("/api/v1/schools/{school_id}", get_school)
    r.add_patch("/api/v1/schools/{school_id}", update_school)
    r.add_delete("/api/v1/schools/{school_id}", delete_school)
    r.add_post("/api/v1/schools/{school_id}/years", create_year)
    r.add_get("/api/v1/schools/{school_id}/years", list_years)
    r.add_get("/api/v1/schools/{school_id}/terms", list_terms)
    r.add_patch("/api/v1/years/{year_id}", update_year)
    r.add_delete("/api/v1/years/{year_id}", delete_year)
    r.add_post("/api/v1/years/{year_id}/terms", create_term)
    r.add_patch("/api/v1/terms/{term_id}", update_term)
    r.add_delete("/api/v1/terms/{term_id}", delete_term)
    r.add_post("/api/v1/work-types", create_work_type)
    r.add_get("/api/v1/work-types", list_work_types)
    r.add_patch("/api/v1/work-types/{work_type_id}", update_work_type)
    r.add_delete("/api/v1/work-types/{work_type_id}", delete_work_type)
    r.add_post("/api/v1/classes", create_class)
    r.add_get("/api/v1/classes", list_classes)
    r.add_get("/api/v1/classes/{class_id}", get_class)
    r.add_patch("/api/v1/classes/{class_id}", update_class)
    r.add_delete("/api/v1/classes/{class_id}", delete_class)
    r.add_get("/api/v1/classes/{class_id}/students", list_class_students)
    r.add_post("/api/v1/classes/{class_id}/students", enrol)
    r.add_delete("/api/v1/classes/{class_id}/students/{student_id}", unenrol)
    r.add_post("/api/v1/parent-links", link_parent)
    r.add_get("/api/v1/parent-links", list_parent_links)
    r.add_delete("/api/v1/parent-links/{parent_id}/{child_id}", unlink_parent)
    r.add_post("/api/v1/subjects", create_subject)
    r.add_get("/api/v1/subjects", list_subjects)
    r.add_get("/api/v1/subjects/{subject_id}", get_subject)
    r.add_patch("/api/v1/subjects/{subject_id}", update_subject)
    r.add_delete("/api/v1/subjects/{subject_id}", delete_subject)
    r.add_post("/api/v1/assignments", create_assignment)
    r.add_get("/api/v1/assignments", list_assignments)
    r.add_delete("/api/v1/assignments/{assignment_id}", delete_assignment)
    r.add_post("/api/v1/lessons", create_lesson)
    r.add_get("/api/v1/lessons", class_week)
    r.add_get("/api/v1/lessons/{lesson_id}", get_lesson)
    r.add_patch("/api/v1/lessons/{lesson_id}", update_lesson)
    r.add_delete("/api/v1/lessons/{lesson_id}", delete_lesson)
    r.add_get("/api/v1/schedule/me", my_schedule)
    r.add_get("/api/v1/classmates", search_classmates)
