"""How an outbox message becomes an email: the headers mail providers expect, and two parts.

Pure (no database, no network, no web framework): :class:`runtime.outbox.SmtpSender` builds each
email here and hands it to smtplib. Every email carries ``Date`` and ``Message-ID`` (RFC 5322;
providers treat mail without them as spam), ``Auto-Submitted: auto-generated`` (RFC 3834, so that
out-of-office replies are not sent back to a no-reply address), a one-line subject, and a
``multipart/alternative`` body: the text as written, and an HTML part in GOV.UK Notify's plain
style (a dark header bar with the organisation's name, the paragraphs, links that can be clicked).
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

# Only web links become clickable: a mailto:, javascript: or data: address stays text.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# Punctuation that ends a sentence, not the address ("see https://x.example/a.").
_TRAILING = ".,;:!?)]}'\""

_TEXT = "color:#0b0c0c;font-family:Helvetica,Arial,sans-serif;font-size:19px;line-height:1.315789"
_BAR = "color:#ffffff;font-family:Helvetica,Arial,sans-serif;font-size:28px;font-weight:700;line-height:1.3"
_LINK = "color:#1d70b8;text-decoration:underline"


def one_line_subject(subject: str, organisation: str) -> str:
    """The subject as one header line: whitespace (line breaks too) collapsed, never empty."""
    line = " ".join(subject.split())
    return line or f"A message from {' '.join(organisation.split()) or 'Civic Forms'}"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip().strip(">")
    return domain or "localhost"


def _linked(text: str) -> str:
    """One line of text, escaped, with its http and https addresses made into links."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if not url.split("://", 1)[1]:
            continue
        start, end = match.start(), match.start() + len(url)
        out.append(html.escape(text[last:start]))
        href = html.escape(url, quote=True)
        out.append(f'<a href="{href}" style="{_LINK}">{href}</a>')
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def html_body(body: str, organisation: str) -> str:
    """The HTML part: a header bar with the organisation's name, then the body's paragraphs.

    Inline styles only: mail clients drop ``<style>`` blocks and external CSS, and block images.
    """
    name = html.escape(" ".join(organisation.split()) or "Civic Forms")
    paragraphs = [p for p in re.split(r"\n\s*\n", body.replace("\r\n", "\n").strip()) if p.strip()]
    rendered = "\n".join(
        f'<p style="{_TEXT};margin:0 0 20px 0">' + "<br>".join(_linked(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
</head>
<body style="margin:0;padding:0;background:#ffffff">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"
 style="border-collapse:collapse;min-width:100%">
<tr><td style="background:#0b0c0c;padding:15px 20px">
<span style="{_BAR}">{name}</span>
</td></tr>
<tr><td style="background:#1d70b8;height:10px;font-size:0;line-height:0">&nbsp;</td></tr>
<tr><td style="padding:30px 20px 10px 20px;max-width:580px">
{rendered}
</td></tr>
</table>
</body>
</html>
"""


def build_email(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    organisation: str,
    timestamp: float | None = None,
) -> EmailMessage:
    """The whole email for one message: headers, then the plain-text and HTML alternatives.

    Raises ValueError for an address with a line break in it (the email package refuses it).
    """
    email = EmailMessage()
    email["Date"] = formatdate(timestamp, localtime=False, usegmt=True)
    email["Message-ID"] = make_msgid(domain=_domain(sender))
    email["From"] = sender
    email["To"] = recipient
    email["Subject"] = one_line_subject(subject, organisation)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body)  # adds MIME-Version: 1.0
    email.add_alternative(html_body(body, organisation), subtype="html")
    return email
