"""Click commands. Each module imports only click and the standard library at import time."""
