import logging

import pytest

from tingyin.logsetup import RedactSecrets, redact


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1:1 - "WebSocket /ws/events?token=eyJabc.def.ghi" [accepted]',
        "GET /x?a=1&access_token=eyJabc.def&b=2",
        "Authorization: Bearer eyJabc.def",
        "login failed password=hunter2-secret",
    ],
)
def test_secrets_never_reach_the_log(line: str) -> None:
    assert "eyJabc" not in redact(line) and "hunter2" not in redact(line)
    assert "***" in redact(line)


def test_filter_rewrites_formatted_message() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, "", 0, "%s %s", ("ws", "?token=abc"), None
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == "ws ?token=***"


def test_http_client_urls_are_not_logged_at_info() -> None:
    import logging

    from tingyin.logsetup import configure_logging

    configure_logging("INFO", "test")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
