"""Centralized sampling: the rules an SDK fetches (GetSamplingRules) and the quotas it asks for
(GetSamplingTargets), through the daemon's proxy or straight from the API.

On AWS the ``Default`` rule keeps the first request each second and 5% of the rest. The local
cloud keeps every request (rate 1.0): a learner sends a handful of requests and expects to see
each one in the traces. Code running in a Lambda function never asks: it follows the sampling
decision in its ``_X_AMZN_TRACE_ID`` (``Sampled=1``).
"""

from __future__ import annotations

from typing import Any

from ...constants import ACCOUNT_ID

DEFAULT_RULE = "Default"
RESERVOIR_SIZE = 1  # requests a second before the fixed rate applies, as on AWS
FIXED_RATE = 1.0  # AWS: 0.05; every request here
TARGET_TTL = 10.0  # seconds a reservoir quota lasts
TARGET_INTERVAL = 10  # seconds between an SDK's GetSamplingTargets calls


class Sampling:
    def __init__(self, region: str, created_at: float):
        self.region = region
        self.created_at = created_at

    def rules(self) -> dict[str, Any]:
        """GetSamplingRules' answer: the one default rule."""
        rule = {
            "RuleName": DEFAULT_RULE,
            "RuleARN": f"arn:aws:xray:{self.region}:{ACCOUNT_ID}:sampling-rule/{DEFAULT_RULE}",
            "ResourceARN": "*",
            "Priority": 10000,
            "FixedRate": FIXED_RATE,
            "ReservoirSize": RESERVOIR_SIZE,
            "ServiceName": "*",
            "ServiceType": "*",
            "Host": "*",
            "HTTPMethod": "*",
            "URLPath": "*",
            "Version": 1,
            "Attributes": {},
        }
        return {
            "SamplingRuleRecords": [
                {"SamplingRule": rule, "CreatedAt": 0.0, "ModifiedAt": self.created_at}
            ]
        }

    def targets(self, statistics: list[dict[str, Any]], now: float) -> dict[str, Any]:
        """GetSamplingTargets' answer: every client gets the whole reservoir of the default
        rule; statistics of other rules come back unprocessed."""
        targets, unprocessed = [], []
        for document in statistics:
            name = document.get("RuleName", "")
            if name != DEFAULT_RULE:
                unprocessed.append(
                    {
                        "RuleName": name,
                        "ErrorCode": "InvalidRequestException",
                        "Message": f"no sampling rule named {name[:64]!r}",
                    }
                )
                continue
            if any(t["RuleName"] == name for t in targets):
                continue
            targets.append(
                {
                    "RuleName": name,
                    "FixedRate": FIXED_RATE,
                    "ReservoirQuota": RESERVOIR_SIZE,
                    "ReservoirQuotaTTL": now + TARGET_TTL,
                    "Interval": TARGET_INTERVAL,
                }
            )
        return {
            "SamplingTargetDocuments": targets,
            "LastRuleModification": self.created_at,
            "UnprocessedStatistics": unprocessed,
        }
