"""The Starlette application behind `dgm serve`: pages read the run's archive per request
(the light sqlite3 Reader), verdicts go through the review package's one verdict rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dgm.web.auth import COOKIE, Access

HERE = Path(__file__).parent
QUEUE_PAGE = 50


class _TokenGate(BaseHTTPMiddleware):
    """Every page needs the access token; the URL's token is swapped for a cookie at once."""

    def __init__(self, app: Any, access: Access) -> None:
        super().__init__(app)
        self.access = access

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/static/"):
            return await call_next(request)
        presented = request.query_params.get("token")
        if presented is not None and self.access.allows(presented):
            rest = {k: v for k, v in request.query_params.items() if k != "token"}
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.access.token, httponly=True, samesite="strict")
            return response
        if not self.access.allows(request.cookies.get(COOKIE)):
            return PlainTextResponse("Forbidden: open the URL that 'dgm serve' printed (it carries the access token).", 403)
        return await call_next(request)


def create_app(run_dir: Path, access: Access) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["csrf"] = access.csrf
    templates.env.filters["score"] = lambda v: "-" if v is None else f"{v:.3f}"
    templates.env.filters["delta"] = lambda v: "" if v is None else f"{v:+.3f}"
    info = _run_info(run_dir)

    def reader() -> Any:
        from dgm.archive import Reader

        return Reader.open(run_dir)

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"run": info, "message": request.query_params.get("msg", ""), **context})

    async def lineage(request: Request) -> HTMLResponse:
        from dgm.review.gate import latest_verdicts
        from dgm.web.lineage import layout

        with reader() as archive:
            agents = archive.agents()
            best = archive.best()
            verdicts = latest_verdicts(archive.reviews())
        drawn = layout(agents, verdicts, best.id if best else None)
        return page(request, "lineage.html", lineage=drawn, best=best, total=len(agents))

    async def agent(request: Request) -> HTMLResponse:
        from dgm.archive.errors import UnknownAgentError

        from dgm.review.queue import load_packet
        from dgm.web.diffview import side_by_side

        try:
            with reader() as archive:
                packet = load_packet(archive, request.path_params["agent_id"])
        except UnknownAgentError as exc:
            return HTMLResponse(templates.get_template("error.html").render(run=info, message=str(exc)), 404)
        return page(request, "agent.html", p=packet, files=side_by_side(packet.diff, packet.line_notes))

    async def queue(request: Request) -> HTMLResponse:
        from dgm.review.flags import flags_for_agent
        from dgm.review.queue import awaiting_review, score_change

        with reader() as archive:
            waiting = awaiting_review(archive)
            shown = waiting[:QUEUE_PAGE]
            scores = {a.id: a.score for a in archive.agents()}
            rows = [(a, score_change(a.score, scores.get(a.parent_id)), flags_for_agent(archive, a)) for a in shown]
        return page(request, "queue.html", rows=rows, total=len(waiting))

    async def verdict(request: Request) -> Response:
        form = await request.form()
        token = form.get("csrf")
        if not access.write_allowed(token if isinstance(token, str) else None, request.headers.get("origin"), request.headers.get("host")):
            return PlainTextResponse("Forbidden: a write needs this server's page (CSRF token and Origin).", 403)
        from dgm.archive import Archive
        from dgm.archive.errors import ArchiveError

        from dgm.errors import DgmError
        from dgm.review.verdicts import record_verdict

        agent_id = request.path_params["agent_id"]
        action = str(form.get("verdict", ""))
        note = str(form.get("note", "")).strip()
        file = str(form.get("file", "")).strip() or None
        line = int(str(form["line"])) if str(form.get("line", "")).isdigit() else None
        back = str(form.get("back", "")) or f"/agent/{quote(agent_id)}"
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        if action not in ("approve", "reject", "note") or (action == "note" and not note):
            return RedirectResponse(_with_msg(back, "a note needs text" if action == "note" else "unknown action"), 303)
        try:
            with Archive.open(run_dir) as archive:
                outcome = record_verdict(archive, agent_id, action, note, force=form.get("force") == "1", file=file, line=line)
        except (DgmError, ArchiveError) as exc:
            return RedirectResponse(_with_msg(back, str(exc)), 303)
        done = {"approve": "approved", "reject": "rejected", "note": "noted"}[action]
        said = f"{agent_id} {done}" if outcome.recorded else f"{agent_id} was already {done}"
        if outcome.changed:
            said += f" (replacing {outcome.previous})"
        return RedirectResponse(_with_msg(back, said), 303)

    async def progress(request: Request) -> HTMLResponse:
        return page(request, "progress.html")

    async def status_json(request: Request) -> JSONResponse:
        from dgm.archive import Archive

        from dgm.loop.lock import running_daemon
        from dgm.config import load_config
        from dgm.loop.progress import take_snapshot

        with Archive.open(run_dir, readonly=True) as store:
            snap = take_snapshot(store, load_config(run_dir / "run.toml"), n_events=15)
        return JSONResponse({**dataclasses.asdict(snap), "daemon_running": running_daemon(run_dir) is not None})

    routes = [
        Route("/", lineage),
        Route("/agent/{agent_id}", agent),
        Route("/agent/{agent_id}/verdict", verdict, methods=["POST"]),
        Route("/queue", queue),
        Route("/progress", progress),
        Route("/api/status", status_json),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_TokenGate, access=access)])


def _with_msg(path: str, message: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{urlencode({'msg': message})}"


@dataclasses.dataclass(frozen=True)
class RunInfo:
    name: str
    model: str
    dry_run: bool
    config_text: str


def _run_info(run_dir: Path) -> RunInfo:
    from dgm.config import load_config

    config = load_config(run_dir / "run.toml")
    return RunInfo(config.name, config.model.name or "scripted (dry run)", config.model.is_dry_run, (run_dir / "run.toml").read_text())
