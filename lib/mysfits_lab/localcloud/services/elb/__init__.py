"""Elastic Load Balancing: listeners that carry traffic, health checks, draining."""
