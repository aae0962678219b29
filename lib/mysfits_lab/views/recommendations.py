"""Module 7's presentation: the data's answer profiles, the confusion matrix, and the
ipywidgets questionnaire that asks the deployed endpoint for a mysfit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import show
from ..paths import assets_dir
from ..recommender import generator
from ..steps.recommendations import Evaluation, catalogue, recommend

# The questionnaire's wording; each answer is its position, 1-8, as in the data set.
QUESTIONS: list[tuple[str, list[str]]] = [
    (
        "Where would you spend a free afternoon?",
        [
            "A quiet library",
            "A mountain summit",
            "The bottom of a lake",
            "A crowded market",
            "A haunted castle",
            "A volcano's rim",
            "A cloud bank",
            "Under my own bed",
        ],
    ),
    (
        "Pick a snack for a long journey.",
        [
            "Honey cakes",
            "Raw fish",
            "Glowing mushrooms",
            "Spicy peppers",
            "Moon cheese",
            "Iron nails",
            "Sea salt crackers",
            "Whatever is nearest",
        ],
    ),
    (
        "How do you handle a disagreement?",
        [
            "Write a polite letter",
            "Roar once, loudly",
            "Vanish for a week",
            "Call a vote",
            "Turn it into a riddle",
            "Challenge to a race",
            "Hold a grudge for a century",
            "Laugh it off",
        ],
    ),
    (
        "Which sound do you fall asleep to?",
        [
            "Rain on a roof",
            "Crackling fire",
            "Whale song",
            "Thunder",
            "Wind chimes",
            "Total silence",
            "A bubbling cauldron",
            "Distant bells",
        ],
    ),
    (
        "What would you guard with your life?",
        [
            "A pile of gold",
            "An ancient secret",
            "A garden",
            "My friends",
            "A bridge",
            "A single shiny pebble",
            "The last cookie",
            "My reputation",
        ],
    ),
]
DEFAULT_ANSWERS = [3, 5, 1, 7, 2]


def explore(dataset: generator.Dataset) -> Any:
    """Per mysfit: how many fans, and the most common answer to each question."""
    import pandas as pd

    frame = pd.DataFrame(dataset.data, columns=["q1", "q2", "q3", "q4", "q5", "label"])
    names = {i: m["name"] for i, m in enumerate(catalogue())}
    summary = frame.groupby("label").agg(
        fans=("q1", "size"),
        **{f"q{i} usual answer": (f"q{i}", lambda s: s.mode()[0]) for i in range(1, 6)},
    )
    summary.insert(0, "mysfit", summary.index.map(names))
    summary["share"] = (summary["fans"] / len(frame)).map("{:.1%}".format)
    return summary.reset_index(drop=True)


def plot_answer_profiles(dataset: generator.Dataset) -> Any:
    """One heat map per question: how each mysfit's fans answer (row-normalised)."""
    import matplotlib.pyplot as plt

    names = [m["name"] for m in catalogue()]
    fig, axes = plt.subplots(1, 5, figsize=(15, 4.2), sharey=True)
    for question, ax in enumerate(axes):
        cells = dataset.labels * 8 + dataset.features[:, question] - 1  # (mysfit, answer)
        counts = np.bincount(cells, minlength=12 * 8).reshape(12, 8).astype(float)
        counts /= counts.sum(axis=1, keepdims=True).clip(min=1)
        ax.imshow(counts, cmap="magma_r", aspect="auto", vmin=0, vmax=counts.max())
        ax.set_title(f"Question {question + 1}", fontsize=10)
        ax.set_xticks(range(8), [str(a) for a in range(1, 9)], fontsize=8)
        ax.set_xlabel("answer")
    axes[0].set_yticks(range(12), names, fontsize=8)
    fig.suptitle("How each mysfit's fans answer (darker = more of them)", x=0.01, ha="left")
    fig.tight_layout()
    return fig


def plot_confusion(result: Evaluation) -> Any:
    import matplotlib.pyplot as plt

    names = [m["name"] for m in catalogue()]
    normalised = result.confusion / result.confusion.sum(axis=1, keepdims=True).clip(min=1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(12), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(12), names, fontsize=8)
    ax.set_xlabel("recommended")
    ax.set_ylabel("favourite")
    ax.set_title(f"Confusion matrix (accuracy {result.accuracy:.3f})", loc="left")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of each favourite")
    fig.tight_layout()
    return fig


def picture(mysfit: dict[str, Any]) -> str:
    """The site's own picture of a mysfit (SVG markup)."""
    return (assets_dir() / "web" / "images" / f"{mysfit['stem']}.svg").read_text()


def show_recommendation(mysfit: dict[str, Any]) -> None:
    show.card(
        title=f"We recommend {mysfit['name']} the {mysfit['species']}",
        svg=picture(mysfit),
        text=f"label {mysfit['label']} · mysfit id {mysfit['mysfitId']}",
    )


def questionnaire(
    predictor: Any,
    defaults: list[int] | None = None,
    ask: Callable[[list[int]], dict[str, Any]] | None = None,
) -> Any:
    """Five questions with eight answers each; every change asks the endpoint again — or,
    with ``ask`` (e.g. ``recommender_api.asker(lab)``), the site's recommendations API.

    Shows the recommendation for ``defaults`` straight away, so an unattended run (papermill)
    has a result without anyone clicking.
    """
    answer_for = ask or (lambda answers: recommend(predictor, answers))
    import ipywidgets as widgets
    from IPython.display import display

    defaults = defaults or DEFAULT_ANSWERS
    pickers = [
        widgets.Dropdown(
            options=[(text, i + 1) for i, text in enumerate(options)],
            value=defaults[n],
            description=f"Q{n + 1}",
            layout=widgets.Layout(width="420px"),
        )
        for n, (_question, options) in enumerate(QUESTIONS)
    ]
    labels = [widgets.HTML(f"<b>{question}</b>") for question, _ in QUESTIONS]
    result = widgets.Output()

    def refresh(_change: Any = None) -> None:
        with result:
            result.clear_output(wait=True)
            show_recommendation(answer_for([p.value for p in pickers]))

    for picker in pickers:
        picker.observe(refresh, names="value")
    form = widgets.VBox([w for pair in zip(labels, pickers, strict=True) for w in pair])
    display(widgets.HBox([form, result]))
    refresh()
    chosen = answer_for([p.value for p in pickers])
    if show.plain():  # an unattended run keeps no widget state: show the answer as text too
        show_recommendation(chosen)
    return chosen
