"""Running qa's work on a Ray cluster (the optional extra qa[ray]); without Ray everything runs on one host."""
