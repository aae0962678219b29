"""SageMaker: k-NN training jobs that really train, and endpoints that serve the model."""
