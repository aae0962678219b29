"""SNS topics that deliver as AWS does: email and HTTP subscriptions wait for confirmation,
and messages published reach the outbox, HTTP endpoints and Lambda functions (moto itself
keeps the topics and subscriptions, and fans out to SQS)."""
