"""One exception type per error code of the contract (docs/api.md): the HTTP routes', Tencent
Cloud API 3.0's (`POST /`) and the verification's (VerifyRequestFunction).

Code raises these where the rule lives; `access_keys.api` alone turns them into HTTP responses,
and `access_keys.verification` into its answers. What else reaches those two is answered by
`refusal_of`: the data layer's `Throttled` as RequestLimitExceeded, anything else as InternalError.
Messages are written for a person and never carry secrets or internals.
"""

from __future__ import annotations

from typing import ClassVar

from access_keys.dal.throttling import Throttled


class ServiceError(Exception):
    """An outcome the caller is told about, with its HTTP status and API error code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = "An internal error occurred. Retry later; if it persists, report the RequestId."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidParameter(ServiceError):
    status = 400
    code = "InvalidParameter"


class InvalidParameterValue(ServiceError):
    status = 400
    code = "InvalidParameterValue"


class MissingParameter(ServiceError):
    status = 400
    code = "MissingParameter"


class UnknownParameter(ServiceError):
    status = 400
    code = "UnknownParameter"


class InvalidAuthorization(ServiceError):
    status = 401
    code = "AuthFailure.InvalidAuthorization"


class SecretIdNotFound(ServiceError):
    status = 401
    code = "AuthFailure.SecretIdNotFound"
    default_message = "The SecretId does not exist or the key is disabled."


class SignatureExpire(ServiceError):
    status = 401
    code = "AuthFailure.SignatureExpire"


class SignatureFailure(ServiceError):
    status = 401
    code = "AuthFailure.SignatureFailure"
    default_message = "The signature does not match the request. Check the SecretKey and what was signed."


class TokenFailure(ServiceError):
    status = 401
    code = "AuthFailure.TokenFailure"
    default_message = (
        "This service issues no temporary credentials: sign with an access key's SecretId and SecretKey, "
        "without X-TC-Token."
    )


class AccessKeyNotFound(ServiceError):
    status = 404
    code = "ResourceNotFound.AccessKey"
    default_message = "The access key does not exist."


class RecordNotFound(ServiceError):
    """ReportAccessOutcome: the RecordId names no successful record of the calling service from the
    last 15 minutes (another service's, an older one, one already refused, or none).

    Answered only by VerifyRequestFunction, invoked by the platform's services, never over HTTP: its
    `status` is never sent. docs/api.md lists it under the verification contract.
    """

    status = 404
    code = "ResourceNotFound.AccessRecord"
    default_message = "No successful access record of this service from the last 15 minutes has that RecordId."


class AccessKeyOverLimit(ServiceError):
    status = 409
    code = "OperationDenied.AccessKeyOverLimit"
    default_message = "The account already has 2 access keys, the most it may have. Delete one first."


class AccessKeyActive(ServiceError):
    status = 409
    code = "OperationDenied.AccessKeyActive"
    default_message = "Only an Inactive key can be deleted. Disable it first."


# The next three are answered only by Tencent Cloud API 3.0's route (`POST /`, access_keys.cloud_api),
# always with HTTP 200 in Tencent's envelope: their `status` is never sent. docs/api.md lists them there.


class InvalidAction(ServiceError):
    """Tencent Cloud API 3.0 (`POST /`): an X-TC-Action this service does not answer."""

    status = 400
    code = "InvalidAction"


class NoSuchVersion(ServiceError):
    """Tencent Cloud API 3.0 (`POST /`): an X-TC-Version other than CAM's 2019-01-16."""

    status = 400
    code = "NoSuchVersion"


class UnauthorizedOperation(ServiceError):
    """Tencent Cloud API 3.0 (`POST /`): a TargetUin other than the caller's own account."""

    status = 403
    code = "AuthFailure.UnauthorizedOperation"


class RequestSizeLimitExceeded(ServiceError):
    status = 413
    code = "RequestSizeLimitExceeded"


class RequestLimitExceeded(ServiceError):
    status = 429
    code = "RequestLimitExceeded"
    default_message = "The service is throttled. Retry with exponential backoff."


class InternalError(ServiceError):
    """Anything unexpected. Its message is fixed so that nothing internal reaches the caller."""

    def __init__(self) -> None:
        super().__init__()


def refusal_of(error: Exception) -> ServiceError:
    """What a caller is told of an exception that ended its request: a ServiceError as it is,
    AWS's throttling (`Throttled`) as RequestLimitExceeded, anything else as InternalError (the
    caller logs that one, with its traceback)."""
    if isinstance(error, ServiceError):
        return error
    if isinstance(error, Throttled):
        return RequestLimitExceeded(error.advice)
    return InternalError()
