"""The one logger and metrics of the service, configured by POWERTOOLS_* variables.

There is no Powertools Tracer: the X-Ray SDK behind it is the costliest import of a cold start
(about a third of it) and would only add a subsegment per DynamoDB call. `Tracing: Active` in
template.yaml still gives each invocation Lambda's own trace, with its init and invocation times.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
metrics = Metrics()


def count_alone(name: str, **dimensions: str) -> None:
    """One count of `name` with only these dimensions (and the service's), not the request's: a
    figure an alarm watches, whose dimensions template.yaml must know in advance."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, default_dimensions=dimensions):
        pass
