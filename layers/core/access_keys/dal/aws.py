"""The process's one botocore session, which every AWS client of the service is made from.

botocore alone: importing boto3 as well would only add to every cold start. One session parses
AWS's endpoint and model files once, however many clients it makes.
"""

from __future__ import annotations

from functools import cache

import botocore.session


@cache
def session() -> botocore.session.Session:
    return botocore.session.get_session()
