"""Amazon ECS: services and tasks that run as local processes."""
