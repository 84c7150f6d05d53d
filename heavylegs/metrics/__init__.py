"""Analysis service: feeds stored activities to analysis/ and stores the results."""
