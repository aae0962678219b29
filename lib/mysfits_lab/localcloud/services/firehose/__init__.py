"""Kinesis Data Firehose on the local cloud: DirectPut streams with an S3 destination that buffer,
transform through a Lambda processor and deliver as AWS does."""
