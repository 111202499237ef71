"""TheHive's query language (``POST /api/v1/query``) compiled to SQLAlchemy.

A query is a chain of operations applied left to right: an initial operation (``listAlert``,
``getCase``...) gives a set of entities of one kind; traversals (``observables``, ``tasks``...)
move to another kind; ``filter``, ``sort`` and ``page`` refine; ``count`` ends with a number.
The chain is compiled into one SQL statement (sub-selects for traversals), so the database
does the filtering, sorting and paging with its indexes; only the returned page is loaded
and rendered, in batch.

Each domain registers, at import time, an :class:`EntitySpec` (how to filter, sort and
render its entities), its initial operations and its traversals. The web pages, dashboards
and search use the same :func:`run_query`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from propolis.core.db import JsonType, parse_id
from propolis.core.errors import BadRequest
from propolis.core.security import Actor

# Field kinds: how an API value is converted and compared.
STR, INT, BOOL, LIST, ID, FLOAT = "str", "int", "bool", "list", "id", "float"


@dataclass
class Field:
    """A filterable/sortable API field: its SQL expression and its kind."""

    column: Any
    kind: str = STR


@dataclass(frozen=True)
class QueryLimits:
    """What one query may ask for (settings ``query_*``): beyond these a query is refused
    with a 400 before it reaches the database, and a statement that still runs longer than
    ``timeout_ms`` is stopped by the database."""

    max_in_values: int = 1000
    max_depth: int = 32
    max_nodes: int = 5000
    max_pattern_chars: int = 1000
    max_match_words: int = 32
    max_page_size: int = 10_000
    timeout_ms: int = 30_000

    @classmethod
    def from_settings(cls, settings: Any) -> QueryLimits:
        return cls(
            max_in_values=settings.query_max_in_values,
            max_depth=settings.query_max_depth,
            max_nodes=settings.query_max_nodes,
            max_pattern_chars=settings.query_max_pattern_chars,
            max_match_words=settings.query_max_match_words,
            max_page_size=settings.query_max_page_size,
            timeout_ms=settings.query_timeout_ms,
        )


@dataclass
class QueryContext:
    session: Session
    actor: Actor
    limits: QueryLimits = field(default_factory=QueryLimits)


Renderer = Callable[[QueryContext, list[Any], list[str]], list[dict[str, Any]]]
DynamicField = Callable[[str], "Field | None"]


@dataclass
class EntitySpec:
    name: str
    model: Any
    fields: dict[str, Field]
    render: Renderer
    # resolves dotted/dynamic names such as ``customFields.business-unit``
    dynamic: DynamicField | None = None
    default_sort: list[Any] = field(default_factory=list)

    def field(self, name: str) -> Field:
        found = self.fields.get(name)
        if found is None and self.dynamic is not None:
            found = self.dynamic(name)
        if found is None:
            raise BadRequest(f"Property {name} for type {self.name} not found")
        return found


@dataclass
class ResultSet:
    spec: EntitySpec
    stmt: Select
    sorted: bool = False
    paged: bool = False
    extra_data: list[str] = field(default_factory=list)


InitialOp = Callable[[QueryContext, dict[str, Any]], ResultSet]
TraversalOp = Callable[[QueryContext, ResultSet, dict[str, Any]], ResultSet]

ENTITIES: dict[str, EntitySpec] = {}
INITIAL_OPS: dict[str, InitialOp] = {}
TRAVERSALS: dict[tuple[str, str], TraversalOp] = {}


def register_entity(spec: EntitySpec) -> EntitySpec:
    ENTITIES[spec.name] = spec
    return spec


def initial(name: str) -> Callable[[InitialOp], InitialOp]:
    def wrap(fn: InitialOp) -> InitialOp:
        INITIAL_OPS[name] = fn
        return fn

    return wrap


def traversal(entity: str, name: str) -> Callable[[TraversalOp], TraversalOp]:
    def wrap(fn: TraversalOp) -> TraversalOp:
        TRAVERSALS[(entity, name)] = fn
        return fn

    return wrap


def ids_of(result: ResultSet) -> Select:
    """The ids of a result set, as a sub-select usable in ``IN (...)`` by a traversal."""
    return result.stmt.with_only_columns(result.spec.model.id).order_by(None)


def meta_fields(model: Any) -> dict[str, Field]:
    return {
        "_id": Field(model.id, ID),
        "_createdAt": Field(model.created_at, INT),
        "_createdBy": Field(model.created_by),
        "_updatedAt": Field(model.updated_at, INT),
        "_updatedBy": Field(model.updated_by),
    }


# --------------------------------------------------------------------------- running


@dataclass
class QueryResult:
    value: list[dict[str, Any]] | int
    total: int | None = None


def run_query(
    ctx: QueryContext, operations: list[dict[str, Any]], exclude: list[str] | None = None
) -> QueryResult:
    if not isinstance(operations, list) or not operations:
        raise BadRequest("query must be a non-empty list of operations")
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("_name"), str):
            raise BadRequest("each query operation needs a _name")
    _check_size(operations, ctx.limits)
    with statement_timeout(ctx.session, ctx.limits.timeout_ms):
        return _run(ctx, operations, exclude)


def _run(
    ctx: QueryContext, operations: list[dict[str, Any]], exclude: list[str] | None
) -> QueryResult:
    first, rest = operations[0], operations[1:]
    starter = INITIAL_OPS.get(first["_name"])
    if starter is None:
        raise BadRequest(f"Unknown or misplaced query operation {first['_name']}")
    result = starter(ctx, first)
    total: int | None = None
    for index, op in enumerate(rest):
        name = op["_name"]
        if name == "count":
            if index != len(rest) - 1:
                raise BadRequest("count must be the last operation")
            return QueryResult(_count(ctx, result))
        if name == "limitedCount":
            return QueryResult(min(_count(ctx, result), _count_limit(op)))
        if name == "page" and "total" in (op.get("extraData") or []):
            total = _count(ctx, result)
        result = _apply(ctx, result, op)
    rows = ctx.session.scalars(_ordered(result)).all()
    rendered = result.spec.render(ctx, list(rows), result.extra_data)
    if exclude:
        rendered = [{k: v for k, v in item.items() if k not in exclude} for item in rendered]
    return QueryResult(rendered, total)


def _count_limit(op: dict[str, Any]) -> int:
    limit = op.get("limit", 10000)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit < 2**63:
        raise BadRequest("limitedCount needs an integer limit between 0 and 2^63")
    return limit


def _check_size(value: Any, limits: QueryLimits) -> None:
    """Refuse a query too deep or too large before compiling it (each node costs SQL)."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > limits.max_depth:
            raise BadRequest(f"The query is nested deeper than {limits.max_depth} levels")
        if nodes > limits.max_nodes:
            raise BadRequest(f"The query has more than {limits.max_nodes} elements")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


@contextmanager
def statement_timeout(session: Session, timeout_ms: int) -> Iterator[None]:
    """Stop the database work of a query that runs longer than ``timeout_ms``: PostgreSQL's
    ``statement_timeout`` for the transaction; on SQLite a progress handler that aborts the
    running statement. Either way the caller gets a 400, not a 500 (and so does a query the
    database finds too complex to parse)."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    raw = connection.connection.dbapi_connection
    if timeout_ms > 0 and postgres:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    elif timeout_ms > 0:
        deadline = time.monotonic() + timeout_ms / 1000
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    except DBAPIError as exc:
        refusal = _refusal(exc, timeout_ms)
        if refusal is None:
            raise
        raise refusal from exc
    finally:
        if timeout_ms > 0 and not postgres:
            raw.set_progress_handler(None, 0)


def _refusal(exc: DBAPIError, timeout_ms: int) -> BadRequest | None:
    """The 400 for a database error the query itself caused, None for any other."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig)
    if sqlstate == "57014" or "interrupted" in text:  # query_canceled / progress handler
        return BadRequest(f"The query ran longer than {timeout_ms} ms: narrow it down")
    if sqlstate in ("54000", "54001") or "too large" in text or "too many" in text:
        return BadRequest(f"The query is too complex for the database: {text.splitlines()[0]}")
    return None


def _apply(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    name = op["_name"]
    if name == "filter":
        expr = {k: v for k, v in op.items() if k != "_name"}
        return _with(result, result.stmt.where(compile_filter(result.spec, expr, ctx.limits)))
    if name in ("sort", "_sort"):
        return _sort(result, op)
    if name == "page":
        return _page(result, op, ctx.limits)
    step = TRAVERSALS.get((result.spec.name, name))
    if step is None:
        raise BadRequest(f"Operation {name} is not applicable to {result.spec.name}")
    if result.paged or result.sorted:
        # Keep the paged/sorted slice as the traversal's source set.
        inner = _ordered(result).subquery()
        model = result.spec.model
        result = ResultSet(result.spec, select(model).where(model.id.in_(select(inner.c.id))))
    return step(ctx, result, op)


def _with(result: ResultSet, stmt: Select) -> ResultSet:
    return ResultSet(result.spec, stmt, result.sorted, result.paged, result.extra_data)


def _ordered(result: ResultSet) -> Select:
    if result.sorted:
        return result.stmt
    spec = result.spec
    order = spec.default_sort or [spec.model.created_at.asc(), spec.model.id.asc()]
    return result.stmt.order_by(*order)


def _count(ctx: QueryContext, result: ResultSet) -> int:
    sub = result.stmt.order_by(None).subquery()
    return int(ctx.session.execute(select(func.count()).select_from(sub)).scalar_one())


def _sort(result: ResultSet, op: dict[str, Any]) -> ResultSet:
    items = op.get("_fields", op.get("fields"))
    if not isinstance(items, list):
        raise BadRequest("sort needs _fields: [{field: asc|desc}]")
    clauses = []
    id_column = result.spec.model.id
    tie_break = id_column.asc()
    for item in items:
        for name, direction in _sort_items(item):
            col = result.spec.field(name).column
            if col is id_column:
                tie_break = None  # already ordered by id: a second key would defeat the index
            if direction not in ("asc", "desc"):
                raise BadRequest(f"Invalid sort direction {direction}")
            if _nullable(col):
                # entities lacking the field sort last, whatever the direction (only where
                # the field can be missing: the extra key would keep indexes from serving
                # the ORDER BY)
                clauses.append(col.is_(None).asc())
            clauses.append(col.asc() if direction == "asc" else col.desc())
            if tie_break is not None:
                # Equal values keep a stable order (paging neither skips nor repeats); in
                # the last key's direction, so an index on (..., that key) ending with the
                # row id serves the whole ORDER BY without sorting.
                tie_break = id_column.asc() if direction == "asc" else id_column.desc()
    if tie_break is not None:
        clauses.append(tie_break)
    stmt = result.stmt.order_by(None).order_by(*clauses)
    return ResultSet(result.spec, stmt, True, result.paged, result.extra_data)


def _nullable(column: Any) -> bool:
    try:
        return any(c.nullable for c in column.property.columns)
    except AttributeError:  # an expression, not a mapped column
        return True


def _sort_items(item: Any) -> list[tuple[str, str]]:
    if isinstance(item, str):
        if item.startswith("-"):
            return [(item[1:], "desc")]
        return [(item.lstrip("+"), "asc")]
    if isinstance(item, dict):
        return [(k, str(v).lower()) for k, v in item.items()]
    raise BadRequest(f"Invalid sort item {item!r}")


def _page(result: ResultSet, op: dict[str, Any], limits: QueryLimits) -> ResultSet:
    try:
        start = int(op.get("from", 0))
        end = int(op["to"]) if op.get("to") is not None else None
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRequest("page from/to must be integers") from exc
    if not 0 <= start < 2**63 or (end is not None and not start <= end < 2**63):
        raise BadRequest("Invalid page bounds: 0 <= from <= to < 2^63")
    if end is not None and end - start > limits.max_page_size:
        raise BadRequest(f"A page holds at most {limits.max_page_size} items")
    stmt = _ordered(result).offset(start)
    if end is not None:
        stmt = stmt.limit(end - start)
    extra = op.get("extraData") or []
    if not isinstance(extra, list):
        raise BadRequest("extraData must be a list")
    return ResultSet(result.spec, stmt, True, True, [str(x) for x in extra])


# --------------------------------------------------------------------------- filters

_COMPARATORS = {"_lt": "__lt__", "_gt": "__gt__", "_lte": "__le__", "_gte": "__ge__"}


def compile_filter(
    spec: EntitySpec, expr: Any, limits: QueryLimits = QueryLimits()
) -> ColumnElement[bool]:
    if not isinstance(expr, dict):
        raise BadRequest(f"Invalid filter {expr!r}")
    if not expr:
        return true()
    if len(expr) > 1:
        return and_(*(compile_filter(spec, {k: v}, limits) for k, v in expr.items()))
    ((key, value),) = expr.items()
    if key == "_and":
        return and_(true(), *(compile_filter(spec, e, limits) for e in _as_list(value)))
    if key == "_or":
        return or_(false(), *(compile_filter(spec, e, limits) for e in _as_list(value)))
    if key == "_not":
        return not_(compile_filter(spec, value, limits))
    if key == "_any":
        return true()
    if key == "_string":
        # TheHive's Lucene query strings: matching everything instead would hand back
        # what the caller meant to exclude.
        raise BadRequest("The _string filter is not supported: use _like, _match or _eq")
    if key == "_id":
        return _eq(spec.field("_id"), value)
    if key in ("_has", "_contains") and isinstance(value, str):
        return _has(spec.field(value))
    if key == "_contains":
        name, val = _field_value(value)
        return _eq(spec.field(name), val)
    if key in ("_eq", "_is"):
        name, val = _field_value(value)
        return _eq(spec.field(name), val)
    if key == "_ne":
        name, val = _field_value(value)
        f = spec.field(name)
        return or_(not_(_eq(f, val)), f.column.is_(None)) if f.kind != LIST else not_(_eq(f, val))
    if key in _COMPARATORS:
        name, val = _field_value(value)
        f = spec.field(name)
        return _compare(f, _COMPARATORS[key], val)
    if key == "_between":
        f = spec.field(_need(value, "_field"))
        return and_(
            _compare(f, "__ge__", _need(value, "_from")), _compare(f, "__lt__", _need(value, "_to"))
        )
    if key == "_in":
        f = spec.field(_need(value, "_field"))
        values = _need(value, "_values")
        if not isinstance(values, list):
            raise BadRequest("_in needs a list in _values")
        if len(values) > limits.max_in_values:
            raise BadRequest(f"_in takes at most {limits.max_in_values} values")
        return _in(f, values)
    if key in ("_startsWith", "_endsWith", "_like", "_wildcard", "_match"):
        name, val = _field_value(value)
        return _text_match(spec.field(name), key, _pattern(key, val, limits))
    if key.startswith("_"):
        raise BadRequest(f"Unknown filter operator {key}")
    # deprecated short form {"title": "x"}
    return _eq(spec.field(key), value)


def _pattern(op: str, value: Any, limits: QueryLimits) -> str:
    text = str(value)
    if len(text) > limits.max_pattern_chars:
        raise BadRequest(f"{op} takes at most {limits.max_pattern_chars} characters")
    if op == "_match" and len([t for t in _tokens(text) if t]) > limits.max_match_words:
        raise BadRequest(f"_match takes at most {limits.max_match_words} words")
    return text


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest("_and/_or need a list")
    return value


def _need(obj: Any, key: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadRequest(f"filter is missing {key}")
    return obj[key]


def _field_value(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict) and "_field" in value:
        return str(value["_field"]), value.get("_value")
    if isinstance(value, dict) and len(value) == 1:  # deprecated {"_eq": {"title": "x"}}
        ((k, v),) = value.items()
        return str(k), v
    raise BadRequest(f"Invalid filter operand {value!r}")


def _convert(f: Field, value: Any) -> Any:
    """Convert an API value to the column's type; None means "can never match"."""
    if f.kind == ID:
        return parse_id(value) if isinstance(value, str) else None
    if f.kind in (INT, FLOAT):
        if isinstance(value, bool):
            return None
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            return None  # beyond any stored integer (and beyond what databases accept)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, dict):  # relative dates are accepted by TheHive
            return _relative_date(value)
        try:
            number = int(value) if f.kind == INT else float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return number if -(2**63) <= number < 2**63 else None
    if f.kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _relative_date(value: dict[str, Any]) -> int | None:
    from datetime import UTC, datetime, timedelta

    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
    try:
        amount = float(value.get("amount", 0)) * units[str(value.get("unit", "days"))]
    except KeyError:
        return None
    delta = timedelta(seconds=amount)
    now = datetime.now(UTC)
    at = now - delta if value.get("look", "behind") == "behind" else now + delta
    if value.get("modifier") == "startOfDay":
        at = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(at.timestamp() * 1000)


def _eq(f: Field, value: Any) -> ColumnElement[bool]:
    if f.kind == LIST:
        if value is None:
            return false()
        return json_list_contains(f.column, value if isinstance(value, str) else str(value))
    converted = _convert(f, value)
    if converted is None:
        return f.column.is_(None) if value is None and f.kind != ID else false()
    return f.column == converted


def _in(f: Field, values: list[Any]) -> ColumnElement[bool]:
    """``_eq`` on any of ``values``: one SQL ``IN`` (a chain of ORs this long would be too
    deep an expression for SQLite's parser)."""
    if f.kind == LIST:
        return or_(false(), *(_eq(f, v) for v in values))
    converted = [c for c in (_convert(f, v) for v in values if v is not None) if c is not None]
    clauses = [f.column.in_(converted)] if converted else []
    if f.kind != ID and any(v is None for v in values):
        clauses.append(f.column.is_(None))
    return or_(false(), *clauses)


def _compare(f: Field, op: str, value: Any) -> ColumnElement[bool]:
    converted = _convert(f, value)
    if converted is None or f.kind == LIST:
        return false()
    return getattr(f.column, op)(converted)


def _has(f: Field) -> ColumnElement[bool]:
    if f.kind == LIST:
        return _JsonNotEmpty(f.column)
    return f.column.isnot(None)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_match(f: Field, op: str, value: str) -> ColumnElement[bool]:
    if f.kind == LIST:
        if op == "_match":
            return json_list_contains(f.column, value)
        return false()
    col = f.column
    if op == "_startsWith":
        return col.ilike(_escape_like(value) + "%", escape="\\")
    if op == "_endsWith":
        return col.ilike("%" + _escape_like(value), escape="\\")
    if op == "_match":
        tokens = [t for t in _tokens(value) if t]
        if not tokens:
            return false()
        return and_(*(col.ilike("%" + _escape_like(t) + "%", escape="\\") for t in tokens))
    # _like / _wildcard: TheHive 4 '*' wildcards at the ends, else substring
    core = value.strip("*")
    pattern = "%" + _escape_like(core) + "%"
    if value.startswith("*") and not value.endswith("*"):
        pattern = "%" + _escape_like(core)
    elif value.endswith("*") and not value.startswith("*"):
        pattern = _escape_like(core) + "%"
    return col.ilike(pattern, escape="\\")


def _tokens(text: str) -> list[str]:
    import re

    return [t.lower() for t in re.split(r"[^0-9A-Za-z]+", text)]


def json_list_contains(column: Any, value: str) -> ColumnElement[bool]:
    """True when the JSON array ``column`` has an element equal to ``value``.

    Rendered per dialect: ``@>`` on PostgreSQL's JSONB (GIN-indexable), ``json_each`` on
    SQLite."""
    return _JsonContains(column, value)


from sqlalchemy.ext.compiler import compiles  # noqa: E402
from sqlalchemy.sql.expression import ColumnElement as _CE  # noqa: E402
from sqlalchemy.types import Boolean as _Boolean  # noqa: E402


class _JsonContains(_CE):
    inherit_cache = False
    type = _Boolean()

    def __init__(self, column: Any, value: str) -> None:
        self.column = column
        self.value = value


@compiles(_JsonContains)
def _json_contains_sqlite(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    val = compiler.process(literal(element.value), **kw)
    return f"EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value = {val})"


@compiles(_JsonContains, "postgresql")
def _json_contains_pg(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    # The JSON type serialises the bound list itself (pre-serialising would bind a string).
    val = compiler.process(literal([element.value], JsonType), **kw)
    return f"({col} @> CAST({val} AS JSONB))"


class _JsonNotEmpty(_CE):
    inherit_cache = False
    type = _Boolean()

    def __init__(self, column: Any) -> None:
        self.column = column


@compiles(_JsonNotEmpty)
def _json_not_empty_sqlite(element: _JsonNotEmpty, compiler: Any, **kw: Any) -> str:
    return f"(json_array_length({compiler.process(element.column, **kw)}) > 0)"


@compiles(_JsonNotEmpty, "postgresql")
def _json_not_empty_pg(element: _JsonNotEmpty, compiler: Any, **kw: Any) -> str:
    return f"(jsonb_array_length({compiler.process(element.column, **kw)}) > 0)"


def exists_in(subquery_where: Any) -> ColumnElement[bool]:
    return exists(subquery_where)
