"""The live stream (server-sent events) and its history page.

``GET /ui/stream`` sends one ``audit`` event per audit record the caller may see, its data
an HTML ``<li>`` (htmx's SSE extension swaps it into the stream panel), its id the audit
event's id: a reconnecting browser sends it back as ``Last-Event-ID`` and first gets what
it missed. Everything else (the rule, the words, the following) is ``propolis.audit.stream``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from jinja2 import Environment, FileSystemLoader, select_autoescape

from propolis.audit.stream import HISTORY_PAGE, Entry, history
from propolis.core.errors import BadRequest
from propolis.core.security import Actor
from propolis.core.web import caller

router = APIRouter()

# A stream ends after this long; the browser reconnects at once (with Last-Event-ID), so
# a signed-out user or a withdrawn permission stops the flow within this delay.
STREAM_SECONDS = 300
RECONNECT_MS = 1000
MAX_HISTORY_PAGE = 500

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


_templates.filters["iso_time"] = lambda ms: _time(ms).isoformat(timespec="seconds")
_templates.filters["short_time"] = lambda ms: _time(ms).strftime("%Y-%m-%d %H:%M UTC")


def render_entry(entry: Entry) -> str:
    return _templates.get_template("stream/_entry.html").render(entry=entry)


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
    actor: Actor = Depends(caller),
    after: int | None = Depends(resume_point),
) -> AsyncIterable[ServerSentEvent]:
    """What the caller's organisation does, as it happens (text/event-stream)."""
    follower = request.app.state.stream
    async with follower.subscribe(actor, after, STREAM_SECONDS) as entries:
        # At once, so the browser (and a test) knows it is listening.
        yield ServerSentEvent(comment="listening", retry=RECONNECT_MS)
        async for entry in entries:
            yield ServerSentEvent(id=str(entry.id), event="audit", raw_data=render_entry(entry))


@router.get("/stream", response_class=HTMLResponse)
def history_page(
    request: Request,
    actor: Actor = Depends(caller),
    before: int | None = Query(None, ge=1, description="show the events older than this id"),
    limit: int = Query(HISTORY_PAGE, ge=1, le=MAX_HISTORY_PAGE),
) -> HTMLResponse:
    """The stream's history, newest first, paged back with ``before`` (no cap)."""
    with request.app.state.db.read_sessions() as session:
        entries, older = history(session, actor, before, limit)
    page = _templates.get_template("stream/history.html").render(
        entries=entries, older=older, before=before, limit=limit
    )
    return HTMLResponse(page)
