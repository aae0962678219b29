"""Module 5's presentation: the clicks that landed in S3 as a table, and clicks per species."""

from __future__ import annotations

from typing import Any

COLUMNS = ["userId", "mysfitId", "species", "goodevil", "lawchaos", "object"]


def clicks_frame(clicks: list[dict[str, Any]]) -> Any:
    """The enriched clicks as a pandas DataFrame, the S3 object of each shortened to its name."""
    import pandas as pd

    frame = pd.DataFrame(clicks, columns=COLUMNS)
    frame["object"] = frame["object"].str.rsplit("/", n=1).str[-1]
    return frame


def clicks_per_species(clicks: list[dict[str, Any]]) -> Any:
    """A bar chart of how many clicks each species got, most clicked first."""
    import matplotlib.pyplot as plt

    counts: dict[str, int] = {}
    for click in clicks:
        species = click.get("species") or "unknown"
        counts[species] = counts.get(species, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    figure, axes = plt.subplots(figsize=(7, 3.2))
    axes.bar([name for name, _ in ordered], [count for _, count in ordered], color="#4f46e5")
    axes.set_ylabel("clicks")
    axes.set_title("Profile views per species")
    axes.tick_params(axis="x", labelrotation=30)
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    return figure
