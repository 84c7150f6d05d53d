"""intervals.icu API client (personal API key, HTTP Basic ``API_KEY:<key>``)."""
