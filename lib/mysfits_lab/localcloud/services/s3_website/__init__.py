"""S3 static website endpoints: each website-enabled bucket served on its own loopback port."""
