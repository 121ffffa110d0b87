"""The one logger and metrics of the service, configured by POWERTOOLS_* variables.

There is no Powertools Tracer: the X-Ray SDK behind it is the costliest import of a cold start
(about a third of it) and would only add a subsegment per DynamoDB call. `Tracing: Active` in
template.yaml still gives each invocation Lambda's own trace, with its init and invocation times.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
