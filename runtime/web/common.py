"""What every web face shares: settings, database session per request, templates with the
GOV.UK Frontend macros, CSRF, htmx, hardened cookies, security headers, asset routes and the
error handlers.

Nothing here is a face's own: each face (citizen runtime, builder, back office) passes a
:class:`Face` naming its templates folder, its layouts and the words on its error pages.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, g, render_template, request, send_from_directory
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from htmx_flask import Htmx
from itsdangerous import BadSignature
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from ..db import StatementSession, make_autocommit_engine, make_engine
from ..db import session as new_session
from ..services import unit_of_work
from ..settings import Settings, from_environment
from ..validation import UnsafeDefinition
from . import fastmacros
from .fastmacros import FastMacroLoader
from .journey_pages import BlankQuestions, ReusedPages

HERE = Path(__file__).parent
STATIC = HERE / "static"
DIST = STATIC / "dist"

csrf = CSRFProtect()
htmx = Htmx()

SHARED_TEMPLATES = HERE / "templates"


class SignedSession(SecureCookieSession):
    """The session cookie's contents, and when the cookie was signed (None: a new session)."""

    signed_at: int | None = None


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie session, re-signed at most once a minute when unchanged.

    Flask signs and sends a permanent session's cookie again on every response, to push its
    expiry back (SESSION_REFRESH_EACH_REQUEST). Here an unchanged cookie is sent again only when
    it was signed a minute ago or more, as ``form_sessions.keep_alive`` moves the form session's expiry;
    a changed session is always sent. The cookie (and the signature's own max age) still runs
    out PERMANENT_SESSION_LIFETIME after the citizen's last pages, give or take that minute.
    """

    session_class = SignedSession
    REFRESH_AFTER_SECONDS = 60

    _signer: tuple[tuple[Any, ...], Any] = ((), None)

    def get_signing_serializer(self, app: Flask) -> Any:
        """Flask's serializer, made once per app and keys rather than on every request (it
        is immutable: its keys, salt and signer are fixed when it is made)."""
        keys = (id(app), app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made_for, serializer = self._signer
        if made_for != keys or serializer is None:
            serializer = super().get_signing_serializer(app)
            self._signer = (keys, serializer)
        return serializer

    def open_session(self, app: Flask, request: Any) -> SignedSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:  # a bad or expired signature: a new session, as Flask does
            return self.session_class()
        opened = self.session_class(data)
        opened.signed_at = int(signed_at.timestamp())
        return opened

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or time.time() - signed_at >= self.REFRESH_AFTER_SECONDS


class StaticFingerprints:
    """The stylesheets and scripts under ``static/``, each at a name with its content's hash
    (``dist/css/civicforms.1a2b3c4d5e6f.css``), read and hashed once when the app is made.

    A hashed name always means that content, so it is cached for a year ("immutable"); a new
    build gives a file a new name, and pages (never cached) name the new one at once. An old
    hash is not found (404) rather than answered with other content. Our own module scripts
    (``js/``) import others by relative path: those imports are rewritten to the hashed names
    before the importing script is hashed, so a change anywhere gives a new name up the chain.
    """

    PATTERNS = ("dist/css/*.css", "dist/js/*.js", "js/*.js")
    HASHED = re.compile(r"(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<ext>\.(?:css|js))")
    _IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}/[^'"\s]+)\2""")

    def __init__(self, root: Path):
        self.root = root
        self.url_names: dict[str, str] = {}  # "dist/css/civicforms.css" -> "dist/css/civicforms.<hash>.css"
        self.files: dict[str, tuple[bytes, str]] = {}  # hashed name -> (content, hash)
        for pattern in self.PATTERNS:  # dist first: js/ imports from it
            for path in sorted(root.glob(pattern)):
                name = path.relative_to(root).as_posix()
                content = path.read_bytes()
                if name.startswith("js/"):
                    content = self._hashed_imports(name, content)
                digest = hashlib.sha256(content).hexdigest()[:12]
                stem, ext = posixpath.splitext(name)
                hashed = f"{stem}.{digest}{ext}"
                self.url_names[name] = hashed
                self.files[hashed] = (content, digest)

    def _hashed_imports(self, name: str, content: bytes) -> bytes:
        folder = posixpath.dirname(name)

        def rename(match: re.Match[str]) -> str:
            target = posixpath.normpath(posixpath.join(folder, match.group(3)))
            hashed = self.url_names.get(target)
            if hashed is None:
                return match.group(0)
            relative = posixpath.relpath(hashed, folder)
            relative = relative if relative.startswith(".") else "./" + relative
            return f"{match.group(1)}{match.group(2)}{relative}{match.group(2)}"

        return self._IMPORT.sub(rename, content.decode("utf-8")).encode("utf-8")

    def is_stale(self, filename: str) -> bool:
        """A hashed name of one of these files, with a hash that is not the current one."""
        match = self.HASHED.fullmatch(filename)
        return match is not None and f"{match['stem']}{match['ext']}" in self.url_names


def _install_static(app: Flask, root: Path) -> None:
    """``url_for('static', ...)`` gives hashed names; the static route serves them for a year."""
    fingerprints = StaticFingerprints(root)
    app.extensions["civicforms.static_fingerprints"] = fingerprints

    @app.url_defaults
    def _hashed_name(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static":
            filename = values.get("filename")
            if isinstance(filename, str):
                values["filename"] = fingerprints.url_names.get(filename, filename)

    def static(filename: str) -> Response:
        found = fingerprints.files.get(filename)
        if found is not None:
            content, digest = found
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = Response(content, mimetype="text/javascript" if filename.endswith(".js") else mimetype)
            response.set_etag(digest)
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.make_conditional(request)
            return response
        if fingerprints.is_stale(filename):
            abort(404)  # an older build's name: never this build's content under it
        response = send_from_directory(root, filename)
        # Unhashed names (and source maps, images) may change under the same name: the browser
        # revalidates (ETag) on each use instead of keeping an old copy for an hour.
        response.cache_control.no_cache = True
        response.cache_control.max_age = None
        return response

    app.view_functions["static"] = static


@dataclass(frozen=True)
class Face:
    """What one web face brings to the shared shell: its own templates and error wording."""

    name: str
    # Searched first, so the face's own layout, fragment and error page win; the shared
    # templates (the page skeleton, components/question.html) and GOV.UK Frontend's macros after.
    templates: Path
    # {status: (title, message)}; a status without words here gets werkzeug's name and description.
    error_texts: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    # (title, message) for a post whose CSRF token is missing or wrong.
    csrf_error: tuple[str, str] = (
        "Your page could not be sent",
        "This can happen if you left the page open for a long time or your browser blocked cookies. "
        "Go back, refresh the page and try again.",
    )
    # (title, message) for a service whose stored definition the runtime refuses to compile, or
    # while the database cannot be reached.
    unavailable: tuple[str, str] = (
        "Sorry, this service is unavailable",
        "This service cannot be used at the moment. We have been told about the problem. Try again later.",
    )
    layout: str = "layout.html"
    fragment: str = "fragment.html"
    error_template: str = "errors/error.html"


def create_base_app(import_name: str, face: Face, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app with everything the faces share; the caller adds its blueprints."""
    config = dict(config or {})
    settings: Settings = config.pop("SETTINGS", None) or from_environment()
    static_root = Path(config.pop("STATIC_FOLDER", STATIC))  # a test's copy of the assets
    app = Flask(import_name, static_folder=str(static_root), template_folder=str(face.templates))
    _install_static(app, static_root)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_post_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_post_bytes,
        SESSION_COOKIE_NAME="civicforms_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.session_timeout_minutes * 60,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session cookie
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.config.update(config)
    app.extensions["civicforms.settings"] = settings
    app.extensions["civicforms.face"] = face
    app.session_interface = SessionCookie()
    url = app.config.get("DATABASE_URL", settings.database_url)
    engine = make_engine(url)
    app.extensions["civicforms.engine"] = engine
    # Requests whose statements each stand alone (one_statement_at_a_time): question pages.
    autocommit = make_autocommit_engine(url, durable_commits=settings.flush_every_answer)
    app.extensions["civicforms.autocommit_engine"] = autocommit
    app.extensions["civicforms.engines"] = (engine, autocommit)
    loaders: list[BaseLoader] = [FileSystemLoader(str(face.templates))]
    if face.templates.resolve() != SHARED_TEMPLATES.resolve():
        loaders.append(FileSystemLoader(str(SHARED_TEMPLATES)))
    # GOV.UK Frontend's macros, served with their imports hoisted and govukAttributes in Python
    # (runtime.web.fastmacros: the same HTML, without the per-call imports).
    loaders.append(PrefixLoader({"govuk_frontend_jinja": FastMacroLoader(PackageLoader("govuk_frontend_jinja"))}))
    app.jinja_loader = ChoiceLoader(loaders)
    fastmacros.install(app.jinja_env)
    # Templates compiled once per process, not once per app (the development server's faces).
    app.jinja_env.bytecode_cache = fastmacros.SHARED_COMPILED_TEMPLATES
    # Questions with no answer and no error, rendered once per definition version.
    app.extensions["civicforms.blank_questions"] = BlankQuestions()
    # Whole pages that are the same for everyone shown them (blank question pages).
    app.extensions["civicforms.reused_pages"] = ReusedPages()
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    csrf.init_app(app)
    htmx.init_app(app)

    @app.before_request
    def _undecodable_post() -> None:
        """A form must arrive as UTF-8. Werkzeug turns other bytes in a multipart field into
        U+FFFD (a urlencoded body that is not UTF-8 parses as empty, and fails CSRF): refuse
        the post rather than keep mangled text."""
        if request.method == "POST" and request.mimetype == "multipart/form-data":
            if any("\ufffd" in value for _, value in request.form.items(multi=True)):
                abort(400)

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.context_processor
    def _branding() -> dict[str, Any]:
        return {"settings": settings, "csp_nonce": csp_nonce()}

    @app.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response, settings)

    @app.get("/assets/<path:filename>")
    def assets(filename: str) -> Response:
        """GOV.UK Frontend's fonts and images, at the path its stylesheet expects."""
        return send_from_directory(DIST / "assets", filename)

    @app.get("/brand.css")
    def brand_css() -> Response:
        """The organisation's colour from settings (checked for contrast when read)."""
        css = f":root {{ --cf-brand-colour: {settings.brand_colour}; }}\n"
        response = Response(css, mimetype="text/css")
        response.cache_control.max_age = 300
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return error_page(*face.csrf_error, status=400)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        title, message = face.error_texts.get(code, (error.name, error.description or ""))
        return error_page(title, message, status=code)

    @app.errorhandler(UnsafeDefinition)
    def _unsafe_definition(error: UnsafeDefinition) -> tuple[str, int]:
        # A stored definition that never passed today's checker (published before a rule
        # existed): refused when compiled, in milliseconds. One line for IT naming the service,
        # its version and the rule (never answers); a page, not a traceback, for the visitor.
        app.logger.error("service not served: %s (run civicforms validate on its file)", error)
        db = g.get("db")
        if db is not None:
            unit_of_work.discard(db)
        return error_page(*face.unavailable, status=503)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(error: DBAPIError) -> Response:
        # The database is down, restarting or refusing connections (the pool's pre-ping finds
        # dead connections, but not a server that is still away): a 503 that says to try again
        # soon, and one line in the log instead of a traceback per request during an outage.
        cause = error.orig or error
        lines = str(cause).strip().splitlines()
        app.logger.error("database unavailable: %s: %s", type(cause).__name__, lines[0][:200] if lines else "")
        db = g.get("db")
        if db is not None:
            unit_of_work.discard(db)  # the connection may be gone: the pool replaces it
        body, status = error_page(*face.unavailable, status=503)
        response = Response(body, status, mimetype="text/html")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        db = g.get("db")
        if db is not None:
            unit_of_work.discard(db)
        title, message = face.error_texts.get(500, ("Sorry, there is a problem", "Try again later."))
        return error_page(title, message, status=500)

    return app


def error_page(title: str, message: str, status: int) -> tuple[str, int]:
    """The face's own error page (its template, its layout) with these words."""
    return render_template(face().error_template, title=title, message=message), status


def face() -> Face:
    """The face serving this request."""
    return current_app.extensions["civicforms.face"]  # type: ignore[no-any-return]


def db() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db" not in g:
        if g.get("db_autocommit"):
            g.db = StatementSession(current_app.extensions["civicforms.autocommit_engine"], expire_on_commit=False)
        else:
            g.db = new_session(current_app.extensions["civicforms.engine"])
    return g.db  # type: ignore[no-any-return]


def one_statement_at_a_time() -> None:
    """This request's database work is statements that each stand alone (read the form
    session; one UPDATE of it): ``db()`` is a StatementSession on the autocommit engine, each
    statement committed as it runs, with no BEGIN before and no COMMIT or ROLLBACK after, and
    the form session's prepared statements run straight on the DBAPI connection. On PostgreSQL
    a question page is then two round trips (the pool's ping and the SELECT) instead of four,
    and a saved answer three instead of five. Call it before the request's first ``db()``; a
    request that must change several rows together must not."""
    if "db" in g:
        raise RuntimeError("one_statement_at_a_time() must come before the request's first db()")
    g.db_autocommit = True


def settings() -> Settings:
    return current_app.extensions["civicforms.settings"]  # type: ignore[no-any-return]


def csp_nonce() -> str:
    """This request's script nonce, made on first use: an error page rendered before the
    app's own before_request hooks ran (a CSRF failure, a post too large) needs one too."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce  # type: ignore[no-any-return]


# A file sent as it was uploaded (runtime/web/casework/files.py): nothing in it may load, run or
# be framed, whatever a browser makes of it. security_headers keeps it on such a response.
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def security_headers(response: Response, settings: Settings) -> Response:
    nonce = csp_nonce()
    img = "'self' data:"
    if settings.logo_url.startswith("https://"):
        origin = "/".join(settings.logo_url.split("/", 3)[:3])
        img += f" {origin}"
    # Staff faces: forms may also lead to the single sign-on providers (runtime/web/sso.py).
    origins = current_app.extensions.get("civicforms.form_action_origins")
    form_action = " ".join(["'self'", *(origins() if origins else ())])
    if response.headers.get("Content-Security-Policy") != FILE_POLICY:
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
            f"img-src {img}; font-src 'self'; connect-src 'self'; object-src 'none'; "
            f"base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
        )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if settings.secure_cookies:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    asset = (request.endpoint or "").endswith(("static", "assets", "brand_css", "definition_schema"))
    if not asset or response.status_code >= 400:
        # Pages can hold personal data: never keep them in shared caches or the back/forward
        # cache. Error pages (with no endpoint when no route matched, or an asset not found:
        # it may be there after the next deploy) are pages too.
        response.headers["Cache-Control"] = "no-store"
    return response


def layout() -> str:
    """The template a page extends: the face's full page, or just its content for an htmx swap."""
    boosted = (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"
    )
    return face().fragment if boosted else face().layout


def render_page(
    template: str, status: int = 200, *, reuse: tuple[Any, ...] | None = None, **context: Any
) -> tuple[Response, int]:
    """Render a page; htmx requests get the page's content only, so responses vary on it.

    ``reuse``: what the page depends on, when it is the same for everyone shown it (with the
    template, the layout and the mount point): it is rendered once and kept (``ReusedPages``),
    with this request's CSRF token and nonce filled in.
    """
    from flask import make_response

    name = layout()
    kept: ReusedPages | None = current_app.extensions.get("civicforms.reused_pages")
    if reuse is not None and kept is not None:
        body = _reused_page(kept, (template, name, request.script_root, *reuse), template, name, context)
    else:
        body = render_template(template, layout=name, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    if layout() == face().fragment:
        # full_path is relative to the face; the address bar needs its mount point (/builder) too.
        pushed = request.script_root + request.full_path.rstrip("?")
        response.headers["HX-Push-Url"] = pushed if request.method == "GET" else "false"
    return response, status


def _reused_page(kept: ReusedPages, key: tuple[Any, ...], template: str, name: str, context: dict[str, Any]) -> str:
    page = kept.pages.get(key)
    if page is None:
        # Rendered with the marks in place of the token and nonce. If anything reached the real
        # ones all the same (a macro calling the csrf_token global), the page is not kept.
        page = render_template(
            template, layout=name, **context, csrf_token=lambda: kept.token_mark, csp_nonce=kept.nonce_mark
        )
        secrets_ = [csp_nonce(), g.get("csrf_token")]
        if any(secret and secret in page for secret in secrets_):
            return render_template(template, layout=name, **context)
        page = kept.pages.put(key, page)
    return kept.fill(page, token=generate_csrf(), nonce=csp_nonce())


# A path segment that looks like a secret (a status link's signed token, a set-up link): as
# gunicorn.conf.py's ``log_path`` decides for the production access log.
_SLUG = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\"\\]")


def log_path(path: str) -> str:
    """``path`` as a request log shows it: no query, secrets replaced, control characters escaped."""
    path = path.split("?", 1)[0]
    segments = ["[token]" if len(s) >= 20 and not _SLUG.fullmatch(s) else s for s in path.split("/")]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "/".join(segments)) or "-"


class DevRequestHandler(WSGIRequestHandler):
    """The development server's request log (``civicforms serve``) with only what the production
    access log keeps: method, path (no query string, secret links as ``[token]``), status."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        code = getattr(code, "value", code)
        self.log("info", '"%s %s %s" %s %s', self.command, log_path(self.path), self.request_version, code, size)
