"""The trained model files (the answer selector), shipped inside the qa wheel as the package qa.models."""
