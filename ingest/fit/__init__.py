"""FIT decoding: bytes -> FitMessages (fast numpy path or fitdecode) -> Activities."""
