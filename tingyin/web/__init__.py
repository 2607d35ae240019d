"""FastAPI app, websockets and pages."""
