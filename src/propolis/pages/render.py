"""The one rendering of case pages (``OutputCasePage``) and page templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from propolis.casetemplates.models import CaseTemplatePageTemplate as Link
from propolis.core.render import meta
from propolis.pages.models import Page, PageTemplate


def _document(entity: Page | PageTemplate, type_name: str) -> dict[str, Any]:
    out = meta(entity, type_name)
    out.update(
        title=entity.title,
        content=entity.content,
        order=entity.order,
        category=entity.category,
        extraData={},
    )
    return out


def render_pages(pages: list[Page]) -> list[dict[str, Any]]:
    return [_document(page, "Page") for page in pages]


def render_page(page: Page) -> dict[str, Any]:
    return _document(page, "Page")


def render_page_templates(
    session: Session, templates: list[PageTemplate], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    out = [_document(template, "PageTemplate") for template in templates]
    if extra and "caseTemplateCount" in extra:
        counts = _case_template_counts(session, [t.id for t in templates])
        for item, template in zip(out, templates, strict=True):
            item["extraData"]["caseTemplateCount"] = counts.get(template.id, 0)
    return out


def render_page_template(session: Session, template: PageTemplate) -> dict[str, Any]:
    return render_page_templates(session, [template])[0]


def _case_template_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(Link.page_template_id, func.count())
        .where(Link.page_template_id.in_(ids))
        .group_by(Link.page_template_id)
    )
    return {template_id: count for template_id, count in rows}
