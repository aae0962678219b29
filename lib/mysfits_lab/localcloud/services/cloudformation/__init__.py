"""CloudFormation: stacks created, updated, rolled back and deleted as AWS does (SAM included)."""
