"""Notebook presentation per module — plots, widgets, exploration tables — kept out of
``steps/``, which only provisions and computes."""
