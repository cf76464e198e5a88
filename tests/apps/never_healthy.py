"""Starts, but /health never answers 200."""

from fastapi import FastAPI, Response

app = FastAPI()


@app.get("/health")
async def health() -> Response:
    return Response(status_code=503)
