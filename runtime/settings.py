"""Settings, read once from environment variables (``CIVICFORMS_*``)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(Exception):
    """A setting is missing or has a value the product cannot run with."""


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_relative_luminance(hex_colour) + 0.05)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"expected true or false, got {value!r}")


# Labels for the sign-in buttons of well-known single sign-on providers; others say their name.
KNOWN_PROVIDER_LABELS = {"entra": "Microsoft", "microsoft": "Microsoft", "google": "Google"}
PUBLISH_MODES = ("direct", "review")
# How `civicforms worker` delivers the outbox: to the log (development), SMTP, or GOV.UK Notify.
MAIL_BACKENDS = ("log", "smtp", "notify")
OIDC_CLIENT_AUTH = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# Review mode can open a pull request (GitHub) or a merge request (GitLab) after pushing a branch.
PULL_REQUEST_SERVICES = ("github", "gitlab")
DEFAULT_API_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
# A branch name as IT would type one (main, release/2026): no leading "-" (an option), no "..",
# no spaces or the characters git gives a meaning (~^:?*[\\@{).
_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}")
# Where the builder pushes review branches: a URL git understands, or a path on this machine.
_REMOTE_URL = re.compile(r"(https?|ssh|file)://[^\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+|/[^\s]*")


def check_git_branch(name: str, value: str) -> str:
    """``value`` if it is a branch name git can use, else SettingsError naming the variable."""
    if (
        not _BRANCH.fullmatch(value)
        or ".." in value
        or "//" in value
        or value.endswith((".", "/", ".lock"))
        or "/." in value
    ):
        raise SettingsError(f"{name} must be a branch name like main, not {value[:60]!r}")
    return value


def check_git_remote(name: str, value: str) -> str:
    """``value`` if it is a repository URL or an absolute path, else SettingsError naming the variable."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value) or len(value) > 1000:
        raise SettingsError(f"{name} must be one repository URL or path, without spaces")
    if "::" in value or not _REMOTE_URL.fullmatch(value):
        raise SettingsError(
            f"{name} must be a repository URL (https://, ssh:// or git@host:path) or an absolute path, "
            f"not {value[:60]!r}"
        )
    if value.startswith("http://") and not _local_http(value):
        raise SettingsError(f"{name} must use https:// (http:// only for localhost)")
    if re.match(r"(https?|ssh)://[^/@]*:[^/@]*@", value):
        raise SettingsError(
            f"{name} must not contain a password or token: give git its credentials through a credential "
            "helper or an SSH key, so they never show in a message"
        )
    return value


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID Connect provider staff can sign in with (Microsoft Entra ID, Google Workspace, ...)."""

    name: str  # in URLs: /sso/<name>
    issuer: str  # discovery document at <issuer>/.well-known/openid-configuration
    client_id: str
    client_secret: str = field(repr=False, default="")
    label: str = ""  # "Sign in with <label>"
    # What the ID token must say, checked at every sign-in (runtime/web/sso.py):
    require_amr: tuple[str, ...] = ()  # one of these in "amr" (Entra: "mfa"); with require_acr, both
    require_acr: tuple[str, ...] = ()  # "acr" one of these (also asked for as acr_values)
    tenant: str = ""  # "tid" must be this (an Entra tenant id)
    hosted_domain: str = ""  # "hd" must be this (a Google Workspace domain)
    # The provider's email claim is authoritative for its own tenant or domain (Entra ID sends no
    # email_verified): only with tenant or hosted_domain, and never for a guest (runtime/web/sso.py).
    trust_email: bool = False
    # How the app proves itself at the token endpoint: client_secret_basic (the secret),
    # client_secret_post, or private_key_jwt (a JWT signed with the PEM key in private_key_file).
    client_auth: str = "client_secret_basic"
    private_key_file: Path | None = None
    private_key_id: str = ""  # the key's "kid", as registered with the provider

    @property
    def requires_mfa(self) -> bool:
        """Whether the provider's token must show a second factor (so the app asks for none)."""
        return bool(self.require_amr or self.require_acr)

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def check(self, prefix: str) -> None:
        """SettingsError naming the variable (``prefix``_...) whose value cannot work."""
        if self.client_auth not in OIDC_CLIENT_AUTH:
            raise SettingsError(f"{prefix}_CLIENT_AUTH must be one of {', '.join(OIDC_CLIENT_AUTH)}")
        if not self.client_id:
            raise SettingsError(f"{prefix}_CLIENT_ID must be set")
        if self.client_auth == "private_key_jwt":
            key = self.private_key_file
            if key is None:
                raise SettingsError(
                    f"{prefix}_PRIVATE_KEY_FILE must be set when {prefix}_CLIENT_AUTH is private_key_jwt"
                )
            try:
                text = key.read_text(encoding="utf-8")[:20_000]
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(
                    f"{prefix}_PRIVATE_KEY_FILE: cannot read {str(key)[:200]!r} ({exc.__class__.__name__})"
                ) from None
            if not re.search(r"-----BEGIN (RSA |EC )?PRIVATE KEY-----", text):
                raise SettingsError(f"{prefix}_PRIVATE_KEY_FILE: {str(key)[:200]!r} is not a PEM private key")
        elif not self.client_secret:
            raise SettingsError(f"{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET must be set")
        for name, values in (("REQUIRE_AMR", self.require_amr), ("REQUIRE_ACR", self.require_acr)):
            for value in values:
                if not re.fullmatch(r"[A-Za-z0-9._:/-]{1,200}", value):
                    raise SettingsError(
                        f"{prefix}_{name}: {value[:40]!r} is not a value like mfa (commas between several)"
                    )
        if self.tenant and not re.fullmatch(r"[A-Za-z0-9.-]{1,100}", self.tenant):
            raise SettingsError(f"{prefix}_TENANT must be a tenant id like 72f988bf-86f1-41af-91ab-2d7cd011db47")
        if self.hosted_domain and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", self.hosted_domain):
            raise SettingsError(f"{prefix}_HOSTED_DOMAIN must be a domain like example.gov.uk")
        if self.trust_email and not (self.tenant or self.hosted_domain):
            raise SettingsError(
                f"{prefix}_TRUST_EMAIL=true needs {prefix}_TENANT (or {prefix}_HOSTED_DOMAIN): trusting the email "
                "of any tenant would let any organisation's directory claim any address"
            )


def _named_flag(name: str, value: str) -> bool:
    try:
        return _flag(value, False)
    except SettingsError:
        raise SettingsError(f"{name} must be true or false, not {value[:20]!r}") from None


def _local_http(url: str) -> bool:
    return bool(re.match(r"http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/|$)", url))


# Matching's thresholds in match weight, chosen on bench/matching_truth.py --sweep (docs/performance.md): review
# from 0 (as likely one person as not) keeps recall with review >= 0.98 at about 93 items per 1,000.
MATCH_DEFAULTS = {"link": 20.0, "review": 0.0}


@dataclass(frozen=True)
class Settings:
    environment: str = "production"
    secret_key: str = ""
    database_url: str = ""
    definitions_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "form_definitions")
    organisation_name: str = "Civic Forms"
    organisation_url: str = "/"
    logo_url: str = ""
    brand_colour: str = "#1d70b8"
    govuk_branding: bool = False
    session_timeout_minutes: int = 60
    # A form's pages left this long without a request ask "continue or start again" before
    # showing any answer: on a shared computer, the next person may be at the browser.
    form_idle_minutes: int = 15
    max_post_bytes: int = 64 * 1024
    secure_cookies: bool = True
    # Staff accounts (builder and back office)
    staff_require_totp: bool = False
    staff_lockout_attempts: int = 5
    staff_lockout_minutes: int = 15
    staff_session_minutes: int = 480  # signed out this long after signing in, whatever they do
    staff_idle_minutes: int = 30  # signed out after this long without a request
    oidc_providers: tuple[OidcProvider, ...] = ()
    publish_mode: str = "direct"
    # Git for review mode (builder/publishing.py): branches start from git_base as fetched from
    # git_remote (empty: the definitions folder's own repository), in the builder's own clone.
    git_base: str = "main"
    git_remote: str = ""
    git_workdir: Path = field(default_factory=lambda: PROJECT_ROOT / "instance" / "git-working-copy")
    git_folder: str = ""  # the definitions folder's path in the repository ("": worked out)
    git_pull_requests: str = ""  # "", github or gitlab
    git_api_url: str = ""  # "": the service's public API
    git_api_project: str = ""  # owner/repository (GitHub), a project id or group/project (GitLab)
    git_api_token: str = field(repr=False, default="")
    git_signing_key: Path | None = None  # an SSH private key: commits are signed (gpg.format=ssh)
    base_url: str = ""  # e.g. https://forms.example.gov.uk: for links printed outside a request
    # Messages (runtime/outbox.py). Secrets come only from the environment, never a default.
    mail_backend: str = "log"
    mail_from: str = ""  # the From address for SMTP
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(repr=False, default="")
    smtp_security: str = "starttls"  # starttls | tls (implicit, port 465) | none (a relay on localhost only)
    notify_api_key: str = field(repr=False, default="")
    notify_template_id: str = ""  # a Notify email template with ((subject)) and ((body))
    # Deadlines in working days skip weekends and these dates (CIVICFORMS_HOLIDAYS=2026-12-25,2026-12-28)
    holidays: frozenset[date] = frozenset()
    worker_batch_size: int = 50
    worker_interval_seconds: int = 10
    # Abuse limits on the citizen face (runtime/web/citizen_shell.py, runtime/abuse.py). Rates are
    # limits' notation ("60 per 10 minutes"), or "off". A journey is one start and a few dozen
    # posts (pages, errors, changes); these allow a household, an office or a library behind one
    # address many journeys at once, and stop a script long before the caps below matter.
    rate_limit_storage: str = "memory://"  # or redis:// (rediss://) to share counts between processes
    rate_limit_starts: str = "60 per 10 minutes"
    rate_limit_posts: str = "600 per 10 minutes"
    # The addresses whose X-Forwarded-For is believed when telling clients apart (gunicorn reads
    # the same variable, FORWARDED_ALLOW_IPS, for X-Forwarded-Proto): the reverse proxies.
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    # Caps, so that a script cannot fill the database: form sessions one client may start within
    # the session timeout, one form session's stored answers, and all unsent answers together.
    max_forms_per_client: int = 100
    max_answers_bytes: int = 1024 * 1024
    max_unsent_answers_mb: int = 2048
    # Whether each answer saved on a question page waits for the disk (SQLite synchronous=FULL).
    # Off: it survives the app or its process crashing, and only a power cut or an operating
    # system crash in the moments after may lose the last answers of a form not yet sent, which
    # the citizen types again; sending a form always waits for the disk (docs/performance.md).
    flush_every_answer: bool = False
    # Matching (runtime/services/matching.py): a pair of records scoring at least the link weight
    # (Splink's match weight, log2 of the Bayes factor) is joined by the worker when the rules
    # allow; from the review weight up it goes to staff. Provisional: the truth benchmark
    # (bench/) chooses them; MATCH_DEFAULTS is the one place they are set.
    match_link_weight: float = MATCH_DEFAULTS["link"]
    match_review_weight: float = MATCH_DEFAULTS["review"]
    # rematch and train: duckdb, or spark (pyspark installed) for a council outgrowing one machine;
    # the worker's small batches always run on embedded DuckDB (runtime.services.matching).
    linkage_backend: str = "duckdb"
    # Uploads (docs/uploads.md). Files are kept in a local folder outside the web root (the
    # default: instance/uploads) or in S3-compatible object storage (upload_storage "s3"); a file
    # waits in the quarantine folder, shown to nobody, until ClamAV's clamd says it is clean.
    upload_storage: str = "local"  # local | s3
    upload_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "instance" / "uploads")
    quarantine_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "instance" / "quarantine")
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # "": AWS itself; else any S3-compatible service (MinIO, Ceph, ...)
    s3_region: str = ""
    s3_access_key_id: str = ""  # "": boto3's own chain (environment, instance role, ...)
    s3_secret_access_key: str = field(repr=False, default="")
    s3_sse: str = "AES256"  # server-side encryption: AES256, or aws:kms (with s3_kms_key_id)
    s3_kms_key_id: str = ""
    # clamd's address: a Unix socket's path, or host:port. Unset, uploads cannot be scanned, and a
    # file waits in quarantine (the citizen is asked to try again) unless allow_unscanned_uploads.
    clamd_address: str = ""
    clamd_timeout_seconds: int = 30
    # Development only (refused otherwise): files are kept without a virus scan, and every page
    # that takes a file says so.
    allow_unscanned_uploads: bool = False
    # The largest file any service may take, whatever its definition says (a definition's
    # max_size_mb is capped by the format at 50).
    max_upload_mb: int = 20
    # Address lookup by postcode: "" (manual entry only) or os-places, with its key.
    address_lookup: str = ""
    os_places_url: str = "https://api.os.uk/search/places/v1"
    os_places_key: str = field(repr=False, default="")
    address_lookup_timeout_seconds: float = 3.0

    def _check_uploads(self) -> None:
        _check_uploads_of(self)

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)

    def url(self, path: str) -> str:
        """An absolute URL for a link printed outside a web request (e.g. a set-up link)."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @property
    def development(self) -> bool:
        return self.environment == "development"

    def check(self) -> Settings:
        if self.environment not in ("production", "development", "test"):
            raise SettingsError("CIVICFORMS_ENV must be production, development or test")
        if not self.secret_key or len(self.secret_key) < 32:
            raise SettingsError("CIVICFORMS_SECRET_KEY must be set to at least 32 random characters")
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", self.brand_colour):
            raise SettingsError("CIVICFORMS_BRAND_COLOUR must be a colour like #1d70b8")
        if contrast_with_white(self.brand_colour) < 4.5:
            raise SettingsError(
                f"CIVICFORMS_BRAND_COLOUR {self.brand_colour} is too light: white text on it "
                "must have a contrast ratio of at least 4.5:1 (WCAG AA)"
            )
        local = self.logo_url.startswith("/") and not self.logo_url.startswith("//")
        if self.logo_url and not (local or self.logo_url.startswith("https://")):
            raise SettingsError("CIVICFORMS_LOGO_URL must be a path on this site or an https:// URL")
        if self.session_timeout_minutes < 1:
            raise SettingsError("CIVICFORMS_SESSION_TIMEOUT_MINUTES must be 1 or more")
        if self.form_idle_minutes < 1:
            raise SettingsError("CIVICFORMS_FORM_IDLE_MINUTES must be 1 or more")
        for name, value in (
            ("STAFF_LOCKOUT_ATTEMPTS", self.staff_lockout_attempts),
            ("STAFF_LOCKOUT_MINUTES", self.staff_lockout_minutes),
            ("STAFF_SESSION_MINUTES", self.staff_session_minutes),
            ("STAFF_IDLE_MINUTES", self.staff_idle_minutes),
        ):
            if value < 1:
                raise SettingsError(f"CIVICFORMS_{name} must be 1 or more")
        if self.staff_idle_minutes > self.staff_session_minutes:
            raise SettingsError("CIVICFORMS_STAFF_IDLE_MINUTES must not be more than CIVICFORMS_STAFF_SESSION_MINUTES")
        if self.publish_mode not in PUBLISH_MODES:
            raise SettingsError("CIVICFORMS_PUBLISH_MODE must be direct or review")
        if self.base_url and not (self.base_url.startswith("https://") or _local_http(self.base_url)):
            raise SettingsError("CIVICFORMS_BASE_URL must be an https:// address (http:// only for localhost)")
        self._check_mail()
        self._check_matching()
        self._check_git()
        self._check_abuse_limits()
        for provider in self.oidc_providers:
            prefix = f"CIVICFORMS_OIDC_{provider.name.upper()}"
            if not re.fullmatch(r"[a-z][a-z0-9]{0,29}", provider.name):
                raise SettingsError(
                    f"CIVICFORMS_OIDC_PROVIDERS: {provider.name!r} must be a short name of letters and digits"
                )
            if not (provider.issuer.startswith("https://") or _local_http(provider.issuer)):
                raise SettingsError(f"{prefix}_ISSUER must be an https:// address (http:// only for localhost)")
            provider.check(prefix)
        return self

    def _check_mail(self) -> None:
        if self.mail_backend not in MAIL_BACKENDS:
            raise SettingsError("CIVICFORMS_MAIL_BACKEND must be log, smtp or notify")
        if self.mail_backend == "smtp":
            if not self.smtp_host:
                raise SettingsError("CIVICFORMS_SMTP_HOST must be set when CIVICFORMS_MAIL_BACKEND is smtp")
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.mail_from):
                raise SettingsError(
                    "CIVICFORMS_MAIL_FROM must be an email address when CIVICFORMS_MAIL_BACKEND is smtp"
                )
            if not 1 <= self.smtp_port <= 65535:
                raise SettingsError("CIVICFORMS_SMTP_PORT must be a port number (1 to 65535)")
            if self.smtp_security not in ("starttls", "tls", "none"):
                raise SettingsError("CIVICFORMS_SMTP_SECURITY must be starttls, tls or none")
            if self.smtp_security == "none" and self.smtp_host not in ("localhost", "127.0.0.1", "::1"):
                raise SettingsError("CIVICFORMS_SMTP_SECURITY=none is only allowed for a relay on localhost")
            if bool(self.smtp_username) != bool(self.smtp_password):
                raise SettingsError("CIVICFORMS_SMTP_USERNAME and CIVICFORMS_SMTP_PASSWORD must be set together")
        if self.mail_backend == "notify" and not (self.notify_api_key and self.notify_template_id):
            raise SettingsError(
                "CIVICFORMS_NOTIFY_API_KEY and CIVICFORMS_NOTIFY_TEMPLATE_ID must be set when "
                "CIVICFORMS_MAIL_BACKEND is notify"
            )
        if self.worker_batch_size < 1 or self.worker_interval_seconds < 1:
            raise SettingsError("CIVICFORMS_WORKER_BATCH_SIZE and CIVICFORMS_WORKER_INTERVAL_SECONDS must be 1 or more")

    def _check_matching(self) -> None:
        if self.linkage_backend not in ("duckdb", "spark"):
            raise SettingsError("CIVICFORMS_LINKAGE_BACKEND must be duckdb or spark")
        if not self.match_review_weight <= self.match_link_weight:
            raise SettingsError("CIVICFORMS_MATCH_REVIEW_WEIGHT must not be more than CIVICFORMS_MATCH_LINK_WEIGHT")

    def _check_git(self) -> None:
        check_git_branch("CIVICFORMS_GIT_BASE", self.git_base)
        if self.git_remote:
            check_git_remote("CIVICFORMS_GIT_REMOTE", self.git_remote)
        folder = self.git_folder
        if folder not in ("", ".") and (
            not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_. /-]{0,199}", folder)
            or ".." in folder.split("/")
            or folder.endswith("/")
        ):
            raise SettingsError(
                "CIVICFORMS_GIT_FOLDER must be a folder inside the repository like form_definitions (or . for "
                f"its top), not {folder[:60]!r}"
            )
        workdir = Path(self.git_workdir).absolute()
        definitions = Path(self.definitions_dir).absolute()
        if workdir == definitions or workdir.is_relative_to(definitions) or definitions.is_relative_to(workdir):
            raise SettingsError(
                "CIVICFORMS_GIT_WORKDIR must be a folder of its own, outside CIVICFORMS_DEFINITIONS_DIR: "
                "it is the builder's own clone, never the checkout the site loads"
            )
        if self.git_pull_requests:
            self._check_pull_requests()
        if self.git_signing_key is not None:
            self._check_signing_key(self.git_signing_key)

    def _check_pull_requests(self) -> None:
        service = self.git_pull_requests
        if service not in PULL_REQUEST_SERVICES:
            raise SettingsError("CIVICFORMS_GIT_PULL_REQUESTS must be github, gitlab or empty")
        if self.publish_mode != "review":
            raise SettingsError("CIVICFORMS_GIT_PULL_REQUESTS needs CIVICFORMS_PUBLISH_MODE=review")
        if not self.git_remote:
            raise SettingsError(
                f"CIVICFORMS_GIT_PULL_REQUESTS={service} needs CIVICFORMS_GIT_REMOTE, the {service} repository "
                "the branches are pushed to"
            )
        url = self.git_api_url
        if not (re.fullmatch(r"https://[^\s?#]+", url) or (_local_http(url) and not re.search(r"[\s?#]", url))):
            raise SettingsError("CIVICFORMS_GIT_API_URL must be an https:// address (http:// only for localhost)")
        project = self.git_api_project
        pattern = (
            r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+" if service == "github" else r"[0-9]+|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+"
        )
        if not re.fullmatch(pattern, project) or ".." in project:
            example = "owner/repository" if service == "github" else "a project id like 42, or group/project"
            raise SettingsError(f"CIVICFORMS_GIT_API_PROJECT must be {example}, not {project[:60]!r}")
        if not self.git_api_token:
            raise SettingsError(f"CIVICFORMS_GIT_API_TOKEN must be set when CIVICFORMS_GIT_PULL_REQUESTS is {service}")
        if any(c.isspace() or ord(c) < 32 for c in self.git_api_token):
            raise SettingsError("CIVICFORMS_GIT_API_TOKEN must be one word, without spaces or line breaks")

    @staticmethod
    def _check_signing_key(key: Path) -> None:
        shown = repr(str(key)[:200])
        try:
            text = key.read_text(encoding="utf-8")[:20_000]
            loose = key.stat().st_mode & 0o077
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"CIVICFORMS_GIT_SIGNING_KEY: cannot read {shown} ({exc.__class__.__name__})") from None
        if "-----BEGIN OPENSSH PRIVATE KEY-----" not in text:
            raise SettingsError(
                f"CIVICFORMS_GIT_SIGNING_KEY: {shown} is not an SSH private key (ssh-keygen -t ed25519 makes one)"
            )
        if loose:
            raise SettingsError(
                f"CIVICFORMS_GIT_SIGNING_KEY: {shown} can be read by other users; ssh-keygen refuses such a key "
                "(chmod 600 it)"
            )
        if shutil.which("ssh-keygen") is None:
            raise SettingsError(
                "CIVICFORMS_GIT_SIGNING_KEY is set but ssh-keygen, which git signs with, is not installed"
            )

    def _check_abuse_limits(self) -> None:
        for name, value in (("RATE_LIMIT_STARTS", self.rate_limit_starts), ("RATE_LIMIT_POSTS", self.rate_limit_posts)):
            check_rate(f"CIVICFORMS_{name}", value)
        storage = self.rate_limit_storage
        if not (storage == "memory://" or re.fullmatch(r"rediss?://\S+", storage)):
            raise SettingsError(
                "CIVICFORMS_RATE_LIMIT_STORAGE must be memory:// or a redis:// (or rediss://) URL, "
                "e.g. redis://127.0.0.1:6379/0; limits has no database storage"
            )
        for name, number in (
            ("MAX_FORMS_PER_CLIENT", self.max_forms_per_client),
            ("MAX_ANSWERS_BYTES", self.max_answers_bytes),
            ("MAX_UNSENT_ANSWERS_MB", self.max_unsent_answers_mb),
        ):
            if number < 1:
                raise SettingsError(f"CIVICFORMS_{name} must be 1 or more")
        if self.max_answers_bytes < self.max_post_bytes:
            raise SettingsError("CIVICFORMS_MAX_ANSWERS_BYTES must be at least CIVICFORMS_MAX_POST_BYTES")
        self._check_uploads()
        for entry in self.forwarded_allow_ips:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise SettingsError(
                        f"FORWARDED_ALLOW_IPS: {entry[:40]!r} is not an address or network (e.g. 10.0.0.0/8)"
                    ) from None


def _check_uploads_of(s: Settings) -> None:
    """The upload and address lookup settings (docs/uploads.md)."""
    if s.upload_storage not in ("local", "s3"):
        raise SettingsError("CIVICFORMS_UPLOAD_STORAGE must be local or s3")
    if s.upload_storage == "s3" and not s.s3_bucket:
        raise SettingsError("CIVICFORMS_S3_BUCKET must be set when CIVICFORMS_UPLOAD_STORAGE is s3")
    if s.s3_sse not in ("AES256", "aws:kms"):
        raise SettingsError("CIVICFORMS_S3_SSE must be AES256 or aws:kms")
    if bool(s.s3_access_key_id) != bool(s.s3_secret_access_key):
        raise SettingsError("CIVICFORMS_S3_ACCESS_KEY_ID and CIVICFORMS_S3_SECRET_ACCESS_KEY must be set together")
    if s.s3_endpoint_url and not s.s3_endpoint_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SettingsError("CIVICFORMS_S3_ENDPOINT_URL must be an https:// address (http:// only for localhost)")
    if s.allow_unscanned_uploads and s.environment != "development":
        raise SettingsError(
            "CIVICFORMS_ALLOW_UNSCANNED_UPLOADS keeps files without a virus scan: it is refused unless "
            "CIVICFORMS_ENV=development"
        )
    if not 1 <= s.max_upload_mb <= 50:
        raise SettingsError("CIVICFORMS_MAX_UPLOAD_MB must be from 1 to 50")
    if s.clamd_timeout_seconds < 1:
        raise SettingsError("CIVICFORMS_CLAMD_TIMEOUT_SECONDS must be 1 or more")
    if s.address_lookup not in ("", "os-places"):
        raise SettingsError("CIVICFORMS_ADDRESS_LOOKUP must be os-places or empty")
    if s.address_lookup == "os-places" and not s.os_places_key:
        raise SettingsError("CIVICFORMS_OS_PLACES_KEY must be set when CIVICFORMS_ADDRESS_LOOKUP is os-places")
    if not s.os_places_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SettingsError("CIVICFORMS_OS_PLACES_URL must be an https:// address (http:// only for localhost)")
    if not 0 < s.address_lookup_timeout_seconds <= 30:
        # A citizen waits this long for "Find address" before typing the address instead.
        raise SettingsError("CIVICFORMS_ADDRESS_LOOKUP_TIMEOUT_SECONDS must be from 1 to 30")


RATE_EXAMPLE = "a rate like '60 per 10 minutes' (or 60/10minute), or off"


def check_rate(name: str, value: str) -> None:
    """SettingsError unless ``value`` is one rate in limits' notation, or ``off``."""
    if value == "off":
        return
    from limits import parse_many

    try:
        rates = parse_many(value)
    except ValueError:
        rates = []
    if len(rates) != 1 or rates[0].amount < 1:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise SettingsError(f"{name} must be {RATE_EXAMPLE}, got {shown!r}")


def _words(text: str) -> tuple[str, ...]:
    """``mfa, hwk`` -> ("mfa", "hwk")."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _weight(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(f"CIVICFORMS_{name}", "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -100 <= value <= 100:  # also refuses nan and inf
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise SettingsError(f"CIVICFORMS_{name} must be a match weight between -100 and 100, got {shown!r}")
    return value


def _whole_number(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(f"CIVICFORMS_{name}", "").strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,12}", text.replace("_", "").replace(",", "")):
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise SettingsError(f"CIVICFORMS_{name} must be a whole number, got {shown!r}")
    return int(text.replace("_", "").replace(",", ""))


def parse_holidays(text: str) -> frozenset[date]:
    """``2026-12-25, 2026-12-28`` -> the dates; SettingsError naming the first that is not a date."""
    found = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                raise ValueError(part)
            found.add(date.fromisoformat(part))
        except ValueError:
            shown = part if len(part) <= 20 else part[:17] + "..."
            raise SettingsError(f"CIVICFORMS_HOLIDAYS: {shown!r} is not a date like 2026-12-25") from None
    return frozenset(found)


def _dev_secret(instance: Path) -> str:
    """Development only: a random key kept in instance/, never a key written in the code."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(env: dict[str, str] | None = None) -> Settings:
    """Build and check settings from ``CIVICFORMS_*`` environment variables."""
    env = dict(os.environ if env is None else env)

    def get(name: str, default: str = "") -> str:
        return env.get(f"CIVICFORMS_{name}", default)

    environment = get("ENV", "production")
    instance = Path(get("INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
    secret = get("SECRET_KEY") or (_dev_secret(instance) if environment == "development" else "")
    try:
        timeout = int(get("SESSION_TIMEOUT_MINUTES", "60"))
        form_idle = int(get("FORM_IDLE_MINUTES", "15"))
        max_post = int(get("MAX_POST_BYTES", str(64 * 1024)))
        lockout_attempts = int(get("STAFF_LOCKOUT_ATTEMPTS", "5"))
        lockout_minutes = int(get("STAFF_LOCKOUT_MINUTES", "15"))
        staff_session = int(get("STAFF_SESSION_MINUTES", "480"))
        staff_idle = int(get("STAFF_IDLE_MINUTES", "30"))
        smtp_port = int(get("SMTP_PORT", "587"))
        worker_batch = int(get("WORKER_BATCH_SIZE", "50"))
        worker_interval = int(get("WORKER_INTERVAL_SECONDS", "10"))
    except ValueError as exc:
        raise SettingsError(f"expected a whole number: {exc}") from exc
    providers = []
    for name in [n.strip().lower() for n in get("OIDC_PROVIDERS").split(",") if n.strip()]:
        key = f"OIDC_{name.upper()}"
        providers.append(
            OidcProvider(
                name=name,
                issuer=get(f"{key}_ISSUER").strip(),
                client_id=get(f"{key}_CLIENT_ID").strip(),
                client_secret=get(f"{key}_CLIENT_SECRET").strip(),
                label=get(f"{key}_LABEL").strip() or KNOWN_PROVIDER_LABELS.get(name, name.title()),
                require_amr=_words(get(f"{key}_REQUIRE_AMR")),
                require_acr=_words(get(f"{key}_REQUIRE_ACR")),
                tenant=get(f"{key}_TENANT").strip(),
                hosted_domain=get(f"{key}_HOSTED_DOMAIN").strip().lower(),
                trust_email=_named_flag(f"CIVICFORMS_{key}_TRUST_EMAIL", get(f"{key}_TRUST_EMAIL").strip()),
                client_auth=get(f"{key}_CLIENT_AUTH").strip().lower() or "client_secret_basic",
                private_key_file=Path(get(f"{key}_PRIVATE_KEY_FILE").strip())
                if get(f"{key}_PRIVATE_KEY_FILE").strip()
                else None,
                private_key_id=get(f"{key}_PRIVATE_KEY_ID").strip(),
            )
        )
    return Settings(
        environment=environment,
        secret_key=secret,
        database_url=get("DATABASE_URL") or f"sqlite:///{instance / 'civicforms.db'}",
        definitions_dir=Path(get("DEFINITIONS_DIR", str(PROJECT_ROOT / "form_definitions"))),
        organisation_name=get("ORGANISATION_NAME", "Civic Forms"),
        organisation_url=get("ORGANISATION_URL", "/"),
        logo_url=get("LOGO_URL"),
        brand_colour=get("BRAND_COLOUR", "#1d70b8"),
        govuk_branding=_flag(get("GOVUK_BRANDING") or None, False),
        session_timeout_minutes=timeout,
        form_idle_minutes=form_idle,
        max_post_bytes=max_post,
        secure_cookies=_flag(get("SECURE_COOKIES") or None, environment == "production"),
        staff_require_totp=_flag(get("STAFF_REQUIRE_TOTP") or None, False),
        staff_lockout_attempts=lockout_attempts,
        staff_lockout_minutes=lockout_minutes,
        staff_session_minutes=staff_session,
        staff_idle_minutes=staff_idle,
        oidc_providers=tuple(providers),
        publish_mode=get("PUBLISH_MODE", "direct").strip().lower(),
        git_base=get("GIT_BASE").strip() or "main",
        git_remote=get("GIT_REMOTE").strip(),
        git_workdir=Path(get("GIT_WORKDIR").strip() or str(instance / "git-working-copy")),
        git_folder=get("GIT_FOLDER").strip(),
        git_pull_requests=get("GIT_PULL_REQUESTS").strip().lower(),
        git_api_url=(
            get("GIT_API_URL").strip() or DEFAULT_API_URLS.get(get("GIT_PULL_REQUESTS").strip().lower(), "")
        ).rstrip("/"),
        git_api_project=get("GIT_API_PROJECT").strip(),
        git_api_token=get("GIT_API_TOKEN").strip(),
        git_signing_key=Path(get("GIT_SIGNING_KEY").strip()) if get("GIT_SIGNING_KEY").strip() else None,
        base_url=get("BASE_URL", "http://127.0.0.1:5000" if environment == "development" else "").strip(),
        mail_backend=get("MAIL_BACKEND", "log").strip().lower(),
        mail_from=get("MAIL_FROM").strip(),
        smtp_host=get("SMTP_HOST").strip(),
        smtp_port=smtp_port,
        smtp_username=get("SMTP_USERNAME").strip(),
        smtp_password=get("SMTP_PASSWORD"),
        smtp_security=get("SMTP_SECURITY", "starttls").strip().lower(),
        notify_api_key=get("NOTIFY_API_KEY").strip(),
        notify_template_id=get("NOTIFY_TEMPLATE_ID").strip(),
        holidays=parse_holidays(get("HOLIDAYS")),
        worker_batch_size=worker_batch,
        worker_interval_seconds=worker_interval,
        rate_limit_storage=get("RATE_LIMIT_STORAGE", "memory://").strip() or "memory://",
        rate_limit_starts=" ".join(get("RATE_LIMIT_STARTS", "60 per 10 minutes").split()).lower(),
        rate_limit_posts=" ".join(get("RATE_LIMIT_POSTS", "600 per 10 minutes").split()).lower(),
        forwarded_allow_ips=tuple(
            a.strip() for a in env.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").split(",") if a.strip()
        ),
        max_forms_per_client=_whole_number(env, "MAX_FORMS_PER_CLIENT", 100),
        max_answers_bytes=_whole_number(env, "MAX_ANSWERS_BYTES", 1024 * 1024),
        max_unsent_answers_mb=_whole_number(env, "MAX_UNSENT_ANSWERS_MB", 2048),
        flush_every_answer=_flag(get("FLUSH_EVERY_ANSWER") or None, False),
        match_link_weight=_weight(env, "MATCH_LINK_WEIGHT", MATCH_DEFAULTS["link"]),
        match_review_weight=_weight(env, "MATCH_REVIEW_WEIGHT", MATCH_DEFAULTS["review"]),
        linkage_backend=get("LINKAGE_BACKEND", "duckdb").strip().lower() or "duckdb",
        upload_storage=get("UPLOAD_STORAGE", "local").strip().lower() or "local",
        upload_dir=Path(get("UPLOAD_DIR").strip() or str(instance / "uploads")),
        quarantine_dir=Path(get("QUARANTINE_DIR").strip() or str(instance / "quarantine")),
        s3_bucket=get("S3_BUCKET").strip(),
        s3_endpoint_url=get("S3_ENDPOINT_URL").strip().rstrip("/"),
        s3_region=get("S3_REGION").strip(),
        s3_access_key_id=get("S3_ACCESS_KEY_ID").strip(),
        s3_secret_access_key=get("S3_SECRET_ACCESS_KEY").strip(),
        s3_sse=get("S3_SSE", "AES256").strip() or "AES256",
        s3_kms_key_id=get("S3_KMS_KEY_ID").strip(),
        clamd_address=get("CLAMD_ADDRESS").strip(),
        clamd_timeout_seconds=_whole_number(env, "CLAMD_TIMEOUT_SECONDS", 30),
        allow_unscanned_uploads=_flag(get("ALLOW_UNSCANNED_UPLOADS") or None, False),
        max_upload_mb=_whole_number(env, "MAX_UPLOAD_MB", 20),
        address_lookup=get("ADDRESS_LOOKUP").strip().lower(),
        os_places_url=(get("OS_PLACES_URL").strip() or "https://api.os.uk/search/places/v1").rstrip("/"),
        os_places_key=get("OS_PLACES_KEY").strip(),
        address_lookup_timeout_seconds=_whole_number(env, "ADDRESS_LOOKUP_TIMEOUT_SECONDS", 3),
    ).check()
