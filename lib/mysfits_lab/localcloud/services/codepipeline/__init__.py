"""CodePipeline: pipelines whose executions really run (S3 source → CodeBuild → ECS deploy)."""
