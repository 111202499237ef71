"""Case routes (spec §5), timeline and custom events (§15), shares (§17) and case archives
(§23). Thin: parse, call the service, render.

Routes with a fixed second segment (``/case/_bulk``, ``/case/link/types``...) are declared
before ``/case/{ref}`` so that they are matched first.
"""

from __future__ import annotations

from typing import IO

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from propolis import access
from propolis.cases import links, service, shares, timeline
from propolis.cases.render import render_case, render_cases, render_custom_event, render_shares
from propolis.cases.schemas import (
    CaseAccess,
    CaseApplyTemplate,
    CaseBulkAccess,
    CaseBulkUpdate,
    CaseCreate,
    CaseIds,
    CaseImportOut,
    CaseLinkCase,
    CaseLinkUrl,
    CaseOut,
    CaseOwner,
    CaseUpdate,
    CustomEventCreate,
    CustomEventOut,
    CustomEventUpdate,
    LinkedCaseOut,
    ObservablesMergeOut,
    OrganisationsIn,
    ShareOut,
    SharesIn,
    ShareUpdate,
    TimelineOut,
)
from propolis.core.errors import BadRequest, NotFound, missing
from propolis.core.validate import id_list
from propolis.core.web import (
    JSON,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    download,
    hot_write,
    is_multipart,
    multipart_body,
    no_content,
    ok,
    parsed,
)
from propolis.flows import alert_case, case_archive, case_create, case_merge, deletion
from propolis.observables import service as observables
from propolis.observables.render import render_observables
from propolis.observables.schemas import ObservableOut
from propolis.observables.service import merge_similar
from propolis.procedures.render import render_procedures

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _case(ctx: Ctx, ref: str):  # noqa: ANN202
    return service.get_case(ctx.session, ctx.actor, ref)


def _rendered(ctx: Ctx, case) -> dict:  # noqa: ANN001
    ctx.session.flush()
    return render_case(ctx.session, ctx.actor, case)


async def multipart_only(request: Request) -> Multipart:
    if not is_multipart(request):
        raise BadRequest("A multipart body with _json and file parts is required")
    return await multipart_body(request)


def uploaded_file(upload: Multipart, name: str = "file") -> bytes:
    files = upload.files.get(name) or []
    if not files:
        raise BadRequest(f"The multipart part {name!r} (a file) is missing")
    return files[0].file.read()


def uploaded_stream(upload: Multipart, name: str = "file") -> IO[bytes]:
    """The uploaded file itself (spooled to disk by the parser), for readers that stream."""
    files = upload.files.get(name) or []
    if not files:
        raise BadRequest(f"The multipart part {name!r} (a file) is missing")
    files[0].file.seek(0)
    return files[0].file


# --------------------------------------------------------------------------- fixed paths


@router.post("/case", response_model=CaseOut, status_code=201)
@hot_write
def create_case(
    data: dict = Depends(parsed(CaseCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    case = case_create.create_case(ctx.session, ctx.actor, data)
    return created(_rendered(ctx, case))


@router.patch("/case/_bulk", status_code=204)
def bulk_update(
    data: dict = Depends(parsed(CaseBulkUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.bulk_update(ctx.session, ctx.actor, data)
    return no_content()


@router.post("/case/_bulk/caseTemplate", status_code=204)
def apply_case_template(
    data: dict = Depends(parsed(CaseApplyTemplate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    case_create.apply_case_template(ctx.session, ctx.actor, data)
    return no_content()


@router.post("/case/_bulk/access", status_code=204)
def bulk_access(
    data: dict = Depends(parsed(CaseBulkAccess, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.bulk_set_access(ctx.session, ctx.actor, data)
    return no_content()


@router.post("/case/_merge/{refs}", response_model=CaseOut, status_code=201)
def merge_cases(refs: str, ctx: Ctx = Depends(context)) -> JSON:
    case = case_merge.merge_cases(ctx.session, ctx.actor, refs.split(","))
    return created(_rendered(ctx, case))


@router.get("/case/link/types", response_model=list[str])
def link_types(ctx: Ctx = Depends(context)) -> JSON:
    return ok(links.link_types(ctx.session, ctx.actor))


@router.post("/case/import", response_model=CaseImportOut)
def import_case(upload: Multipart = Depends(multipart_only), ctx: Ctx = Depends(context)) -> JSON:
    case, observables, procedures = case_archive.import_case(
        ctx.session, ctx.actor, uploaded_stream(upload), upload.json
    )
    ctx.session.flush()
    result = {
        "case": render_case(ctx.session, ctx.actor, case),
        "observables": render_observables(ctx.session, ctx.actor, observables, []),
        "procedures": render_procedures(ctx.session, ctx.actor, procedures),
        "errors": [],  # kept in the answer's shape: duplicates are merged, never refused
    }
    return ok(result)


@router.delete("/case/customField/{ref}", status_code=204)
def delete_custom_field_value(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_custom_field_value(ctx.session, ctx.actor, ref)
    return no_content()


@router.delete("/case/shares", status_code=204)
def delete_shares(
    data: dict = Depends(parsed(CaseIds, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    for ref in id_list(data, "ids"):
        shares.remove_share(ctx.session, ctx.actor, ref)
    return no_content()


@router.delete("/case/share/{ref}", status_code=204)
def delete_share(ref: str, ctx: Ctx = Depends(context)) -> Response:
    shares.remove_share(ctx.session, ctx.actor, ref)
    return no_content()


@router.patch("/case/share/{ref}", status_code=204)
def update_share(
    ref: str, data: dict = Depends(parsed(ShareUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    shares.set_share_profile(ctx.session, ctx.actor, ref, data)
    return no_content()


# --------------------------------------------------------------------------- one case


@router.get("/case/{ref}", response_model=CaseOut, status_code=200)
def get_case(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_case(ctx.session, ctx.actor, _case(ctx, ref)))


@router.patch("/case/{ref}", status_code=204)
def update_case(
    ref: str, data: dict = Depends(parsed(CaseUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_case(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.delete("/case/{ref}", status_code=204)
def delete_case(ref: str, ctx: Ctx = Depends(context)) -> Response:
    deletion.delete_case(ctx.session, ctx.actor, _case(ctx, ref))
    return no_content()


@router.delete("/case/{ref}/alert/{alert_ref}", status_code=204)
def unlink_alert(ref: str, alert_ref: str, ctx: Ctx = Depends(context)) -> Response:
    alert_case.unlink_alert(ctx.session, ctx.actor, _case(ctx, ref), alert_ref)
    return no_content()


@router.post("/case/{ref}/observable/_merge", response_model=ObservablesMergeOut)
def merge_similar_observables(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(merge_similar(ctx.session, ctx.actor, _case(ctx, ref)))


@router.get("/case/{ref}/links", response_model=list[LinkedCaseOut])
def linked_cases(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    found = links.linked_cases(ctx.session, ctx.actor, _case(ctx, ref))
    rendered = render_cases(ctx.session, ctx.actor, [case for case, _ in found], [])
    observables = render_observables(
        ctx.session, ctx.actor, [o for _, matched in found for o in matched], []
    )
    out, start = [], 0
    for item, (_case_row, matched) in zip(rendered, found, strict=True):
        item["linkedWith"] = observables[start : start + len(matched)]
        item["linksCount"] = len(matched)
        start += len(matched)
        out.append(item)
    return ok(out)


@router.get("/case/{ref}/similar/{other_ref}/observables", response_model=list[ObservableOut])
def similar_observables(ref: str, other_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    found = links.similar_observables(ctx.session, ctx.actor, _case(ctx, ref), other_ref)
    return ok(render_observables(ctx.session, ctx.actor, found, []))


@router.get(
    "/case/{ref}/export",
    response_class=Response,
    responses=download("The case archive (.thar, a zip encrypted with the password)"),
)
def export_case(ref: str, password: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    case = _case(ctx, ref)
    content = case_archive.export_case(ctx.session, ctx.actor, case, password)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="case-{case.number}.thar"'},
    )


@router.post("/case/{ref}/owner", status_code=204)
def change_owner(
    ref: str, data: dict = Depends(parsed(CaseOwner, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    service.change_owner(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.post("/case/{ref}/access", status_code=204)
def manage_access(
    ref: str, data: dict = Depends(parsed(CaseAccess, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    service.set_access(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.post("/case/{ref}/link/case/add", status_code=204)
def link_case(
    ref: str, data: dict = Depends(parsed(CaseLinkCase, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    links.add_case_link(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.post("/case/{ref}/link/case/remove", status_code=204)
def unlink_case(
    ref: str, data: dict = Depends(parsed(CaseLinkCase, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    links.remove_case_link(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.post("/case/{ref}/link/external/add", status_code=204)
def link_url(
    ref: str, data: dict = Depends(parsed(CaseLinkUrl, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    links.add_external_link(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


@router.post("/case/{ref}/link/external/remove", status_code=204)
def unlink_url(
    ref: str, data: dict = Depends(parsed(CaseLinkUrl, required=True)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    links.remove_external_link(ctx.session, ctx.actor, _case(ctx, ref), data)
    return no_content()


# --------------------------------------------------------------------------- timeline


@router.get("/case/{ref}/timeline", response_model=TimelineOut)
def get_timeline(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(timeline.timeline(ctx.session, ctx.actor, _case(ctx, ref)))


@router.post("/case/{ref}/customEvent", response_model=CustomEventOut, status_code=201)
def create_custom_event(
    ref: str,
    data: dict = Depends(parsed(CustomEventCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    event = timeline.create_custom_event(ctx.session, ctx.actor, _case(ctx, ref), data)
    return created(render_custom_event(event))


@router.get("/customEvent/{ref}", response_model=CustomEventOut, status_code=200)
def get_custom_event(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    event, _case_row = timeline.get_custom_event(ctx.session, ctx.actor, ref)
    return ok(render_custom_event(event))


@router.patch("/customEvent/{ref}", status_code=204)
def update_custom_event(
    ref: str, data: dict = Depends(parsed(CustomEventUpdate)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    timeline.update_custom_event(ctx.session, ctx.actor, ref, data)
    return no_content()


@router.delete("/customEvent/{ref}", status_code=204)
def delete_custom_event(ref: str, ctx: Ctx = Depends(context)) -> Response:
    timeline.delete_custom_event(ctx.session, ctx.actor, ref)
    return no_content()


# --------------------------------------------------------------------------- case shares


@router.get("/case/{ref}/shares", response_model=list[ShareOut])
def list_case_shares(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    # thehive4py's observable.list_shares calls this route with an observable id: a visible
    # observable has no case shares (200 []); an id the caller cannot see is a 404, as on
    # every other route (a 200 would tell that the id exists).
    case = access.find_case(ctx.session, ctx.actor, ref)
    if case is None:
        try:
            observables.get_observable(ctx.session, ctx.actor, ref)
        except NotFound:
            raise missing("Case", ref) from None
        return ok([])
    return ok(render_shares(ctx.session, shares.listed_shares(ctx.session, ctx.actor, case)))


@router.post("/case/{ref}/shares", response_model=list[ShareOut], status_code=201)
def share_case(
    ref: str, data: dict = Depends(parsed(SharesIn, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    made = shares.share_case(ctx.session, ctx.actor, _case(ctx, ref), data.get("shares"))
    return created(render_shares(ctx.session, made))


@router.put("/case/{ref}/shares", response_model=list[ShareOut], status_code=200)
def set_case_shares(
    ref: str, data: dict = Depends(parsed(SharesIn, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    case = _case(ctx, ref)
    shares.share_case(ctx.session, ctx.actor, case, data.get("shares"), replace=True)
    return ok(render_shares(ctx.session, shares.listed_shares(ctx.session, ctx.actor, case)))


@router.delete("/case/{ref}/shares", status_code=204)
def unshare_case(
    ref: str,
    data: dict = Depends(parsed(OrganisationsIn, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    orgs = shares.org_list(data)
    shares.unshare_organisations(ctx.session, ctx.actor, _case(ctx, ref), orgs)
    return no_content()


# --------------------------------------------------------------------------- task shares


@router.get("/task/{ref}/shares", response_model=list[ShareOut])
def list_task_shares(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    task, _case_row = shares.get_task(ctx.session, ctx.actor, ref)
    return ok(render_shares(ctx.session, shares.task_shares(ctx.session, ctx.actor, task)))


@router.post("/task/{ref}/shares", status_code=204)
def share_task(
    ref: str,
    data: dict = Depends(parsed(OrganisationsIn, required=True)),
    ctx: Ctx = Depends(context),
):  # noqa: ANN201
    task, case = shares.get_task(ctx.session, ctx.actor, ref)
    shares.share_task(ctx.session, ctx.actor, task, case, shares.org_list(data))
    return no_content()


@router.delete("/task/{ref}/shares", status_code=204)
def unshare_task(
    ref: str,
    data: dict = Depends(parsed(OrganisationsIn, required=True)),
    ctx: Ctx = Depends(context),
):  # noqa: ANN201
    task, case = shares.get_task(ctx.session, ctx.actor, ref)
    shares.unshare_task(ctx.session, ctx.actor, task, case, shares.org_list(data))
    return no_content()


@router.get(
    "/task/{ref}/actionRequired",
    response_model=dict[str, bool],
    responses={200: {"description": "Organisation name: whether it must act on the task"}},
)
def required_actions(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    task, _case_row = shares.get_task(ctx.session, ctx.actor, ref)
    return ok(shares.required_actions(ctx.session, task))


@router.put("/task/{ref}/actionRequired/{org}", status_code=204)
def set_action_required(ref: str, org: str, ctx: Ctx = Depends(context)) -> Response:
    task, case = shares.get_task(ctx.session, ctx.actor, ref)
    shares.set_action_required(ctx.session, ctx.actor, task, case, org, True)
    return no_content()


@router.put("/task/{ref}/actionDone/{org}", status_code=204)
def set_action_done(ref: str, org: str, ctx: Ctx = Depends(context)) -> Response:
    task, case = shares.get_task(ctx.session, ctx.actor, ref)
    shares.set_action_required(ctx.session, ctx.actor, task, case, org, False)
    return no_content()


# --------------------------------------------------------------------------- observable shares


@router.get("/observable/{ref}/shares", response_model=list[ShareOut])
def list_observable_shares(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    observable, _case_row = shares.get_case_observable(ctx.session, ctx.actor, ref)
    found = shares.observable_shares(ctx.session, ctx.actor, observable)
    return ok(render_shares(ctx.session, found))


@router.post("/observable/{ref}/shares", status_code=204)
def share_observable(
    ref: str,
    data: dict = Depends(parsed(OrganisationsIn, required=True)),
    ctx: Ctx = Depends(context),
):  # noqa: ANN201
    observable, case = shares.get_case_observable(ctx.session, ctx.actor, ref)
    shares.share_observable(ctx.session, ctx.actor, observable, case, shares.org_list(data))
    return no_content()


@router.delete("/observable/{ref}/shares", status_code=204)
def unshare_observable(
    ref: str,
    data: dict = Depends(parsed(OrganisationsIn, required=True)),
    ctx: Ctx = Depends(context),
) -> Response:
    observable, case = shares.get_case_observable(ctx.session, ctx.actor, ref)
    shares.unshare_observable(ctx.session, ctx.actor, observable, case, shares.org_list(data))
    return no_content()
