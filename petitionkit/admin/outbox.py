"""The outbox in the workspace (owners): its health, the dead jobs with their reasons, replay.

A dead job's reason is what the worker recorded: the error's class and SMTP or HTTP code, never
a server's reply text (which often quotes the recipient's address), so nothing here names a
signer.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.extensions import db
from petitionkit.outbox import services

ACTION_NAMES.update({"jobs replayed": _l("outbox jobs replayed")})
SHOWN = 200


@bp.route("/outbox", methods=["GET"])
@require_role("owner")
def outbox() -> Any:
    session = db.session()
    health = services.stats(session)
    dead = services.newest_dead_jobs(session, SHOWN)
    return render_template("admin/outbox.html", health=health, dead=dead, shown=SHOWN,
                           replayed=request.args.get("replayed", type=int))


@bp.route("/outbox/replay", methods=["POST"])
@require_role("owner")
def replay() -> Any:
    if request.form.get("all") == "1":
        job_ids = None
    else:
        job_ids = sorted({int(value) for value in request.form.getlist("job")[:SHOWN]
                          if value.isascii() and value.isdigit() and len(value) < 12})
    replayed = services.replay_by(db.session(), job_ids, current_user.email)
    return redirect(url_for("admin.outbox", replayed=replayed), code=303)
