"""The live stream (server-sent events), its panel and its history page.

``GET /ui/stream`` sends one ``audit`` event per audit record the caller may see, its data
an HTML ``<li>`` (htmx's SSE extension puts it on top of the panel), its id the audit
event's id: a reconnecting browser sends it back as ``Last-Event-ID`` and first gets what
it missed. The rule, the words and the following of the audit table are
``propolis.audit.stream``; this module only speaks HTTP and HTML.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from propolis.audit.stream import HISTORY_PAGE, Entry, history, last_id
from propolis.core.errors import BadRequest
from propolis.core.security import Actor
from propolis.ui.web import TEMPLATES, Page, UiRoute, page, render, signed_in_actor

router = APIRouter(route_class=UiRoute)

# A stream ends after PROPOLIS_STREAM_MAX_SECONDS; the browser reconnects after this delay
# (with Last-Event-ID), so a signed-out user or a withdrawn permission stops the flow.
RECONNECT_MS = 1000
PANEL_ENTRIES = 30
MAX_HISTORY_PAGE = 500


def render_entry(entry: Entry) -> str:
    return TEMPLATES.get_template("stream/_entry.html").render(entry=entry).strip()


def resume_point(
    after: int | None = Query(None, ge=0, description="send the events after this id first"),
    last_event_id: str | None = Header(None, description="sent back by a reconnecting browser"),
) -> int | None:
    """Where a stream starts: after the browser's last event, else after ``after``."""
    if last_event_id is None or not last_event_id.strip():
        return after
    if not last_event_id.strip().isdigit():
        raise BadRequest("Last-Event-ID must be an audit event id (a number)")
    return int(last_event_id)


@router.get("/ui/stream", response_class=EventSourceResponse)
async def live_stream(
    request: Request,
    actor: Actor = Depends(signed_in_actor),
    after: int | None = Depends(resume_point),
) -> AsyncIterable[ServerSentEvent]:
    """What the caller's organisation does, as it happens (text/event-stream)."""
    follower = request.app.state.stream
    seconds = request.app.state.settings.stream_max_seconds
    async with follower.subscribe(actor, after, seconds) as entries:
        # At once, so the browser (and a test) knows it is listening.
        yield ServerSentEvent(comment="listening", retry=RECONNECT_MS)
        async for entry in entries:
            yield ServerSentEvent(id=str(entry.id), event="audit", raw_data=render_entry(entry))


@router.get("/ui/stream/panel")
def stream_panel(p: Page = Depends(page)) -> Response:
    """The panel's latest entries and its stream, which starts where this read stopped."""
    newest = last_id(p.session)
    entries, _ = history(p.session, p.actor, newest + 1, PANEL_ENTRIES)
    return render(p, "stream/_panel.html", entries=entries, after=newest)


@router.get("/stream")
def history_page(
    p: Page = Depends(page),
    before: int | None = Query(None, ge=1, description="the events older than this id"),
    limit: int = Query(HISTORY_PAGE, ge=1, le=MAX_HISTORY_PAGE),
) -> Response:
    """The stream's history, newest first, paged back with ``before`` (no cap)."""
    entries, older = history(p.session, p.actor, before, limit)
    return render(
        p, "stream/history.html", entries=entries, older=older, before=before, limit=limit
    )
