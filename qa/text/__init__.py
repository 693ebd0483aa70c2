"""Text: the one tokenizer and content-word rule, sentence splitting, passages."""
