"""Imports every table so that ``Base.metadata`` is complete (Alembic, bootstrap)."""

from propolis.alerts.models import *  # noqa: F403
from propolis.analysis.models import *  # noqa: F403
from propolis.attachments.models import *  # noqa: F403
from propolis.cases.models import *  # noqa: F403
from propolis.casetemplates.models import *  # noqa: F403
from propolis.comments.models import *  # noqa: F403
from propolis.core.db import Base, id_counter  # noqa: F401
from propolis.core.events import AuditEvent  # noqa: F401
from propolis.fields.models import *  # noqa: F403
from propolis.observables.models import *  # noqa: F403
from propolis.orgs.models import *  # noqa: F403
from propolis.pages.models import *  # noqa: F403
from propolis.procedures.models import *  # noqa: F403
from propolis.tasks.models import *  # noqa: F403
from propolis.users.models import *  # noqa: F403

metadata = Base.metadata
