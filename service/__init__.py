"""The FastAPI scoring service."""
