"""Search: query handling, hybrid retrieval and fusion, answer selection and confidence."""
