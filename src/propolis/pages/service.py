"""Case pages (markdown documents inside a case) and the organisation's page templates
(spec §11). Case pages are visible with their case; page templates belong to one
organisation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis import access
from propolis.cases import service as cases
from propolis.core import events, moves
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.pages.models import Page, PageTemplate
from propolis.pages.schemas import PageCreate, PageUpdate

PAGE_FIELDS = ("title", "content", "category", "order")


def _document(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The page fields of a create (all required but order) or an update, as the schema
    checked them; a null order is 0."""
    values = check(PageUpdate if partial else PageCreate, data).known()
    if not partial or "order" in values:
        values["order"] = values.get("order") or 0
    return values


def _apply(target: Page | PageTemplate, values: dict[str, Any]) -> dict[str, Any]:
    changes = {}
    for key, value in values.items():
        if getattr(target, key) != value:
            setattr(target, key, value)
            changes[key] = value
    return changes


# --------------------------------------------------------------------------- case pages


def get_case_page(session: Session, case: Any, ref: str) -> Page:
    """A page of ``case`` (already checked visible by the caller), by id."""
    page_id = parse_id(ref)
    page = session.get(Page, page_id) if page_id is not None else None
    if page is None or page.case_id != case.id:
        raise missing("Page", ref)
    return page


def create_page(session: Session, actor: Actor, case: Any, data: dict[str, Any]) -> Page:
    _require_page_permission(session, actor, case)
    page = Page(
        case_id=case.id,
        created_by=actor.login,
        created_at=now_ms(),
        **_document(data, partial=False),
    )
    session.add(page)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Page",
        page.id,
        {"title": page.title},
        root_id=case.id,
    )
    return page


def update_page(
    session: Session, actor: Actor, case: Any, page: Page, data: dict[str, Any]
) -> None:
    _require_page_permission(session, actor, case)
    changes = _apply(page, _document(data, partial=True))
    if not changes:
        return
    page.touch(actor.login)
    _touch_case(session, actor, case)
    events.record(
        session, actor.login, actor.org_id, "update", "Page", page.id, changes, root_id=case.id
    )


def delete_page(session: Session, actor: Actor, case: Any, page: Page) -> None:
    _require_page_permission(session, actor, case)
    session.delete(page)
    _touch_case(session, actor, case)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "Page",
        page.id,
        {"title": page.title},
        root_id=case.id,
    )


def _require_page_permission(session: Session, actor: Actor, case: Any) -> None:
    """``managePage``, also granted by the organisation's share of the case."""
    access.require_case_permission(session, actor, case, "managePage")


def _touch_case(session: Session, actor: Actor, case: Any) -> None:
    cases.touch_case(session, actor, case)


# --------------------------------------------------------------------------- page templates


def org_templates(actor: Actor):  # noqa: ANN201
    """Page templates of the caller's organisation (a select)."""
    return select(PageTemplate).where(PageTemplate.org_id == actor.org_id)


def get_page_template(session: Session, actor: Actor, ref: str) -> PageTemplate:
    page_id = parse_id(ref)
    template = session.get(PageTemplate, page_id) if page_id is not None else None
    if template is None or template.org_id != actor.org_id:
        raise missing("PageTemplate", ref)
    return template


def create_page_template(session: Session, actor: Actor, data: dict[str, Any]) -> PageTemplate:
    actor.require("managePageTemplate")
    template = PageTemplate(
        org_id=actor.org_id,
        created_by=actor.login,
        created_at=now_ms(),
        **_document(data, partial=False),
    )
    session.add(template)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "PageTemplate",
        template.id,
        {"title": template.title},
    )
    return template


def update_page_template(
    session: Session, actor: Actor, template: PageTemplate, data: dict[str, Any]
) -> None:
    actor.require("managePageTemplate")
    changes = _apply(template, _document(data, partial=True))
    if changes:
        template.touch(actor.login)
        events.record(
            session, actor.login, actor.org_id, "update", "PageTemplate", template.id, changes
        )


def delete_page_template(session: Session, actor: Actor, template: PageTemplate) -> None:
    """Deleting a template unlinks it from case templates (cascade); case pages created from
    it are independent copies and stay."""
    actor.require("managePageTemplate")
    session.delete(template)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "PageTemplate",
        template.id,
        {"title": template.title},
    )


def page_from_template(session: Session, actor: Actor, case: Any, template: PageTemplate) -> Page:
    """A case page copied from a page template (case creation, applying a case template)."""
    return create_page(
        session,
        actor,
        case,
        {
            "title": template.title,
            "content": template.content,
            "category": template.category,
            "order": template.order,
        },
    )


def move_to_case(session: Session, actor: Actor, source_ids: list[int], target: Any) -> list[Page]:
    """The pages of merged cases now belong to the merged case ``target``."""
    return moves.move_to_case(session, actor, Page, "Page", source_ids, target)
