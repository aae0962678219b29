"""The one table of the local cloud's providers: name → where its class lives.

Adding a service is one line here (and one folder under ``services/``). Classes are imported
only by the cloud process, never by a notebook kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.provider import Provider

PROVIDERS: dict[str, str] = {
    "images": ".images.provider:ImagesProvider",
    "xray": ".services.xray.provider:XRayProvider",
    "websites": ".services.s3_website.provider:S3WebsiteProvider",
    "cloudformation": ".services.cloudformation.provider:CloudFormationProvider",
    "codebuild": ".services.codebuild.provider:CodeBuildProvider",
    "loadbalancers": ".services.elb.provider:LoadBalancerProvider",
    "ecs": ".services.ecs.provider:EcsProvider",
    "sagemaker": ".services.sagemaker.provider:SageMakerProvider",
    "lambda": ".services.awslambda.provider:LambdaProvider",
    "codepipeline": ".services.codepipeline.provider:CodePipelineProvider",
    "apigateway": ".services.apigateway.provider:ApiGatewayProvider",
    "outbox": ".services.outbox.provider:OutboxProvider",
    "cognito": ".services.cognito.provider:CognitoProvider",
    "eventsources": ".services.event_sources.provider:EventSourcesProvider",
    "firehose": ".services.firehose.provider:FirehoseProvider",
    "sns": ".services.sns.provider:SnsProvider",
}


def provider_class(name: str) -> type[Provider]:
    module, _, attribute = PROVIDERS[name].partition(":")
    cls = getattr(importlib.import_module(module, __package__), attribute)
    if cls.name != name:
        raise ValueError(f"registry name {name!r} does not match {cls.__name__}.name {cls.name!r}")
    return cls


def start_order(wanted: list[str | type[Provider]]) -> list[type[Provider]]:
    """The provider classes (registry names or classes), plus what they ``require``, each after
    the ones it requires and in the given order otherwise."""
    classes = {
        item if isinstance(item, str) else item.name: (
            provider_class(item) if isinstance(item, str) else item
        )
        for item in wanted
    }
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ValueError(f"providers require each other in a cycle through {name!r}")
        if name not in classes:
            if name not in PROVIDERS:
                raise ValueError(f"a provider requires {name!r}, which is not registered")
            classes[name] = provider_class(name)  # a requirement comes along
        visiting.add(name)
        for required in classes[name].requires:
            visit(required)
        visiting.discard(name)
        ordered.append(name)

    for name in list(classes):
        visit(name)
    return [classes[name] for name in ordered]
