"""Visitor tokens: a signed, expiring grant to one conversation and nothing else.

The widget keeps the token in sessionStorage and presents it on every socket and
upload. It is signed with SECRET_KEY (django.core.signing), so the server keeps no
token table; rotating SECRET_KEY ends every open grant.
"""

from django.conf import settings
from django.core import signing

SALT = "apps.chat.visitor"


class TokenError(Exception):
    code = "token_invalid"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenForAnotherConversation(TokenError):
    code = "token_other_conversation"


def visitor_token(conversation_id) -> str:
    return signing.dumps({"c": str(conversation_id)}, salt=SALT)


def check_visitor_token(token: str, conversation_id) -> None:
    """Return quietly if ``token`` grants ``conversation_id``; raise a ``TokenError`` otherwise."""
    try:
        data = signing.loads(token or "", salt=SALT, max_age=settings.CHAT_TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise TokenExpired() from error
    except signing.BadSignature as error:
        raise TokenError() from error
    if not isinstance(data, dict) or data.get("c") != str(conversation_id):
        raise TokenForAnotherConversation()
