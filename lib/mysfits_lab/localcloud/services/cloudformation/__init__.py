"""CloudFormation: stack deletion that finishes on the local cloud."""
