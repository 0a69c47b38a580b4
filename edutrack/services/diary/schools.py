"""Schools (with their policy), academic years, terms and work types.

Superusers create and delete schools; a school's admins edit it and manage its calendar and work types;
members of the school read them. Reference lists are served through the Redis cache and invalidated after
every committed change.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from edutrack import cache, errors, events
from edutrack.context import AppContext
from edutrack.db.diary import AcademicYear, School, Term, WorkType
from edutrack.i18n import _
from edutrack.queries import chat_rooms, membership
from edutrack.queries import schools as q
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.uow import unit_of_work

SCHOOL_FIELDS = ("name", "address", "timezone", "parents_in_class_chat", "min_marks_for_attestation",
                 "rounding_threshold", "at_risk_average", "at_risk_unexcused_absences", "year_mark_rule")


def school_view(s: School) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "address": s.address, "timezone": s.timezone,
        "parents_in_class_chat": s.parents_in_class_chat,
        "min_marks_for_attestation": s.min_marks_for_attestation,
        "rounding_threshold": float(s.rounding_threshold),
        "at_risk_average": float(s.at_risk_average),
        "at_risk_unexcused_absences": s.at_risk_unexcused_absences, "year_mark_rule": s.year_mark_rule,
        "created_at": s.created_at.isoformat(), "updated_at": s.updated_at.isoformat(),
    }


def year_view(y: AcademicYear) -> dict[str, Any]:
    return {"id": y.id, "school_id": y.school_id, "name": y.name, "starts_on": y.starts_on.isoformat(),
            "ends_on": y.ends_on.isoformat()}


def term_view(t: Term) -> dict[str, Any]:
    return {"id": t.id, "school_id": t.school_id, "academic_year_id": t.academic_year_id, "name": t.name,
            "starts_on": t.starts_on.isoformat(), "ends_on": t.ends_on.isoformat()}


def work_type_view(w: WorkType) -> dict[str, Any]:
    return {"id": w.id, "school_id": w.school_id, "name": w.name, "weight": w.weight}


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise errors.ValidationFailed(_("Unknown time zone"), details={"timezone": [_("Unknown time zone “%(name)s”.",
                                                                                      name=name)]}
                                      ) from exc


def require_school_member(who: Principal, school_id: int) -> None:
    """Reading a school's calendar and reference data: its members (and superusers)."""
    permissions.require_same_school(who, school_id, _("No such school"))


# Schools


async def create_school(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    if not who.is_superuser:
        raise errors.Forbidden(_("Only a superuser can create schools"))
    if "timezone" in data:
        _check_timezone(data["timezone"])
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            if await q.school_name_taken(session, data["name"]):
                raise errors.Conflict(_("A school with this name already exists"), code="school_exists")
            school = await q.insert_school(session, {k: v for k, v in data.items() if k in SCHOOL_FIELDS})
            # Every school starts with the usual Russian work types, so grading works from day one.
            await q.seed_work_types(session, school.id)
            view = school_view(school)
            uow.invalidate(cache.schools_bucket(), cache.school_ref_bucket(school.id))
    except IntegrityError as exc:
        raise errors.Conflict(_("A school with this name already exists"), code="school_exists") from exc
    return view


async def get_school(ctx: AppContext, who: Principal, school_id: int) -> dict[str, Any]:
    require_school_member(who, school_id)
    async with ctx.reads() as session:
        school = await q.school_by_id(session, school_id)
    if school is None:
        raise errors.NotFound(_("No such school"))
    return school_view(school)


async def list_schools(ctx: AppContext, who: Principal, *, q_text: str | None, limit: int,
                       offset: int) -> dict[str, Any]:
    ids: list[int] | None = None
    if not who.is_superuser:
        if who.school_id is None:
            return {"items": [], "total": 0, "limit": limit, "offset": offset}
        ids = [who.school_id]

    async def load() -> dict[str, Any]:
        async with ctx.reads() as session:
            rows, total = await q.list_schools(session, ids=ids, q=q_text, limit=limit, offset=offset)
        return {"items": [school_view(s) for s in rows], "total": total, "limit": limit, "offset": offset}

    field = f"list:ids={ids}:q={q_text or ''}:l={limit}:o={offset}"
    result: dict[str, Any] = await cache.cached(ctx, cache.schools_bucket(), field, load)
    return result


async def update_school(ctx: AppContext, who: Principal, school_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    permissions.require_school_admin(who, school_id)
    if "timezone" in changes:
        _check_timezone(changes["timezone"])
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            school = await q.school_by_id(session, school_id, for_update=True)
            if school is None:
                raise errors.NotFound(_("No such school"))
            if "name" in changes and await q.school_name_taken(session, changes["name"], except_id=school_id):
                raise errors.Conflict(_("A school with this name already exists"), code="school_exists")
            parents_setting_changed = "parents_in_class_chat" in changes and \
                changes["parents_in_class_chat"] != school.parents_in_class_chat
            for key in SCHOOL_FIELDS:
                if key in changes:
                    setattr(school, key, changes[key])
            await session.flush()
            await session.refresh(school)
            view = school_view(school)
            classes = await membership.class_ids_of_school(session, school_id) if parents_setting_changed else set()
            # The attestation policy is in cached term sheets, the time zone in cached weeks.
            uow.invalidate(cache.schools_bucket(), cache.school_ref_bucket(school_id),
                           cache.school_schedule_bucket(school_id))
            # Parents let out of the class chats leave them on open sockets too.
            uow.membership_changed(classes)
    except IntegrityError as exc:
        raise errors.Conflict(_("A school with this name already exists"), code="school_exists") from exc
    return view


async def delete_school(ctx: AppContext, who: Principal, school_id: int) -> None:
    if not who.is_superuser:
        raise errors.Forbidden(_("Only a superuser can delete schools"))
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            classes = await membership.class_ids_of_school(session, school_id)
            parallels = await chat_rooms.parallels_of(session, sorted(classes))  # read while the classes exist
            if not await q.delete_school(session, school_id):
                raise errors.NotFound(_("No such school"))
            uow.invalidate(cache.schools_bucket(), cache.school_ref_bucket(school_id),
                           cache.school_schedule_bucket(school_id))
            uow.membership_changed(classes)  # its class chats are gone
            uow.membership_changed_channels(events.grade_board(s, g) for s, g in sorted(parallels))
    except IntegrityError as exc:
        # Grades and lessons keep their teacher (RESTRICT); a school with history is archived, not deleted.
        raise errors.Conflict(_("The school still has records that cannot be deleted"), code="school_in_use") from exc


# Academic years


def _check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on <= starts_on:
        raise errors.ValidationFailed(_("The end date must be after the start date"),
                                      details={"ends_on": [_("Must be after starts_on.")]})


async def create_year(ctx: AppContext, who: Principal, school_id: int, data: dict[str, Any]) -> dict[str, Any]:
    permissions.require_school_admin(who, school_id)
    _check_dates(data["starts_on"], data["ends_on"])
    async with unit_of_work(ctx) as uow:
        session = uow.session
        school = await q.school_by_id(session, school_id, for_update=True)  # serialises year writes
        if school is None:
            raise errors.NotFound(_("No such school"))
        if await q.year_name_taken(session, school_id, data["name"]):
            raise errors.Conflict(_("The school already has a year named “%(name)s”", name=data['name']),
                                  code="year_exists")
        clash = await q.year_overlaps(session, school_id, data["starts_on"], data["ends_on"])
        if clash is not None:
            raise errors.Conflict(_("The dates overlap the academic year “%(name)s”", name=clash.name),
                                  code="year_overlap",
                                  details={"academic_year_id": clash.id})
        year = await q.insert_year(session, {"school_id": school_id, **data})
        view = year_view(year)
        uow.invalidate(cache.school_ref_bucket(school_id))
    return view


async def list_years(ctx: AppContext, who: Principal, school_id: int) -> list[dict[str, Any]]:
    require_school_member(who, school_id)

    async def load() -> list[dict[str, Any]]:
        async with ctx.reads() as session:
            return [year_view(y) for y in await q.years_of_school(session, school_id)]

    result: list[dict[str, Any]] = await cache.cached(ctx, cache.school_ref_bucket(school_id), "years", load)
    return result


async def update_year(ctx: AppContext, who: Principal, year_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        year = await q.year_by_id(session, year_id)
        if year is None:
            raise errors.NotFound(_("No such academic year"))
        permissions.require_school_admin(who, year.school_id)
        await q.school_by_id(session, year.school_id, for_update=True)
        year = await q.year_by_id(session, year_id, for_update=True)
        assert year is not None
        starts_on = changes.get("starts_on", year.starts_on)
        ends_on = changes.get("ends_on", year.ends_on)
        _check_dates(starts_on, ends_on)
        if "name" in changes and await q.year_name_taken(session, year.school_id, changes["name"], year.id):
            raise errors.Conflict(_("The school already has a year named “%(name)s”", name=changes['name']),
                                  code="year_exists")
        clash = await q.year_overlaps(session, year.school_id, starts_on, ends_on, except_id=year.id)
        if clash is not None:
            raise errors.Conflict(_("The dates overlap the academic year “%(name)s”", name=clash.name),
                                  code="year_overlap")
        if await q.terms_outside(session, year.id, starts_on, ends_on):
            raise errors.Conflict(_("Some terms of this year would fall outside the new dates"),
                                  code="terms_outside_year")
        for key in ("name", "starts_on", "ends_on"):
            if key in changes:
                setattr(year, key, changes[key])
        await session.flush()
        view = year_view(year)
        uow.invalidate(cache.school_ref_bucket(year.school_id))
    return view


async def delete_year(ctx: AppContext, who: Principal, year_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        year = await q.year_by_id(session, year_id, for_update=True)
        if year is None:
            raise errors.NotFound(_("No such academic year"))
        permissions.require_school_admin(who, year.school_id)
        if await q.year_in_use(session, year_id):
            raise errors.Conflict(_("Classes or term marks belong to this year; it cannot be deleted"),
                                  code="year_in_use")
        school_id = year.school_id
        await q.delete_year(session, year_id)
        uow.invalidate(cache.school_ref_bucket(school_id))


# Terms


async def _check_term(session: Any, year: AcademicYear, name: str, starts_on: date, ends_on: date,
                      except_id: int | None) -> None:
    _check_dates(starts_on, ends_on)
    if starts_on < year.starts_on or ends_on > year.ends_on:
        raise errors.ValidationFailed(
            _("A term must lie inside its academic year (%(starts_on)s .. %(ends_on)s)", starts_on=year.starts_on,
              ends_on=year.ends_on),
            details={"starts_on": [_("Must be on or after %(starts_on)s.", starts_on=year.starts_on)],
                     "ends_on": [_("Must be on or before %(ends_on)s.", ends_on=year.ends_on)]},
        )
    if await q.term_name_taken(session, year.id, name, except_id):
        raise errors.Conflict(_("The year already has a term named “%(name)s”", name=name), code="term_exists")
    clash = await q.overlapping_term(session, year.id, starts_on, ends_on, except_id)
    if clash is not None:
        raise errors.Conflict(
            _("The dates overlap the term “%(name)s” (%(starts_on)s .. %(ends_on)s)", name=clash.name,
              starts_on=clash.starts_on, ends_on=clash.ends_on),
            code="term_overlap", details={"term_id": clash.id},
        )


async def create_term(ctx: AppContext, who: Principal, year_id: int, data: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        year = await q.year_by_id(session, year_id, for_update=True)  # serialises term writes of the year
        if year is None:
            raise errors.NotFound(_("No such academic year"))
        permissions.require_school_admin(who, year.school_id)
        await _check_term(session, year, data["name"], data["starts_on"], data["ends_on"], None)
        term = await q.insert_term(session, {"school_id": year.school_id, "academic_year_id": year.id, **data})
        view = term_view(term)
        uow.invalidate(cache.school_ref_bucket(year.school_id))
    return view


async def list_terms(ctx: AppContext, who: Principal, school_id: int, year_id: int | None) -> list[dict[str, Any]]:
    require_school_member(who, school_id)

    async def load() -> list[dict[str, Any]]:
        async with ctx.reads() as session:
            return [term_view(t) for t in await q.terms_of_school(session, school_id, year_id)]

    result: list[dict[str, Any]] = await cache.cached(ctx, cache.school_ref_bucket(school_id),
                                                      f"terms:year={year_id}", load)
    return result


async def update_term(ctx: AppContext, who: Principal, term_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        term = await q.term_by_id(session, term_id)
        if term is None:
            raise errors.NotFound(_("No such term"))
        permissions.require_school_admin(who, term.school_id)
        year = await q.year_by_id(session, term.academic_year_id, for_update=True)
        assert year is not None
        name = changes.get("name", term.name)
        starts_on = changes.get("starts_on", term.starts_on)
        ends_on = changes.get("ends_on", term.ends_on)
        await _check_term(session, year, name, starts_on, ends_on, term.id)
        term.name, term.starts_on, term.ends_on = name, starts_on, ends_on
        await session.flush()
        view = term_view(term)
        uow.invalidate(cache.school_ref_bucket(term.school_id))
    return view


async def delete_term(ctx: AppContext, who: Principal, term_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        term = await q.term_by_id(session, term_id, for_update=True)
        if term is None:
            raise errors.NotFound(_("No such term"))
        permissions.require_school_admin(who, term.school_id)
        if await q.term_in_use(session, term_id):
            raise errors.Conflict(_("Term marks exist for this term; it cannot be deleted"), code="term_in_use")
        school_id = term.school_id
        await q.delete_term(session, term_id)
        uow.invalidate(cache.school_ref_bucket(school_id))


# Work types


def _target_school(who: Principal, school_id: int | None) -> int:
    """The school an admin's create acts on: their own; a superuser must name one."""
    if who.is_superuser:
        if school_id is None:
            raise errors.ValidationFailed(_("school_id is required"), details={"school_id": [_("Required.")]})
        return school_id
    if who.school_id is None:
        raise errors.Forbidden(_("You are not attached to a school"))
    target = school_id or who.school_id
    permissions.require_school_admin(who, target)
    return target


async def create_work_type(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    permissions.require_role(who, "admin")
    school_id = _target_school(who, data.get("school_id"))
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            if await q.school_by_id(session, school_id) is None:
                raise errors.NotFound(_("No such school"))
            if await q.work_type_name_taken(session, school_id, data["name"]):
                raise errors.Conflict(_("This work type already exists"), code="work_type_exists")
            row = await q.insert_work_type(session, {"school_id": school_id, "name": data["name"],
                                                     "weight": data["weight"]})
            view = work_type_view(row)
            uow.invalidate(cache.school_ref_bucket(school_id))
    except IntegrityError as exc:
        raise errors.Conflict(_("This work type already exists"), code="work_type_exists") from exc
    return view


async def list_work_types(ctx: AppContext, who: Principal, school_id: int | None) -> list[dict[str, Any]]:
    target = school_id or who.school_id
    if target is None:
        raise errors.ValidationFailed(_("school_id is required"), details={"school_id": [_("Required.")]})
    require_school_member(who, target)

    async def load() -> list[dict[str, Any]]:
        async with ctx.reads() as session:
            return [work_type_view(w) for w in await q.work_types_of_school(session, target)]

    result: list[dict[str, Any]] = await cache.cached(ctx, cache.school_ref_bucket(target), "work_types", load)
    return result


async def update_work_type(ctx: AppContext, who: Principal, work_type_id: int,
                           changes: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        row = await q.work_type_by_id(session, work_type_id, for_update=True)
        if row is None:
            raise errors.NotFound(_("No such work type"))
        permissions.require_school_admin(who, row.school_id)
        if "name" in changes and await q.work_type_name_taken(session, row.school_id, changes["name"], row.id):
            raise errors.Conflict(_("This work type already exists"), code="work_type_exists")
        for key in ("name", "weight"):
            if key in changes:
                setattr(row, key, changes[key])
        await session.flush()
        view = work_type_view(row)
        uow.invalidate(cache.school_ref_bucket(row.school_id))
    return view


async def delete_work_type(ctx: AppContext, who: Principal, work_type_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        row = await q.work_type_by_id(session, work_type_id, for_update=True)
        if row is None:
            raise errors.NotFound(_("No such work type"))
        permissions.require_school_admin(who, row.school_id)
        if await q.work_type_in_use(session, work_type_id):
            raise errors.Conflict(_("Grades use this work type; rename it instead of deleting"),
                                  code="work_type_in_use")
        school_id = row.school_id
        await q.delete_work_type(session, work_type_id)
        uow.invalidate(cache.school_ref_bucket(school_id))
