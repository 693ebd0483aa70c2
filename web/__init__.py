"""The chat page's templates and static files, shipped inside the qa wheel as the package qa.web."""
