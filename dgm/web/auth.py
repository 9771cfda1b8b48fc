"""Access and cross-site protection for the local web view.

As notebook servers do, the server makes a random token at start and prints a URL carrying it.
Opening that URL once stores the token in an HttpOnly, SameSite=Strict cookie and redirects to
the same page without it, so the token does not linger in the address bar or in Referer headers.
Writes (verdicts, notes) must also carry a CSRF token derived from the access token and, when the
browser sends one, an Origin equal to the server's own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "dgm_token"


@dataclass(frozen=True)
class Access:
    token: str

    @classmethod
    def new(cls) -> "Access":
        return cls(secrets.token_urlsafe(24))

    @property
    def csrf(self) -> str:
        """The token a page embeds in its forms; derived, so the server keeps no session state."""
        return hmac.new(self.token.encode(), b"dgm-csrf", hashlib.sha256).hexdigest()[:32]

    def allows(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.token.encode())

    def write_allowed(self, form_csrf: str | None, origin: str | None, host: str | None) -> bool:
        """A write needs the page's CSRF token, and no foreign Origin."""
        if form_csrf is None or not hmac.compare_digest(form_csrf.encode(), self.csrf.encode()):
            return False
        return origin is None or origin in (f"http://{host}", f"https://{host}")
