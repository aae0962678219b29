"""X-Ray on the local cloud: a daemon for the SDKs and the trace API over one segment store."""
