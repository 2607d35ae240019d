"""SIP, calls, media, recording. Only this package imports pjsua2 (and only in the worker)."""
