"""API Gateway (REST v1): imports, deployments, and a working stage per deployed API."""
