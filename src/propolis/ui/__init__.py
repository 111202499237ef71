"""The analysts' web pages: server-rendered (Jinja2), made lively with htmx.

Each module of this package with pages exposes ``router`` (routes of class
:class:`propolis.ui.web.UiRoute`); ``create_app`` adds the routes of those listed in ``UI_MODULES``."""

UI_MODULES = [
    "propolis.ui.signin",
    "propolis.ui.home",
    "propolis.ui.alerts",
    "propolis.ui.stream",
    "propolis.ui.cases",
    "propolis.ui.search",
    "propolis.ui.observables",
    "propolis.ui.tasks",
    "propolis.ui.admin",
    "propolis.ui.admin.analyzers",
    "propolis.ui.admin.users",
    "propolis.ui.admin.organisations",
    "propolis.ui.admin.profiles",
    "propolis.ui.admin.custom_fields",
    "propolis.ui.admin.observable_types",
    "propolis.ui.admin.audit",
    "propolis.ui.admin.status",
    "propolis.ui.admin.case_metrics",
    "propolis.ui.admin.case_templates",
]
