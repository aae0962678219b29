"""CodeBuild: builds that really run their buildspec on this machine."""
