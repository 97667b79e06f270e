"""`python -m services.web`: serve the pages on TMIS_HTTP_PORT (no database, no Kafka)."""

import uvicorn

from services.web.bootstrap import create_app
from services.web.config import SERVICE, load_web_settings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = load_web_settings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level="warning", access_log=False, log_config=None)
