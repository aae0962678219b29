import os

# The formats tests import the SageMaker SDK, whose v2 deprecation banner is only noise here.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
