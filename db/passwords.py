"""Operator passwords: scrypt from the standard library, salted, never printed."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

COST = 2 ** 14


def hash_password(password: str, *, cost: int = COST) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=8, p=1)
    return "scrypt${}${}${}".format(cost, base64.b64encode(salt).decode(),
                                    base64.b64encode(digest).decode())


def verify_password(password: str, stored: str | None) -> bool:
    try:
        scheme, cost, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt),
                                n=int(cost), r=8, p=1)
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)
