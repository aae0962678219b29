"""Lambda event source mappings for DynamoDB streams: the mapping API, answered here (moto never
sees a mapping), and one poller thread that reads each stream and invokes the function."""
