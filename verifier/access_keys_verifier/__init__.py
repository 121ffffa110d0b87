"""Verify the TC3-HMAC-SHA256 requests a platform service receives, through the access-key service.

The platform's access keys sign requests to every service (a `cvm`, a `cos`, ...), and each
service asks the access-key service who signed them, so that a disabled key is refused
everywhere at once and every attempt shows in the key's access records. This package is that
question, asked from the service's own code:

- It builds the request's canonical request **locally**, with the rules of API.md ("Signing
  every request"), from the bytes the service received, and sends only its SHA-256. **The body
  never leaves the service.**
- It invokes the access-key service's `VerifyRequestFunction` (Lambda Invoke, RequestResponse)
  with that hash, the Authorization and X-TC-Timestamp headers, the action, the source IP and
  the service's request id (API.md, "Verification for the platform's services"). The access-key
  service derives the signing key and checks the signature there: **the SecretKey never leaves
  the access-key service.**
- It answers with the `Caller` (SecretId, Uin, RecordId), or raises a `Refusal` carrying the
  code, the message and the HTTP status to answer with.
- It **fails closed**: a function it cannot invoke, a function error, or an answer that is not a
  well-formed verdict is `Refusal("InternalError", ..., 500)`, never a Caller.

    from access_keys_verifier import Refusal, Verifier, verified

    verifier = Verifier("cvm")  # function: env ACCESS_KEYS_VERIFY_FUNCTION, else VerifyRequestFunction

    @verified(verifier, envelope="tencent", changes_state=lambda action: not action.startswith("Describe"))
    def lambda_handler(event, context, caller):
        ...  # caller.secret_id, caller.uin; verifier.report_refusal(caller, "UnauthorizedOperation")

Standard library only, plus boto3, imported when the first Lambda client is made. Env
`ACCESS_KEYS_LAMBDA_ENDPOINT` points that client at another Invoke API, such as the local stack's.
"""

from .canonical import canonical_request, canonical_request_hash, signed_headers_of
from .envelopes import not_stored, refusal_response, verified
from .events import Request
from .outcomes import Caller, Refusal, status_of
from .verifier import Verifier


def report_refusal(caller: Caller, code: str) -> bool:
    """The service refused a request it had verified (no permission, bad input, its own failure):
    the key's access record of it becomes Failure with `code`. `Verifier.report_refusal` of the
    Verifier that accepted `caller`; False, logged, when it cannot be applied."""
    if not isinstance(caller.verified_by, Verifier):
        raise TypeError("report_refusal takes a Caller that a Verifier returned")
    return caller.verified_by.report_refusal(caller, code)


__version__ = "0.1.0"

__all__ = [
    "Caller",
    "Refusal",
    "Request",
    "Verifier",
    "canonical_request",
    "canonical_request_hash",
    "not_stored",
    "refusal_response",
    "report_refusal",
    "signed_headers_of",
    "status_of",
    "verified",
]
