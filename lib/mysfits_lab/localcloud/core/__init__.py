"""The shared runtime every provider builds on: provider base and context, clock, ports, one
CloudWatch Logs writer, one process launcher, one child-environment builder, listeners and the
TCP proxy. Nothing here knows about a particular AWS service."""
